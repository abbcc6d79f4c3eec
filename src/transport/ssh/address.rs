//! An SSH target's address: the inventory's `host`, `port` and `user`, each
//! optional. What is left out comes from the operator's ssh_config when the
//! transport resolves the endpoint (`config.rs`), never from here.

use serde::{Deserialize, Serialize};

use crate::transport::address::{Fields, deserialize};
use crate::transport::error::AddressError;

/// The inventory fields an SSH address takes, in the order the file documents them.
pub const FIELDS: &[&str] = &["host", "port", "user"];

/// How the inventory says to reach an SSH target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshAddress {
    /// The address or ssh_config alias; the target's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Overrides the ssh_config's `Port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Overrides the ssh_config's `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl SshAddress {
    /// Reads the SSH fields of one inventory target.
    pub fn parse(fields: Fields<'_>) -> Result<Self, AddressError> {
        deserialize(fields)
    }

    /// The alias to resolve: `host`, or the target's name.
    pub fn alias<'a>(&'a self, name: &'a str) -> &'a str {
        self.host.as_deref().unwrap_or(name)
    }

    /// `host` or `host:port`, for people.
    pub fn label(&self, name: &str) -> String {
        let host = self.alias(name);
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::address::tests::parse;
    use crate::transport::{Address, TransportKind};

    fn ssh(text: &str) -> Result<SshAddress, String> {
        match parse(TransportKind::Ssh, text)? {
            Address::Ssh(ssh) => Ok(ssh),
            other => Err(format!("not ssh: {other:?}")),
        }
    }

    #[test]
    fn every_field_is_optional_and_the_name_stands_in_for_host() {
        let all = ssh("t = { host = \"10.0.1.11\", port = 2222, user = \"ops\" }").unwrap();
        assert_eq!(all.label("web-1"), "10.0.1.11:2222");
        assert_eq!(all.user.as_deref(), Some("ops"));
        let none = ssh("t = {}").unwrap();
        assert_eq!(none, SshAddress::default());
        assert_eq!(
            (none.alias("web-1"), none.label("web-1")),
            ("web-1", "web-1".into())
        );
    }

    #[rstest::rstest]
    #[case::port_type("t = { port = \"22\" }", &["line 1", "invalid type: string \"22\", expected u16"])]
    #[case::port_range("t = { port = 70000 }", &["line 1", "u16"])]
    #[case::host_type("t = {\n host = 10 }", &["line 2", "expected a string"])]
    #[case::foreign("t = { region = \"eu-west-1\" }", &["`region` applies only to ssm targets"])]
    fn bad_fields_name_the_field_and_its_line(#[case] text: &str, #[case] phrases: &[&str]) {
        let error = ssh(text).unwrap_err();
        for phrase in phrases {
            assert!(error.contains(phrase), "{error} lacks {phrase:?}");
        }
    }

    #[test]
    fn fields_lists_exactly_what_parses() {
        let text = format!(
            "t = {{ {} }}",
            FIELDS
                .iter()
                .map(|f| format!("{f} = {}", if *f == "port" { "1" } else { "\"x\"" }))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let address = ssh(&text).unwrap();
        let json = serde_json::to_value(&address).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, FIELDS);
    }
}
