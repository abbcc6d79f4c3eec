//! `cargo bench --bench fanout` (or `scripts/bench`): RUNE's SSH fan-out
//! against parallel-ssh, issue 9. For each N in {50, 200} it starts the test
//! harness's sshd farm on 127.0.1.1 … 127.0.1.N and times, several runs each:
//!
//! 1. `parallel-ssh -p N … true`, OpenSSH's default kex and curve25519-sha256;
//! 2. `rune run noop` over SSH on the N hosts (the release binary, journal
//!    included);
//! 3. the same plan run twice through one in-process engine (Mediator with
//!    `Transports::standard`), the second over the already open connections;
//! 4. `rune run noop` on localhost against piping the envelope into the noop
//!    plugin directly (mediation overhead per execution).
//!
//! Beside noop (bash and the SDK) each rune row also runs `minimal`, the
//! cheapest plugin that keeps the contract (POSIX sh, no SDK), so the
//! targets' CPU splits into sshd, rune's prelude and the plugin. With
//! RUNE_BENCH_RTT_MS > 0, parallel-ssh and the in-process engine run once
//! more through delay relays (`fanout/relay.rs`) that give loopback that
//! round-trip time: what pooling saves on a network.
//!
//! CPU: the client's user+sys come from this process's cutime/cstime (the
//! child is reaped by us, its descendants by it), the farm's from the sshd
//! listeners' utime+stime+cutime+cstime plus their live descendants, all from
//! /proc. Peak RSS of rune: VmHWM polled while it runs.
//!
//! The login user on the farm is a dedicated user whose shell is /bin/sh
//! (`rune-bench`, created when missing) as the issue asks: sshd runs every
//! command through the login shell, and bash starts slower than dash. When
//! not root, the bench logs in as the current user and says so.
//!
//! Environment: RUNE_BENCH_HOSTS="50,200" (comma list), RUNE_BENCH_RTT_MS
//! (default 20: the relayed rows, 0: none), RUNE_BENCH_RUNS
//! (default 5 for N ≤ 50, else 3), RUNE_BENCH_LOCAL_RUNS (default 20).
//! Needs /usr/sbin/sshd (openssh-server) and parallel-ssh (Debian's pssh);
//! `scripts/bench` installs them.

// A benchmark has nobody to report an error to: any failure aborts it.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

#[path = "../../tests/support/sshd.rs"]
mod sshd;

mod cpu;
mod farm;
mod relay;
mod rows;

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rune::catalog::{self, Catalog};
use rune::inventory::{Inventory, Selector};
use rune::mediator::{Mediator, Report, Status};
use rune::policy::{Confirmation, Operator, ParamInput, RunRequest, Source, decide};
use rune::transport::Transports;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use cpu::{Sample, reaped_children_cpu, run_child, run_child_with, self_cpu};
use farm::{Bench, MINIMAL, Route};
use rows::{Row, print_rows};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `rune` binary cargo built for this bench (target/release/rune).
fn rune_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rune"))
}

/// The release `rune` with `home` as HOME and XDG dirs, none of the
/// operator's RUNE_* settings, and no colour.
fn rune_in(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(rune_bin());
    cmd.env_remove("RUNE_CATALOG")
        .env_remove("RUNE_INVENTORY")
        .env_remove("RUNE_JOURNAL")
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1");
    cmd
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn request(action: &str, names: Vec<String>, concurrency: usize) -> RunRequest {
    RunRequest {
        action: action.into(),
        selector: Selector {
            names,
            tags: Vec::new(),
        },
        params: ParamInput::Assignments(Vec::new()),
        source: Source::Cli,
        operator: Operator::current(),
        incident: Some("01937a40-0f00-7a00-b000-000000000009".into()),
        timeout: None,
        concurrency,
        max_errors: None,
        confirmation: Confirmation::Explicit,
        parent_message_id: None,
    }
}

async fn run_plan(
    mediator: &Mediator,
    catalog: &Catalog,
    inventory: &Inventory,
    req: RunRequest,
) -> Report {
    let plan = Arc::new(decide(catalog, inventory, req).unwrap());
    let (tx, mut rx) = mpsc::channel(1024);
    let drain = async { while rx.recv().await.is_some() {} };
    let (report, ()) = tokio::join!(mediator.run(plan, tx, CancellationToken::new()), drain);
    report
}

fn fan_out(n: usize, runs: usize, rt: &tokio::runtime::Runtime) -> Vec<Row> {
    eprintln!("fanout: starting an sshd farm of {n} hosts");
    let bench = Bench::start(n);
    let mut rows = Vec::new();

    // Warm-up, untimed: page cache, the journal's schema, sshd's first forks.
    for action in ["noop", MINIMAL] {
        run_child(
            bench.rune(n, "ssh-*", action),
            Some(&bench.farm_cpu),
            "rune warm-up",
        );
    }
    run_child(
        bench.pssh(n, Some("curve25519-sha256")),
        Some(&bench.farm_cpu),
        "parallel-ssh warm-up",
    );

    for (name, kex) in [
        ("parallel-ssh, OpenSSH default kex", None),
        (
            "parallel-ssh, KexAlgorithms=curve25519-sha256",
            Some("curve25519-sha256"),
        ),
    ] {
        let mut samples = Vec::new();
        for i in 0..runs {
            let s = run_child(bench.pssh(n, kex), Some(&bench.farm_cpu), name);
            eprintln!("fanout: N={n} {name} run {i}: {:.3} s", s.wall);
            samples.push(s);
        }
        rows.push(Row {
            name: format!("{name} `true`"),
            samples,
        });
    }

    for (action, label) in [
        ("noop", "rune run noop (CLI, full round trip + journal)"),
        (MINIMAL, "rune run minimal (CLI, POSIX-sh plugin, no SDK)"),
    ] {
        let mut samples = Vec::new();
        for i in 0..runs {
            let s = run_child(
                bench.rune(n, "ssh-*", action),
                Some(&bench.farm_cpu),
                "rune run",
            );
            eprintln!("fanout: N={n} rune run {action} run {i}: {:.3} s", s.wall);
            samples.push(s);
        }
        rows.push(Row {
            name: label.into(),
            samples,
        });
    }

    // In-process: one engine, the plan twice; the second reuses connections.
    let direct = Route {
        inventory: bench.inventory.clone(),
        settings: bench.settings(),
        label: String::new(),
    };
    for action in ["noop", MINIMAL] {
        rows.extend(in_process(&bench, &direct, action, n, runs, rt));
    }

    if let Some(rtt) = rtt() {
        let route = bench.relayed(rt, rtt);
        let name = format!("parallel-ssh, curve25519-sha256 `true`{}", route.label);
        let mut samples = Vec::new();
        for i in 0..runs {
            let cmd = bench.pssh_to(
                n,
                Some("curve25519-sha256"),
                &bench.home.path().join("pssh-hosts-rtt"),
                &bench.home.path().join("known_hosts_rtt"),
            );
            let s = run_child(cmd, Some(&bench.farm_cpu), &name);
            eprintln!("fanout: N={n} {name} run {i}: {:.3} s", s.wall);
            samples.push(s);
        }
        rows.push(Row { name, samples });
        for action in ["noop", MINIMAL] {
            rows.extend(in_process(&bench, &route, action, n, runs, rt));
        }
    }
    rows
}

/// `RUNE_BENCH_RTT_MS` (default 20; 0 turns the relayed rows off).
fn rtt() -> Option<Duration> {
    let ms = env_usize("RUNE_BENCH_RTT_MS").unwrap_or(20);
    (ms > 0).then(|| Duration::from_millis(ms as u64))
}

/// One engine, the plan twice, `runs` times: the first run connects, the
/// second reuses the connections.
fn in_process(
    bench: &Bench,
    route: &Route,
    action: &str,
    n: usize,
    runs: usize,
    rt: &tokio::runtime::Runtime,
) -> [Row; 2] {
    let catalog = catalog::load(&bench.catalog_dir(action)).unwrap();
    let names: Vec<String> = bench.farm.hosts().iter().map(|h| h.name.clone()).collect();
    let mut first = Vec::new();
    let mut second = Vec::new();
    for i in 0..runs {
        let mediator = Mediator::new(Transports::standard(route.settings.clone()).unwrap().0);
        let one = |label: &str| {
            let cpu_before = self_cpu();
            let started = Instant::now();
            let report = rt.block_on(run_plan(
                &mediator,
                &catalog,
                &route.inventory,
                request(action, names.clone(), n),
            ));
            let wall = started.elapsed().as_secs_f64();
            let client_cpu = self_cpu() - cpu_before;
            let ok = report.count(Status::Success);
            assert_eq!(
                ok,
                n,
                "{label}: {ok}/{n} succeeded: {:?}",
                report.results.first()
            );
            eprintln!(
                "fanout: N={n} in-process {action}{} {label} run {i}: {wall:.3} s",
                route.label
            );
            // Not the farm's CPU: while connections stay open, the
            // sessions' processes do not show in it (they showed a
            // third of the CLI's), so the column says "–".
            Sample {
                wall,
                client_cpu,
                farm_cpu: f64::NAN,
                rss_kb: 0,
            }
        };
        // The previous engine's connections are gone before timing.
        bench.farm_cpu.settle();
        first.push(one("first"));
        second.push(one("second (pooled)"));
        drop(mediator);
    }
    [
        Row {
            name: format!("in-process {action}, 1st run (connects){}", route.label),
            samples: first,
        },
        Row {
            name: format!("in-process {action}, 2nd run (pooled){}", route.label),
            samples: second,
        },
    ]
}

/// Local mediation: `rune run noop` on localhost vs the plugin directly.
fn local(runs: usize, rt: &tokio::runtime::Runtime) -> Vec<Row> {
    let home = tempfile::tempdir().unwrap();
    let inventory_path = home.path().join("inventory.toml");
    fs::write(&inventory_path, "").unwrap();
    let rune = || {
        let h = home.path();
        let mut cmd = rune_in(h);
        cmd.args(["run", "noop", "-o", "json", "-y", "--journal"])
            .arg(h.join("journal.db"));
        cmd
    };
    // The envelope exactly as rune would send it, from --dry-run.
    let dry = rune().arg("--dry-run").output().unwrap();
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    let envelope = serde_json::to_vec(&doc["envelope"]).unwrap();
    let envelope_path = home.path().join("envelope.json");
    fs::File::create(&envelope_path)
        .unwrap()
        .write_all(&envelope)
        .unwrap();
    let direct = || {
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("actions/noop/run.sh"));
        cmd
    };
    run_child(rune(), None, "rune local warm-up");
    let mut rows = Vec::new();
    let cli: Vec<Sample> = (0..runs)
        .map(|_| run_child(rune(), None, "rune local"))
        .collect();
    let plugin: Vec<Sample> = (0..runs)
        .map(|_| run_child_with(direct(), Some(&envelope_path), None, "noop plugin"))
        .collect();

    let catalog = catalog::load(&root().join("actions")).unwrap();
    let inventory = Inventory::default();
    let mediator = Mediator::new(Transports::local_only());
    let mut engine = Vec::new();
    for _ in 0..=runs {
        let started = Instant::now();
        let cpu_before = self_cpu() + reaped_children_cpu();
        let report = rt.block_on(run_plan(
            &mediator,
            &catalog,
            &inventory,
            request("noop", Vec::new(), 1),
        ));
        assert_eq!(report.count(Status::Success), 1);
        engine.push(Sample {
            wall: started.elapsed().as_secs_f64(),
            client_cpu: self_cpu() + reaped_children_cpu() - cpu_before,
            ..Sample::default()
        });
    }
    engine.remove(0); // warm-up
    rows.push(Row {
        name: "localhost: rune run noop (CLI, journal)".into(),
        samples: cli,
    });
    rows.push(Row {
        name: "localhost: in-process mediator.run".into(),
        samples: engine,
    });
    rows.push(Row {
        name: "localhost: envelope | bash actions/noop/run.sh".into(),
        samples: plugin,
    });
    rows
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is not supported.
    let sizes: Vec<usize> = std::env::var("RUNE_BENCH_HOSTS")
        .unwrap_or_else(|_| "50,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    assert!(
        Command::new("parallel-ssh")
            .arg("--version")
            .output()
            .is_ok(),
        "parallel-ssh is missing: apt-get install pssh (scripts/bench does)"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = cores();
    println!(
        "fanout: {c} cores, {}; rune {}",
        String::from_utf8_lossy(&Command::new("ssh").arg("-V").output().unwrap().stderr).trim(),
        rune_bin().display()
    );

    let mut by_n: Vec<(usize, Vec<Row>)> = Vec::new();
    for &n in &sizes {
        let runs = env_usize("RUNE_BENCH_RUNS").unwrap_or(if n <= 50 { 5 } else { 3 });
        let rows = fan_out(n, runs, &rt);
        print_rows(n, &rows);
        let med = |i: usize| rows[i].wall().1;
        let per_host = |i: usize| rows[i].med(|s| s.farm_cpu) * 1000.0 / n as f64;
        let (pssh_default, pssh_tuned, cli, minimal) = (med(0), med(1), med(2), med(3));
        let cli_cpu = rows[2].med(|s| s.client_cpu);
        let floor = (cli_cpu + rows[2].med(|s| s.farm_cpu)) / c as f64;
        let rss = rows[2].samples.iter().map(|s| s.rss_kb).max().unwrap_or(0);
        println!();
        println!("N={n} ratios (medians):");
        println!(
            "  rune noop / parallel-ssh default      = {:.2}  (target ≤ 0.30; minimal plugin {:.2})",
            cli / pssh_default,
            minimal / pssh_default
        );
        println!(
            "  rune noop / parallel-ssh curve25519   = {:.2}  (target ≤ 1.00; minimal plugin {:.2})",
            cli / pssh_tuned,
            minimal / pssh_tuned
        );
        println!(
            "  rune CPU per host                     = {:.2} ms (target ≤ 5 ms)",
            cli_cpu * 1000.0 / n as f64
        );
        println!(
            "  rune noop wall / CPU floor            = {:.2}  (target ≤ 1.25)",
            cli / floor
        );
        println!(
            "  2nd run (pooled) / 1st run            = {:.2} noop, {:.2} minimal  (target ≤ 0.20)",
            med(5) / med(4),
            med(7) / med(6)
        );
        if rows.len() >= 13 {
            println!(
                "  over the RTT relays: 2nd / 1st run   = {:.2} noop, {:.2} minimal; 1st run noop / parallel-ssh curve25519 = {:.2}",
                med(10) / med(9),
                med(12) / med(11),
                med(9) / med(8)
            );
        }
        println!(
            "  rune peak RSS                         = {:.1} MiB = {:.0} KiB per connection (target < 1024)",
            rss as f64 / 1024.0,
            rss as f64 / n as f64
        );
        // Where the targets' CPU goes, by difference between rows that
        // share everything but one part.
        println!("N={n} target CPU per execution (sshd farm, medians):");
        println!(
            "  sshd: connection, kex, auth, session, `true` = {:.1} ms (parallel-ssh curve25519)",
            per_host(1)
        );
        println!(
            "  rune's prelude: bundle, hash, unpack, cleanup = {:.1} ms (minimal − parallel-ssh curve25519)",
            per_host(3) - per_host(1)
        );
        println!(
            "  the noop plugin: bash and the SDK             = {:.1} ms (noop − minimal)",
            per_host(2) - per_host(3)
        );
        println!(
            "  total per rune noop execution                 = {:.1} ms",
            per_host(2)
        );
        by_n.push((n, rows));
    }
    if by_n.len() >= 2 {
        let (n0, r0) = &by_n[0];
        let (n1, r1) = &by_n[by_n.len() - 1];
        let growth = r1[2].wall().1 / r0[2].wall().1;
        println!(
            "\nrune CLI wall N={n1} / N={n0} = {growth:.2} (linear: {:.2})",
            *n1 as f64 / *n0 as f64
        );
    }

    let local_runs = env_usize("RUNE_BENCH_LOCAL_RUNS").unwrap_or(20);
    let rows = local(local_runs, &rt);
    print_rows(1, &rows);
    let (plugin_min, plugin_med, _) = rows[2].wall();
    println!();
    println!(
        "local mediation overhead per execution (target ≤ 5 ms): \
         CLI {:.1} ms (min {:.1}), in-process {:.1} ms (min {:.1})",
        (rows[0].wall().1 - plugin_med) * 1000.0,
        (rows[0].wall().0 - plugin_min) * 1000.0,
        (rows[1].wall().1 - plugin_med) * 1000.0,
        (rows[1].wall().0 - plugin_min) * 1000.0
    );
}
