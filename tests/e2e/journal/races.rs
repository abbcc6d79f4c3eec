//! Many runes on one journal at once: concurrent runs never give a finished
//! execution a second outcome, a dead writer's execution is marked
//! `interrupted` once however many runes open the journal together, and
//! the first use of a new journal by several runes at once succeeds for all.
//! Processes are started together behind a barrier, never after a sleep.

use std::path::Path;
use std::process::Output;
use std::sync::Barrier;

use rune::journal::Journal;

use super::{Home, text};
use crate::support::{root, rune};

/// Every execution with more than one outcome: must be none.
const SECOND_OUTCOMES: &str = "SELECT count(*) FROM (SELECT execution_id FROM events
    WHERE kind IN ('result', 'error', 'cancelled', 'interrupted')
    GROUP BY execution_id HAVING count(*) > 1)";

/// Every execution with no outcome: must be none once all runs ended.
const NO_OUTCOME: &str =
    "SELECT count(*) FROM executions x WHERE NOT EXISTS (SELECT 1 FROM events e
    WHERE e.execution_id = x.id AND e.kind IN ('result', 'error', 'cancelled', 'interrupted'))";

/// `rune --catalog actions --journal JOURNAL ARGS` (the shipped catalog
/// holds `noop`), waited for.
fn shipped(home: &Path, journal: &Path, args: &[&str]) -> Output {
    rune(home)
        .arg("--catalog")
        .arg(root().join("actions"))
        .arg("--journal")
        .arg(journal)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `each(worker)` on `workers` threads released together by a barrier;
/// returns every output, in worker order.
fn together(workers: usize, each: impl Fn(usize) -> Vec<Output> + Sync) -> Vec<Output> {
    let barrier = Barrier::new(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (barrier, each) = (&barrier, &each);
                scope.spawn(move || {
                    barrier.wait();
                    each(worker)
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn assert_all_succeeded(outputs: &[Output]) {
    for out in outputs {
        let (stdout, stderr) = text(out);
        assert!(out.status.success(), "{stderr}\n{stdout}");
    }
}

/// Ten writers, twenty `rune run noop` each. Every open looks for
/// executions whose writer is gone while the others' are in flight; before
/// the fix a run that finished and exited between another's look and its
/// write got `interrupted` after its `result` (about 10 of 200 here).
#[test]
fn concurrent_runs_never_give_a_finished_execution_a_second_outcome() {
    const WRITERS: usize = 10;
    const RUNS: usize = 20;
    let home = Home::new();
    drop(Journal::open(&home.journal).unwrap());
    let outputs = together(WRITERS, |_| {
        (0..RUNS)
            .map(|_| shipped(home.path(), &home.journal, &["run", "noop", "-o", "json"]))
            .collect()
    });
    assert_all_succeeded(&outputs);
    assert_eq!(
        home.count("SELECT count(*) FROM executions"),
        (WRITERS * RUNS) as i64
    );
    assert_eq!(
        home.count(SECOND_OUTCOMES),
        0,
        "an execution has two outcomes"
    );
    assert_eq!(home.count(NO_OUTCOME), 0);
    assert_eq!(
        home.count("SELECT count(*) FROM events WHERE kind = 'interrupted'"),
        0
    );
    assert_eq!(home.verify(None).broken, None);
}

/// `rune journal stress` exits leaving its execution open: its writer is
/// gone. Eight runes opening the journal at once all see it; one marks it.
/// Four rounds: before the fix one round alone missed the race now and then.
#[test]
fn a_dead_writers_execution_is_marked_once_by_runes_opening_together() {
    const ROUNDS: i64 = 4;
    const OPENERS: usize = 8;
    let home = Home::new();
    for round in 1..=ROUNDS {
        let out = home.stress(10, 10).output().unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
        assert_eq!(home.count(NO_OUTCOME), 1);

        let outputs = together(OPENERS, |_| vec![home.rune(&["incident", "list"])]);
        assert_all_succeeded(&outputs);
        assert_eq!(home.count(SECOND_OUTCOMES), 0, "round {round}");
        assert_eq!(home.count(NO_OUTCOME), 0);
        assert_eq!(
            home.count("SELECT count(*) FROM events WHERE kind = 'interrupted'"),
            round
        );
    }
    assert_eq!(home.verify(None).broken, None);
}

/// Before the fix two of three first runs on a new journal were refused
/// with -32404 "table incidents already exists" (and, more rarely, "locked":
/// SQLite's switch to WAL mode does not wait for the busy timeout).
#[test]
fn runes_using_a_new_journal_at_once_all_succeed() {
    const JOURNALS: usize = 8;
    const OPENERS: usize = 4;
    let home = Home::new();
    let journal = |n: usize| home.path().join(format!("new-{n}.db"));
    for n in 0..JOURNALS {
        let outputs = together(OPENERS, |_| {
            vec![shipped(
                home.path(),
                &journal(n),
                &["run", "noop", "-o", "json"],
            )]
        });
        assert_all_succeeded(&outputs);
        let conn = rusqlite::Connection::open(journal(n)).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("PRAGMA user_version"), 2);
        assert_eq!(
            count("SELECT count(*) FROM events WHERE kind = 'result'"),
            OPENERS as i64
        );
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
