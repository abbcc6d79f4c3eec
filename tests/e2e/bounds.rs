//! Bounded everything, through the real binary (journal included): a target
//! that floods stdout or stderr with 1 GiB, writes one endless stderr line or
//! 100,000 stderr lines a second ends in its outcome in bounded time, with a
//! loose ceiling on the rune process's peak RSS. The tight numbers come from
//! `scripts/bench-bounds`; these bounds are generous on purpose.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rune::protocol::eps::code;
use serde_json::Value;

use crate::ssh::Env;
use crate::support::{root, rune};

/// Far above the ~30–60 MiB measured, far below what buffering 1 GiB would take.
const RSS_CEILING_KIB: u64 = 200 * 1024;

/// Runs `cmd` under a python3 parent that reports its children's peak RSS:
/// getrusage(RUSAGE_CHILDREN) of a process whose only child is `rune`.
pub fn measured(cmd: &Command) -> (std::process::Output, u64, Duration) {
    let rss = tempfile::NamedTempFile::new().unwrap();
    let mut wrapped = Command::new("python3");
    wrapped.args([
        "-c",
        "import resource, subprocess, sys\n\
         code = subprocess.run(sys.argv[2:]).returncode\n\
         open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
         sys.exit(code if code >= 0 else 128 - code)",
    ]);
    wrapped
        .arg(rss.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    let clock = Instant::now();
    let out = wrapped.output().unwrap();
    let elapsed = clock.elapsed();
    let kib = std::fs::read_to_string(rss.path())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (out, kib, elapsed)
}

/// One flood case with `rune run misbehave` on `target`; the first result.
fn flood(
    home: &Path,
    inventory: Option<&Path>,
    target: &str,
    args: &[&str],
) -> (Value, u64, Duration) {
    let mut cmd = rune(home);
    cmd.arg("--catalog")
        .arg(root().join("tests/fixtures/catalog"));
    if let Some(inventory) = inventory {
        cmd.arg("--inventory").arg(inventory);
    }
    cmd.args(["run", "misbehave", "-t", target, "-o", "json"])
        .args(args)
        .env_remove("SSH_AUTH_SOCK");
    let (out, kib, elapsed) = measured(&cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    eprintln!(
        "{target} {args:?}: {:.1} s, peak RSS {} MiB",
        elapsed.as_secs_f64(),
        kib / 1024
    );
    (doc["results"][0].clone(), kib, elapsed)
}

fn eps_code(result: &Value) -> i64 {
    result["error"]["error_payload"]["error_data"]["error"]["code"]
        .as_i64()
        .unwrap_or(0)
}

/// The result for a failure message: each stderr_tail line shortened to
/// its length and its first and last 40 characters, so a megabyte of tail cannot
/// bury what went wrong.
fn brief(result: &Value) -> Value {
    let mut brief = result.clone();
    if let Some(tail) = brief["stderr_tail"].as_array_mut() {
        for line in tail.iter_mut() {
            let text: Vec<char> = line.as_str().unwrap_or_default().chars().collect();
            let (head, rest) = text.split_at(text.len().min(40));
            let end: String = rest[rest.len().saturating_sub(40)..].iter().collect();
            *line = format!("{} chars: {}…{end}", text.len(), String::from_iter(head)).into();
        }
    }
    brief
}

fn notes(result: &Value) -> String {
    result["notes"].to_string()
}

/// Every case on one target; `slack` widens the time bounds for SSH.
fn every_flood_ends_bounded(home: &Path, inventory: Option<&Path>, target: &str, slack: u64) {
    let within = |secs: u64| Duration::from_secs(secs * slack);

    let (result, kib, took) = flood(
        home,
        inventory,
        target,
        &["-p", "case=stdout_gib", "--timeout", "10m"],
    );
    assert_eq!(
        eps_code(&result),
        code::MESSAGE_TOO_LARGE,
        "{}",
        brief(&result)
    );
    assert!(took < within(60), "1 GiB of stdout took {took:?}");
    assert!(
        kib < RSS_CEILING_KIB,
        "peak RSS {kib} KiB for 1 GiB of stdout"
    );

    let (result, _, took) = flood(
        home,
        inventory,
        target,
        &["-p", "case=endless_stdout", "--timeout", "10m"],
    );
    assert_eq!(
        eps_code(&result),
        code::MESSAGE_TOO_LARGE,
        "{}",
        brief(&result)
    );
    assert!(
        took < within(30),
        "endless stdout took {took:?}: not stopped at the cap"
    );

    let (result, kib, took) = flood(
        home,
        inventory,
        target,
        &["-p", "case=stderr_gib", "--timeout", "10m"],
    );
    assert_eq!(result["status"], "success", "{}", brief(&result));
    assert!(took < within(120), "1 GiB of stderr took {took:?}");
    assert!(
        kib < RSS_CEILING_KIB,
        "peak RSS {kib} KiB for 1 GiB of stderr"
    );
    assert!(
        notes(&result).contains("10000 of "),
        "only the first 10,000 lines were streamed and journalled: {}",
        notes(&result)
    );
    if target == "localhost" {
        // A pipe applies backpressure: every byte is counted. Over SSH the
        // transport may drop chunks while the consumer lags, and says so.
        assert_eq!(
            result["stderr_bytes"],
            1024 * 1024 * 1024,
            "{}",
            notes(&result)
        );
    }
    let tail = result["stderr_tail"].as_array().unwrap();
    let kept: usize = tail.iter().map(|l| l.as_str().unwrap().len()).sum();
    assert!(kept <= 1024 * 1024, "the tail is {kept} bytes");

    let (result, kib, took) = flood(
        home,
        inventory,
        target,
        &["-p", "case=endless_line", "--timeout", "3s"],
    );
    assert_eq!(eps_code(&result), code::TIMEOUT, "{}", brief(&result));
    assert_eq!(
        result["stderr_lines"],
        1,
        "one line, cut once: {}",
        brief(&result)
    );
    assert!(result["stderr_bytes"].as_u64().unwrap() > 1024 * 1024);
    assert!(took < within(30), "an endless line took {took:?}");
    assert!(
        kib < RSS_CEILING_KIB,
        "peak RSS {kib} KiB for an endless line"
    );

    let (result, kib, took) = flood(
        home,
        inventory,
        target,
        &["-p", "case=line_storm", "--timeout", "3s"],
    );
    assert_eq!(eps_code(&result), code::TIMEOUT, "{}", brief(&result));
    assert!(
        result["stderr_lines"].as_u64().unwrap() > 10_000,
        "{}",
        brief(&result)
    );
    assert!(notes(&result).contains("10000 of "), "{}", notes(&result));
    assert!(took < within(30), "a line storm took {took:?}");
    assert!(kib < RSS_CEILING_KIB, "peak RSS {kib} KiB for a line storm");
}

#[test]
fn floods_end_bounded_on_the_local_transport() {
    let home = tempfile::tempdir().unwrap();
    every_flood_ends_bounded(home.path(), None, "localhost", 1);
}

#[test]
fn floods_end_bounded_over_ssh() {
    let env = Env::start(1);
    let inventory = env.home.path().join("inventory.toml");
    std::fs::write(&inventory, env.farm.inventory_toml()).unwrap();
    every_flood_ends_bounded(env.home.path(), Some(&inventory), "ssh-1", 2);
}
