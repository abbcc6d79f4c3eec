//! Adds targets to an inventory file without disturbing what is there:
//! names the file already has are skipped, the rest are appended as
//! `[[targets]]` blocks at its end, so comments and order survive. The
//! result is parsed before anything is written: a bad write never happens.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::file::{Inventory, InventoryError, Target, load};

/// What [`append`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub added: Vec<String>,
    /// Names the file already had (or that came twice).
    pub skipped: Vec<String>,
}

/// Appends `targets` whose names `path` does not have yet; creates `path`
/// when it does not exist.
pub fn append(path: &Path, targets: &[Target]) -> Result<Appended, InventoryError> {
    let err = |message: String| InventoryError {
        path: path.to_path_buf(),
        message,
    };
    let (old_text, existing) = if path.exists() {
        let inventory = load(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        (text, inventory)
    } else {
        let empty = Inventory {
            path: None,
            targets: Vec::new(),
        };
        (String::new(), empty)
    };
    let mut done = Appended::default();
    let mut text = String::new();
    for target in targets {
        if existing.get(&target.name).is_some() || done.added.contains(&target.name) {
            done.skipped.push(target.name.clone());
            continue;
        }
        #[derive(Serialize)]
        struct One<'a> {
            targets: [&'a Target; 1],
        }
        let block = toml::to_string(&One { targets: [target] })
            .map_err(|e| err(format!("cannot write target {:?}: {e}", target.name)))?;
        text += "\n";
        text += &block;
        done.added.push(target.name.clone());
    }
    if done.added.is_empty() {
        return Ok(done);
    }
    if !old_text.is_empty() && !old_text.ends_with('\n') {
        text.insert(0, '\n');
    }
    Inventory::parse(&format!("{old_text}{text}"), path)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| err(format!("cannot open for writing: {e}")))?;
    file.write_all(text.as_bytes())
        .map_err(|e| err(format!("cannot write: {e}")))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::transport::{Address, SshAddress, SsmAddress, TransportKind};

    fn ssm(name: &str) -> Target {
        Target {
            name: name.into(),
            address: Address::Ssm(SsmAddress {
                instance_id: name.into(),
                region: Some("eu-west-1".into()),
            }),
            tags: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        }
    }

    #[test]
    fn existing_entries_and_comments_are_kept_and_new_ones_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.toml");
        let before =
            "# hand-written\n[[targets]]\nname = \"i-1\"\ntransport = \"ssh\"\nhost = \"10.0.0.1\"";
        std::fs::write(&path, before).unwrap();
        let done = append(&path, &[ssm("i-1"), ssm("i-2"), ssm("i-2")]).unwrap();
        assert_eq!(done.added, ["i-2"]);
        assert_eq!(done.skipped, ["i-1", "i-2"]);
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.starts_with(before), "{after}");
        let inventory = load(&path).unwrap();
        assert_eq!(inventory.get("i-1").unwrap().kind(), TransportKind::Ssh);
        assert_eq!(inventory.get("i-2").unwrap(), &ssm("i-2"));
        assert_eq!(append(&path, &[ssm("i-2")]).unwrap().added.len(), 0);
    }

    #[test]
    fn targets_are_written_in_the_flat_shape_an_operator_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.toml");
        let web = Target {
            name: "w".into(),
            address: Address::Ssh(SshAddress {
                host: Some("h".into()),
                port: Some(2),
                user: None,
            }),
            tags: BTreeMap::new(),
        };
        append(&path, &[ssm("i-1"), web]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let want = "\n[[targets]]\nname = \"i-1\"\ntransport = \"ssm\"\ninstance_id = \"i-1\"\n\
                    region = \"eu-west-1\"\n\n[targets.tags]\nenv = \"prod\"\n\n\
                    [[targets]]\nname = \"w\"\ntransport = \"ssh\"\nhost = \"h\"\nport = 2\n\n\
                    [targets.tags]\n";
        assert_eq!(text, want);
    }

    #[test]
    fn a_missing_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.toml");
        assert_eq!(append(&path, &[ssm("i-9")]).unwrap().added, ["i-9"]);
        assert!(load(&path).unwrap().get("i-9").is_some());
    }
}
