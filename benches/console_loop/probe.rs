//! What the benchmark reads about rune from /proc (RSS, peak RSS, CPU), a
//! 100 ms sampler of it, and the statistics for the table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One look at the process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Seconds since the sampler started.
    pub at: f64,
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// rune's own CPU (all threads), seconds.
    pub cpu: f64,
    /// CPU of rune's reaped children (the plugins), seconds.
    pub children_cpu: f64,
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Reads /proc/PID/{stat,status}; None once the process is gone.
pub fn sample(pid: u32, since: Instant, ticks: f64) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised name start at field 3 (state).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    Some(Sample {
        at: since.elapsed().as_secs_f64(),
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
        cpu: (tick(11)? + tick(12)?) / ticks,
        children_cpu: (tick(13)? + tick(14)?) / ticks,
    })
}

/// CPU seconds of one thread: the main thread runs the console loop
/// (`block_on`), the rest is the mediator, the recorder and their I/O.
pub fn thread_cpu(pid: u32, tid: u32) -> f64 {
    let ticks = clock_ticks();
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
        .ok()
        .and_then(|stat| {
            let fields: Vec<String> = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
            Some((tick(11)? + tick(12)?) / ticks)
        })
        .unwrap_or(0.0)
}

/// Samples every 100 ms until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Sample>>,
    pub since: Instant,
}

impl Sampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let since = Instant::now();
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let ticks = clock_ticks();
            let mut samples = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                match sample(pid, since, ticks) {
                    Some(s) => samples.push(s),
                    None => break,
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            samples
        });
        Self {
            stop,
            handle,
            since,
        }
    }

    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap_or_default()
    }
}

/// CPU seconds rune spends over `secs` of doing nothing (the console is idle).
pub fn idle_cpu(pid: u32, secs: u64) -> (f64, f64) {
    let ticks = clock_ticks();
    let since = Instant::now();
    let before = sample(pid, since, ticks).unwrap_or_default();
    std::thread::sleep(Duration::from_secs(secs));
    let after = sample(pid, since, ticks).unwrap_or_default();
    (after.cpu - before.cpu, after.at - before.at)
}

/// The sample nearest to `at` seconds.
pub fn at(samples: &[Sample], at: f64) -> Sample {
    samples
        .iter()
        .min_by(|a, b| (a.at - at).abs().total_cmp(&(b.at - at).abs()))
        .copied()
        .unwrap_or_default()
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "min a / median b / p95 c / max d ms".
pub fn spread(values: &[f64]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    format!(
        "min {:.0} / median {:.0} / p95 {:.0} / max {:.0} ms",
        percentile(&sorted, 0.0),
        percentile(&sorted, 50.0),
        percentile(&sorted, 95.0),
        percentile(&sorted, 100.0)
    )
}

pub fn mib(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}
