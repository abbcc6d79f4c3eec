//! The incident journal end to end: recording, tampering, exports, crashes,
//! many runes at once.
//! Journals are built through the real API and the real binary; tampering
//! and inspection go straight at the SQLite file, as an attacker would.

mod crash;
mod ecs;
mod errors;
mod exports;
mod forged;
mod races;
mod secrets;
mod tamper;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use rune::journal::{Head, Journal, Severity, VerifyReport};
use serde_json::Value;

use crate::support::{root, rune};

/// The operator the API-made events carry.
const OPERATOR: &str = "tester@ci";

/// A temporary home (logs, XDG dirs) with a journal inside it.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub journal: PathBuf,
}

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal").join("j.db");
        Self { dir, journal }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rune --catalog <fixtures> --journal <journal> ARGS`, waited for.
    pub fn rune(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The same command, not started yet.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = rune(self.path());
        cmd.arg("--catalog")
            .arg(root().join("tests/fixtures/catalog"))
            .arg("--journal")
            .arg(&self.journal)
            .args(args);
        cmd
    }

    /// `rune journal stress` on the shipped catalog (its `noop` is the
    /// planned action), not started yet; prints `committed SEQ HASH` lines.
    pub fn stress(&self, events: u64, batch: u64) -> std::process::Command {
        let mut cmd = rune(self.path());
        cmd.arg("--catalog")
            .arg(root().join("actions"))
            .arg("--journal")
            .arg(&self.journal)
            .args(["journal", "stress", "--events", &events.to_string()])
            .args(["--batch", &batch.to_string()]);
        cmd
    }

    /// `rune run misbehave -p case=CASE EXTRA… --incident ID`; returns the exit code.
    pub fn run_case(&self, incident: &str, case: &str, extra: &[&str]) -> i32 {
        let case = format!("case={case}");
        let mut args = vec!["run", "misbehave", "-p", &case, "--incident", incident];
        args.extend_from_slice(extra);
        let out = self.rune(&args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "rune run {case} was refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.code().unwrap()
    }

    /// A raw connection to the file, triggers and all.
    pub fn raw(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.journal).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    }

    /// A raw connection with the append-only triggers dropped: what anyone
    /// with write access to the file can do.
    pub fn attacker(&self) -> rusqlite::Connection {
        let conn = self.raw();
        conn.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
            .unwrap();
        conn
    }

    pub fn verify(&self, head: Option<&Head>) -> VerifyReport {
        Journal::open_existing(&self.journal)
            .unwrap()
            .verify(head)
            .unwrap()
    }

    /// One integer from a query on the raw file.
    pub fn count(&self, sql: &str) -> i64 {
        self.raw().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// An incident built the way a responder builds one: opened and noted
/// through the API, two real runs through the binary (a success and a
/// plugin failure with a stderr line), and a closing note.
pub fn incident(home: &Home) -> String {
    let mut journal = Journal::open(&home.journal).unwrap();
    let incident = journal
        .open_incident("db latency", Severity::High, Some("INC-7"), OPERATOR)
        .unwrap();
    journal
        .add_note(&incident.id, "paged the db on-call", OPERATOR)
        .unwrap();
    journal
        .add_note(&incident.id, "replica lag 40 s", OPERATOR)
        .unwrap();
    drop(journal);
    assert_eq!(home.run_case(&incident.id, "ok", &[]), 0);
    assert_eq!(home.run_case(&incident.id, "plugin_error", &[]), 1);
    let mut journal = Journal::open(&home.journal).unwrap();
    journal
        .add_note(&incident.id, "failed over to the replica", OPERATOR)
        .unwrap();
    incident.id
}

/// The sequence of the first event of `kind` whose body contains `needle`.
pub fn seq_of(home: &Home, kind: &str, needle: &str) -> i64 {
    home.raw()
        .query_row(
            "SELECT seq FROM events WHERE kind = ?1 AND instr(body, ?2) > 0 ORDER BY seq LIMIT 1",
            [kind, needle],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("no {kind} event containing {needle:?}: {e}"))
}

/// `rune export ID --format FORMAT -o FILE`; returns the file's text.
pub fn export(home: &Home, id: &str, format: &str) -> String {
    let file = home.path().join(format!("export.{format}"));
    let out = home.rune(&[
        "export",
        id,
        "--format",
        format,
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "export {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&file).unwrap()
}

/// The chain head an earlier JSON export recorded.
pub fn exported_head(bundle: &str) -> Head {
    let doc: Value = serde_json::from_str(bundle).unwrap();
    let head = &doc["journal"]["head"];
    Head {
        seq: head["seq"].as_i64().unwrap(),
        hash: head["hash"].as_str().unwrap().to_owned(),
    }
}

/// Polls `check` until it yields a value: a deterministic wait on the
/// journal (or a process), never a guess at how long something takes.
pub fn poll<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A small xorshift generator: random kill moments and corrupt bytes,
/// reproducible from the seed a failing test prints.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `RUNE_TEST_SEED` when set, else from the clock.
    pub fn new() -> Self {
        let seed = std::env::var("RUNE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                (nanos as u64) | 1
            });
        eprintln!("random seed {seed} (set RUNE_TEST_SEED to repeat)");
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The text of a command's stdout and stderr, for assertions.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
