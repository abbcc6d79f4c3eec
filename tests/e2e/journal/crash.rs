//! Crashes: a `rune run` killed mid-execution is marked `interrupted` once on
//! the next start; a writer SIGKILLed during heavy writes, many times over,
//! never loses what it reported committed; two writers share one chain.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use rune::journal::Journal;
use rune::protocol::ids;

use super::{Home, Rng, poll};

/// Kills a plugin's process group when the test ends, pass or fail: a
/// SIGKILLed rune cannot reap its plugin, so the test must.
struct Group(i32);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// SIGKILL, then reap: a zombie still answers `kill(pid, 0)` and would
/// look like a live writer.
fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `(execution, interrupted events)` for every execution in the journal.
fn interrupted(home: &Home) -> Vec<(String, i64)> {
    home.raw()
        .prepare(
            "SELECT x.id, (SELECT count(*) FROM events e WHERE e.execution_id = x.id AND e.kind = 'interrupted')
             FROM executions x ORDER BY x.created_at",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Starts `rune run misbehave case=sleep` and waits until its plugin runs:
/// the run's process, a guard that kills the plugin's group, and the
/// execution's id.
fn sleeping_run(home: &Home) -> (Child, Group, String) {
    let child = home
        .command(&["run", "misbehave", "-p", "case=sleep", "-p", "seconds=30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The plugin's marker line is recorded after its `started` event.
    let plugin: i32 = poll(
        "the plugin's stderr in the journal",
        Duration::from_secs(10),
        || {
            let conn = rusqlite::Connection::open(&home.journal).ok()?;
            let line: String = conn
            .query_row(
                "SELECT json_extract(body, '$.line') FROM events WHERE kind = 'stderr' AND instr(body, 'marker rune-sleep-') > 0",
                [],
                |r| r.get(0),
            )
            .ok()?;
            line.strip_prefix("marker rune-sleep-")?.parse().ok()
        },
    );
    let group = Group(plugin);
    let execution: String = home
        .raw()
        .query_row(
            "SELECT execution_id FROM events WHERE kind = 'started'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (child, group, execution)
}

/// The private directories of local runs under `home`'s temp dir.
fn run_dirs(home: &Home) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.path().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("rune-")
        })
        .collect()
}

/// A SIGKILLed rune cannot remove its plugin's private directory; the next
/// rune's first local run does, once it is old enough not to be one still
/// being made (a minute: the test ages it instead of waiting).
#[test]
fn a_killed_runs_private_directory_is_swept_by_the_next_local_run() {
    let home = Home::new();
    let (mut child, plugin, _) = sleeping_run(&home);
    kill(&mut child);
    drop(plugin);
    let left = run_dirs(&home);
    assert_eq!(left.len(), 1, "{left:?}");
    let minutes_ago = std::time::SystemTime::now() - Duration::from_secs(120);
    std::fs::File::open(&left[0])
        .unwrap()
        .set_modified(minutes_ago)
        .unwrap();

    let out = home.rune(&["run", "misbehave", "-p", "case=ok"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!left[0].exists(), "{:?} was left", left[0]);
    assert_eq!(run_dirs(&home), Vec::<std::path::PathBuf>::new());
}

#[test]
fn an_execution_whose_writer_died_gets_one_interrupted_event() {
    let home = Home::new();
    let (mut child, _plugin, execution) = sleeping_run(&home);

    // While its writer lives, an execution is in flight, not interrupted.
    drop(Journal::open(&home.journal).unwrap());
    assert_eq!(interrupted(&home), [(execution.clone(), 0)]);

    kill(&mut child);
    let before = home.count("SELECT count(*) FROM events");
    drop(Journal::open(&home.journal).unwrap());
    assert_eq!(interrupted(&home), [(execution.clone(), 1)]);
    let (kind, reason): (String, String) = home
        .raw()
        .query_row(
            "SELECT kind, json_extract(body, '$.reason') FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kind, "interrupted");
    assert_eq!(
        reason,
        "rune stopped before this execution finished; its outcome is unknown"
    );
    assert_eq!(home.count("SELECT count(*) FROM events"), before + 1);
    assert_eq!(home.verify(None).broken, None);

    // A second start finds nothing left to mark.
    drop(Journal::open(&home.journal).unwrap());
    assert_eq!(interrupted(&home), [(execution, 1)]);
    assert_eq!(home.count("SELECT count(*) FROM events"), before + 1);
    assert_eq!(home.verify(None).broken, None);
}

/// `n` executions the way finished runs leave them: a request, the
/// execution, its result. Written raw for speed (their hashes are not a
/// chain; these tests never verify), by a writer that is gone.
fn finished_executions(home: &Home, n: usize) {
    let mut conn = home.raw();
    let tx = conn.transaction().unwrap();
    let incident: String = tx
        .query_row("SELECT id FROM incidents LIMIT 1", [], |r| r.get(0))
        .unwrap();
    for i in 0..n {
        let (request, execution) = (
            format!("req-{}", ids::message_id()),
            format!("exec-{}", ids::message_id()),
        );
        let hash = format!("{:064x}", i + 1);
        tx.execute(
            "INSERT INTO events (at, incident_id, request_id, kind, body, prev_hash, hash)
             VALUES ('2026-11-25T00:00:00.000Z', ?1, ?2, 'request', '{\"writer\":{\"pid\":1,\"host\":\"gone\"}}', ?3, ?3)",
            rusqlite::params![incident, request, hash],
        )
        .unwrap();
        insert_execution(&tx, &execution, &incident, &request);
        tx.execute(
            "INSERT INTO events (at, incident_id, request_id, execution_id, kind, body, prev_hash, hash)
             VALUES ('2026-11-25T00:00:00.000Z', ?1, ?2, ?3, 'result', '{}', ?4, ?4)",
            rusqlite::params![incident, request, execution, hash],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// An execution row as a run records it.
fn insert_execution(conn: &rusqlite::Connection, id: &str, incident: &str, request: &str) {
    conn.execute(
        "INSERT INTO executions VALUES (?1, ?2, ?3, 'noop', '1.0.0', 's', 'localhost', 'local', 'o', '{}', '2026-11-25T00:00:00.000Z')",
        rusqlite::params![id, incident, request],
    )
    .unwrap();
}

fn rowid_of(home: &Home, execution: &str) -> i64 {
    home.raw()
        .query_row(
            "SELECT rowid FROM executions WHERE id = ?1",
            [execution],
            |r| r.get(0),
        )
        .unwrap()
}

/// Recovery reads from the highest mark on, not the whole history; a mark
/// never passes an execution whose writer still runs, however many finish
/// after it, so that execution is still found once its writer dies.
#[test]
fn recovery_marks_never_pass_an_execution_still_running_elsewhere() {
    let home = Home::new();
    let (mut child, _plugin, running) = sleeping_run(&home);
    let outcomes = |execution: &str| {
        home.raw()
            .query_row(
                "SELECT count(*) FROM events WHERE execution_id = ?1 AND kind = 'interrupted'",
                [execution],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
    };
    let mark = || home.count("SELECT coalesce(max(low), 0) FROM recovery_marks");

    finished_executions(&home, 600);
    drop(Journal::open(&home.journal).unwrap());
    drop(Journal::open(&home.journal).unwrap());
    assert!(
        mark() <= rowid_of(&home, &running),
        "a mark ({}) passed the running execution (rowid {})",
        mark(),
        rowid_of(&home, &running)
    );
    assert_eq!(outcomes(&running), 0);

    kill(&mut child);
    drop(Journal::open(&home.journal).unwrap());
    assert_eq!(outcomes(&running), 1);

    // With nothing running, the next mark passes everything read.
    finished_executions(&home, 600);
    drop(Journal::open(&home.journal).unwrap());
    let last = home.count("SELECT max(rowid) FROM executions");
    assert_eq!(mark(), last + 1);
    // An execution recorded above the mark by a writer that is gone is
    // still found.
    let ghost: String = {
        let conn = home.raw();
        let request: String = conn
            .query_row(
                "SELECT request_id FROM executions WHERE id = ?1",
                [&running],
                |r| r.get(0),
            )
            .unwrap();
        let incident: String = conn
            .query_row("SELECT id FROM incidents LIMIT 1", [], |r| r.get(0))
            .unwrap();
        let id = format!("exec-{}", ids::message_id());
        insert_execution(&conn, &id, &incident, &request);
        id
    };
    drop(Journal::open(&home.journal).unwrap());
    assert_eq!(outcomes(&ghost), 1);
}

/// Starts `rune journal stress`, writing `events` in batches of `batch`.
fn stress(home: &Home, events: u64, batch: u64) -> Child {
    home.stress(events, batch)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Parses `committed SEQ HASH`.
fn committed(line: &str) -> (i64, String) {
    let mut words = line.split(' ');
    assert_eq!(words.next(), Some("committed"), "{line}");
    let seq = words.next().unwrap().parse().unwrap();
    (seq, words.next().unwrap().to_owned())
}

/// Every promised `(seq, hash)` is in the journal, unchanged.
fn assert_kept(home: &Home, promised: &[(i64, String)]) {
    let conn = home.raw();
    let mut stmt = conn
        .prepare("SELECT hash FROM events WHERE seq = ?1")
        .unwrap();
    for (seq, hash) in promised {
        let found: Option<String> = stmt.query_row([seq], |r| r.get(0)).ok();
        assert_eq!(
            found.as_ref(),
            Some(hash),
            "committed event {seq} is gone or changed"
        );
    }
}

#[test]
fn sigkill_during_heavy_writes_never_loses_a_committed_event() {
    const ROUNDS: usize = 20;
    let home = Home::new();
    let mut rng = Rng::new();
    let mut promised = Vec::new();
    for round in 0..ROUNDS {
        let mut child = stress(&home, 100_000_000, 100);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let wait_for = rng.range(1, 25);
        for _ in 0..wait_for {
            let line = lines.next().expect("the writer stopped early").unwrap();
            promised.push(committed(&line));
        }
        // Not a wait for anything: a random moment inside the next batch.
        std::thread::sleep(Duration::from_micros(rng.range(0, 3_000)));
        kill(&mut child);
        // Lines printed before the kill are promises too.
        promised.extend(lines.map(|l| committed(&l.unwrap())));

        let integrity: String = home
            .raw()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "round {round}");
        let report = home.verify(None);
        assert_eq!(report.broken, None, "round {round}");
        let last = promised.last().unwrap().0;
        assert!(
            report.head.seq >= last,
            "round {round}: head {} < committed {last}",
            report.head.seq
        );
        assert_kept(&home, &promised);
    }
    // Every killed writer's execution is closed exactly once on the next start.
    drop(Journal::open(&home.journal).unwrap());
    let executions = interrupted(&home);
    assert_eq!(executions.len(), ROUNDS);
    assert!(executions.iter().all(|(_, n)| *n == 1), "{executions:?}");
    assert_eq!(home.verify(None).broken, None);
    assert_kept(&home, &promised);
}

#[test]
fn two_writers_at_once_extend_one_chain() {
    let home = Home::new();
    // Create the journal first so both writers open an existing file.
    drop(Journal::open(&home.journal).unwrap());
    let writers = [stress(&home, 3_000, 50), stress(&home, 3_000, 50)];
    let mut promised = Vec::new();
    for mut writer in writers {
        let lines = BufReader::new(writer.stdout.take().unwrap()).lines();
        promised.extend(lines.map(|l| committed(&l.unwrap())));
        assert!(writer.wait().unwrap().success(), "a writer failed");
    }
    assert_eq!(promised.len(), 2 * 60);
    let report = home.verify(None);
    assert_eq!(report.broken, None);
    assert_eq!(
        home.count("SELECT count(*) FROM events WHERE kind = 'stderr'"),
        6_000
    );
    assert_kept(&home, &promised);
}
