//! Who wrote a request, and whether that process still runs: the `writer`
//! object of a request event (`pid`, `host`, and `start`, the process's start
//! time in clock ticks since boot from `/proc/PID/stat`). Recovery marks an
//! execution `interrupted` only when its writer is judged gone here, so every
//! doubt reads as alive: a wrong "gone" puts a second outcome after a real
//! one, a wrong "alive" only delays the mark until that process ends. Reads
//! `/proc` and signals nothing (`kill` with signal 0); never writes.

use rustix::io::Errno;
use rustix::process::Pid;
use serde_json::{Value, json};

/// The `writer` object for a request this process records.
pub(super) fn current() -> Value {
    let pid = std::process::id();
    let start = i32::try_from(pid).ok().and_then(start_ticks);
    json!({"pid": pid, "host": host(), "start": start})
}

/// True when the process that wrote a request (its event body) may still be
/// running here, so its executions are in flight, not interrupted.
///
/// Gone means: no writer named (a request from before writers were
/// recorded), another host (SQLite's WAL works only among processes of one
/// host, so a writer elsewhere is not writing this file now), no process with
/// that pid, or a process with that pid that started at another time (the
/// pid was reused). A process of another user (EPERM) exists: alive.
pub(super) fn alive(request_body: Option<&str>) -> bool {
    let Some(body) = request_body.and_then(|b| serde_json::from_str::<Value>(b).ok()) else {
        return false;
    };
    let writer = &body["writer"];
    if writer["host"].as_str() != Some(host().as_str()) {
        return false;
    }
    let Some(raw) = writer["pid"].as_i64().and_then(|p| i32::try_from(p).ok()) else {
        return false;
    };
    let Some(pid) = Pid::from_raw(raw) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Err(Errno::SRCH) => false,
        // Ok, EPERM, or anything else: a process may hold that pid.
        _ => !reused(raw, writer["start"].as_u64()),
    }
}

/// True when the process holding `pid` now is not the one that started at
/// `recorded`. Without either start time (an older request, no `/proc`, the
/// process ended meanwhile) this cannot be told: not reused.
fn reused(pid: i32, recorded: Option<u64>) -> bool {
    match (recorded, start_ticks(pid)) {
        (Some(then), Some(now)) => then != now,
        _ => false,
    }
}

/// The kernel's node name, as the operator's host is named.
fn host() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks
/// since boot. Together with the pid it names one process for as long as the
/// machine runs, where the pid alone is reused once it has wrapped.
fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_field(&stat)
}

/// The start time in the text of a `/proc/PID/stat` file. The command name
/// (field 2) is in parentheses and may hold spaces and parentheses itself:
/// the fields after it begin past the last `)`, at field 3.
fn start_field(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(writer: Value) -> Option<String> {
        Some(json!({ "writer": writer }).to_string())
    }

    fn own_pid() -> i32 {
        i32::try_from(std::process::id()).unwrap()
    }

    /// A pid no process holds: a child that has been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn this_process_is_alive_by_pid_and_start() {
        let me = json!({ "writer": current() }).to_string();
        assert!(alive(Some(&me)));
        let start = start_ticks(own_pid()).unwrap();
        let no_start = body(json!({"pid": own_pid(), "host": host()}));
        assert!(alive(no_start.as_deref()), "an older request: pid only");
        let reused = body(json!({"pid": own_pid(), "host": host(), "start": start + 1}));
        assert!(!alive(reused.as_deref()), "same pid, another process");
    }

    #[test]
    fn a_writer_is_gone_when_elsewhere_unnamed_or_ended() {
        let elsewhere = body(json!({"pid": own_pid(), "host": format!("{}-not", host())}));
        assert!(!alive(elsewhere.as_deref()));
        assert!(!alive(None));
        assert!(!alive(Some("{}")));
        assert!(!alive(Some("not json")));
        let ended = body(json!({"pid": dead_pid(), "host": host()}));
        assert!(!alive(ended.as_deref()));
    }

    /// Pid 1 exists in every pid namespace; for a user other than its
    /// owner `kill(1, 0)` is EPERM, which must still read as alive.
    #[test]
    fn a_process_of_another_user_is_alive() {
        let init = body(json!({"pid": 1, "host": host()}));
        assert!(alive(init.as_deref()));
    }

    #[test]
    fn the_start_time_is_read_past_a_command_name_with_spaces_and_parentheses() {
        let stat =
            "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 10 0 0 0 0 0 0 0 20 0 1 0 373506 3133440";
        assert_eq!(start_field(stat), Some(373_506));
        assert_eq!(start_field("4242 (cut) S 1 2"), None);
        assert!(start_ticks(own_pid()).is_some());
        assert_eq!(start_ticks(i32::MAX), None, "no such process");
    }
}
