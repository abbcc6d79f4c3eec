//! Starts real OpenSSH `sshd` servers on loopback for RUNE's end-to-end tests
//! of the SSH transport, and owns everything they need.
//!
//! An [`SshdFarm`] owns a private temp dir holding freshly generated keys (one
//! ed25519 host key shared by every host of the farm, one authorized ed25519
//! client key, any keys made with [`SshdFarm::new_client_key`]), the
//! generated `sshd_config` files, the sshd logs, `authorized_keys` and
//! `known_hosts`; and it owns the sshd processes. Dropping the farm (also while
//! a test panics) SIGKILLs every sshd together with every process it forked
//! (connection handlers and the commands of open sessions), then removes the
//! temp dir. [`Agent`]s are separate `ssh-agent` processes, killed on drop.
//!
//! Addresses: host `i` (0-based) listens on
//! `127.0.{base_octet + i / 254}.{i % 254 + 1}`, so a farm of up to 254 hosts
//! lives in `127.0.{base_octet}.1..=254` and a bigger one spills into the next
//! third octets. Every 127.x.y.z address is local on Linux without any setup.
//! Farms that can run at the same time in one process must get disjoint
//! ranges: a farm of N hosts takes the ceil(N / 254) third octets starting at
//! `base_octet`. The self-tests at the bottom of this file use 250, 251 and
//! 252; other tests should pick below 250. All hosts of a farm share one port.
//!
//! sshd binds at most 16 listen sockets per process, so a farm runs one sshd
//! per 16 hosts, each with its own config and log, all in one temp dir.
//!
//! Needs the Debian packages `openssh-server` (`/usr/sbin/sshd`, and the
//! `sshd` privilege separation user its install creates) and
//! `openssh-client` (`ssh-keygen`, `ssh-agent`, `ssh-add`; `ssh` for the
//! self-tests). Linux only: the process tree is read from `/proc`.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

const SSHD: &str = "/usr/sbin/sshd";
/// sshd's MAX_LISTEN_SOCKS: a single sshd ignores ListenAddress lines past it.
const LISTEN_PER_SSHD: usize = 16;
/// Hosts per third octet: .1 ..= .254 (.0 and .255 look like network and
/// broadcast addresses to people reading logs, so they are skipped).
const HOSTS_PER_OCTET: usize = 254;
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// Whole-start retries when another process grabs the chosen port first.
const START_ATTEMPTS: usize = 5;
/// Environment variables of the askpass script (ssh-add passes its
/// environment on to it): the passphrase, and a marker file that makes it
/// answer only once per ssh-add run.
const ASKPASS_VAR: &str = "RUNE_TEST_ASKPASS_PASSPHRASE";
const ASKPASS_ONCE_VAR: &str = "RUNE_TEST_ASKPASS_ONCE";

/// One loopback host of a farm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    /// Inventory name: "ssh-1", "ssh-2", …
    pub name: String,
    pub addr: Ipv4Addr,
    pub port: u16,
}

/// What [`SshdFarm::start`] starts.
#[derive(Debug, Clone)]
pub struct FarmOptions {
    /// Number of loopback hosts: 127.0.{base_octet}.1, .2, … (see the module
    /// doc for farms of more than 254 hosts).
    pub hosts: usize,
    /// Third octet of the first host; parallel tests pick disjoint ranges.
    pub base_octet: u8,
    /// sshd's MaxStartups (concurrent unauthenticated connections per sshd).
    pub max_startups: u32,
    /// Extra sshd_config lines, appended to the generated config. sshd keeps
    /// the first value it reads for a keyword, so the harness leaves out its
    /// own line for any keyword these lines set before a `Match` (except the
    /// harness-owned `Port`, `ListenAddress` and `PidFile`).
    pub extra_config: Vec<String>,
    /// The login user; `None` is the user running the tests. Another user
    /// (the benchmark's /bin/sh user) must exist; the farm's directory and
    /// authorized_keys are then made readable to it.
    pub user: Option<String>,
}

impl Default for FarmOptions {
    fn default() -> Self {
        FarmOptions {
            hosts: 1,
            base_octet: 1,
            max_startups: 500,
            extra_config: Vec::new(),
            user: None,
        }
    }
}

/// Running sshd servers on loopback; see the module doc.
pub struct SshdFarm {
    hosts: Vec<SshHost>,
    user: String,
    host_public_key: String,
    daemons: Daemons,
    agents: AtomicUsize,
    // Last so that it is removed after the processes using it are dead.
    dir: tempfile::TempDir,
}

/// A running `ssh-agent -D`; dropping it kills the agent.
pub struct Agent {
    /// The agent's socket: SSH_AUTH_SOCK / IdentityAgent.
    pub sock: PathBuf,
    child: Child,
    watchdog: Option<Watchdog>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.watchdog.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.sock);
    }
}

impl SshdFarm {
    /// Generates keys and starts the farm; returns once every host sends its
    /// SSH banner. Panics with sshd's own stderr (and its config) on failure.
    pub fn start(opts: FarmOptions) -> SshdFarm {
        assert!(opts.hosts >= 1, "an sshd farm needs at least one host");
        let addrs = host_addrs(opts.base_octet, opts.hosts);
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install the Debian package openssh-server"
        );
        ensure_privsep_dir();

        let dir = tempfile::Builder::new()
            .prefix("rune-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "ed25519", "", "rune-farm-host");
        keygen(&d.join("client_ed25519"), "ed25519", "", "rune-farm-client");
        fs::copy(d.join("client_ed25519.pub"), d.join("authorized_keys")).unwrap();
        if opts.user.is_some() {
            // sshd reads authorized_keys as the login user.
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
            fs::set_permissions(d.join("authorized_keys"), fs::Permissions::from_mode(0o644))
                .unwrap();
        }
        write_askpass(&d.join("askpass.sh"));
        let host_pub = fs::read_to_string(d.join("host_ed25519.pub")).unwrap();
        // "ssh-ed25519 AAAA… comment" → without the comment.
        let host_public_key = host_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");

        let deadline = Instant::now() + READY_DEADLINE;
        let mut port_failures = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port(&addrs);
            let hosts: Vec<SshHost> = addrs
                .iter()
                .enumerate()
                .map(|(i, &addr)| SshHost {
                    name: format!("ssh-{}", i + 1),
                    addr,
                    port,
                })
                .collect();
            let mut daemons = Daemons {
                list: Vec::new(),
                watchdog: None,
            };
            for (n, chunk) in addrs.chunks(LISTEN_PER_SSHD).enumerate() {
                let config = d.join(format!("sshd-{n}.conf"));
                fs::write(&config, sshd_config(d, n, chunk, port, &opts)).unwrap();
                daemons.list.push(Daemon::spawn(n, config, d));
            }
            let pids: Vec<u32> = daemons.list.iter().map(|d| d.child.id()).collect();
            daemons.watchdog = Watchdog::spawn(&pids, Some(d));
            match wait_ready(&mut daemons.list, &hosts, deadline) {
                Ok(()) => {
                    let farm = SshdFarm {
                        hosts,
                        user: opts.user.clone().unwrap_or_else(current_user),
                        host_public_key,
                        daemons,
                        agents: AtomicUsize::new(0),
                        dir,
                    };
                    fs::write(farm.known_hosts(), farm.known_hosts_text()).unwrap();
                    return farm;
                }
                // Another process bound the port between free_port() and
                // sshd's bind: kill this attempt (drop) and pick a new port.
                Err(Failure::PortTaken(report)) if Instant::now() < deadline => {
                    port_failures += &format!("attempt {attempt}, port {port}:\n{report}\n");
                }
                Err(Failure::PortTaken(report)) | Err(Failure::Fatal(report)) => {
                    panic!("sshd farm failed to start:\n{port_failures}{report}")
                }
            }
        }
        panic!("sshd farm: the port was taken {START_ATTEMPTS} times:\n{port_failures}")
    }

    pub fn hosts(&self) -> &[SshHost] {
        &self.hosts
    }

    /// The login user: the user running the tests (root in CI).
    pub fn user(&self) -> String {
        self.user.clone()
    }

    /// The temp dir holding keys, configs, logs and sockets.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// An unencrypted ed25519 private key listed in authorized_keys.
    pub fn client_key(&self) -> PathBuf {
        self.dir().join("client_ed25519")
    }

    /// "ssh-ed25519 AAAA…": the host key every host of the farm presents.
    pub fn host_public_key(&self) -> String {
        self.host_public_key.clone()
    }

    /// A known_hosts file with a "[addr]:port ssh-ed25519 AAAA…" line per host.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir().join("known_hosts")
    }

    /// Generates another client key with ssh-keygen (`kind`: "ed25519",
    /// "ecdsa" or "rsa"), protected by `passphrase` if given, and appended to
    /// authorized_keys if `authorize` (sshd reads that file per connection, so
    /// it counts from the next connection on). Returns the private key path;
    /// the public key is at that path + ".pub".
    pub fn new_client_key(
        &self,
        name: &str,
        kind: &str,
        passphrase: Option<&str>,
        authorize: bool,
    ) -> PathBuf {
        assert!(
            matches!(kind, "ed25519" | "ecdsa" | "rsa"),
            "unsupported key kind {kind:?}"
        );
        assert!(
            !name.is_empty() && !name.contains('/') && !name.starts_with('.'),
            "key name {name:?} must be a plain file name"
        );
        let path = self.dir().join(name);
        assert!(!path.exists(), "key {} already exists", path.display());
        keygen(&path, kind, passphrase.unwrap_or(""), name);
        if authorize {
            let public = fs::read_to_string(pub_path(&path)).unwrap();
            // One write in append mode, so keys authorized from parallel
            // threads don't interleave.
            fs::OpenOptions::new()
                .append(true)
                .open(self.dir().join("authorized_keys"))
                .unwrap()
                .write_all(format!("{}\n", public.trim_end()).as_bytes())
                .unwrap();
        }
        path
    }

    /// Starts `ssh-agent -D -a SOCK` and adds `keys` with ssh-add; a
    /// passphrase is fed through SSH_ASKPASS (forced), as no tty exists.
    pub fn start_agent(&self, keys: &[(&Path, Option<&str>)]) -> Agent {
        let n = self.agents.fetch_add(1, Ordering::Relaxed);
        let sock = self.dir().join(format!("agent-{n}.sock"));
        let log_path = self.dir().join(format!("agent-{n}.log"));
        let log = fs::File::create(&log_path).unwrap();
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("ssh-agent (Debian package openssh-client): {e}"));
        // From here a panic drops the Agent, which kills the process.
        let watchdog = Watchdog::spawn(&[child.id()], None);
        let mut agent = Agent {
            sock,
            child,
            watchdog,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !agent.sock.exists() {
            let exited = agent.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "ssh-agent did not create {} ({exited:?}):\n{}",
                    agent.sock.display(),
                    fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            sleep(Duration::from_millis(10));
        }
        for (i, (key, passphrase)) in keys.iter().enumerate() {
            let mut add = Command::new("ssh-add");
            add.arg(key)
                .env("SSH_AUTH_SOCK", &agent.sock)
                .stdin(Stdio::null());
            if let Some(passphrase) = passphrase {
                add.env("SSH_ASKPASS", self.dir().join("askpass.sh"))
                    .env("SSH_ASKPASS_REQUIRE", "force")
                    .env("DISPLAY", ":0")
                    .env(ASKPASS_VAR, passphrase)
                    .env(
                        ASKPASS_ONCE_VAR,
                        self.dir().join(format!("agent-{n}-key-{i}.asked")),
                    );
            }
            let out = add.output().unwrap();
            assert!(
                out.status.success(),
                "ssh-add {} failed: {}",
                key.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        agent
    }

    /// SIGKILLs every sshd of the farm and everything they forked (open
    /// connections and their commands die too). Idempotent.
    pub fn kill(&mut self) {
        self.daemons.kill_all();
    }

    /// RUNE inventory TOML with one `[[targets]]` per host.
    pub fn inventory_toml(&self) -> String {
        let user = toml_string(&self.user);
        self.hosts
            .iter()
            .map(|h| {
                format!(
                    "[[targets]]\nname = {}\ntransport = \"ssh\"\nhost = \"{}\"\nport = {}\nuser = {user}\n",
                    toml_string(&h.name),
                    h.addr,
                    h.port
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn known_hosts_text(&self) -> String {
        self.hosts
            .iter()
            .map(|h| format!("[{}]:{} {}\n", h.addr, h.port, self.host_public_key))
            .collect()
    }
}

impl Drop for SshdFarm {
    fn drop(&mut self) {
        // Must not panic: kill_all ignores every error. The temp dir is
        // removed afterwards by TempDir's own drop, which ignores errors too.
        self.kill();
    }
}

/// The farm's sshd processes. Its own Drop kills them, so a panic inside
/// `start()` (before a farm exists) cleans up too.
struct Daemons {
    list: Vec<Daemon>,
    watchdog: Option<Watchdog>,
}

impl Daemons {
    fn kill_all(&mut self) {
        self.watchdog.take();
        for mut daemon in self.list.drain(..) {
            // A reaped sshd's pid may already belong to another process; an
            // unreaped one (even a zombie) keeps its pid, so signalling it
            // and its descendants is safe.
            if matches!(daemon.child.try_wait(), Ok(Some(_))) {
                continue;
            }
            kill_tree(daemon.child.id());
            let _ = daemon.child.kill();
            let _ = daemon.child.wait();
        }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        self.kill_all();
    }
}

struct Daemon {
    n: usize,
    child: Child,
    config: PathBuf,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Daemon {
    fn spawn(n: usize, config: PathBuf, dir: &Path) -> Daemon {
        let log = dir.join(format!("sshd-{n}.log"));
        let log_file = fs::File::create(&log).unwrap();
        // A killed earlier attempt leaves its pid file; wait_ready takes the
        // file's existence to mean this sshd has bound its sockets.
        let pid_file = dir.join(format!("sshd-{n}.pid"));
        let _ = fs::remove_file(&pid_file);
        let child = Command::new(SSHD)
            // -D: stay in the foreground as our child; -e: log to stderr,
            // which goes to a file so it can't fill a pipe nobody reads.
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            // Own process group: no terminal signals from the test runner,
            // and kill_tree can also signal the group.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SSHD}: {e}"));
        Daemon {
            n,
            child,
            config,
            log,
            pid_file,
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn report(&mut self) -> String {
        let state = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited with {status}"),
            _ => "running".to_owned(),
        };
        format!(
            "--- sshd #{} ({state}), stderr:\n{}--- {}:\n{}",
            self.n,
            self.log_text(),
            self.config.display(),
            fs::read_to_string(&self.config).unwrap_or_default()
        )
    }
}

/// Kills process groups if this test process dies without running Drop
/// (killed by a timeout, Ctrl-C, panic=abort), so no sshd or agent outlives
/// the tests: `sh` waits for EOF on a pipe whose write end only this process
/// holds (std opens pipes close-on-exec), and the kernel closes it on exit.
/// Dropping the watchdog kills it first, so it never fires on a normal end.
/// Processes that left the groups (sshd's per-connection children) lose their
/// client with the test process and exit on their own.
struct Watchdog(Child);

impl Watchdog {
    /// Kills the process groups led by `group_leaders`, then removes
    /// `remove_dir` if given.
    fn spawn(group_leaders: &[u32], remove_dir: Option<&Path>) -> Option<Watchdog> {
        let groups: Vec<String> = group_leaders.iter().map(|p| format!("-{p}")).collect();
        let mut script = format!("read line; kill -s KILL -- {}", groups.join(" "));
        if let Some(dir) = remove_dir {
            let quoted = dir.display().to_string().replace('\'', "'\\''");
            script += &format!("; sleep 0.2; rm -rf '{quoted}'");
        }
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own group: a Ctrl-C to the test's group must not take it down
            // before it has done its job.
            .process_group(0)
            .spawn()
            .ok()
            .map(Watchdog)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

enum Failure {
    PortTaken(String),
    Fatal(String),
}

fn bind_failed(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("Cannot bind any address")
}

/// Waits until every host answers with an SSH banner. sshd writes its
/// PidFile only after binding all its listen sockets, so once every pid file
/// exists the logs already say whether a bind failed; only then are banners
/// trusted (a foreign wildcard listener on the port could answer otherwise).
fn wait_ready(daemons: &mut [Daemon], hosts: &[SshHost], deadline: Instant) -> Result<(), Failure> {
    let mut pending: Vec<SocketAddrV4> = hosts
        .iter()
        .map(|h| SocketAddrV4::new(h.addr, h.port))
        .collect();
    let report =
        |daemons: &mut [Daemon]| -> String { daemons.iter_mut().map(Daemon::report).collect() };
    loop {
        let bound = daemons.iter().all(|d| d.pid_file.exists());
        for i in 0..daemons.len() {
            let exited = matches!(daemons[i].child.try_wait(), Ok(Some(_)));
            let port_taken = bind_failed(&daemons[i].log_text());
            if port_taken {
                return Err(Failure::PortTaken(report(daemons)));
            }
            if exited {
                return Err(Failure::Fatal(report(daemons)));
            }
        }
        if bound {
            pending = still_silent(&pending);
            if pending.is_empty() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(Failure::Fatal(format!(
                "not ready within {READY_DEADLINE:?}; no SSH banner yet from {pending:?}\n{}",
                report(daemons)
            )));
        }
        sleep(Duration::from_millis(20));
    }
}

/// The addresses that don't answer with a banner yet. Probed from a few
/// threads: each probe costs sshd a fork and re-exec, which is CPU work that
/// a single prober would leave the other cores idle for.
fn still_silent(addrs: &[SocketAddrV4]) -> Vec<SocketAddrV4> {
    const PROBERS: usize = 4;
    let per_thread = addrs.len().div_ceil(PROBERS).max(1);
    std::thread::scope(|scope| {
        let probers: Vec<_> = addrs
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .copied()
                        .filter(|&addr| !sends_banner(addr))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        probers
            .into_iter()
            .flat_map(|p| p.join().unwrap())
            .collect()
    })
}

fn sends_banner(addr: SocketAddrV4) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr.into(), Duration::from_millis(300))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while seen.len() < 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if seen.windows(8).any(|w| w == b"SSH-2.0-") {
            return true;
        }
    }
    false
}

/// 127.0.{base + i / 254}.{i % 254 + 1} for i in 0..hosts.
fn host_addrs(base_octet: u8, hosts: usize) -> Vec<Ipv4Addr> {
    (0..hosts)
        .map(|i| {
            let third = usize::from(base_octet) + i / HOSTS_PER_OCTET;
            let third = u8::try_from(third).unwrap_or_else(|_| {
                panic!("{hosts} hosts from 127.0.{base_octet}.1 run past 127.0.255.254")
            });
            let fourth = u8::try_from(i % HOSTS_PER_OCTET + 1).unwrap();
            Ipv4Addr::new(127, 0, third, fourth)
        })
        .collect()
}

/// A port free on every address: the kernel picks one for the first address,
/// then it is bound on all of them to check, and released for sshd.
fn free_port(addrs: &[Ipv4Addr]) -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind((addrs[0], 0))
            .unwrap_or_else(|e| panic!("cannot bind {}:0: {e}", addrs[0]));
        let port = first.local_addr().unwrap().port();
        let rest: Result<Vec<TcpListener>, _> = addrs[1..]
            .iter()
            .map(|&a| TcpListener::bind((a, port)))
            .collect();
        if rest.is_ok() {
            return port;
        }
    }
    panic!(
        "no port free on all of {} .. {}",
        addrs[0],
        addrs[addrs.len() - 1]
    )
}

fn sshd_config(dir: &Path, n: usize, addrs: &[Ipv4Addr], port: u16, opts: &FarmOptions) -> String {
    let q = |p: PathBuf| format!("\"{}\"", p.display());
    let mut lines = vec![
        "# Written by tests/support/sshd.rs; sshd reads only this file (-f).".to_owned(),
        format!("Port {port}"),
    ];
    lines.extend(addrs.iter().map(|a| format!("ListenAddress {a}:{port}")));
    lines.push(format!("PidFile {}", q(dir.join(format!("sshd-{n}.pid")))));
    let defaults = [
        format!("HostKey {}", q(dir.join("host_ed25519"))),
        format!("AuthorizedKeysFile {}", q(dir.join("authorized_keys"))),
        // The temp dir and keys belong to the test user, not per-user homes.
        "StrictModes no".to_owned(),
        // No PAM stack in a container; keys only.
        "UsePAM no".to_owned(),
        "PasswordAuthentication no".to_owned(),
        "KbdInteractiveAuthentication no".to_owned(),
        "PubkeyAuthentication yes".to_owned(),
        "PermitRootLogin prohibit-password".to_owned(),
        format!("MaxStartups {}", opts.max_startups),
        "MaxSessions 200".to_owned(),
        "LogLevel ERROR".to_owned(),
        // No lastlog/motd work per session: faster, nothing in output.
        "PrintMotd no".to_owned(),
        "PrintLastLog no".to_owned(),
        // bash sources ~/.bashrc for commands run by sshd only when it is a
        // top-level shell; SHLVL=1 makes it the second level. The user's rc
        // files are machine-specific noise (pyenv's rehash on the CI image
        // takes a lock file that a session killed mid-rc leaves behind, and
        // then every later session waits 60 s for it).
        "SetEnv SHLVL=1".to_owned(),
        // AcceptEnv is left out: with no AcceptEnv line sshd accepts no
        // client environment. Subsystem is left out: no sftp.
    ];
    // Keywords the extra lines set outside a Match block replace ours.
    let overridden: HashSet<String> = opts
        .extra_config
        .iter()
        .map(|l| l.trim())
        .take_while(|l| !keyword(l).eq_ignore_ascii_case("match"))
        .map(|l| keyword(l).to_ascii_lowercase())
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .collect();
    lines.extend(
        defaults
            .into_iter()
            .filter(|l| !overridden.contains(&keyword(l).to_ascii_lowercase())),
    );
    // OpenSSH 9.8+ penalizes sources with many failed/aborted connections,
    // which loopback tests that kill connections would trip; 9.2 (Debian 12)
    // rejects the keyword.
    if sshd_version() >= (9, 8) && !overridden.contains("persourcepenalties") {
        lines.push("PerSourcePenalties no".to_owned());
    }
    lines.extend(opts.extra_config.iter().cloned());
    lines.join("\n") + "\n"
}

fn keyword(line: &str) -> &str {
    line.split(|c: char| c.is_whitespace() || c == '=')
        .next()
        .unwrap_or("")
}

/// (major, minor) of the installed sshd, from `sshd -V` ("OpenSSH_9.2, …";
/// versions without -V print the same line in their usage message).
fn sshd_version() -> (u32, u32) {
    static VERSION: OnceLock<(u32, u32)> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = Command::new(SSHD).arg("-V").output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr) + String::from_utf8_lossy(&out.stdout);
        let version = text
            .split("OpenSSH_")
            .nth(1)
            .unwrap_or_else(|| panic!("no OpenSSH version in `{SSHD} -V`: {text}"));
        let mut numbers = version
            .split(|c: char| !c.is_ascii_digit())
            .map(|s| s.parse::<u32>().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
    })
}

/// sshd (as root) chroots its pre-auth child into /run/sshd and refuses to
/// start without it; /run is a tmpfs, and nothing but the system service
/// (not running here) creates it.
fn ensure_privsep_dir() {
    let dir = Path::new("/run/sshd");
    if dir.exists() || rustix::process::geteuid().as_raw() != 0 {
        return;
    }
    let _ = fs::DirBuilder::new().mode(0o755).create(dir);
    // The umask may have narrowed the mode; sshd wants root-owned 0755.
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
}

fn keygen(path: &Path, kind: &str, passphrase: &str, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen (Debian package openssh-client): {e}"));
    assert!(
        out.status.success(),
        "ssh-keygen -t {kind} -f {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pub_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// ssh-add asks again after a wrong passphrase, forever, until askpass
/// answers with nothing; answering only once turns a wrong passphrase into a
/// prompt ssh-add failure instead of a hang.
fn write_askpass(path: &Path) {
    let script = format!(
        "#!/bin/sh\n[ -e \"${ASKPASS_ONCE_VAR}\" ] && exit 0\n: > \"${ASKPASS_ONCE_VAR}\"\nprintf '%s\\n' \"${ASKPASS_VAR}\"\n"
    );
    fs::write(path, script).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).unwrap();
}

fn current_user() -> String {
    // `id` rather than $USER: CI's environment may not set USER.
    let out = Command::new("id").arg("-un").output().unwrap();
    assert!(out.status.success(), "id -un failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// SIGKILLs `root` and all its descendants. sshd calls setsid() for every
/// connection and again for the session's command, so they leave sshd's
/// process group and only the parent links in /proc find them. Each process
/// found is stopped first so it can't fork past the walk, and the walk
/// repeats until it finds nothing new; then everything is killed.
fn kill_tree(root: u32) {
    let mut doomed: HashSet<u32> = HashSet::from([root]);
    signal(root, Signal::STOP);
    for _ in 0..100 {
        let found: Vec<u32> = processes()
            .into_iter()
            .filter(|(pid, ppid)| doomed.contains(ppid) && !doomed.contains(pid))
            .map(|(pid, _)| pid)
            .collect();
        if found.is_empty() {
            break;
        }
        for &pid in &found {
            signal(pid, Signal::STOP);
        }
        doomed.extend(found);
    }
    for &pid in &doomed {
        signal(pid, Signal::KILL);
    }
    if let Some(group) = i32::try_from(root).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(group, Signal::KILL);
    }
}

fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, sig);
    }
}

/// (pid, parent pid) of every process, from /proc/PID/stat.
fn processes() -> Vec<(u32, u32)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "PID (comm) STATE PPID …"; comm may contain spaces and parens.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

// Self-tests: they run with the test binary that includes this module, and
// check the harness against the system OpenSSH client. They use the third
// octets 250..=252 (see the module doc).

fn ssh(farm: &SshdFarm, host: &SshHost, auth: &[&str], command: &str) -> Command {
    let mut ssh = Command::new("ssh");
    ssh.args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .args(["-o", "StrictHostKeyChecking=yes", "-o"])
        .arg(format!(
            "UserKnownHostsFile={}",
            farm.known_hosts().display()
        ))
        .args(["-o", "ConnectTimeout=5"])
        .args(auth)
        .arg("-p")
        .arg(host.port.to_string())
        .arg(format!("{}@{}", farm.user(), host.addr))
        .arg(command)
        .stdin(Stdio::null());
    ssh
}

fn key_auth(key: &Path) -> [String; 4] {
    [
        "-i".to_owned(),
        key.display().to_string(),
        "-o".to_owned(),
        "IdentitiesOnly=yes".to_owned(),
    ]
}

fn run(mut command: Command) -> (bool, String, String) {
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sshd_farm_serves_keys_refuses_strangers_and_dies_on_kill() {
    let mut farm = SshdFarm::start(FarmOptions {
        hosts: 3,
        base_octet: 250,
        ..FarmOptions::default()
    });
    let host = farm.hosts()[1].clone();
    assert_eq!(host.addr, Ipv4Addr::new(127, 0, 250, 2));
    let known = fs::read_to_string(farm.known_hosts()).unwrap();
    let line = format!("[127.0.250.2]:{} {}", host.port, farm.host_public_key());
    assert!(known.lines().any(|l| l == line), "{known}");
    let inventory = farm.inventory_toml();
    assert_eq!(inventory.matches("[[targets]]").count(), 3);
    assert!(inventory.contains("name = \"ssh-3\"\ntransport = \"ssh\"\nhost = \"127.0.250.3\""));
    assert!(farm.dir().join("authorized_keys").exists());

    let auth = key_auth(&farm.client_key());
    let auth: Vec<&str> = auth.iter().map(String::as_str).collect();
    let (ok, out, err) = run(ssh(&farm, &host, &auth, "echo hi"));
    assert!(ok, "{err}");
    assert_eq!(out, "hi\n");

    let stranger = farm.new_client_key("stranger", "ed25519", None, false);
    let stranger = key_auth(&stranger);
    let stranger: Vec<&str> = stranger.iter().map(String::as_str).collect();
    let (ok, _, err) = run(ssh(&farm, &host, &stranger, "echo hi"));
    assert!(!ok && err.contains("Permission denied"), "{err}");

    // A session still running when the farm is killed must end with it.
    let mut session = ssh(&farm, &host, &auth, "echo up; exec sleep 60")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = [0u8; 3];
    session.stdout.take().unwrap().read_exact(&mut up).unwrap();
    farm.kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    while session.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "session survived kill()");
        sleep(Duration::from_millis(20));
    }
    let (ok, _, err) = run(ssh(&farm, &host, &auth, "echo hi"));
    assert!(!ok && err.contains("refused"), "{err}");
}

#[test]
fn sshd_farm_of_20_hosts_runs_two_sshd_and_all_answer() {
    let farm = SshdFarm::start(FarmOptions {
        hosts: 20,
        base_octet: 251,
        ..FarmOptions::default()
    });
    assert_eq!(farm.daemons.list.len(), 2);
    let auth = key_auth(&farm.client_key());
    let auth: Vec<&str> = auth.iter().map(String::as_str).collect();
    let sessions: Vec<Child> = farm
        .hosts()
        .iter()
        .map(|h| {
            ssh(&farm, h, &auth, "echo hi")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (host, session) in farm.hosts().iter().zip(sessions) {
        let out = session.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.stdout, b"hi\n", "{}: {err}", host.addr);
    }
}

#[test]
fn sshd_farm_agent_serves_a_passphrase_key() {
    let farm = SshdFarm::start(FarmOptions {
        hosts: 1,
        base_octet: 252,
        ..FarmOptions::default()
    });
    let key = farm.new_client_key("agent-key", "ecdsa", Some("s3cret pass"), true);
    let agent = farm.start_agent(&[(&key, Some("s3cret pass"))]);
    let via_agent = format!("IdentityAgent={}", agent.sock.display());
    let (ok, out, err) = run(ssh(&farm, &farm.hosts()[0], &["-o", &via_agent], "echo hi"));
    assert!(ok, "{err}");
    assert_eq!(out, "hi\n");
}
