//! CPU and memory accounting from /proc for the fan-out benchmark: this
//! process, the children it reaps, and the sshd farm with its descendants.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sshd::SshdFarm;

/// USER_HZ: the unit of /proc/PID/stat times on Linux.
pub const TICK: f64 = 0.01;

/// (utime, stime, cutime, cstime) in seconds from /proc/PID/stat.
pub fn proc_times(pid: &str) -> Option<[f64; 4]> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) * TICK;
    Some([t(11), t(12), t(13), t(14)])
}

/// CPU seconds of the children this process has reaped (cutime + cstime).
pub fn reaped_children_cpu() -> f64 {
    let t = proc_times("self").unwrap();
    t[2] + t[3]
}

/// CPU seconds of this process (all threads).
pub fn self_cpu() -> f64 {
    let t = proc_times("self").unwrap();
    t[0] + t[1]
}

pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
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
pub fn processes() -> Vec<(u32, u32)> {
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
pub struct FarmCpu {
    pub listeners: Vec<u32>,
}

impl FarmCpu {
    pub fn new(farm: &SshdFarm) -> Self {
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
    pub fn read(&self) -> (f64, usize) {
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
    pub fn settle(&self) -> f64 {
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
pub struct Sample {
    pub wall: f64,
    pub client_cpu: f64,
    pub farm_cpu: f64,
    pub rss_kb: u64,
}

/// Runs `cmd` to its end, polling its VmHWM; panics unless it succeeds.
pub fn run_child(cmd: Command, farm: Option<&FarmCpu>, what: &str) -> Sample {
    run_child_with(cmd, None, farm, what)
}

pub fn run_child_with(
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
