//! Where a secret parameter must never be seen on the target while a plugin
//! runs, on the local and the SSH transport, through the real binary: not in
//! the environment of any process of the plugin's group, not on any command
//! line on the host, not in a file of the run's private directory (which is
//! 0700 and gone afterwards), not in pretty output or rune.log. The plugin
//! (`misbehave` case `secret_probe`) looks while it runs; it uses builtins
//! only, so its own probes put the secret on no command line.
//! Journal and exports: `journal/secrets.rs`; SSM: `ssm/secrets.rs`.

use std::path::Path;

use serde_json::Value;

use crate::ssh::Env;
use crate::support::{root, rune};

/// Unique per test, so other runs on this host (which all see `ps`) cannot match.
fn secret() -> String {
    format!("s3cret-{}", uuid::Uuid::new_v4().simple())
}

fn probe(home: &Path, inventory: Option<&Path>, target: &str, secret: &str) -> (Value, String) {
    let mut cmd = rune(home);
    cmd.arg("--catalog")
        .arg(root().join("tests/fixtures/catalog"));
    if let Some(inventory) = inventory {
        cmd.arg("--inventory").arg(inventory);
    }
    // Pretty output first: what a responder sees.
    let out = cmd
        .args(["run", "misbehave", "-t", target, "-p", "case=secret_probe"])
        .env("RUNE_SECRET_TOKEN", secret)
        .env("RUNE_LOG", "trace")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let journal = home.join("data/rune/journal.db");
    let out = rune(home)
        .args(["journal", "verify", "--json"])
        .arg("--journal")
        .arg(&journal)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = rusqlite::Connection::open(&journal).unwrap();
    let data: String = raw
        .query_row(
            "SELECT json_extract(body, '$.output.payload.output_data') FROM events WHERE kind = 'result'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (serde_json::from_str(&data).unwrap(), shown)
}

fn assert_unseen(home: &Path, data: &Value, shown: &str, secret: &str) {
    assert_eq!(
        data["has_token"],
        secret.len(),
        "the plugin got it on stdin: {data}"
    );
    assert_eq!(data["env_hits"], 0, "in a process environment: {data}");
    assert_eq!(data["ps_hits"], 0, "on a command line: {data}");
    assert_eq!(
        data["file_hits"], 0,
        "in a file of the run's directory: {data}"
    );
    assert_eq!(
        data["root_mode"], "700",
        "the run's directory is private: {data}"
    );
    let dir = Path::new(data["pwd"].as_str().unwrap()).parent().unwrap();
    assert!(!dir.exists(), "{} was left behind", dir.display());
    assert!(!shown.contains(secret), "shown: {shown}");
    assert!(shown.contains("success"), "{shown}");
    let log = std::fs::read_to_string(home.join("state/rune/rune.log")).unwrap();
    assert!(log.contains("[REDACTED]"), "{log}");
    assert!(!log.contains(secret), "{log}");
}

#[test]
fn a_secret_is_nowhere_on_the_local_target() {
    let home = tempfile::tempdir().unwrap();
    let secret = secret();
    let (data, shown) = probe(home.path(), None, "localhost", &secret);
    assert_unseen(home.path(), &data, &shown, &secret);
}

#[test]
fn a_secret_is_nowhere_on_an_ssh_target() {
    let env = Env::start(1);
    let inventory = env.home.path().join("inventory.toml");
    std::fs::write(&inventory, env.farm.inventory_toml()).unwrap();
    let secret = secret();
    let (data, shown) = probe(env.home.path(), Some(&inventory), "ssh-1", &secret);
    assert_unseen(env.home.path(), &data, &shown, &secret);
}

/// The probe can fail: a secret given with `-p` is on rune's own command
/// line, which the plugin sees in `ps` on the local host. RUNE says so.
#[test]
fn a_secret_on_the_command_line_is_seen_and_warned_about() {
    let home = tempfile::tempdir().unwrap();
    let secret = secret();
    let out = rune(home.path())
        .arg("--catalog")
        .arg(root().join("tests/fixtures/catalog"))
        .args(["run", "misbehave", "-p", "case=secret_probe", "-o", "json"])
        .arg("-p")
        .arg(format!("token={secret}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the secret parameter `token` is on the command line")
            && stderr.contains("RUNE_SECRET_TOKEN"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = &doc["results"][0]["output"]["payload"]["output_data"];
    assert_eq!(data["ps_hits"], 1, "rune's own argv: {data}");
}

/// A catalog of one action, `pin`, taking a secret integer of at most 100.
fn pin_catalog() -> tempfile::TempDir {
    let catalog = tempfile::tempdir().unwrap();
    let dir = catalog.path().join("pin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("run.sh"), "cat >/dev/null\n").unwrap();
    std::fs::write(
        dir.join("action.toml"),
        "name = \"pin\"\ntitle = \"P\"\ndescription = \"d\"\nversion = \"1\"\nowner = \"o\"\n\
         risk = \"read\"\ntimeout = \"5s\"\nentry = \"run.sh\"\n\
         [params.pin]\ntype = \"integer\"\nsecret = true\nmax = 100\nrequired = true\n",
    )
    .unwrap();
    catalog
}

/// A secret refused by its constraint is named, its rule is said, and its
/// value is shown nowhere: not on stderr, not in the EPS document, not in
/// the log (`catalog::params` covers every kind of refusal).
#[test]
fn a_secret_refused_by_its_constraint_is_never_shown() {
    let home = tempfile::tempdir().unwrap();
    let catalog = pin_catalog();
    for format in ["json", "pretty"] {
        let out = rune(home.path())
            .arg("--catalog")
            .arg(catalog.path())
            .args(["run", "pin", "-o", format])
            .env("RUNE_SECRET_PIN", "987654321")
            .env("RUNE_LOG", "trace")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr,
            "rune: refused: parameter `pin`: the secret value is above the maximum 100\n"
        );
        if format == "json" {
            let eps: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(
                eps["error_payload"]["error_data"]["error"]["data"]["reason"],
                "parameter `pin`: the secret value is above the maximum 100"
            );
        }
        assert!(!stdout.contains("987654321"), "{stdout}");
    }
    let log = std::fs::read_to_string(home.path().join("state/rune/rune.log")).unwrap_or_default();
    assert!(!log.contains("987654321"), "{log}");
}
