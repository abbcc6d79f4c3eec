//! Secret parameters never reach the journal (file, -wal, -shm), an export or
//! the log; the redaction marker stands where they are recorded. Journal
//! files are private to their owner.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use rune::journal::Journal;
use serde_json::Value;

use super::{Home, export};

const SECRET: &str = "hunter2";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn sidecar(journal: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[test]
fn a_secret_parameter_is_nowhere_on_disk() {
    let home = Home::new();
    drop(Journal::open(&home.journal).unwrap());
    // Held open so the runs' pages stay in the -wal file for the search
    // (the last connection to close would checkpoint and delete it).
    let keeper = home.raw();
    // A first read maps the WAL index, which is what keeps the file around.
    keeper
        .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let id: String = {
        let mut journal = Journal::open(&home.journal).unwrap();
        let incident = journal
            .open_incident("leak hunt", rune::journal::Severity::Low, None, "tester@ci")
            .unwrap();
        incident.id
    };
    let token = format!("token={SECRET}");
    for case in ["stdin", "env", "plugin_error"] {
        let out = home
            .command(&[
                "run",
                "misbehave",
                "-p",
                &format!("case={case}"),
                "-p",
                &token,
            ])
            .args(["--incident", &id])
            .env("RUNE_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{case}: {out:?}");
    }

    // The plugin did get the secret (on stdin only), so its absence below means something.
    let outputs: Vec<Value> = keeper
        .prepare("SELECT json_extract(body, '$.output.payload.output_data') FROM events WHERE kind = 'result' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|t| serde_json::from_str(&t.unwrap()).unwrap())
        .collect();
    assert_eq!(outputs[0]["has_token"], 1, "{outputs:?}");
    assert_eq!(outputs[1]["token_in_env"], 0, "{outputs:?}");

    // The redaction marker stands wherever the parameter is recorded.
    let redacted = |sql: &str| -> i64 { keeper.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        redacted(
            "SELECT count(*) FROM executions WHERE json_extract(params, '$.token') = '[REDACTED]'"
        ),
        3
    );
    assert_eq!(
        redacted(
            "SELECT count(*) FROM events WHERE kind = 'request' AND json_extract(body, '$.request.payload.data.input_parameters.token') = '[REDACTED]'"
        ),
        3
    );
    assert_eq!(
        redacted(
            "SELECT count(*) FROM events WHERE kind = 'started' AND json_extract(body, '$.input.payload.input_parameters.token') = '[REDACTED]'"
        ),
        3
    );

    let mut searched = vec![
        home.journal.clone(),
        sidecar(&home.journal, "-wal"),
        sidecar(&home.journal, "-shm"),
        home.path().join("state/rune/rune.log"),
    ];
    for format in ["json", "ndjson", "markdown"] {
        let text = export(&home, &id, format);
        assert!(
            text.contains("[REDACTED]"),
            "{format} export lacks the marker"
        );
        searched.push(home.path().join(format!("export.{format}")));
    }
    let wal = std::fs::metadata(&searched[1]).unwrap().len();
    assert!(
        wal > 0,
        "the -wal file is empty: nothing was searched there"
    );
    let log = std::fs::read_to_string(&searched[3]).unwrap();
    assert_eq!(log.matches("request recorded").count(), 3, "{log}");
    assert!(log.contains(r#""token":"[REDACTED]""#), "{log}");
    for file in &searched {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
        assert!(!found, "{SECRET} is in {}", file.display());
    }
    drop(keeper);
}

#[test]
fn journal_files_and_exports_are_private() {
    let home = Home::new();
    let dir = home.journal.parent().unwrap();
    // A writer holding the journal open: the -wal and -shm it made exist now.
    let mut writer = home
        .stress(100_000_000, 100)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("committed "));
    let modes = [
        mode(dir),
        mode(&home.journal),
        mode(&sidecar(&home.journal, "-wal")),
        mode(&sidecar(&home.journal, "-shm")),
    ];
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert_eq!(modes, [0o700, 0o600, 0o600, 0o600], "dir, file, -wal, -shm");

    let id: String = home
        .raw()
        .query_row("SELECT id FROM incidents", [], |r| r.get(0))
        .unwrap();
    export(&home, &id, "markdown");
    assert_eq!(mode(&home.path().join("export.markdown")), 0o600);
    // Exporting over a file that others could read narrows it first.
    let json = home.path().join("export.json");
    std::fs::write(&json, "old").unwrap();
    std::fs::set_permissions(&json, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    export(&home, &id, "json");
    assert_eq!(mode(&json), 0o600);
}
