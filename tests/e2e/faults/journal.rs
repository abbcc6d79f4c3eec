//! The journal failing in the middle of a fan-out: its disk fills up, another
//! writer locks it past the busy timeout, or it is made read-only. The run
//! must end with a clear -32404, leave a journal that verifies, and never
//! run a plugin whose `started` event is not on disk (no unaudited
//! execution): every start file the plugin leaves must match a committed
//! `started` event.

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use super::{Nap, local_inventory, wait_until};
use crate::journal::text;

/// What the journal says about one request's executions.
#[derive(Debug)]
pub struct Audit {
    /// Targets with a committed `started` event.
    pub started: Vec<String>,
    /// `(target, terminal event kinds)` for every execution row.
    pub ends: Vec<(String, Vec<String>)>,
}

impl Audit {
    /// The executions of the last request recorded in `journal`.
    pub fn read(journal: &Path) -> Self {
        let conn = rusqlite::Connection::open(journal).unwrap();
        let request: String = conn
            .query_row(
                "SELECT request_id FROM events WHERE kind = 'request' ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let column = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([&request], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let mut started = column(
            "SELECT x.target FROM executions x JOIN events e ON e.execution_id = x.id
             WHERE x.request_id = ?1 AND e.kind = 'started'",
        );
        started.sort();
        let mut ends = Vec::new();
        for target in column("SELECT target FROM executions WHERE request_id = ?1") {
            let mut stmt = conn
                .prepare(
                    "SELECT e.kind FROM executions x JOIN events e ON e.execution_id = x.id
                     WHERE x.request_id = ?1 AND x.target = ?2
                       AND e.kind IN ('result', 'error', 'cancelled', 'interrupted')",
                )
                .unwrap();
            let kinds = stmt
                .query_map([&request, &target], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            ends.push((target, kinds));
        }
        ends.sort();
        Self { started, ends }
    }

    /// No plugin ran without its `started` event on disk.
    pub fn assert_covers(&self, ran: &[String]) {
        let unaudited: Vec<_> = ran.iter().filter(|t| !self.started.contains(t)).collect();
        assert!(
            unaudited.is_empty(),
            "{} plugins ran with no `started` event in the journal: {unaudited:?}",
            unaudited.len()
        );
    }

    /// Every execution ended exactly once, with one of `kinds`.
    pub fn assert_each_ended_once(&self, kinds: &[&str]) {
        for (target, ends) in &self.ends {
            assert!(
                ends.len() == 1 && kinds.contains(&ends[0].as_str()),
                "{target}: ends {ends:?}, wanted one of {kinds:?}"
            );
        }
    }
}

/// The EPS document `-o json` prints last on stdout.
fn eps(out: &Output) -> serde_json::Value {
    let (stdout, _) = text(out);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    serde_json::from_str(last).unwrap()
}

fn eps_code(doc: &serde_json::Value) -> i64 {
    doc["error_payload"]["error_data"]["error"]["code"]
        .as_i64()
        .unwrap()
}

/// `rune run nap` on 50 local targets, 4 at a time, each napping 0.3 s.
fn start_run(nap: &Nap, journal: &Path) -> Child {
    let inventory = local_inventory(nap.dir.path(), 50);
    let mut cmd = nap.rune(nap.dir.path(), journal, Some(&inventory));
    cmd.args([
        "run",
        "nap",
        "-t",
        "l-*",
        "--concurrency",
        "4",
        "-o",
        "json",
    ]);
    for p in nap.params("0.3") {
        cmd.arg("-p").arg(p);
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Another writer takes the journal's write lock mid-run and holds it past
/// rune's busy timeout (5 s). Before the fix the mediator went on starting
/// plugins whose `started` rows waited behind the lock, and lost them all.
#[test]
fn a_journal_locked_mid_run_stops_new_targets_and_loses_none() {
    let nap = Nap::new("locked");
    let journal = nap.dir.path().join("j.db");
    let mut child = start_run(&nap, &journal);
    wait_until("8 targets to start", Duration::from_secs(30), || {
        nap.started().len() >= 8
    });
    let holder = rusqlite::Connection::open(&journal).unwrap();
    holder.busy_timeout(Duration::from_secs(5)).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let at_lock = nap.started().len();
    // rune must give up on its own while the lock is still held.
    let ended = wait_until(
        "rune to stop under the lock",
        Duration::from_secs(20),
        || child.try_wait().unwrap().is_some(),
    );
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc = eps(&out);
    assert_eq!(eps_code(&doc), -32404, "{doc}");
    assert!(
        stderr.contains("is locked by another rune process")
            && stderr.contains("no further target was started"),
        "{stderr}"
    );
    let ran = nap.started();
    eprintln!(
        "locked mid-run: {at_lock} started before the lock, {} in all of 50; rune ended {ended:?} after the lock",
        ran.len()
    );
    // Only targets whose `started` row committed before the lock ran; the rest never began.
    assert!(ran.len() < 50, "the run went on under the lock");

    // The next start closes what the dead run left open; the chain verifies.
    let restart = nap
        .rune(nap.dir.path(), &journal, None)
        .args(["incident", "list"])
        .output()
        .unwrap();
    assert!(restart.status.success(), "{}", text(&restart).1);
    let verify = nap
        .rune(nap.dir.path(), &journal, None)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify).1);
    let audit = Audit::read(&journal);
    audit.assert_covers(&ran);
    audit.assert_each_ended_once(&["result", "error", "cancelled", "interrupted"]);
}

/// POSIX single quotes, for the script run inside the namespace.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The journal on a 1 MiB tmpfs that only this test sees: mounted in a new
/// user and mount namespace (`unshare --user --map-root-user --mount`, no
/// global root state), so rune, its plugins and the checks afterwards all
/// run inside it. The plugin of the third target (one at a time) fills the
/// disk; the journal's next write gets ENOSPC (SQLITE_FULL).
#[test]
fn a_full_disk_mid_run_is_a_database_error_and_starts_nothing_more() {
    let nap = Nap::new("diskfull");
    let inventory = local_inventory(nap.dir.path(), 10);
    let mnt = nap.dir.path().join("mnt");
    let out = nap.dir.path().join("out");
    std::fs::create_dir(&mnt).unwrap();
    std::fs::create_dir(&out).unwrap();
    let journal = mnt.join("j.db");
    let q = |p: &Path| sh_quote(&p.display().to_string());
    let rune_args = |args: &[&str]| -> String {
        let cmd = nap.rune(nap.dir.path(), &journal, Some(&inventory));
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| sh_quote(&a.to_string_lossy()))
            .chain(args.iter().map(|a| sh_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut run = vec![
        "run",
        "nap",
        "-t",
        "l-*",
        "--concurrency",
        "1",
        "-o",
        "json",
    ];
    let mut params = nap.params("0.2");
    params.push(format!("fill={}", mnt.join("fill").display()));
    params.push("fill_after=3".into());
    for p in &params {
        run.extend(["-p", p]);
    }
    let script = format!(
        "set -u\nmount -t tmpfs -o size=1m tmpfs {mnt} || exit 90\n\
         {run} >{out}/run.out 2>{out}/run.err; echo $? >{out}/run.rc\n\
         stat -f -c %a {mnt} >{out}/free\n\
         {verify} >{out}/full-verify.out 2>&1; echo $? >{out}/full-verify.rc\n\
         rm {mnt}/fill\n\
         {list} >/dev/null 2>{out}/list.err; echo $? >{out}/list.rc\n\
         {verify} >{out}/verify.out 2>&1; echo $? >{out}/verify.rc\n\
         cp {mnt}/j.db {out}/\n",
        mnt = q(&mnt),
        out = q(&out),
        run = rune_args(&run),
        verify = rune_args(&["journal", "verify"]),
        list = rune_args(&["incident", "list"]),
    );
    // Root needs no user namespace (and cannot make one inside a chroot, as
    // some CI sandboxes are); anyone else maps themselves to root in one.
    let namespaces: &[&str] = if rustix::process::geteuid().is_root() {
        &["--mount"]
    } else {
        &["--user", "--map-root-user", "--mount"]
    };
    let status = std::process::Command::new("unshare")
        .args(namespaces)
        .args(["sh", "-c", &script])
        .envs(
            nap.rune(nap.dir.path(), &journal, None)
                .get_envs()
                .filter_map(|(k, v)| Some((k, v?))),
        )
        .status()
        .unwrap();
    assert!(status.success(), "unshare or mount failed: {status}");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let rc = |name: &str| read(name).trim().parse::<i32>().unwrap();

    let stderr = read("run.err");
    assert_eq!(rc("run.rc"), 1, "{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(read("run.out").lines().last().unwrap()).unwrap();
    assert_eq!(eps_code(&doc), -32404, "{doc}");
    let message = doc["error_payload"]["error_data"]["error"]["data"]["reason"].to_string();
    assert!(message.contains("the disk is full"), "{message}");
    assert!(
        message.contains(&journal.display().to_string()),
        "{message}"
    );
    assert_eq!(read("free").trim(), "0", "the disk was not full");
    // No corruption: the chain verifies with the disk still full, and after.
    assert_eq!(rc("full-verify.rc"), 0, "{}", read("full-verify.out"));
    assert!(read("full-verify.out").starts_with("ok: "));
    assert_eq!(rc("list.rc"), 0, "{}", read("list.err"));
    assert_eq!(rc("verify.rc"), 0, "{}", read("verify.out"));

    // Nothing started after the failed write: the filler (the third to
    // start; which targets those are is the scheduler's choice) was the last.
    let ran = nap.started();
    assert_eq!(ran.len(), 3, "{ran:?}");
    let audit = Audit::read(&out.join("j.db"));
    audit.assert_covers(&ran);
    audit.assert_each_ended_once(&["result", "error", "cancelled", "interrupted"]);
    let ends: Vec<_> = audit
        .ends
        .iter()
        .map(|(t, e)| (t.as_str(), e[0].as_str()))
        .collect();
    eprintln!("disk full: {ends:?}; {message}");
    // The two before the filler ended with a result; the filler's own end
    // could not be written and is recovered as interrupted.
    let mut kinds: Vec<&str> = ends.iter().map(|(_, e)| *e).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["interrupted", "result", "result"], "{ends:?}");
}

/// Clears the immutable flag however the test ends, so the temp dir can go.
struct Immutable(Vec<std::path::PathBuf>);

impl Immutable {
    fn set(files: Vec<std::path::PathBuf>) -> Self {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .args(&files)
            .status()
            .unwrap();
        assert!(status.success(), "chattr +i failed");
        Self(files)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .args(&self.0)
            .status();
    }
}

/// Whether a file made immutable refuses a write through a descriptor that
/// was open before (ext4, xfs and btrfs do; not every sandbox's file system).
fn immutable_refuses_open_writers(dir: &Path) -> bool {
    use std::io::Write;
    let probe = dir.join("immutable-probe");
    let Ok(mut file) = std::fs::File::create(&probe) else {
        return false;
    };
    let guard = Immutable::set(vec![probe.clone()]);
    let refused = file.write_all(b"x").and_then(|()| file.sync_all()).is_err();
    drop(guard);
    let _ = std::fs::remove_file(&probe);
    refused
}

/// Read-only *during* a run. Permissions are checked at open, and a file
/// system with files open for writing refuses `remount,ro` (EBUSY), so the
/// one way an open journal turns read-only under a writer is the immutable
/// flag (`chattr +i`), which refuses writes through open descriptors too
/// (EPERM). Setting it needs CAP_LINUX_IMMUTABLE, so this runs as root (as
/// CI does) and says so otherwise; as non-root the start-of-run case is
/// `journal::errors::a_read_only_journal_refuses`.
#[test]
fn a_journal_made_read_only_mid_run_stops_new_targets_and_loses_none() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: chattr +i needs root (CAP_LINUX_IMMUTABLE)");
        return;
    }
    let nap = Nap::new("readonly");
    // Not in /tmp: a tmpfs there (as in some CI sandboxes) takes the flag but
    // does not refuse writes through descriptors already open. The target
    // directory is on the project's own file system.
    let journal_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    if !immutable_refuses_open_writers(journal_dir.path()) {
        eprintln!(
            "skipped: this file system takes chattr +i but still accepts writes \
             through descriptors opened before it (some sandboxed overlay/tmpfs setups)"
        );
        return;
    }
    let journal = journal_dir.path().join("j.db");
    let mut child = start_run(&nap, &journal);
    wait_until("8 targets to start", Duration::from_secs(30), || {
        nap.started().len() >= 8
    });
    // Not the -shm: SQLite maps that index into memory, and a write fault on
    // an immutable mapping is SIGBUS, a crash like SIGKILL (see crash.rs).
    let files = ["", "-wal"]
        .iter()
        .map(|s| std::path::PathBuf::from(format!("{}{s}", journal.display())))
        .collect();
    let frozen = Immutable::set(files);
    let at_freeze = nap.started().len();
    let ended = wait_until("rune to stop", Duration::from_secs(20), || {
        child.try_wait().unwrap().is_some()
    });
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr} {:?}", out.status);
    let doc = eps(&out);
    assert_eq!(eps_code(&doc), -32404, "{doc}");
    assert!(stderr.contains("is read-only"), "{stderr}");
    let ran = nap.started();
    assert!(ran.len() < 50, "the run went on after the journal froze");
    // Still frozen, it verifies.
    let verify = nap
        .rune(nap.dir.path(), &journal, None)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify).1);
    drop(frozen);
    let restart = nap
        .rune(nap.dir.path(), &journal, None)
        .args(["incident", "list"])
        .output()
        .unwrap();
    assert!(restart.status.success(), "{}", text(&restart).1);
    let audit = Audit::read(&journal);
    audit.assert_covers(&ran);
    audit.assert_each_ended_once(&["result", "error", "cancelled", "interrupted"]);
    eprintln!(
        "read-only mid-run: {at_freeze} started before the freeze, {} in all of 50; rune ended {ended:?} after it",
        ran.len()
    );
}
