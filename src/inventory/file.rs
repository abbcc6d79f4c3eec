//! The inventory TOML: `[[targets]]` with `name`, `transport`, `host`,
//! `port`, `user`, `instance_id`, `region` and `tags`. Unknown fields are
//! refused so a typo never silently sends an action somewhere else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::TransportKind;

/// The largest inventory read; a bigger file is a mistake.
const MAX_INVENTORY_BYTES: u64 = 16 * 1024 * 1024;

/// One target and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: String,
    pub transport: TransportKind,
    /// SSH: the address or ssh_config alias (defaults to `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SSM: the managed instance id (`i-…` or `mi-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl Target {
    /// The implicit target every inventory has unless it defines its own.
    pub fn localhost() -> Self {
        Self {
            name: "localhost".into(),
            transport: TransportKind::Local,
            host: None,
            port: None,
            user: None,
            instance_id: None,
            region: None,
            tags: BTreeMap::new(),
        }
    }

    /// Where the target is, for people: host, instance id or "local".
    pub fn address(&self) -> String {
        match self.transport {
            TransportKind::Local => "local".into(),
            TransportKind::Ssh => {
                let host = self.host.as_deref().unwrap_or(&self.name);
                match self.port {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_owned(),
                }
            }
            TransportKind::Ssm => self.instance_id.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    #[serde(default)]
    targets: Vec<Target>,
}

/// All known targets, in file order, `localhost` first when implicit.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub path: Option<PathBuf>,
    pub targets: Vec<Target>,
}

impl Default for Inventory {
    fn default() -> Self {
        Self {
            path: None,
            targets: vec![Target::localhost()],
        }
    }
}

impl Inventory {
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Parses inventory text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, InventoryError> {
        let err = |message: String| InventoryError {
            path: path.to_path_buf(),
            message,
        };
        let file: InventoryFile =
            toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_owned()))?;
        let mut targets = Vec::with_capacity(file.targets.len() + 1);
        if !file.targets.iter().any(|t| t.name == "localhost") {
            targets.push(Target::localhost());
        }
        for (i, target) in file.targets.into_iter().enumerate() {
            check_target(&target)
                .map_err(|m| err(format!("targets[{i}] ({:?}): {m}", target.name)))?;
            if targets.iter().any(|t: &Target| t.name == target.name) {
                return Err(err(format!(
                    "targets[{i}]: the name {:?} is used twice",
                    target.name
                )));
            }
            targets.push(target);
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            targets,
        })
    }
}

fn check_target(t: &Target) -> Result<(), String> {
    let name_ok = !t.name.is_empty()
        && t.name.len() <= 253
        && t.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@:".contains(&b));
    if !name_ok {
        return Err("`name` must be 1-253 of A-Z, a-z, 0-9 and - _ . @ :".into());
    }
    match t.transport {
        TransportKind::Ssm if t.instance_id.is_none() => {
            Err("an ssm target needs `instance_id`".into())
        }
        TransportKind::Ssm => Ok(()),
        _ if t.instance_id.is_some() => Err("`instance_id` applies only to ssm targets".into()),
        TransportKind::Local if t.host.is_some() || t.port.is_some() || t.user.is_some() => {
            Err("a local target takes no `host`, `port` or `user`".into())
        }
        _ => Ok(()),
    }
}

/// An inventory that could not be read, naming the file and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct InventoryError {
    pub path: PathBuf,
    pub message: String,
}

/// The inventory in the platform config dir, when there is one.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "rune").map(|d| d.config_dir().join("inventory.toml"))
}

/// Reads the inventory at `path`.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    let err = |message: String| InventoryError {
        path: path.to_path_buf(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| err(format!("cannot read: {e}")))?
        .len();
    if size > MAX_INVENTORY_BYTES {
        return Err(err(format!(
            "is {size} bytes; an inventory may be at most {MAX_INVENTORY_BYTES}"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| err(format!("is not UTF-8: {e}")))?;
    Inventory::parse(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Inventory, InventoryError> {
        Inventory::parse(text, Path::new("inv.toml"))
    }

    #[test]
    fn targets_parse_and_localhost_is_implicit() {
        let inv = parse(
            r#"
            [[targets]]
            name = "web-1"
            transport = "ssh"
            host = "10.0.1.11"
            user = "ops"
            tags = { role = "web", env = "prod" }

            [[targets]]
            name = "db-1"
            transport = "ssm"
            instance_id = "i-0123456789abcdef0"
            region = "eu-west-1"
            "#,
        )
        .unwrap();
        let names: Vec<_> = inv.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["localhost", "web-1", "db-1"]);
        assert_eq!(inv.get("web-1").unwrap().tags["role"], "web");
        assert_eq!(inv.get("db-1").unwrap().address(), "i-0123456789abcdef0");
    }

    #[test]
    fn an_inventory_may_redefine_localhost() {
        let inv =
            parse("[[targets]]\nname = \"localhost\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"")
                .unwrap();
        assert_eq!(inv.targets.len(), 1);
        assert_eq!(inv.targets[0].transport, TransportKind::Ssh);
    }

    #[rstest::rstest]
    #[case::unknown_field("[[targets]]\nname = \"a\"\ntransport = \"ssh\"\nhots = \"x\"", "hots")]
    #[case::bad_transport("[[targets]]\nname = \"a\"\ntransport = \"telnet\"", "telnet")]
    #[case::ssm_without_id("[[targets]]\nname = \"a\"\ntransport = \"ssm\"", "instance_id")]
    #[case::duplicate(
        "[[targets]]\nname = \"a\"\ntransport = \"ssh\"\n[[targets]]\nname = \"a\"\ntransport = \"ssh\"",
        "used twice"
    )]
    #[case::bad_name("[[targets]]\nname = \"a b\"\ntransport = \"ssh\"", "`name`")]
    #[case::port_type(
        "[[targets]]\nname = \"a\"\ntransport = \"ssh\"\nport = \"22\"",
        "line 4"
    )]
    #[case::port_range("[[targets]]\nname = \"a\"\ntransport = \"ssh\"\nport = 70000", "port")]
    fn bad_inventories_say_where_and_why(#[case] text: &str, #[case] phrase: &str) {
        let error = parse(text).unwrap_err().to_string();
        assert!(error.starts_with("inv.toml: "), "{error}");
        assert!(error.contains(phrase), "{error} lacks {phrase:?}");
    }
}

#[cfg(test)]
mod props;
