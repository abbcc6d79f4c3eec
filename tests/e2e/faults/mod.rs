//! Fault injection end to end (issue 8): the real binary or the real
//! mediator, real sshd farms, the SSM emulator and real SQLite files, each
//! broken on purpose while a fan-out runs. `rune` SIGKILLed mid-run and a
//! network that goes silent (`sigkill.rs`); the journal's disk filling up,
//! the journal locked or made read-only mid-run (`journal.rs`); SSH and SSM
//! failures mixed into 50-target fan-outs (`fanout.rs`).
//!
//! Every test uses the `nap` action made here: it proves it started by a
//! file named after its target, then sleeps under a name unique to the
//! test, so leftovers are found by that name alone and never confused with
//! another test's (or another agent's) processes.

mod fanout;
mod fd_limit;
mod journal;
mod sigkill;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::rune;

/// A catalog holding `nap`, a folder for its start files and a unique name.
pub struct Nap {
    pub dir: tempfile::TempDir,
    pub catalog: PathBuf,
    pub started: PathBuf,
    /// What the plugin's sleep is called (its argv[0]): unique per test.
    pub marker: String,
}

impl Nap {
    pub fn new(test: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("catalog");
        let action = catalog.join("nap");
        std::fs::create_dir_all(&action).unwrap();
        std::fs::write(action.join("action.toml"), MANIFEST).unwrap();
        std::fs::write(action.join("run.sh"), PLUGIN).unwrap();
        let started = dir.path().join("started");
        std::fs::create_dir(&started).unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let marker = format!("rune-fault-{test}-{}-{nanos}", std::process::id());
        Self {
            dir,
            catalog,
            started,
            marker,
        }
    }

    /// `-p` assignments for a nap of `seconds` (a `sleep` argument).
    pub fn params(&self, seconds: &str) -> Vec<String> {
        vec![
            format!("marker={}", self.marker),
            format!("dir={}", self.started.display()),
            format!("seconds={seconds}"),
        ]
    }

    /// The same as (key, value) pairs, for a request built in the test.
    pub fn pairs(&self, seconds: &str) -> Vec<(String, String)> {
        self.params(seconds)
            .into_iter()
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    /// Targets whose plugin started, by name.
    pub fn started(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.started)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Live processes (on any target: they all run on this machine) that
    /// carry this test's marker.
    pub fn leftovers(&self) -> usize {
        self.leftover_list().len()
    }

    /// `pid stat-fields… argv[0]` of each marked process, for failure messages.
    pub fn leftover_list(&self) -> Vec<String> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).into_owned();
                if !cmdline.contains(&self.marker) {
                    return None;
                }
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                let argv0: String = cmdline.split('\0').next()?.chars().take(40).collect();
                Some(format!("{} [{argv0}]", &stat[..stat.len().min(90)]))
            })
            .collect()
    }

    /// `rune --catalog <nap> --journal JOURNAL [--inventory INVENTORY]` with `home`.
    pub fn rune(
        &self,
        home: &Path,
        journal: &Path,
        inventory: Option<&Path>,
    ) -> std::process::Command {
        let mut cmd = rune(home);
        cmd.env_remove("SSH_AUTH_SOCK")
            .arg("--catalog")
            .arg(&self.catalog)
            .arg("--journal")
            .arg(journal);
        if let Some(inventory) = inventory {
            cmd.arg("--inventory").arg(inventory);
        }
        cmd
    }
}

const MANIFEST: &str = r#"name = "nap"
title = "Nap"
description = "Test plugin: leaves a start file named after its target, then sleeps under a marker name."
version = "1.0.0"
owner = "rune-tests"
tags = ["test"]
risk = "read"
timeout = "60s"
entry = "run.sh"

[params.marker]
type = "string"
required = true

[params.dir]
type = "string"
required = true

[params.seconds]
type = "string"
required = true

[params.fill]
type = "string"
description = "A file to grow until its disk is full, by the plugin of the fill_after-th target to start"

[params.fill_after]
type = "integer"
default = 0
"#;

const PLUGIN: &str = r#"#!/usr/bin/env bash
set -u
input=$(cat)
node=$(printf '%s' "$input" | sed -n 's/.*"node":"\([^"]*\)".*/\1/p')
: > "$RUNE_PARAM_DIR/$node"
if [ -n "${RUNE_PARAM_FILL:-}" ] && [ "$(ls "$RUNE_PARAM_DIR" | wc -l)" -eq "$RUNE_PARAM_FILL_AFTER" ]; then
  dd if=/dev/zero of="$RUNE_PARAM_FILL" bs=64k 2>/dev/null
fi
(exec -a "$RUNE_PARAM_MARKER" sleep "$RUNE_PARAM_SECONDS")
printf '{"message_metadata":{"version":"1.0","message_id":"m"},"payload":{"result":"success","output_data":{}},"error":null}'
"#;

/// An inventory file of `count` local targets `l-1`, `l-2`, …
pub fn local_inventory(dir: &Path, count: usize) -> PathBuf {
    let text: String = (1..=count)
        .map(|n| format!("[[targets]]\nname = \"l-{n}\"\ntransport = \"local\"\n\n"))
        .collect();
    let path = dir.join("local.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits (polling, bounded) until `check` holds; returns how long it took.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let clock = Instant::now();
    while !check() {
        assert!(clock.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    clock.elapsed()
}
