//! `cargo bench --bench bounds` (or `scripts/bench-bounds`): the measured
//! bounds of issue 8. A target floods RUNE, locally and over SSH (one sshd
//! of the test harness on 127.0.3.1), and `rune run` (the journal included)
//! must end each flood in its outcome in bounded time with bounded memory:
//!
//! - `stdout_gib`: 1 GiB of stdout, `endless_stdout`: stdout until stopped
//!   (both -32103 at the 4 MiB cap);
//! - `stderr_gib`: 1 GiB of 49-byte stderr lines, then a valid result
//!   (success: the tail is kept, the count exact, 10,000 lines journalled);
//! - `endless_line`: one stderr line with no newline, `line_storm`: 100,000
//!   stderr lines a second (both -32401 at a 10 s timeout).
//!
//! Peak RSS is the rune process's (and its plugins', whichever is larger):
//! getrusage(RUSAGE_CHILDREN).ru_maxrss of a python3 parent whose only child
//! is `rune`. Time is wall clock from start to exit. Each case runs
//! RUNE_BENCH_RUNS times (default 3); the table gives the median time and
//! the largest peak RSS. Needs /usr/sbin/sshd and python3.

// A benchmark has nobody to report an error to: any failure aborts it.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

#[path = "../tests/support/sshd.rs"]
mod sshd;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sshd::{FarmOptions, SshdFarm};

const CASES: &[(&str, &str)] = &[
    ("stdout_gib", "10m"),
    ("endless_stdout", "10m"),
    ("stderr_gib", "10m"),
    ("endless_line", "10s"),
    ("line_storm", "10s"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Measured {
    time: Duration,
    rss_kib: u64,
    result: Value,
}

/// One `rune run misbehave -p case=CASE` on `target`, measured.
fn measure(home: &Path, inventory: &Path, target: &str, case: &str, timeout: &str) -> Measured {
    let rss = home.join("rss");
    let rune = PathBuf::from(env!("CARGO_BIN_EXE_rune"));
    let clock = Instant::now();
    let out = Command::new("python3")
        .args([
            "-c",
            "import resource, subprocess, sys\n\
             code = subprocess.run(sys.argv[2:]).returncode\n\
             open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))",
        ])
        .arg(&rss)
        .arg(rune)
        .arg("--catalog")
        .arg(root().join("tests/fixtures/catalog"))
        .arg("--inventory")
        .arg(inventory)
        .args(["run", "misbehave", "-t", target, "-o", "json", "--timeout", timeout])
        .arg("-p")
        .arg(format!("case={case}"))
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("RUNE_CATALOG")
        .env_remove("RUNE_INVENTORY")
        .output()
        .unwrap();
    let time = clock.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    Measured {
        time,
        rss_kib: std::fs::read_to_string(&rss)
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
        result: doc["results"][0].clone(),
    }
}

fn outcome(result: &Value) -> String {
    match result["error"]["error_payload"]["error_data"]["error"]["code"].as_i64() {
        Some(code) => format!("{} {code}", result["status"].as_str().unwrap_or("?")),
        None => result["status"].as_str().unwrap_or("?").to_owned(),
    }
}

/// Stderr events that reached the journal for this execution.
fn journalled(home: &Path, exec_id: &str) -> i64 {
    let db = rusqlite::Connection::open(home.join("data/rune/journal.db")).unwrap();
    db.query_row(
        "SELECT count(*) FROM events WHERE execution_id = ?1 AND kind = 'stderr'",
        [exec_id],
        |r| r.get(0),
    )
    .unwrap()
}

fn main() {
    let runs: usize = std::env::var("RUNE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let farm = SshdFarm::start(FarmOptions {
        hosts: 1,
        base_octet: 3,
        ..FarmOptions::default()
    });
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::copy(farm.known_hosts(), ssh.join("known_hosts")).unwrap();
    std::fs::write(
        ssh.join("config"),
        format!("Host *\n    IdentityFile {}\n", farm.client_key().display()),
    )
    .unwrap();
    let inventory = home.path().join("inventory.toml");
    std::fs::write(&inventory, farm.inventory_toml()).unwrap();

    println!(
        "| case | transport | outcome | time (median of {runs}) | peak RSS (max) | stderr lines | journalled stderr rows |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (case, timeout) in CASES {
        for (transport, target) in [("local", "localhost"), ("ssh", "ssh-1")] {
            let mut all: Vec<Measured> = (0..runs)
                .map(|_| measure(home.path(), &inventory, target, case, timeout))
                .collect();
            all.sort_by_key(|m| m.time);
            let median = &all[all.len() / 2];
            let rss = all.iter().map(|m| m.rss_kib).max().unwrap_or(0);
            let exec = median.result["exec_id"].as_str().unwrap_or("");
            println!(
                "| {case} | {transport} | {} | {:.1} s | {:.0} MiB | {} | {} |",
                outcome(&median.result),
                median.time.as_secs_f64(),
                rss as f64 / 1024.0,
                median.result["stderr_lines"],
                journalled(home.path(), exec),
            );
        }
    }
}
