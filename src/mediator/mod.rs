//! The mediator (LMM): the only code that runs plugins. It picks the
//! transport, applies concurrency, timeouts, output caps and the error
//! threshold, validates what comes back, maps every failure to EPS, and
//! emits [`ExecEvent`]s as it goes.

pub mod eps;
mod event;
mod gate;
mod limits;
mod lines;
mod run;

pub use event::{ExecEvent, ExecId, Status, TargetResult};
pub use gate::{StartGate, StartWait, start_gate};
pub use limits::Limits;
pub use lines::StderrTail;
pub use run::{Mediator, Report, TargetCancels};
