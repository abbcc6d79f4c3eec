//! A journal that cannot be written stops `rune run` before anything runs
//! (no unaudited action): exit 2, a message naming the file, no panic, and
//! the plugin never started. The plugin here touches a marker file, so "it
//! did not run" is something the test can see.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use rune::journal::{Journal, Severity};

use super::{Home, Rng, text};
use crate::support::rune;

/// A catalog with one action that creates the file named by its `marker` parameter.
fn touch_catalog(dir: &Path) -> PathBuf {
    let catalog = dir.join("catalog");
    let action = catalog.join("touch");
    std::fs::create_dir_all(&action).unwrap();
    std::fs::write(
        action.join("action.toml"),
        r#"name = "touch"
title = "Touch a marker file"
description = "Test plugin: proves it ran by creating a file."
version = "1.0.0"
owner = "rune-tests"
tags = ["test"]
risk = "read"
timeout = "10s"
entry = "run.sh"

[params.marker]
type = "string"
required = true
"#,
    )
    .unwrap();
    std::fs::write(
        action.join("run.sh"),
        "#!/usr/bin/env bash\ncat >/dev/null\ntouch \"$RUNE_PARAM_MARKER\"\n\
         printf '{\"message_metadata\":{\"version\":\"1.0\",\"message_id\":\"m\"},\"payload\":{\"result\":\"success\",\"output_data\":{}},\"error\":null}'\n",
    )
    .unwrap();
    catalog
}

/// Everything one refusal case needs.
struct Case {
    home: Home,
    catalog: PathBuf,
    marker: PathBuf,
}

impl Case {
    fn new() -> Self {
        let home = Home::new();
        let catalog = touch_catalog(home.path());
        // World-writable so that a plugin run as another user could still leave the marker.
        let markers = home.path().join("markers");
        std::fs::create_dir(&markers).unwrap();
        std::fs::set_permissions(&markers, std::fs::Permissions::from_mode(0o777)).unwrap();
        let marker = markers.join("ran");
        Self {
            home,
            catalog,
            marker,
        }
    }

    /// `rune run touch` against `journal`, through `wrap` (e.g. setpriv) when given.
    fn run(&self, journal: &Path, wrap: &[&str]) -> Output {
        let marker = format!("marker={}", self.marker.display());
        self.rune(journal, wrap, &["run", "touch", "-p", &marker])
    }

    /// `rune ARGS` on this case's catalog and `journal`; `wrap`, when given,
    /// is the whole command line that runs the binary (`setpriv … BINARY`).
    fn rune(&self, journal: &Path, wrap: &[&str], args: &[&str]) -> Output {
        let plain = rune(self.home.path());
        let mut cmd = match wrap.split_first() {
            None => plain,
            Some((program, wrap_args)) => {
                let mut cmd = std::process::Command::new(program);
                cmd.args(wrap_args);
                for (key, value) in plain.get_envs() {
                    match value {
                        Some(value) => cmd.env(key, value),
                        None => cmd.env_remove(key),
                    };
                }
                cmd
            }
        };
        cmd.arg("--catalog")
            .arg(&self.catalog)
            .arg("--journal")
            .arg(journal)
            .args(args)
            .output()
            .unwrap()
    }

    /// Exit 2, `phrase` and the file named on stderr, no panic, nothing ran.
    fn assert_refused(&self, out: &Output, journal: &Path, phrase: &str) {
        let (_, stderr) = text(out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(&journal.display().to_string()),
            "the message does not name {}: {stderr}",
            journal.display()
        );
        assert!(stderr.contains(phrase), "{phrase:?} not in: {stderr}");
        assert!(!self.marker.exists(), "the plugin ran: {stderr}");
    }
}

#[test]
fn with_a_writable_journal_the_marker_plugin_runs() {
    let case = Case::new();
    let out = case.run(&case.home.journal, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(case.marker.exists());
}

#[test]
fn a_corrupt_journal_refuses_and_is_kept_as_it_was() {
    let case = Case::new();
    let journal = case.home.path().join("corrupt.db");
    let mut rng = Rng::new();
    let garbage: Vec<u8> = (0..65_536).map(|_| rng.next() as u8).collect();
    std::fs::write(&journal, &garbage).unwrap();
    let out = case.run(&journal, &[]);
    case.assert_refused(&out, &journal, "is not a valid journal");
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        garbage,
        "evidence was rewritten"
    );
    // Reading commands report it the same way.
    let out = rune(case.home.path())
        .arg("--journal")
        .arg(&journal)
        .args(["journal", "verify"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not a valid journal"), "{stderr}");
}

#[test]
fn a_journal_from_a_newer_rune_refuses() {
    let case = Case::new();
    drop(Journal::open(&case.home.journal).unwrap());
    case.home
        .raw()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let out = case.run(&case.home.journal, &[]);
    case.assert_refused(
        &out,
        &case.home.journal,
        "has schema version 99, newer than this rune understands (2); upgrade rune",
    );
}

#[test]
fn a_locked_journal_refuses_after_the_busy_timeout() {
    let case = Case::new();
    drop(Journal::open(&case.home.journal).unwrap());
    let holder = case.home.raw();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = case.run(&case.home.journal, &[]);
    holder.execute_batch("COMMIT").unwrap();
    case.assert_refused(
        &out,
        &case.home.journal,
        "is locked by another rune process",
    );
}

#[test]
fn a_journal_in_a_directory_that_cannot_be_created_refuses() {
    let case = Case::new();
    let journal = Path::new("/proc/rune-nope/j.db");
    let out = case.run(journal, &[]);
    case.assert_refused(&out, journal, "journal /proc/rune-nope/j.db");
}

/// Read-only for the user running rune. Root writes through file modes, so
/// as root the run drops to `nobody` with setpriv (util-linux); as anyone
/// else chmod alone does it.
#[test]
fn a_read_only_journal_refuses() {
    let case = Case::new();
    let journal = case.home.path().join("ro.db");
    Journal::open(&journal)
        .unwrap()
        .open_incident("evidence", Severity::Low, None, "tester@ci")
        .unwrap();
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o444)).unwrap();
    let binary = case.home.path().join("rune");
    let binary = binary.to_str().unwrap();
    let wrap: &[&str] = if rustix::process::geteuid().is_root() {
        // nobody must reach the binary (the checkout may sit under a private
        // /root, so a copy goes beside the journal), the catalog and the journal.
        std::fs::copy(env!("CARGO_BIN_EXE_rune"), binary).unwrap();
        for dir in [
            case.home.path(),
            case.catalog.as_path(),
            &case.catalog.join("touch"),
        ] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            binary,
        ]
    } else {
        &[]
    };
    let out = case.run(&journal, wrap);
    case.assert_refused(&out, &journal, "is read-only");
    // Reviewing needs no write access, not even to the journal's directory.
    let out = case.rune(&journal, wrap, &["journal", "verify"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("ok: 1 events verified"), "{stdout}");
}
