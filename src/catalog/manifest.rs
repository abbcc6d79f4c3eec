//! The `action.toml` format and its validated form.
//!
//! Unknown fields are refused (a typo such as `timout` must not silently fall
//! back to a default), and every check names the field it is about.

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transport::{Bundle, TransportKind};

/// How dangerous an action is; decides the confirmation it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Read,
    Change,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Change => "change",
            Self::High => "high",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManifestFile {
    pub name: String,
    pub title: String,
    pub description: String,
    pub version: String,
    pub owner: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub risk: Risk,
    pub timeout: String,
    pub entry: Option<String>,
    #[serde(default)]
    pub files: Vec<String>,
    pub installed: Option<String>,
    pub transports: Option<Vec<TransportKind>>,
    pub verify: Option<String>,
    #[serde(default)]
    pub params: IndexMap<String, ParamFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ParamKind {
    String,
    Integer,
    Boolean,
    Enum,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ParamFile {
    #[serde(rename = "type")]
    pub kind: ParamKind,
    #[serde(default)]
    pub required: bool,
    pub default: Option<toml::Value>,
    pub pattern: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: String,
}

/// A parameter's type with its constraint.
#[derive(Debug, Clone)]
pub enum ParamType {
    /// A string, optionally fully matching `pattern`.
    String {
        pattern: Option<Regex>,
    },
    /// A 64-bit integer within `min..=max` when given.
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    /// One of `values`.
    Enum {
        values: Vec<String>,
    },
}

impl ParamType {
    /// A short human description: `string ^[a-z]+$`, `integer 5..120`, `one of a|b`.
    pub fn describe(&self) -> String {
        match self {
            Self::String { pattern: Some(p) } => format!("string matching {}", source_of(p)),
            Self::String { pattern: None } => "string".into(),
            Self::Integer { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("integer {a}..{b}"),
                (Some(a), None) => format!("integer >= {a}"),
                (None, Some(b)) => format!("integer <= {b}"),
                (None, None) => "integer".into(),
            },
            Self::Boolean => "boolean (true|false)".into(),
            Self::Enum { values } => format!("one of {}", values.join("|")),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::String { .. } => "string",
            Self::Integer { .. } => "integer",
            Self::Boolean => "boolean",
            Self::Enum { .. } => "enum",
        }
    }
}

/// The pattern as the manifest wrote it (the compiled form is anchored).
pub(super) fn source_of(re: &Regex) -> &str {
    re.as_str()
        .strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(re.as_str())
}

/// One declared parameter, in manifest order.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub kind: ParamType,
    pub required: bool,
    pub default: Option<Value>,
    /// Travels only inside the stdin envelope; redacted everywhere else.
    pub secret: bool,
    pub description: String,
}

/// A validated action, ready to plan and run.
#[derive(Debug, Clone)]
pub struct Action {
    pub name: String,
    pub title: String,
    pub description: String,
    pub version: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub risk: Risk,
    pub timeout: Duration,
    /// Transports the action allows; `None` allows all.
    pub transports: Option<Vec<TransportKind>>,
    pub verify: Option<String>,
    pub params: Vec<Param>,
    /// What runs: a bundle pushed along, or a plugin already installed on targets.
    pub plugin: Plugin,
    pub manifest_path: std::path::PathBuf,
}

/// Where an action's code comes from.
#[derive(Debug, Clone)]
pub enum Plugin {
    /// Files from the catalog, pushed to the target for each execution.
    Bundle(Arc<Bundle>),
    /// An executable already installed on the target at this absolute path.
    Installed(String),
}

impl Action {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// True when the action may run over `kind`.
    pub fn allows(&self, kind: TransportKind) -> bool {
        self.transports
            .as_ref()
            .is_none_or(|list| list.contains(&kind))
    }

    /// The SHA-256 of the bundle, or `installed:PATH` for a pre-installed plugin.
    pub fn bundle_sha256(&self) -> String {
        match &self.plugin {
            Plugin::Bundle(b) => b.sha256.clone(),
            Plugin::Installed(path) => format!("installed:{path}"),
        }
    }

    pub fn has_secrets(&self) -> bool {
        self.params.iter().any(|p| p.secret)
    }
}

/// Parses a manifest duration: digits with a lower-case unit (`500ms`, `30s`,
/// `5m`, `2h`, `1m30s`). Upper-case units and bare numbers are refused
/// because humantime reads `5M` as five months.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = "a duration with a lower-case unit such as \"30s\", \"5m\" or \"1h\"";
    let t = text.trim();
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || c == ' ');
    if t.is_empty() || !ok_chars || !t.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(format!("{text:?} is not {expected}"));
    }
    let d = humantime::parse_duration(t).map_err(|e| format!("{text:?} is not {expected}: {e}"))?;
    if d.is_zero() || d > Duration::from_secs(24 * 3600) {
        return Err(format!("{text:?} must be more than 0 and at most 24h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_lower_case_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["5M", "30", "", "0s", "-1s", "2d x", "48h"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
        assert!(parse_duration("5M").unwrap_err().contains("lower-case"));
    }
}
