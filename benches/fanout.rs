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

#[path = "../tests/support/sshd.rs"]
mod sshd;

#[path = "fanout/relay.rs"]
mod relay;

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rune::catalog::{self, Catalog};
use rune::inventory::{Inventory, Selector};
use rune::mediator::{Mediator, Report, Status};
use rune::policy::{Confirmation, Operator, ParamInput, RunRequest, Source, decide};
use rune::transport::Transports;
use rune::transport::ssh::SshSettings;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use sshd::{FarmOptions, SshdFarm};

/// USER_HZ: the unit of /proc/PID/stat times on Linux.
const TICK: f64 = 0.01;

/// The dedicated login user with /bin/sh as its shell.
const BENCH_USER: &str = "rune-bench";

/// `rune-bench` with shell /bin/sh, created when missing; `None` (the
/// current user) when this process cannot create users.
fn bench_user() -> Option<String> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(BENCH_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        let created = Command::new("useradd")
            .args([
                "--system",
                "--create-home",
                "--home-dir",
                "/var/lib/rune-bench",
            ])
            .args(["--shell", "/bin/sh", BENCH_USER])
            .status()
            .is_ok_and(|s| s.success());
        if !created {
            eprintln!(
                "fanout: cannot create {BENCH_USER} (not root?): logging in as the current user"
            );
            return None;
        }
        // useradd leaves the password "!", a locked account, which sshd
        // refuses even with a key when PAM is off; "*" is no password, unlocked.
        let _ = Command::new("usermod")
            .args(["-p", "*", BENCH_USER])
            .status();
    }
    let shell = fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(&format!("{BENCH_USER}:")))
        .and_then(|l| l.rsplit(':').next().map(str::to_owned));
    eprintln!(
        "fanout: login user {BENCH_USER}, shell {}",
        shell.as_deref().unwrap_or("?")
    );
    Some(BENCH_USER.to_owned())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `rune` binary cargo built for this bench (target/release/rune).
fn rune_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rune"))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// (utime, stime, cutime, cstime) in seconds from /proc/PID/stat.
fn proc_times(pid: &str) -> Option<[f64; 4]> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) * TICK;
    Some([t(11), t(12), t(13), t(14)])
}

/// CPU seconds of the children this process has reaped (cutime + cstime).
fn reaped_children_cpu() -> f64 {
    let t = proc_times("self").unwrap();
    t[2] + t[3]
}

/// CPU seconds of this process (all threads).
fn self_cpu() -> f64 {
    let t = proc_times("self").unwrap();
    t[0] + t[1]
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// (pid, ppid) of every process.
fn processes() -> Vec<(u32, u32)> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 1..];
            Some((pid, after.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect()
}

/// The farm's CPU so far: its sshd listeners (found by their config path in
/// the farm's dir) with everything they reaped, plus live descendants with
/// everything those reaped. A descendant that exits between two readings
/// moves from the second term into its parent's cutime/cstime.
struct FarmCpu {
    listeners: Vec<u32>,
}

impl FarmCpu {
    fn new(farm: &SshdFarm) -> Self {
        // The listeners are our own children (sshd -D); sshd rewrites its
        // command line, so match the name and the farm's config dir in it.
        let me = std::process::id();
        let dir = farm.dir().display().to_string();
        let listeners: Vec<u32> = processes()
            .into_iter()
            .filter(|&(pid, ppid)| {
                ppid == me
                    && fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim() == "sshd")
                    && fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&dir))
            })
            .map(|(pid, _)| pid)
            .collect();
        assert!(!listeners.is_empty(), "no sshd of the farm found in /proc");
        FarmCpu { listeners }
    }

    /// (total CPU seconds, live descendants).
    fn read(&self) -> (f64, usize) {
        let procs = processes();
        let mut frontier = self.listeners.clone();
        let mut total = 0.0;
        let mut live = 0;
        let mut first = true;
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for pid in &frontier {
                if let Some(t) = proc_times(&pid.to_string()) {
                    total += t.iter().sum::<f64>();
                    if !first {
                        live += 1;
                    }
                }
                next.extend(procs.iter().filter(|(_, pp)| pp == pid).map(|(p, _)| *p));
            }
            frontier = next;
            first = false;
        }
        (total, live)
    }

    /// Waits (≤ 3 s) until the farm has no connection handlers left.
    fn settle(&self) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let (cpu, live) = self.read();
            if live == 0 || Instant::now() > deadline {
                return cpu;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One timed run: wall, client CPU, farm CPU, peak RSS (KiB) of the client.
#[derive(Clone, Copy, Default)]
struct Sample {
    wall: f64,
    client_cpu: f64,
    farm_cpu: f64,
    rss_kb: u64,
}

/// Runs `cmd` to its end, polling its VmHWM; panics unless it succeeds.
fn run_child(cmd: Command, farm: Option<&FarmCpu>, what: &str) -> Sample {
    run_child_with(cmd, None, farm, what)
}

fn run_child_with(
    mut cmd: Command,
    stdin: Option<&std::path::Path>,
    farm: Option<&FarmCpu>,
    what: &str,
) -> Sample {
    let farm_before = farm.map_or(0.0, FarmCpu::settle);
    let cpu_before = reaped_children_cpu();
    cmd.stdin(stdin.map_or_else(Stdio::null, |p| Stdio::from(fs::File::open(p).unwrap())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    // Drain the pipes in threads so a chatty child never blocks.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let pid = child.id();
    let mut rss = 0;
    let status = loop {
        if let Some(kb) = status_kb(pid, "VmHWM:") {
            rss = rss.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed().as_secs_f64();
    let client_cpu = reaped_children_cpu() - cpu_before;
    let stdout = out_t.join().unwrap();
    let stderr = err_t.join().unwrap();
    assert!(
        status.success(),
        "{what} failed ({status}):\n{}\n{}",
        String::from_utf8_lossy(&stdout)
            .chars()
            .take(4000)
            .collect::<String>(),
        String::from_utf8_lossy(&stderr)
            .chars()
            .take(4000)
            .collect::<String>()
    );
    let farm_cpu = farm.map_or(0.0, |f| f.settle() - farm_before);
    Sample {
        wall,
        client_cpu,
        farm_cpu,
        rss_kb: rss,
    }
}

/// An operator home trusting the farm, as tests/e2e/ssh/mod.rs builds it.
struct Bench {
    farm: SshdFarm,
    farm_cpu: FarmCpu,
    home: tempfile::TempDir,
    inventory_path: PathBuf,
    hosts_path: PathBuf,
    inventory: Inventory,
}

impl Bench {
    fn start(hosts: usize) -> Self {
        let farm = SshdFarm::start(FarmOptions {
            hosts,
            base_octet: 1,
            max_startups: (hosts as u32 * 2).max(500),
            user: bench_user(),
            ..FarmOptions::default()
        });
        let farm_cpu = FarmCpu::new(&farm);
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        fs::create_dir_all(&ssh).unwrap();
        fs::copy(farm.known_hosts(), ssh.join("known_hosts")).unwrap();
        fs::write(
            ssh.join("config"),
            format!("Host *\n    IdentityFile {}\n", farm.client_key().display()),
        )
        .unwrap();
        let inventory_path = home.path().join("inventory.toml");
        fs::write(&inventory_path, farm.inventory_toml()).unwrap();
        let hosts_path = home.path().join("pssh-hosts");
        let lines: String = farm
            .hosts()
            .iter()
            .map(|h| format!("{}:{}\n", h.addr, h.port))
            .collect();
        fs::write(&hosts_path, lines).unwrap();
        let inventory = Inventory::parse(&farm.inventory_toml(), &inventory_path).unwrap();
        write_minimal_catalog(&home.path().join("catalog"));
        Bench {
            farm,
            farm_cpu,
            home,
            inventory_path,
            hosts_path,
            inventory,
        }
    }

    fn settings(&self) -> SshSettings {
        let ssh = self.home.path().join(".ssh");
        SshSettings {
            known_hosts: vec![
                ssh.join("known_hosts"),
                self.home.path().join("rune_known_hosts"),
            ],
            rune_known_hosts: self.home.path().join("rune_known_hosts"),
            accept_new_host_keys: false,
            config_path: Some(ssh.join("config")),
            connect_timeout: Duration::from_secs(10),
            banner_timeout: rune::transport::ssh::BANNER_TIMEOUT,
            idle_expiry: Duration::from_secs(300),
            agent: None,
            passphrase: None,
            prompt: false,
            default_user: self.farm.user(),
        }
    }

    fn pssh(&self, n: usize, kex: Option<&str>) -> Command {
        self.pssh_to(n, kex, &self.hosts_path, &self.farm.known_hosts())
    }

    fn pssh_to(
        &self,
        n: usize,
        kex: Option<&str>,
        hosts: &std::path::Path,
        known_hosts: &std::path::Path,
    ) -> Command {
        let mut extra = format!(
            "-F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
             -o StrictHostKeyChecking=yes -o BatchMode=yes",
            self.farm.client_key().display(),
            known_hosts.display()
        );
        if let Some(kex) = kex {
            extra += &format!(" -o KexAlgorithms={kex}");
        }
        let mut cmd = Command::new("parallel-ssh");
        cmd.arg("-p")
            .arg(n.to_string())
            .arg("-t")
            .arg("120")
            .arg("-h")
            .arg(hosts)
            .arg("-l")
            .arg(self.farm.user())
            .arg("-x")
            .arg(extra)
            .arg("true");
        cmd
    }

    /// A delay relay per host (`relay.rs`), and the inventory, known_hosts
    /// and parallel-ssh host list that go through them.
    fn relayed(&self, rt: &tokio::runtime::Runtime, rtt: Duration) -> Route {
        let home = self.home.path();
        let key = self.farm.host_public_key();
        let user = self.farm.user();
        let (mut inventory, mut known, mut hosts) = (String::new(), String::new(), String::new());
        for h in self.farm.hosts() {
            let port = relay::start(rt, std::net::SocketAddr::from((h.addr, h.port)), rtt);
            inventory += &format!(
                "[[targets]]\nname = \"{}\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{user}\"\n\n",
                h.name
            );
            known += &format!("[127.0.0.1]:{port} {key}\n");
            hosts += &format!("127.0.0.1:{port}\n");
        }
        fs::write(home.join("known_hosts_rtt"), known).unwrap();
        fs::write(home.join("pssh-hosts-rtt"), hosts).unwrap();
        let mut settings = self.settings();
        settings.known_hosts = vec![home.join("known_hosts_rtt")];
        Route {
            inventory: Inventory::parse(&inventory, &home.join("inventory-rtt.toml")).unwrap(),
            settings,
            label: format!(" (RTT {} ms)", rtt.as_millis()),
        }
    }

    /// The catalog that holds `action`: the bundled one, or the bench's own
    /// for the minimal plugin.
    fn catalog_dir(&self, action: &str) -> PathBuf {
        if action == MINIMAL {
            self.home.path().join("catalog")
        } else {
            root().join("actions")
        }
    }

    fn rune(&self, n: usize, target: &str, action: &str) -> Command {
        let home = self.home.path();
        let mut cmd = Command::new(rune_bin());
        cmd.env_remove("RUNE_CATALOG")
            .env_remove("RUNE_INVENTORY")
            .env_remove("RUNE_JOURNAL")
            .env("HOME", home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("NO_COLOR", "1")
            .arg("run")
            .arg(action)
            .arg("--catalog")
            .arg(self.catalog_dir(action))
            .arg("--inventory")
            .arg(&self.inventory_path)
            .arg("--journal")
            .arg(home.join("journal.db"))
            .arg("-t")
            .arg(target)
            .arg("--concurrency")
            .arg(n.to_string())
            .arg("-o")
            .arg("json")
            .arg("-y");
        cmd
    }
}

/// The cheapest plugin that keeps the contract: POSIX sh, no SDK, no fork.
/// It reads the one-line envelope with the shell's `read`, echoes its ids
/// and reports success: rune's round trip with it against parallel-ssh
/// running `true` compares transports, not plugin languages.
const MINIMAL: &str = "minimal";
const MINIMAL_PLUGIN: &str = r#"#!/bin/sh
IFS= read -r e || :
id() { v=${e#*\"$1\":\"}; [ "$v" = "$e" ] && v= || v=${v%%\"*}; }
id message_id; m=$v; id correlation_id; c=$v; id trace_id; t=$v; id span_id; s=$v
printf '{"message_metadata":{"version":"1.0","message_id":"%s","correlation_id":"%s"},"payload":{"result":"success","output_data":{}},"observability":{"trace_id":"%s","span_id":"%s"},"error":null}' "$m" "$c" "$t" "$s"
"#;

fn write_minimal_catalog(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let action = dir.join(MINIMAL);
    fs::create_dir_all(&action).unwrap();
    fs::write(
        action.join("action.toml"),
        "name = \"minimal\"\ntitle = \"Minimal\"\n\
         description = \"The cheapest valid plugin: POSIX sh, no SDK (fan-out benchmark)\"\n\
         version = \"1.0.0\"\nowner = \"bench\"\nrisk = \"read\"\ntimeout = \"30s\"\n\
         entry = \"run.sh\"\ntransports = [\"ssh\"]\n",
    )
    .unwrap();
    let run = action.join("run.sh");
    fs::write(&run, MINIMAL_PLUGIN).unwrap();
    fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
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
        incident_id: "01937a40-0f00-7a00-b000-000000000009".into(),
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

/// min / median / max.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

struct Row {
    name: String,
    samples: Vec<Sample>,
}

impl Row {
    fn wall(&self) -> (f64, f64, f64) {
        stats(&self.samples.iter().map(|s| s.wall).collect::<Vec<_>>())
    }
    fn med(&self, f: impl Fn(&Sample) -> f64) -> f64 {
        stats(&self.samples.iter().map(f).collect::<Vec<_>>()).1
    }
}

fn print_rows(n: usize, rows: &[Row]) {
    let c = cores() as f64;
    println!();
    println!(
        "| N={n:<4} {:<44} | wall min / median / max (s) | client CPU (s) | sshd farm CPU (s) | CPU floor (s) | wall/floor | peak RSS (MiB) |",
        ""
    );
    println!("|{}|---|---|---|---|---|---|", "-".repeat(52));
    for row in rows {
        let (lo, med, hi) = row.wall();
        let client = row.med(|s| s.client_cpu);
        let farm = row.med(|s| s.farm_cpu);
        let floor = (client + farm) / c;
        let rss = row.samples.iter().map(|s| s.rss_kb).max().unwrap_or(0);
        let (farm, floor, ratio) = if farm.is_nan() {
            ("–".to_owned(), "–".to_owned(), "–".to_owned())
        } else {
            (
                format!("{farm:.3}"),
                format!("{floor:.3}"),
                format!("{:.2}", med / floor.max(1e-9)),
            )
        };
        println!(
            "| {:<50} | {lo:.3} / {med:.3} / {hi:.3} | {client:.3} | {farm} | {floor} | {ratio} | {} |",
            row.name,
            if rss == 0 {
                "–".to_owned()
            } else {
                format!("{:.1}", rss as f64 / 1024.0)
            }
        );
    }
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

/// How the in-process engine reaches the farm: directly, or through the
/// delay relays.
struct Route {
    inventory: Inventory,
    settings: SshSettings,
    /// Appended to row names: "" or " (RTT 20 ms)".
    label: String,
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
        let mut cmd = Command::new(rune_bin());
        cmd.env_remove("RUNE_CATALOG")
            .env_remove("RUNE_INVENTORY")
            .env_remove("RUNE_JOURNAL")
            .env("HOME", h)
            .env("XDG_STATE_HOME", h.join("state"))
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("XDG_DATA_HOME", h.join("data"))
            .env("NO_COLOR", "1")
            .args(["run", "noop", "-o", "json", "-y", "--journal"])
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
