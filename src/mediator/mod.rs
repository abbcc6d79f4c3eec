//! The mediator (LMM): the only code that runs plugins. It picks the
//! transport, applies concurrency, timeouts, output caps and the error
//! threshold, validates what comes back, masks the request's secrets in it,
//! maps every failure to EPS, and emits [`ExecEvent`]s as it goes.

pub mod eps;
mod event;
mod gate;
mod limits;
mod lines;
mod mask;
mod run;

pub use event::{ExecEvent, ExecId, Status, TargetResult};
pub use gate::{StartGate, StartWait, start_gate};
pub use limits::Limits;
pub use lines::StderrTail;
pub use mask::{MASK, MIN_SECRET_CHARS, Masker};
pub use run::{Mediator, Report, TargetCancels};
