//! Journal event kinds: the closed set this build writes, the text each is
//! stored as, and the classifiers readers use instead of comparing strings.
//! The stored text is hashed into the chain and copied into every export,
//! so a variant's text never changes. Does no I/O.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlResult, ValueRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What one journal event records; `as_str` is its `events.kind` column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An incident opened or closed; `body.action` says which.
    Incident,
    /// The RCS request, committed before any execution may start.
    Request,
    /// An execution passed the start gate; the body holds its BPCS input.
    Started,
    /// One bounded stderr line of a running execution.
    Stderr,
    /// A phase change of a running execution.
    Status,
    /// The execution succeeded.
    Result,
    /// The execution failed, timed out or was skipped.
    Error,
    /// A responder's note on an incident.
    Note,
    /// The execution was cancelled.
    Cancelled,
    /// A rune that is gone left the execution without an outcome (see `recover`).
    Interrupted,
    /// Stored text this build does not know. The schema's CHECK refuses any
    /// other text, and a newer rune can only add a kind by migrating that
    /// CHECK (a schema version this build refuses to open), so such a row
    /// means the file was edited outside rune. It is read, shown and exported
    /// as stored, never dropped and never fatal: hiding the row would hide the
    /// evidence, and `verify` (or the bundle's `journal.verified`) says
    /// whether the chain still holds. Never written: `Chain::append` refuses it.
    Unknown(String),
}

impl EventKind {
    /// Every kind this build writes, in the order of the schema's CHECK.
    pub const ALL: [Self; 10] = [
        Self::Incident,
        Self::Request,
        Self::Started,
        Self::Stderr,
        Self::Status,
        Self::Result,
        Self::Error,
        Self::Note,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// The text stored in `events.kind` and hashed into the chain.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Incident => "incident",
            Self::Request => "request",
            Self::Started => "started",
            Self::Stderr => "stderr",
            Self::Status => "status",
            Self::Result => "result",
            Self::Error => "error",
            Self::Note => "note",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Unknown(text) => text,
        }
    }

    /// Ends an execution: its outcome. An execution has at most one, and
    /// recovery marks those without one `interrupted`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Result | Self::Error | Self::Cancelled | Self::Interrupted
        )
    }

    /// A running execution's progress (stderr lines, phases): many per
    /// execution, so summaries leave them out.
    pub fn is_stream(&self) -> bool {
        matches!(self, Self::Stderr | Self::Status)
    }

    /// One of the kinds this build writes.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }
}

impl From<&str> for EventKind {
    fn from(text: &str) -> Self {
        match text {
            "incident" => Self::Incident,
            "request" => Self::Request,
            "started" => Self::Started,
            "stderr" => Self::Stderr,
            "status" => Self::Status,
            "result" => Self::Result,
            "error" => Self::Error,
            "note" => Self::Note,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl FromStr for EventKind {
    type Err = Infallible;

    /// Never fails: text no variant names reads as [`EventKind::Unknown`].
    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Self::from(text))
    }
}

impl fmt::Display for EventKind {
    // `pad`, not `write_str`: views align kinds with `{:<11}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self::from(text.as_str()))
    }
}

impl FromSql for EventKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_str().map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_text() {
        for kind in EventKind::ALL {
            assert!(kind.is_known(), "{kind:?}");
            assert_eq!(EventKind::from(kind.as_str()), kind);
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind.clone()));
            let json = serde_json::to_value(&kind).unwrap();
            assert_eq!(json, Value::from(kind.as_str()));
            assert_eq!(serde_json::from_value::<EventKind>(json).unwrap(), kind);
        }
    }

    #[test]
    fn the_stored_texts_are_the_ones_existing_journals_hold() {
        let texts: Vec<&str> = EventKind::ALL.iter().map(EventKind::as_str).collect();
        assert_eq!(
            texts,
            [
                "incident",
                "request",
                "started",
                "stderr",
                "status",
                "result",
                "error",
                "note",
                "cancelled",
                "interrupted"
            ]
        );
    }

    #[test]
    fn unknown_text_reads_back_as_stored() {
        let kind: EventKind = "Result".parse().unwrap();
        assert_eq!(kind, EventKind::Unknown("Result".into()));
        assert_eq!(kind.as_str(), "Result");
        assert!(!kind.is_known() && !kind.is_terminal() && !kind.is_stream());
        assert_eq!(serde_json::to_string(&kind).unwrap(), r#""Result""#);
        assert_eq!(format!("[{:<8}]", EventKind::Note), "[note    ]");
    }

    #[test]
    fn terminal_kinds_are_the_outcomes() {
        let terminal: Vec<&str> = EventKind::ALL
            .iter()
            .filter(|k| k.is_terminal())
            .map(EventKind::as_str)
            .collect();
        assert_eq!(terminal, ["result", "error", "cancelled", "interrupted"]);
        let stream: Vec<&str> = EventKind::ALL
            .iter()
            .filter(|k| k.is_stream())
            .map(EventKind::as_str)
            .collect();
        assert_eq!(stream, ["stderr", "status"]);
    }

    /// The evidence schema names kinds too: its timeline's `kind` enum and
    /// an execution's `outcome` enum must follow the type.
    #[test]
    fn the_evidence_schema_lists_the_same_kinds() {
        let schema: Value =
            serde_json::from_str(include_str!("../../assets/evidence.schema.json")).unwrap();
        let names = |enumeration: &Value| -> Vec<Option<String>> {
            let list = enumeration.as_array().unwrap();
            list.iter().map(|v| v.as_str().map(str::to_owned)).collect()
        };
        let known = |filter: fn(&EventKind) -> bool| -> Vec<Option<String>> {
            let kinds = EventKind::ALL.into_iter().filter(filter);
            kinds.map(|k| Some(k.as_str().to_owned())).collect()
        };
        let defs = &schema["$defs"];
        assert_eq!(
            names(&defs["event"]["properties"]["kind"]["enum"]),
            known(|_| true)
        );
        let mut outcomes = known(EventKind::is_terminal);
        outcomes.push(None);
        assert_eq!(
            names(&defs["execution"]["properties"]["outcome"]["enum"]),
            outcomes
        );
    }
}
