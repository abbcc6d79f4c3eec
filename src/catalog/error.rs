//! Errors of the catalog: a broken manifest names its file, field and what
//! was expected; a bad parameter names the parameter and the rule it broke.

use std::path::PathBuf;

/// A manifest that could not be loaded. One broken manifest never hides the others.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {}{message}", file.display(), field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct CatalogError {
    pub file: PathBuf,
    pub field: Option<String>,
    pub message: String,
}

impl CatalogError {
    pub(crate) fn new(
        file: impl Into<PathBuf>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// A parameter the operator passed, or failed to pass, that the manifest refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("`{0}` is not of the form key=value")]
    Malformed(String),
    #[error("parameter `{0}` is given twice")]
    Duplicate(String),
    #[error("unknown parameter `{name}` for {action}; it takes: {known}")]
    Unknown {
        name: String,
        action: String,
        known: String,
    },
    #[error("required parameter `{name}` is missing ({expected})")]
    Missing { name: String, expected: String },
    #[error("parameter `{name}`: {reason}")]
    Invalid { name: String, reason: String },
}

impl ParamError {
    /// The parameter the error is about, when there is one.
    pub fn param(&self) -> Option<&str> {
        match self {
            Self::Malformed(_) => None,
            Self::Duplicate(name)
            | Self::Unknown { name, .. }
            | Self::Missing { name, .. }
            | Self::Invalid { name, .. } => Some(name),
        }
    }
}
