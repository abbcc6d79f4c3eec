//! The kinds of transport, and what each can and cannot do, as plain data.
//!
//! Policy and the inventory ask a kind about itself here instead of matching
//! on a transport's name, so a new transport states its limits in one place.
//! Knows nothing of how a transport works: that lives in its own folder.

use serde::{Deserialize, Serialize};

use super::{local, ssh, ssm};

/// The ways RUNE reaches a target, as manifests and inventories name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Local,
    Ssh,
    Ssm,
}

/// What a transport does with a job beyond moving its bytes: the facts a
/// decision about secrets, streams or kills depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The command text is kept by a service and shown to whoever may list
    /// commands. A transport without stdin carries the envelope in it, so a
    /// secret parameter must never travel this way.
    pub stores_command_text: bool,
    /// Stderr arrives while the plugin runs, not only once it has ended.
    pub streams_stderr: bool,
    /// A timeout or cancel kills the plugin's process tree; otherwise the
    /// remote side is only asked to stop, which it may not do.
    pub kills_process_tree: bool,
}

impl TransportKind {
    /// Every kind, in the order to suggest them to an operator: the ones
    /// that reach other hosts first, local last. Inventory fields are
    /// listed in this order too.
    pub const ALL: [Self; 3] = [Self::Ssh, Self::Ssm, Self::Local];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Ssh => "ssh",
            Self::Ssm => "ssm",
        }
    }

    pub fn capabilities(self) -> Capabilities {
        match self {
            Self::Local => local::CAPABILITIES,
            Self::Ssh => ssh::CAPABILITIES,
            Self::Ssm => ssm::CAPABILITIES,
        }
    }

    /// The inventory fields this kind's address takes, besides `name`,
    /// `transport` and `tags`.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Local => &[],
            Self::Ssh => ssh::FIELDS,
            Self::Ssm => ssm::FIELDS,
        }
    }

    /// The kind whose address takes inventory field `field`. Field names are
    /// unique across kinds, so a misplaced field names its owner.
    pub fn owning(field: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.fields().contains(&field))
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_as_str() {
        for kind in TransportKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<TransportKind>(&json).unwrap(), kind);
        }
        let bad = serde_json::from_str::<TransportKind>("\"telnet\"").unwrap_err();
        assert!(bad.to_string().contains("`local`, `ssh`, `ssm`"), "{bad}");
    }

    #[test]
    fn only_ssm_keeps_the_command_text_or_cannot_kill() {
        let keeps: Vec<_> = TransportKind::ALL
            .into_iter()
            .filter(|k| k.capabilities().stores_command_text)
            .collect();
        assert_eq!(keeps, [TransportKind::Ssm]);
        let ssm = TransportKind::Ssm.capabilities();
        assert!(!ssm.kills_process_tree && !ssm.streams_stderr);
        for kind in [TransportKind::Local, TransportKind::Ssh] {
            let caps = kind.capabilities();
            assert!(caps.kills_process_tree && caps.streams_stderr, "{kind}");
        }
    }

    #[test]
    fn every_field_has_exactly_one_owner() {
        let mut seen = Vec::new();
        for kind in TransportKind::ALL {
            for field in kind.fields() {
                assert!(!seen.contains(field), "{field} is taken twice");
                assert_eq!(TransportKind::owning(field), Some(kind));
                seen.push(*field);
            }
        }
        assert_eq!(seen, ["host", "port", "user", "instance_id", "region"]);
        assert_eq!(TransportKind::owning("name"), None);
    }
}
