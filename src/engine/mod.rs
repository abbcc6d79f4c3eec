//! The engine: the one pipeline both front ends submit to. It owns the
//! catalog, the inventory, the journal's path and the mediator (built once,
//! by the same rules, from [`Settings`]), and turns a request into a
//! recorded, executed and verified run:
//!
//! request → [`crate::policy::decide`] (once per plan: the risk gate, the
//! allow-lists) → choose the incident → record the request → mediator +
//! recorder (the start gate: nothing starts before its row commits) → the
//! verify follow-up, which is one more plan through the same gate.
//!
//! A front end hands over a [`RunRequest`](crate::policy::RunRequest) and a
//! [`Sink`]; it never builds a mediator or names a transport. The engine
//! knows no screen and prints nothing.

mod discover;
mod error;
mod event;
mod fd_budget;
mod open;
mod plan_text;
mod submit;

pub use discover::{SsmInstance, discover_ssm, ssm_target};
pub use error::{Error, Result};
pub use event::{RunEvent, RunHandle, RunOutcome, Sink, Stopper};
pub use open::{Engine, LimitOptions, Settings, SshOptions, SsmOptions, capped_note};
pub use plan_text::plan_lines;
