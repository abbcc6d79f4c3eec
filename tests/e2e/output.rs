//! What the binary prints, when what it prints is hostile or nobody reads
//! it: names from files and arguments are sanitized on their way to the
//! terminal, JSON carries no raw bidi or C1 character, and a closed stdout
//! ends a command quietly instead of in a panic.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::support::{hostile_catalog, rune};

/// The hostile title of `hostile_catalog`'s action as the sanitizer shows it.
const HOSTILE_SHOWN: &str = r"T red \u{202e}evil x";

fn run(home: &Path, catalog: &Path, args: &[&str]) -> (Output, String, String) {
    let out = rune(home)
        .arg("--catalog")
        .arg(catalog)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// No character that could drive a terminal or reorder what it shows.
fn assert_clean(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in {text:?}");
}

#[test]
fn names_from_files_and_arguments_are_printed_sanitized() {
    let home = tempfile::tempdir().unwrap();
    let catalog = hostile_catalog();
    let catalog = catalog.path();

    let (_, stdout, _) = run(home.path(), catalog, &["actions"]);
    assert_clean("actions", &stdout);
    let row = stdout.lines().nth(1).unwrap();
    assert_eq!(
        row,
        format!("hostile            read    5s       any            {HOSTILE_SHOWN}")
    );
    let (_, stdout, _) = run(home.path(), catalog, &["actions", "show", "hostile"]);
    assert_clean("actions show", &stdout);
    assert_eq!(
        stdout.lines().next().unwrap(),
        format!("hostile 1 · {HOSTILE_SHOWN} · risk read · timeout 5s")
    );

    // A name from the command line, echoed in a refusal.
    let name = "x\u{1b}]52;c;ZXZpbA==\u{7}\u{202e}";
    let (out, _, stderr) = run(home.path(), catalog, &["actions", "show", name]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr,
        "rune: unknown action `x\\u{202e}`; `rune actions` lists the catalog\n"
    );
    let (out, _, stderr) = run(home.path(), catalog, &["run", "\u{1b}[2Jnope\u{9b}1m"]);
    assert_eq!(out.status.code(), Some(2));
    assert_clean("run refusal", &stderr);
    assert!(
        stderr.starts_with("rune: refused: unknown action `nope`"),
        "{stderr}"
    );

    // An inventory's host and tags.
    let inventory = home.path().join("inventory.toml");
    std::fs::write(
        &inventory,
        "[[targets]]\nname = \"web-1\"\ntransport = \"ssh\"\n\
         host = \"h\\u001b]52;c;ZXZpbA==\\u0007\\u202e\"\ntags = { role = \"\\u001b[31mred\\u009b2J\" }\n",
    )
    .unwrap();
    let out = rune(home.path())
        .arg("--inventory")
        .arg(&inventory)
        .arg("targets")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_clean("targets", &stdout);
    let row = stdout.lines().find(|l| l.starts_with("web-1")).unwrap();
    assert!(
        row.contains(" h\\u{202e} ") && row.ends_with(" role=red"),
        "{row}"
    );
}

#[test]
fn toml_error_snippets_are_printed_sanitized() {
    let home = tempfile::tempdir().unwrap();
    // The snippet quotes the offending line, raw bytes and all.
    let inventory = home.path().join("bad.toml");
    std::fs::write(
        &inventory,
        "[[targets]]\nname = \"x\" # \u{1b}]52;c;ZXZpbA==\u{7} \u{202e}\n",
    )
    .unwrap();
    let out = rune(home.path())
        .arg("--inventory")
        .arg(&inventory)
        .arg("targets")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_clean("inventory error", &stderr);
    assert!(
        stderr.contains("2 | name = \"x\" #  \\u{202e}\n"),
        "{stderr}"
    );

    let config = home.path().join("config/rune/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "theme = \"dark\" \u{1b}[2J\u{202e}\n").unwrap();
    let out = rune(home.path()).args(["run", "noop"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_clean("config error", &stderr);
    assert!(stderr.contains("config.toml:1:16: "), "{stderr}");
}

/// `-o json` and `-o ndjson` escape what a plugin sent as `\uXXXX`: the
/// terminal sees no raw U+202E or U+009B, a parser sees the same strings.
#[test]
fn json_output_escapes_bidi_and_c1_characters() {
    let home = tempfile::tempdir().unwrap();
    let catalog = hostile_catalog();
    for format in ["json", "ndjson"] {
        let (out, stdout, stderr) = run(
            home.path(),
            catalog.path(),
            &["run", "hostile", "-o", format],
        );
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_clean(format, &stdout);
        assert!(stdout.contains(r"a\u202eb\u009bc"), "{stdout}");
        let results: Vec<Value> = stdout
            .lines()
            .filter(|l| format == "ndjson" && l.contains(r#""event":"finished""#))
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["result"].clone())
            .collect();
        let result = match format {
            "json" => serde_json::from_str::<Value>(&stdout).unwrap()["results"][0].clone(),
            _ => results[0].clone(),
        };
        assert_eq!(
            result["output"]["payload"]["output_data"]["s"],
            "a\u{202e}b\u{9b}c"
        );
    }
    // What was read from files, too: the title in `actions --json`.
    let (_, stdout, _) = run(home.path(), catalog.path(), &["actions", "--json"]);
    assert_clean("actions --json", &stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc["actions"][0]["title"],
        "T\u{1b}]52;c;ZXZpbA==\u{7} \u{1b}[31mred\u{1b}[0m \u{202e}evil \u{9b}2Jx"
    );
}

/// Every command that prints, with its stdout a pipe whose reader is gone
/// before it starts (as after `| head -1` or `| true`): exit 141 as coreutils
/// do, and no panic or complaint on stderr.
#[rstest::rstest]
#[case::actions(&["actions"])]
#[case::actions_json(&["actions", "--json"])]
#[case::actions_show(&["actions", "show", "hostile"])]
#[case::targets(&["targets"])]
#[case::targets_json(&["targets", "--json"])]
#[case::incident_list(&["incident", "list"])]
#[case::incident_open(&["incident", "open", "x"])]
#[case::dry_run(&["run", "hostile", "--dry-run"])]
#[case::run_pretty(&["run", "hostile"])]
#[case::run_json(&["run", "hostile", "-o", "json"])]
#[case::run_ndjson(&["run", "hostile", "-o", "ndjson"])]
fn a_closed_stdout_ends_the_command_quietly(#[case] args: &[&str]) {
    let home = tempfile::tempdir().unwrap();
    let catalog = hostile_catalog();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = rune(home.path())
        .arg("--catalog")
        .arg(catalog.path())
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("Broken pipe")
            && !stderr.contains("error"),
        "{stderr}"
    );
    // A run's notices (incident, request) are on stderr and stay there.
    if args[0] != "run" {
        assert_eq!(stderr, "");
    }
}

/// The same for the journal's commands and an export to stdout.
#[test]
fn a_closed_stdout_ends_journal_commands_quietly() {
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("j.db");
    let open = rune(home.path())
        .arg("--journal")
        .arg(&journal)
        .args(["incident", "open", "t"])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&open.stdout).trim().to_owned();
    for args in [
        vec!["journal", "verify"],
        vec!["incident", "show", &id],
        vec!["export", &id],
        vec!["export", &id, "--format", "markdown"],
        vec!["export", &id, "--format", "ndjson"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = rune(home.path())
            .arg("--journal")
            .arg(&journal)
            .args(&args)
            .stdout(Stdio::from(writer))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
