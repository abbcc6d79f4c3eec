//! Hardening through the real binary: catalog trust (StrictModes), bad
//! files, and what a local plugin inherits from rune's caller. Every refusal
//! names the file and says why; nothing panics.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{root, rune};

/// A private copy of the fixture's `misbehave` action and its `lib`.
fn copy_catalog() -> tempfile::TempDir {
    let catalog = tempfile::tempdir().unwrap();
    let source = root().join("tests/fixtures/catalog");
    for dir in ["misbehave", "lib"] {
        std::fs::create_dir_all(catalog.path().join(dir)).unwrap();
        for f in std::fs::read_dir(source.join(dir)).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), catalog.path().join(dir).join(f.file_name())).unwrap();
        }
    }
    catalog
}

fn actions_json(catalog: &Path) -> (Output, Value) {
    let home = tempfile::tempdir().unwrap();
    let out = rune(home.path())
        .arg("--catalog")
        .arg(catalog)
        .args(["actions", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out, doc)
}

fn broken_messages(doc: &Value) -> Vec<String> {
    doc["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_shipped_and_fixture_catalogs_pass_the_trust_check() {
    for dir in ["actions", "tests/fixtures/catalog"] {
        let catalog = rune::catalog::load(&root().join(dir)).unwrap();
        assert!(
            catalog.broken.is_empty(),
            "{dir} fails to load (a checkout with umask 002 makes group-writable files: chmod -R go-w {dir}): {:?}",
            catalog.broken
        );
    }
}

#[test]
fn a_world_writable_plugin_is_listed_as_broken() {
    let catalog = copy_catalog();
    let plugin = catalog.path().join("misbehave/run.sh");
    chmod(&plugin, 0o777);
    let (out, doc) = actions_json(catalog.path());
    assert!(out.status.success());
    assert_eq!(doc["actions"].as_array().unwrap().len(), 0, "{doc}");
    let broken = broken_messages(&doc);
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].contains("misbehave/action.toml"), "{}", broken[0]);
    assert!(
        broken[0].contains("misbehave/run.sh is writable by others (mode 0777)"),
        "{}",
        broken[0]
    );
    assert!(
        broken[0].contains("whoever can write it can run code on every target"),
        "{}",
        broken[0]
    );
    let home = tempfile::tempdir().unwrap();
    let run = rune(home.path())
        .arg("--catalog")
        .arg(catalog.path())
        .args(["run", "misbehave", "-p", "case=ok", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "a refused action never runs");
    chmod(&plugin, 0o755);
    let (_, doc) = actions_json(catalog.path());
    assert_eq!(doc["actions"][0]["name"], "misbehave", "{doc}");
}

#[test]
fn a_group_writable_library_folder_is_listed_as_broken() {
    let catalog = copy_catalog();
    chmod(&catalog.path().join("lib"), 0o775);
    let (_, doc) = actions_json(catalog.path());
    let broken = broken_messages(&doc);
    assert!(
        broken[0].contains("lib is writable by its group (mode 0775)")
            && broken[0].contains("fix with chmod go-w"),
        "{broken:?}"
    );
}

#[test]
fn a_plugin_owned_by_another_user_is_listed_as_broken() {
    if rustix::process::geteuid().as_raw() != 0 {
        return; // only root may give a file away
    }
    let catalog = copy_catalog();
    std::os::unix::fs::chown(catalog.path().join("misbehave/run.sh"), Some(65534), None).unwrap();
    let (_, doc) = actions_json(catalog.path());
    let broken = broken_messages(&doc);
    assert!(
        broken[0].contains("run.sh is owned by uid 65534, not by you (uid 0) or root"),
        "{broken:?}"
    );
}

const MANIFEST: &str = "name = \"bad\"\ntitle = \"B\"\ndescription = \"b\"\nversion = \"1\"\nowner = \"o\"\nrisk = \"read\"\ntimeout = \"5s\"\nentry = \"run.sh\"\n";

/// Writes `bad/action.toml` with `bytes` beside the good `misbehave`.
fn catalog_with_bad_manifest(bytes: &[u8]) -> tempfile::TempDir {
    let catalog = copy_catalog();
    let dir = catalog.path().join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("run.sh"), "#!/bin/sh\n").unwrap();
    chmod(&dir.join("run.sh"), 0o755);
    std::fs::write(dir.join("action.toml"), bytes).unwrap();
    catalog
}

#[rstest::rstest]
#[case::malformed_toml(b"name = \"bad\"\ntitle = \n".to_vec(), &["line 2"])]
#[case::unknown_field(format!("{MANIFEST}colour = \"red\"\n").into_bytes(), &["line 9", "colour"])]
#[case::wrong_type(MANIFEST.replace("timeout = \"5s\"", "timeout = 5").into_bytes(), &["line 7", "timeout"])]
#[case::non_utf8(b"name = \"b\xffd\"\n".to_vec(), &["is not UTF-8"])]
fn a_bad_manifest_is_listed_as_broken_beside_the_good_ones(
    #[case] bytes: Vec<u8>,
    #[case] phrases: &[&str],
) {
    let catalog = catalog_with_bad_manifest(&bytes);
    let (out, doc) = actions_json(catalog.path());
    assert!(out.status.success());
    assert_eq!(doc["actions"][0]["name"], "misbehave", "{doc}");
    let broken = broken_messages(&doc);
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].contains("bad/action.toml"), "{}", broken[0]);
    for phrase in phrases {
        assert!(broken[0].contains(phrase), "{} lacks {phrase:?}", broken[0]);
    }
}

#[test]
fn a_huge_manifest_is_refused_unread() {
    let catalog = catalog_with_bad_manifest(MANIFEST.as_bytes());
    // Sparse: the size is checked before a byte is read.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(catalog.path().join("bad/action.toml"))
        .unwrap();
    file.set_len(256 * 1024 + 1).unwrap();
    let (_, doc) = actions_json(catalog.path());
    let broken = broken_messages(&doc);
    assert!(
        broken[0].contains("bad/action.toml")
            && broken[0].contains("is 262145 bytes; a manifest may be at most 262144"),
        "{broken:?}"
    );
}

fn targets_with(inventory: &Path) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let out = rune(home.path())
        .arg("--inventory")
        .arg(inventory)
        .args(["targets", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

const TARGET: &str = "[[targets]]\nname = \"web-1\"\ntransport = \"ssh\"\nhost = \"10.0.1.11\"\n";

#[rstest::rstest]
#[case::malformed_toml(b"[[targets]\nname = \"x\"\n".to_vec(), &["line 1"])]
#[case::unknown_field(format!("{TARGET}colour = \"red\"\n").into_bytes(), &["line 5", "colour"])]
#[case::wrong_type(TARGET.replace("host = \"10.0.1.11\"", "host = 10").into_bytes(), &["line 4", "host"])]
#[case::non_utf8(b"[[targets]]\nname = \"w\xfeb\"\n".to_vec(), &["is not UTF-8"])]
fn a_bad_inventory_is_refused_naming_file_and_line(
    #[case] bytes: Vec<u8>,
    #[case] phrases: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, bytes).unwrap();
    let (code, stderr) = targets_with(&inventory);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("inventory.toml"), "{stderr}");
    for phrase in phrases {
        assert!(stderr.contains(phrase), "{stderr} lacks {phrase:?}");
    }
}

#[test]
fn a_huge_inventory_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, TARGET).unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&inventory)
        .unwrap();
    file.set_len(16 * 1024 * 1024 + 1).unwrap();
    let (code, stderr) = targets_with(&inventory);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("inventory.toml")
            && stderr.contains("an inventory may be at most 16777216"),
        "{stderr}"
    );
}

/// rune started with a pipe on fd 251 (as a supervisor or a shell's
/// process substitution can leave one): the plugin must not get it.
#[test]
fn a_descriptor_rune_inherited_never_reaches_a_local_plugin() {
    let home = tempfile::tempdir().unwrap();
    let rune = rune(home.path());
    let mut wrapped = std::process::Command::new("bash");
    // `exec 251< <(:)` opens a pipe without close-on-exec, then bash
    // becomes rune with it.
    wrapped
        .args(["-c", "exec 251< <(:) && exec \"$0\" \"$@\""])
        .arg(rune.get_program())
        .arg("--catalog")
        .arg(root().join("tests/fixtures/catalog"))
        .args(["run", "misbehave", "-p", "case=fds", "-o", "json"]);
    for (key, value) in rune.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    let out = wrapped.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let data = &doc["results"][0]["output"]["payload"]["output_data"];
    assert_eq!(
        data["fd251"], false,
        "the plugin had open: {}",
        data["open"]
    );
}
