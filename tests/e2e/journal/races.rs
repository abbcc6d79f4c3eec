//! Many runes on one journal at once: the first use of a new journal by
//! several runes at once succeeds for all.
//! Processes are started together behind a barrier, never after a sleep.

use std::path::Path;
use std::process::Output;
use std::sync::Barrier;

use super::{Home, text};
use crate::support::{root, rune};

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
