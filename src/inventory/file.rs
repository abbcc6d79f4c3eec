//! The inventory TOML: `[[targets]]` with `name`, `transport`, the
//! transport's address fields (`host`, `port`, `user`; `instance_id`,
//! `region`) and `tags`. Unknown fields are refused so a typo never silently
//! sends an action somewhere else. Reading one table is `row.rs`'s job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use super::row::{self, RowError};
use crate::transport::{Address, TransportKind};

/// The largest inventory read; a bigger file is a mistake.
const MAX_INVENTORY_BYTES: u64 = 16 * 1024 * 1024;

/// One target and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// Where it is; the variant says which transport reaches it.
    pub address: Address,
    pub tags: BTreeMap<String, String>,
}

impl Target {
    /// The implicit target every inventory has unless it defines its own.
    pub fn localhost() -> Self {
        Self {
            name: "localhost".into(),
            address: Address::Local,
            tags: BTreeMap::new(),
        }
    }

    /// The transport that reaches it.
    pub fn kind(&self) -> TransportKind {
        self.address.kind()
    }

    /// Where the target is, for people: host, instance id or "local".
    pub fn address(&self) -> String {
        self.address.label(&self.name)
    }
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
        // toml's errors carry their place; the text lets them show the line.
        let shown = |mut error: toml::de::Error| {
            error.set_input(Some(text));
            err(error.to_string().trim_end().to_owned())
        };
        let doc = DeTable::parse(text).map_err(shown)?;
        let rows = row::rows(doc).map_err(shown)?;
        let mut file = Vec::with_capacity(rows.len());
        for (i, one) in rows.into_iter().enumerate() {
            let target = row::read(one).map_err(|e| match e {
                RowError::Toml(error) => shown(error),
                RowError::Address { name, message } => {
                    err(format!("targets[{i}] ({name:?}): {message}"))
                }
            })?;
            file.push(target);
        }
        let mut targets = Vec::with_capacity(file.len() + 1);
        if !file.iter().any(|t| t.name == "localhost") {
            targets.push(Target::localhost());
        }
        for (i, target) in file.into_iter().enumerate() {
            check_name(&target.name)
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

/// The address fields were checked by the transport; the name is the inventory's.
fn check_name(name: &str) -> Result<(), String> {
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@:".contains(&b));
    if !name_ok {
        return Err("`name` must be 1-253 of A-Z, a-z, 0-9 and - _ . @ :".into());
    }
    Ok(())
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
        assert_eq!(inv.targets[0].kind(), TransportKind::Ssh);
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

    /// The transport's parser judges the address; the inventory names the target.
    #[rstest::rstest]
    #[case::ssm_without_id(
        "[[targets]]\nname = \"db\"\ntransport = \"ssm\"\nregion = \"eu-west-1\"",
        "inv.toml: targets[0] (\"db\"): an ssm target needs `instance_id`"
    )]
    #[case::id_on_ssh(
        "[[targets]]\nname = \"w\"\ntransport = \"ssh\"\ninstance_id = \"i-1\"",
        "inv.toml: targets[0] (\"w\"): `instance_id` applies only to ssm targets"
    )]
    #[case::port_on_local(
        "[[targets]]\nname = \"l\"\ntransport = \"local\"\nport = 22",
        "inv.toml: targets[0] (\"l\"): `port` applies only to ssh targets"
    )]
    #[case::second_target(
        "[[targets]]\nname = \"a\"\ntransport = \"local\"\n\
         [[targets]]\nname = \"b\"\ntransport = \"ssh\"\nregion = \"x\"",
        "inv.toml: targets[1] (\"b\"): `region` applies only to ssm targets"
    )]
    fn address_errors_name_the_target_and_field(#[case] text: &str, #[case] want: &str) {
        assert_eq!(parse(text).unwrap_err().to_string(), want);
    }

    #[rstest::rstest]
    #[case::unknown_lists_every_field(
        "[[targets]]\nname = \"a\"\ntransport = \"ssh\"\ncolour = 1",
        &["line 4, column 1", "unknown field `colour`, expected one of `name`, `transport`, \
           `host`, `port`, `user`, `instance_id`, `region`, `tags`"]
    )]
    #[case::address_type("[[targets]]\nname = \"a\"\ntransport = \"ssm\"\ninstance_id = 1",
        &["line 4, column 15", "invalid type: integer `1`, expected a string"])]
    #[case::not_a_table("targets = [1]", &["line 1", "expected struct Target"])]
    #[case::not_an_array("targets = 3", &["line 1", "expected a sequence"])]
    #[case::top_level("colour = 1", &["line 1", "unknown field `colour`, expected `targets`"])]
    fn field_errors_show_the_line(#[case] text: &str, #[case] phrases: &[&str]) {
        let error = parse(text).unwrap_err().to_string();
        for phrase in phrases {
            assert!(error.contains(phrase), "{error} lacks {phrase:?}");
        }
    }

    /// `rune targets --json` prints targets in the file's flat shape.
    #[test]
    fn targets_serialize_flat_with_the_address_between_transport_and_tags() {
        let inv = parse(
            "[[targets]]\nname = \"w\"\ntransport = \"ssh\"\nuser = \"ops\"\nport = 2\n\
             [[targets]]\nname = \"d\"\ntransport = \"ssm\"\ninstance_id = \"i-1\"",
        )
        .unwrap();
        let json = serde_json::to_string(&inv.targets).unwrap();
        let want = r#"[{"name":"localhost","transport":"local","tags":{}},"#.to_owned()
            + r#"{"name":"w","transport":"ssh","port":2,"user":"ops","tags":{}},"#
            + r#"{"name":"d","transport":"ssm","instance_id":"i-1","tags":{}}]"#;
        assert_eq!(json, want);
        assert_eq!(inv.get("w").unwrap().address(), "w:2");
    }
}

#[cfg(test)]
mod props;
