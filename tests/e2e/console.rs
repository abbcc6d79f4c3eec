//! The real binary's console, driven through tmux like a responder would:
//! search, pick two targets, fill a parameter, confirm, watch both results
//! group, then find the run in the journal view; and re-run a failure,
//! which must be confirmed again before anything runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::root;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Self {
        // One tmux server per console: the tests of this binary run in parallel.
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "rune-test-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::Relaxed)
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-s",
                "rune",
                "-x",
                "120",
                "-y",
                "36",
                command,
            ])
            .status()
            .expect("tmux is installed");
        assert!(status.success());
        Self { socket }
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "rune", key])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "rune", "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(100));
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "rune"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (bounded) until the screen shows `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The console on the shipped actions, `inventory` and a fresh journal,
/// all under `home`; returns the session and the journal's path.
fn console(home: &Path, inventory: &str) -> (Tmux, PathBuf) {
    let inventory_file = home.join("inventory.toml");
    std::fs::write(&inventory_file, inventory).unwrap();
    let journal = home.join("journal.db");
    let command = format!(
        "cd {home} && HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config {bin} --catalog {catalog} --inventory {inv} --journal {journal}",
        home = home.display(),
        bin = env!("CARGO_BIN_EXE_rune"),
        catalog = root().join("actions").display(),
        inv = inventory_file.display(),
        journal = journal.display(),
    );
    (Tmux::start(&command), journal)
}

/// From launch to the confirmation of tail-logs on every `role=app` target.
fn confirm_tail_logs(tmux: &Tmux, log: &Path) {
    confirm_tail_logs_on(tmux, log, "role=app", 2);
}

/// From launch to the confirmation of tail-logs on the `selected` targets
/// the picker's `filter` shows.
fn confirm_tail_logs_on(tmux: &Tmux, log: &Path, filter: &str, selected: usize) {
    tmux.wait_for("search:");
    tmux.text("tail");
    tmux.wait_for("tail-logs");
    tmux.keys(&["Enter"]);
    tmux.wait_for("targets for tail-logs");
    tmux.keys(&["/"]);
    tmux.text(filter);
    tmux.keys(&["Enter", "a"]);
    tmux.wait_for(&format!("{selected} selected"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("parameters for tail-logs");
    tmux.text(&log.display().to_string());
    tmux.keys(&["Enter", "Enter", "Enter"]);
    tmux.wait_for("confirm tail-logs");
}

/// The journal's requests, oldest first, each as the names of its targets.
fn requests(journal: &Path) -> Vec<Vec<String>> {
    let conn =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut rows = conn
        .prepare("SELECT body FROM events WHERE kind = 'request' ORDER BY seq")
        .unwrap();
    rows.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|body| {
            let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
            body["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn a_responder_runs_an_action_on_two_targets_and_finds_it_in_the_journal() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("app.log");
    std::fs::write(&log, "boot\nready\n").unwrap();
    let (tmux, journal) = console(
        home.path(),
        "[[targets]]\nname = \"app-a\"\ntransport = \"local\"\ntags = { role = \"app\" }\n\
         [[targets]]\nname = \"app-b\"\ntransport = \"local\"\ntags = { role = \"app\" }\n",
    );
    confirm_tail_logs(&tmux, &log);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("done");
    assert!(screen.contains("2 ok"), "{screen}");
    tmux.keys(&["o"]);
    let grouped = tmux.wait_for("identical output");
    assert!(grouped.contains("app-a app-b"), "{grouped}");
    tmux.keys(&["4"]);
    tmux.wait_for("journal ·");
    tmux.keys(&["Enter"]);
    let timeline = tmux.wait_for("timeline");
    assert!(timeline.contains("tail-logs requested by"), "{timeline}");
    assert!(timeline.contains("result"), "{timeline}");
    tmux.keys(&["q"]);
    // The run is on disk too, under the incident the console chose.
    let verify = Command::new(env!("CARGO_BIN_EXE_rune"))
        .args(["--journal"])
        .arg(&journal)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(Path::new(&journal).exists());
}

/// `r` after a run with a failure opens the confirmation for the failed
/// target only, and nothing reaches the journal until it is confirmed.
#[test]
fn rerun_asks_for_confirmation_and_runs_only_the_failed_targets() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("app.log");
    std::fs::write(&log, "boot\nready\n").unwrap();
    // A port nothing listens on: the ssh target fails at connect, at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (tmux, journal) = console(
        home.path(),
        &format!(
            "[[targets]]\nname = \"app-a\"\ntransport = \"local\"\ntags = {{ role = \"app\" }}\n\
             [[targets]]\nname = \"dead\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {closed}\ntags = {{ role = \"app\" }}\n"
        ),
    );
    confirm_tail_logs(&tmux, &log);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("1 not ok · 0 running · done");
    assert!(screen.contains("1 ok"), "{screen}");
    assert_eq!(requests(&journal), [["app-a", "dead"]]);

    tmux.keys(&["r"]);
    let confirm = tmux.wait_for("confirm re-run of tail-logs");
    assert!(confirm.contains("targets  1"), "{confirm}");
    assert!(confirm.contains("dead via ssh"), "{confirm}");
    assert!(!confirm.contains("app-a"), "{confirm}");
    // Give an unconfirmed run every chance to show up: it must not.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(requests(&journal).len(), 1, "nothing runs before Enter");

    tmux.keys(&["Enter"]);
    tmux.wait_for("run tail-logs on 1 · 0 ok · 1 not ok · 0 running · done");
    assert_eq!(requests(&journal), [vec!["app-a", "dead"], vec!["dead"]]);
    tmux.keys(&["q"]);
}

/// The journal's event kinds in order, with the body's `action` for an
/// incident event (opened, noted …).
fn kinds(journal: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut rows = conn
        .prepare("SELECT kind FROM events ORDER BY seq")
        .unwrap();
    rows.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// One engine under both front ends: the same request (tail-logs on one
/// local target) submitted through `rune run` and through the console leaves
/// the same event kinds, in the same order, and the same request body shape.
#[test]
fn the_console_and_rune_run_record_the_same_event_kinds_in_the_same_order() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("app.log");
    std::fs::write(&log, "boot\nready\n").unwrap();
    let inventory = "[[targets]]\nname = \"app-a\"\ntransport = \"local\"\n";
    let (tmux, console_journal) = console(home.path(), inventory);
    confirm_tail_logs_on(&tmux, &log, "app-a", 1);
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 ok");
    tmux.keys(&["q"]);

    let cli_journal = home.path().join("cli.db");
    let out = Command::new(env!("CARGO_BIN_EXE_rune"))
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .arg("--catalog")
        .arg(root().join("actions"))
        .arg("--inventory")
        .arg(home.path().join("inventory.toml"))
        .arg("--journal")
        .arg(&cli_journal)
        .args(["run", "tail-logs", "-t", "app-a", "-p"])
        .arg(format!("path={}", log.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let console_kinds = kinds(&console_journal);
    assert_eq!(
        console_kinds.first().map(String::as_str),
        Some("incident"),
        "{console_kinds:?}"
    );
    assert!(
        console_kinds.contains(&"result".to_owned()),
        "{console_kinds:?}"
    );
    assert_eq!(console_kinds, kinds(&cli_journal));
    assert_eq!(requests(&console_journal), requests(&cli_journal));
}
