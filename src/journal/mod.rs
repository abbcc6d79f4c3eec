//! The incident journal: a local SQLite file, append-only and hash-chained,
//! holding every request, stream line, result, error and note, reviewable
//! offline and exported as evidence (JSON, NDJSON, Markdown).
//!
//! Writes go through [`Journal`] on one connection; a [`recorder`] commits
//! each batch of execution events before passing them on, so whatever a
//! screen or CLI reports as done is already on disk. Never runs anything.

mod append;
mod chain;
mod error;
pub mod export;
mod facts;
mod incident;
mod kind;
mod query;
pub mod recorder;
mod recover;
mod review;
mod rows;
mod schema;
mod verify;
mod writer;

pub use append::{Journal, default_path};
pub use chain::{EventBytes, GENESIS, canonical};
pub use error::{Error, Result};
pub use incident::{Incident, IncidentChoice, Severity};
pub use kind::EventKind;
pub use query::{EventRow, ExecutionRow};
pub use verify::{Broken, Head, VerifyReport};
