//! The action catalog: loads `actions/*/action.toml`, validates manifests,
//! builds each action's plugin bundle and its SHA-256, coerces and checks
//! parameters, and ranks actions for fuzzy search.
//!
//! Never runs a plugin: that is the mediator's job alone.

mod error;
mod load;
mod manifest;
mod params;
mod search;
mod trust;

pub use error::{CatalogError, ParamError};
pub use load::{Catalog, default_dir, load, parse_manifest};
pub use manifest::{Action, Param, ParamType, Plugin, Risk, parse_duration};
pub use params::{check_value, coerce, complete, parse_assignments, parse_text, redact};
pub use search::{Match, search};
