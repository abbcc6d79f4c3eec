//! A plugin that echoes its secret parameter (in `output_data` and its keys,
//! on stderr, in its error message, in stdout that is not a valid envelope)
//! through the real binary, on the local and the SSH transport: no form of
//! the secret (raw, JSON-escaped, base64, hex, url-encoded) is in rune's
//! stdout or stderr, the journal file or any export; `[MASKED]` stands in
//! its place. A secret under 4 characters is not masked, and a note says so.
//! The plugin is `misbehave`, cases `echo_secret*`.

use std::path::{Path, PathBuf};

use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL_NOPAD};
use serde_json::Value;

use crate::ssh::Env;
use crate::support::{root, rune};

const CASES: [&str; 3] = ["echo_secret", "echo_secret_error", "echo_secret_garbage"];

/// Unique per test, and with characters every encoding changes.
fn secret() -> String {
    format!("s3cr\"et/+ x-{}", uuid::Uuid::new_v4().simple())
}

/// The forms the plugin prints, all of which must be gone.
fn forms(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let url: String = bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    vec![
        secret.to_owned(),
        secret.replace('"', "\\\""),
        BASE64.encode(bytes),
        BASE64_NOPAD.encode(bytes),
        BASE64URL_NOPAD.encode(bytes),
        hex::encode(bytes),
        hex::encode_upper(bytes),
        url,
    ]
}

struct Target<'a> {
    home: &'a Path,
    inventory: Option<PathBuf>,
    name: &'a str,
}

impl Target<'_> {
    fn rune(&self) -> std::process::Command {
        let mut cmd = rune(self.home);
        cmd.arg("--catalog")
            .arg(root().join("tests/fixtures/catalog"));
        if let Some(inventory) = &self.inventory {
            cmd.arg("--inventory").arg(inventory);
        }
        cmd.env_remove("SSH_AUTH_SOCK");
        cmd
    }

    /// `rune run misbehave -p case=CASE`, pretty and as JSON: all it printed,
    /// and the JSON document.
    fn run(&self, case: &str, secret: &str) -> (String, Value) {
        let mut shown = String::new();
        let mut doc = Value::Null;
        for json in [false, true] {
            let mut cmd = self.rune();
            cmd.args(["run", "misbehave", "-t", self.name, "-p"])
                .arg(format!("case={case}"))
                .env("RUNE_SECRET_TOKEN", secret);
            if json {
                cmd.args(["-o", "json"]);
            }
            let out = cmd.output().unwrap();
            shown.push_str(&String::from_utf8_lossy(&out.stdout));
            shown.push_str(&String::from_utf8_lossy(&out.stderr));
            if json {
                doc = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("{case}: {e}: {shown}"));
            }
        }
        (shown, doc)
    }

    /// The journal's files, as bytes and as rows, and every export.
    fn recorded(&self, incidents: &[String]) -> String {
        let dir = self.home.join("data/rune");
        let mut all = String::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            all.push_str(&String::from_utf8_lossy(&bytes));
        }
        let db = rusqlite::Connection::open(dir.join("journal.db")).unwrap();
        let mut rows = db.prepare("SELECT body FROM events").unwrap();
        for body in rows.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            all.push_str(&body.unwrap());
        }
        for id in incidents {
            for format in ["json", "ndjson", "markdown"] {
                let out = self
                    .rune()
                    .args(["export", id, "--format", format])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "export {format}: {out:?}");
                all.push_str(&String::from_utf8_lossy(&out.stdout));
            }
        }
        all
    }
}

fn assert_masked(target: &Target) {
    let secret = secret();
    let mut shown = String::new();
    let mut incidents = Vec::new();
    for case in CASES {
        let (text, doc) = target.run(case, &secret);
        assert!(text.contains("[MASKED]"), "{case}: {text}");
        shown.push_str(&text);
        incidents.push(doc["incident_id"].as_str().unwrap().to_owned());
        let result = &doc["results"][0];
        if case == "echo_secret" {
            assert_eq!(result["status"], "success", "{doc}");
            let data = &result["output"]["payload"]["output_data"];
            assert_eq!(data["echo"], "[MASKED]", "{data}");
            assert_eq!(data["[MASKED]"], "key", "{data}");
        }
    }
    let recorded = target.recorded(&incidents);
    assert!(recorded.contains("[MASKED]"));
    for form in forms(&secret) {
        assert!(!shown.contains(&form), "{form:?} shown: {shown}");
        assert!(!recorded.contains(&form), "{form:?} recorded");
    }
}

#[test]
fn an_echoed_secret_is_masked_everywhere_locally() {
    let home = tempfile::tempdir().unwrap();
    assert_masked(&Target {
        home: home.path(),
        inventory: None,
        name: "localhost",
    });
}

#[test]
fn an_echoed_secret_is_masked_everywhere_over_ssh() {
    let env = Env::start(1);
    let inventory = env.home.path().join("inventory.toml");
    std::fs::write(&inventory, env.farm.inventory_toml()).unwrap();
    assert_masked(&Target {
        home: env.home.path(),
        inventory: Some(inventory),
        name: "ssh-1",
    });
}

#[test]
fn a_short_secret_is_not_masked_and_a_note_says_so() {
    let home = tempfile::tempdir().unwrap();
    let target = Target {
        home: home.path(),
        inventory: None,
        name: "localhost",
    };
    let (_, doc) = target.run("echo_secret", "ab1");
    let result = &doc["results"][0];
    assert_eq!(result["output"]["payload"]["output_data"]["echo"], "ab1");
    let notes = result["notes"].to_string();
    assert!(notes.contains("shorter than 4 characters"), "{doc}");
}
