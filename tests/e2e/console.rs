//! The real binary's console, driven through tmux like a responder would:
//! search, pick two targets, fill a parameter, confirm, watch both results
//! group, then find the run in the journal view.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::root;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Self {
        let socket = format!("rune-test-{}", std::process::id());
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

#[test]
fn a_responder_runs_an_action_on_two_targets_and_finds_it_in_the_journal() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("app.log");
    std::fs::write(&log, "boot\nready\n").unwrap();
    let inventory = home.path().join("inventory.toml");
    std::fs::write(
        &inventory,
        "[[targets]]\nname = \"app-a\"\ntransport = \"local\"\ntags = { role = \"app\" }\n\
         [[targets]]\nname = \"app-b\"\ntransport = \"local\"\ntags = { role = \"app\" }\n",
    )
    .unwrap();
    let journal = home.path().join("journal.db");
    let command = format!(
        "cd {home} && HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config {bin} --catalog {catalog} --inventory {inv} --journal {journal}",
        home = home.path().display(),
        bin = env!("CARGO_BIN_EXE_rune"),
        catalog = root().join("actions").display(),
        inv = inventory.display(),
        journal = journal.display(),
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("search:");
    tmux.text("tail");
    tmux.wait_for("tail-logs");
    tmux.keys(&["Enter"]);
    tmux.wait_for("targets for tail-logs");
    tmux.keys(&["/"]);
    tmux.text("role=app");
    tmux.keys(&["Enter", "a"]);
    tmux.wait_for("2 selected");
    tmux.keys(&["Enter"]);
    tmux.wait_for("parameters for tail-logs");
    tmux.text(&log.display().to_string());
    tmux.keys(&["Enter", "Enter", "Enter"]);
    tmux.wait_for("confirm tail-logs");
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
