//! The benchmark's world: a temp HOME with XDG dirs, a catalog holding one
//! `flood` action, an inventory of local targets, and the real `rune` console
//! in a tmux server of its own. Dropping the session (also on panic) kills
//! the tmux server and rune; Ctrl-C and the time budget do the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// rune's pid once known, for the signal and budget paths that cannot reach the session.
static RUNE_PID: AtomicU32 = AtomicU32::new(0);
/// The tmux server's socket file, once it runs.
static SOCKET_PATH: OnceLock<PathBuf> = OnceLock::new();
/// The temp HOME, for the exits that skip its destructor.
static TEMP_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Cleans up and exits without unwinding (signals, the time budget).
fn abandon(code: i32) -> ! {
    cleanup();
    if let Some(dir) = TEMP_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
    std::process::exit(code);
}

fn socket() -> String {
    format!("rune-cbench-{}", std::process::id())
}

/// Kills what this benchmark started: its tmux server and rune (the plugins
/// are rune's children and die with it or on their next write to a closed pipe).
pub fn cleanup() {
    // Never panics: this also runs while a panic unwinds.
    let _ = Command::new("tmux")
        .args(["-L", &socket(), "kill-server"])
        .output();
    // The server leaves its socket file behind, whether killed or done.
    if let Some(path) = SOCKET_PATH.get() {
        let _ = std::fs::remove_file(path);
    }
    let pid = RUNE_PID.load(Ordering::SeqCst);
    // Only if the pid is still a rune: after a clean exit it may belong to someone else.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if pid != 0 && comm.trim() == "rune" {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .output();
    }
}

/// Ctrl-C, SIGTERM or the overall time budget: clean up, then exit non-zero.
pub fn guard(budget: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        eprintln!("console_loop: over the {budget:?} budget; stopping");
        abandon(2);
    });
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        abandon(130);
    });
}

/// What the benchmark offers: `targets` local targets, each writing `rate`
/// stderr lines a second for `seconds`.
pub struct Load {
    pub targets: usize,
    pub rate: u64,
    pub seconds: u64,
}

pub struct Session {
    pub dir: tempfile::TempDir,
    pub journal: PathBuf,
    pub pid: u32,
}

fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write fixture");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The plugin: consumes its envelope, writes `rate` lines a second in 10 ms
/// slices (one write per slice) for `seconds` of wall time, catching up when
/// a full pipe held it back, then reports how many lines it wrote.
/// Time::HiRes is in libperl, not perl-base: fall back to /proc/uptime (10 ms ticks).
const PLUGIN: &str = r#"#!/bin/bash
# Benchmark plugin (benches/console_loop): a paced stderr flood, then success.
cat >/dev/null
exec perl - SECONDS RATE <<'PERL'
use strict;
my ($secs, $rate) = @ARGV;
my $now = eval { require Time::HiRes; \&Time::HiRes::time }
  || sub { open(my $f, "<", "/proc/uptime") or die; (split " ", <$f>)[0] };
my $per = int($rate / 100);
my ($t0, $n, $slice) = ($now->(), 0, 0);
while ($now->() < $t0 + $secs) {
  my $buf = "";
  $buf .= sprintf("flood %d: the quick brown fox jumps over the lazy dog\n", ++$n) for 1 .. $per;
  while (length $buf) { my $w = syswrite(STDERR, $buf) // die "stderr: $!"; substr($buf, 0, $w) = ""; }
  $slice++;
  my $wait = $t0 + $slice / 100 - $now->();
  select(undef, undef, undef, $wait) if $wait > 0;
}
print qq({"message_metadata":{"message_id":"flood"},"payload":{"result":"success","output_data":{"lines":$n,"slices":$slice}}}\n);
PERL
"#;

impl Session {
    /// Writes the fixture and starts the console; returns once the catalog shows.
    pub fn start(load: &Load, cols: u16, rows: u16) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let _ = TEMP_DIR.set(root.to_path_buf());
        let timeout = load.seconds * 4 + 60;
        write(
            &root.join("catalog/flood/action.toml"),
            &format!(
                "name = \"flood\"\ntitle = \"Stderr flood\"\n\
                 description = \"Benchmark plugin: {} stderr lines a second for {} s\"\n\
                 version = \"0.1.0\"\nowner = \"rune-bench\"\ntags = [\"bench\"]\nrisk = \"read\"\n\
                 timeout = \"{timeout}s\"\nentry = \"run.sh\"\ntransports = [\"local\"]\n",
                load.rate, load.seconds
            ),
            0o644,
        );
        let plugin = PLUGIN
            .replace("SECONDS", &load.seconds.to_string())
            .replace("RATE", &load.rate.to_string());
        write(&root.join("catalog/flood/run.sh"), &plugin, 0o755);
        let inventory: String = (0..load.targets)
            .map(|i| {
                format!("[[targets]]\nname = \"{}\"\ntransport = \"local\"\ntags = {{ role = \"flood\" }}\n", name(i))
            })
            .collect();
        write(&root.join("inventory.toml"), &inventory, 0o644);
        // All targets at once, as the issue asks (the console's default is
        // 16), and every line streamed: the default cap of 10,000 lines per
        // execution would end the stream after a second and measure nothing.
        write(
            &root.join("config/rune/config.toml"),
            &format!(
                "concurrency = {}\nmax_stderr_lines = {}\n",
                load.targets,
                load.rate * load.seconds * 2
            ),
            0o644,
        );
        let journal = root.join("journal.db");
        let command = format!(
            "cd '{r}' && exec env HOME='{r}/home' XDG_CONFIG_HOME='{r}/config' XDG_DATA_HOME='{r}/data' \
             XDG_STATE_HOME='{r}/state' XDG_CACHE_HOME='{r}/cache' '{bin}' --catalog '{r}/catalog' \
             --inventory '{r}/inventory.toml' --journal '{j}'",
            r = root.display(),
            bin = env!("CARGO_BIN_EXE_rune"),
            j = journal.display(),
        );
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let started = tmux(&[
            "new-session",
            "-d",
            "-s",
            "rune",
            "-x",
            &cols,
            "-y",
            &rows,
            &command,
        ]);
        assert!(
            started.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        let path = tmux(&["display-message", "-p", "#{socket_path}"]);
        let path = PathBuf::from(String::from_utf8_lossy(&path.stdout).trim());
        if path.ends_with(socket()) {
            let _ = SOCKET_PATH.set(path);
        }
        let mut session = Self {
            dir,
            journal,
            pid: 0,
        };
        session.wait_for("search:", Duration::from_secs(20));
        let shown = tmux(&["display-message", "-p", "-t", "rune", "#{pane_pid}"]);
        session.pid = String::from_utf8_lossy(&shown.stdout)
            .trim()
            .parse()
            .expect("pane pid");
        RUNE_PID.store(session.pid, Ordering::SeqCst);
        let comm =
            std::fs::read_to_string(format!("/proc/{}/comm", session.pid)).unwrap_or_default();
        assert_eq!(comm.trim(), "rune", "the pane runs rune itself");
        session
    }

    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            assert!(tmux(&["send-keys", "-t", "rune", key]).status.success());
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Sends one key without pausing: the caller times it.
    pub fn key(&self, key: &str) {
        assert!(tmux(&["send-keys", "-t", "rune", key]).status.success());
    }

    pub fn text(&self, text: &str) {
        assert!(
            tmux(&["send-keys", "-t", "rune", "-l", text])
                .status
                .success()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "rune"]).stdout).into_owned()
    }

    /// Waits (bounded) until the screen shows `text`.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Quits the console (no run active: `q` quits) and waits for rune to exit.
    pub fn quit(&self) {
        self.keys(&["q"]);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        cleanup();
    }
}

/// Target `i`'s name.
pub fn name(i: usize) -> String {
    format!("flood-{i:02}")
}

fn tmux(args: &[&str]) -> Output {
    Command::new("tmux")
        .args(["-L", &socket()])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("tmux: {e} (the benchmark drives the console in tmux)"))
}
