//! The policy (LOM): decides whether a request may run and turns it into a
//! [`Plan`]: the action, its checked parameters, the resolved targets, the
//! RCS request and the limits. Nothing runs here.

mod decide;
mod plan;
mod verify;

pub use decide::{
    Confirmation, MAX_CONCURRENCY, ParamInput, Refusal, RunRequest, Source, UNCHOSEN_INCIDENT,
    decide,
};
pub use plan::{Operator, Plan};
pub use verify::verify_request;
