//! A fan-out wider than the open-file limit allows: rune raises its soft
//! limit to the hard one and runs no more targets at once than the
//! descriptors left allow, so every target succeeds and no run directory
//! is left behind.

use serde_json::Value;

use super::local_inventory;
use crate::support::{root, rune};

/// 300 local targets at --concurrency 300 under `ulimit -n 256` (soft and
/// hard, so raising cannot help): concurrency is capped (to 16, the default,
/// so the test does not also measure a 2-core machine's fork rate), and
/// said so.
#[test]
fn a_fan_out_past_the_open_file_limit_is_capped_and_leaves_no_directory() {
    let home = tempfile::tempdir().unwrap();
    let inventory = local_inventory(home.path(), 300);
    let rune = rune(home.path());
    let mut wrapped = std::process::Command::new("bash");
    wrapped
        .args(["-c", "ulimit -n 256 && exec \"$0\" \"$@\""])
        .arg(rune.get_program())
        .arg("--catalog")
        .arg(root().join("tests/fixtures/catalog"))
        .arg("--inventory")
        .arg(&inventory)
        .args(["run", "misbehave", "-p", "case=ok", "-t", "l-*"])
        .args(["--concurrency", "300", "-o", "json"]);
    for (key, value) in rune.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    let out = wrapped.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first_error = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["error"]["error_payload"]["error_data"]["error"].as_object())
        .cloned();
    assert_eq!(doc["summary"]["success"], 300, "{first_error:?}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("concurrency 300 capped to 16: the open-file limit"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(home.path().join("tmp"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("rune-"))
        .collect();
    assert!(left.is_empty(), "run directories left: {left:?}");
}
