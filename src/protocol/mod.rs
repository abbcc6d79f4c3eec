//! The RUNE protocol family as types: BPCS (plugin stdin/stdout), RCS (the
//! request RUNE builds), EPS (the normalized error), ids and timestamps, the
//! plugin-output validator, the terminal sanitizer and JSON output with the
//! same characters escaped.
//!
//! Pure: nothing here does I/O or imports another module of the crate, so
//! plugins, integrations and tests can rely on these shapes alone.

pub mod bpcs;
pub mod eps;
pub mod ids;
pub mod rcs;
pub mod safe_json;
pub mod sanitize;
pub mod validate;

pub use bpcs::{BpcsInput, BpcsOutput, Context, MessageMetadata, Observability, PluginError};
pub use eps::EpsError;
pub use rcs::Request;
pub use validate::{Validated, Violation};
