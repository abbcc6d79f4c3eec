//! The whole console loop of the real `rune` binary under a stderr flood
//! (issue 6): 50 local targets whose plugins each write 10,000 stderr lines
//! a second, through the mediator, the journal recorder (every line
//! committed before the console sees it, backpressure when it cannot keep
//! up) and the terminal loop (keys, committed events, frame clock), driven
//! in tmux like a responder would. benches/console.rs measures update() and
//! render() alone; this measures what a responder gets.
//!
//! It reports: the console's idle CPU; lines offered, written by the
//! plugins and recorded in the journal, and the rate absorbed end to end;
//! key → screen latency (j/k in the run view, seen by polling capture-pane)
//! during the flood and after it; the longest stall of the run clock on
//! screen; rune's RSS over the run and its peak; rune's and the plugins' CPU.
//!
//! cargo bench --bench console_loop
//!   RUNE_BENCH_TARGETS=50 RUNE_BENCH_RATE=10000 (lines/s per target)
//!   RUNE_BENCH_SECONDS=20 (flood length) RUNE_BENCH_IDLE=10 (idle CPU window, s)

// A measurement harness, like a test: failing loudly on a broken fixture is right.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod probe;
mod session;

use std::time::{Duration, Instant};

use session::{Load, Session, name};

/// Wide and tall enough for the list of 50 panes and a stderr tail.
const COLS: u16 = 160;
const ROWS: u16 = 48;
/// A key every 200 ms, as a responder scrolling through targets.
const KEY_EVERY: Duration = Duration::from_millis(200);
/// A key not on screen after this counts as lost.
const KEY_LIMIT: Duration = Duration::from_secs(5);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Key presses and what the screen showed meanwhile.
#[derive(Default)]
struct Keys {
    /// Milliseconds from send-keys to the screen showing the new cursor.
    latencies: Vec<f64>,
    lost: usize,
    /// The run view's cursor: j/k toggle it between the first two targets.
    cursor: usize,
    /// The longest time the run clock in the title did not move, ms.
    clock_stall: f64,
    /// The most targets the title showed running at once.
    running: usize,
}

/// The title's "N running", while the run is active.
fn running(screen: &str) -> Option<usize> {
    let title = screen.lines().find(|l| l.contains("run flood on"))?;
    let head = title.split(" running · ").next()?;
    head.rsplit(' ').next()?.parse().ok()
}

/// The run clock in the title ("… · 3 running · 12.3s"), while the run is active.
fn run_clock(screen: &str) -> Option<&str> {
    let title = screen.lines().find(|l| l.contains("run flood on"))?;
    let rest = title.split(" running · ").nth(1)?;
    // The border follows the clock without a space.
    let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    (end > 0 && rest[end..].starts_with('s')).then(|| &rest[..end])
}

/// Presses j/k every KEY_EVERY, up to `max` keys or until `stop` holds for
/// the screen, timing each from send-keys to the screen showing its effect
/// (the stderr pane's title names the target under the cursor).
fn press_keys(s: &Session, keys: &mut Keys, max: usize, stop: impl Fn(&str) -> bool) {
    let mut clock: Option<(Instant, String)> = None;
    for _ in 0..max {
        let next = Instant::now() + KEY_EVERY;
        let (key, want) = if keys.cursor == 0 { ("j", 1) } else { ("k", 0) };
        let expected = format!("{} stderr (sanitized)", name(want));
        let sent = Instant::now();
        s.key(key);
        let mut seen = false;
        loop {
            let screen = s.screen();
            let now = Instant::now();
            if let Some(c) = run_clock(&screen) {
                match &clock {
                    Some((_, last)) if last == c => {}
                    _ => {
                        if let Some((since, _)) = &clock {
                            let stall = now.duration_since(*since).as_secs_f64() * 1e3;
                            keys.clock_stall = keys.clock_stall.max(stall);
                        }
                        clock = Some((now, c.to_owned()));
                    }
                }
            }
            keys.running = keys.running.max(running(&screen).unwrap_or(0));
            if !seen && screen.contains(&expected) {
                keys.latencies
                    .push(now.duration_since(sent).as_secs_f64() * 1e3);
                keys.cursor = want;
                seen = true;
            }
            if stop(&screen) {
                return;
            }
            if !seen && now.duration_since(sent) > KEY_LIMIT {
                keys.lost += 1;
                keys.cursor = usize::from(screen.contains(&format!("{} stderr", name(1))));
                break;
            }
            if seen && now >= next {
                break;
            }
            // Tight polling while a key is pending, then only the clock.
            std::thread::sleep(Duration::from_millis(if seen { 20 } else { 2 }));
        }
    }
}

/// Counts from the journal: what was recorded is what the console could show.
struct Recorded {
    stderr: u64,
    window: f64,
    results: u64,
    written: u64,
    counted: u64,
    failed: u64,
}

fn recorded(journal: &std::path::Path) -> Recorded {
    let db =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("journal");
    let (stderr, window) = db
        .query_row(
            "SELECT count(*), coalesce((julianday(max(at)) - julianday(min(at))) * 86400.0, 0)
             FROM events WHERE kind = 'stderr'",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, f64>(1)?)),
        )
        .expect("count stderr");
    let (results, written, counted) = db
        .query_row(
            "SELECT count(*),
                    coalesce(sum(json_extract(body, '$.output.payload.output_data.lines')), 0),
                    coalesce(sum(json_extract(body, '$.stderr_lines')), 0)
             FROM events WHERE kind = 'result'",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            },
        )
        .expect("count results");
    let failed = db
        .query_row(
            "SELECT count(*) FROM events WHERE kind IN ('error', 'cancelled', 'interrupted')",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count failures") as u64;
    Recorded {
        stderr,
        window,
        results,
        written,
        counted,
        failed,
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    let load = Load {
        targets: env_num("RUNE_BENCH_TARGETS", 50) as usize,
        rate: env_num("RUNE_BENCH_RATE", 10_000),
        seconds: env_num("RUNE_BENCH_SECONDS", 20),
    };
    assert!(load.targets >= 2, "j/k need two targets");
    let idle = env_num("RUNE_BENCH_IDLE", 10);
    session::guard(Duration::from_secs(idle + load.seconds * 4 + 150));
    let s = Session::start(&load, COLS, ROWS);
    println!(
        "console_loop: rune pid {} in tmux {COLS}x{ROWS}, {} targets x {} lines/s for {} s, temp HOME and journal in {}",
        s.pid,
        load.targets,
        load.rate,
        load.seconds,
        s.dir.path().display()
    );
    let (idle_cpu, idle_wall) = probe::idle_cpu(s.pid, idle);

    // The responder's path: search, pick every flood target, confirm.
    s.text("flood");
    s.wait_for("Benchmark plugin", Duration::from_secs(10));
    s.keys(&["Enter"]);
    s.wait_for("targets for flood", Duration::from_secs(10));
    s.keys(&["/"]);
    s.text("role=flood");
    s.keys(&["Enter", "a"]);
    s.wait_for(
        &format!("{} selected", load.targets),
        Duration::from_secs(10),
    );
    s.keys(&["Enter"]);
    s.wait_for("confirm flood", Duration::from_secs(10));
    let loop_cpu_before = probe::thread_cpu(s.pid, s.pid);
    let sampler = probe::Sampler::start(s.pid);
    let submitted = Instant::now();
    s.key("Enter");
    s.wait_for(
        &format!("run flood on {}", load.targets),
        Duration::from_secs(30),
    );
    // Auto → grid → list: the list names the target under the cursor in text.
    s.keys(&["v", "v"]);
    s.wait_for("stderr (sanitized)", Duration::from_secs(10));

    let done = |screen: &str| screen.contains("running · done");
    let mut flood = Keys::default();
    press_keys(&s, &mut flood, usize::MAX, done);
    let run_wall = submitted.elapsed().as_secs_f64();
    let loop_cpu = probe::thread_cpu(s.pid, s.pid) - loop_cpu_before;
    if flood.running < load.targets {
        eprintln!(
            "console_loop: at most {} of {} targets were seen running at once",
            flood.running, load.targets
        );
    }
    let run_end = sampler.since.elapsed().as_secs_f64();
    let mut after = Keys {
        cursor: flood.cursor,
        ..Keys::default()
    };
    press_keys(&s, &mut after, 20, |_| false);
    let samples = sampler.finish();
    s.quit();
    let journal = recorded(&s.journal);

    let first = samples.first().copied().unwrap_or_default();
    let end = probe::at(&samples, run_end);
    let last = samples.last().copied().unwrap_or_default();
    let peak = samples.iter().map(|x| x.hwm_kb).max().unwrap_or(0);
    let quarter = |q: f64| probe::mib(probe::at(&samples, run_end * q).rss_kb);
    let offered = load.targets as u64 * load.rate * load.seconds;
    let absorbed = journal.stderr as f64 / journal.window.max(1e-9);
    let run_cpu = end.cpu - first.cpu;

    println!("\nRSS every 2 s (MiB):");
    let series: Vec<String> = samples
        .iter()
        .step_by(20)
        .map(|x| format!("{:.0}s {}", x.at, probe::mib(x.rss_kb)))
        .collect();
    println!("  {}", series.join(" · "));
    println!(
        "\n| rune console loop: {} targets × {} stderr lines/s offered for {} s | measured |",
        load.targets,
        thousands(load.rate),
        load.seconds
    );
    println!("|---|---|");
    println!(
        "| idle CPU, catalog screen, {idle_wall:.0} s | {:.2} % of a core ({:.0} ms) |",
        idle_cpu / idle_wall * 100.0,
        idle_cpu * 1e3
    );
    println!(
        "| stderr lines offered · written by the plugins · counted by the mediator · recorded in the journal | {} · {} · {} · {} |",
        thousands(offered),
        thousands(journal.written),
        thousands(journal.counted),
        thousands(journal.stderr)
    );
    println!(
        "| absorbed end to end (journal lines ÷ first-to-last stderr event) | {} lines/s over {:.1} s ({:.0} % of offered) |",
        thousands(absorbed as u64),
        journal.window,
        absorbed / (load.targets as f64 * load.rate as f64) * 100.0
    );
    println!(
        "| key → screen during the flood, n = {} (j/k, capture-pane polled) | {}, {} lost |",
        flood.latencies.len(),
        probe::spread(&flood.latencies),
        flood.lost
    );
    println!(
        "| key → screen after the run (baseline incl. tmux), n = {} | {}, {} lost |",
        after.latencies.len(),
        probe::spread(&after.latencies),
        after.lost
    );
    println!(
        "| longest stall of the run clock on screen (frames every 50 ms, clock in 0.1 s) | {:.0} ms |",
        flood.clock_stall
    );
    println!(
        "| rune RSS MiB: before · ¼ · ½ · ¾ · end of run · after · peak (VmHWM) | {} · {} · {} · {} · {} · {} · {} |",
        probe::mib(first.rss_kb),
        quarter(0.25),
        quarter(0.5),
        quarter(0.75),
        probe::mib(end.rss_kb),
        probe::mib(last.rss_kb),
        probe::mib(peak)
    );
    println!(
        "| rune CPU during the run: all threads · the console loop's thread | {run_cpu:.1} s = {:.0} % of a core · {loop_cpu:.1} s = {:.0} % |",
        run_cpu / run_end.max(1e-9) * 100.0,
        loop_cpu / run_end.max(1e-9) * 100.0
    );
    println!(
        "| plugins' CPU (bash + perl, {} processes) | {:.1} s |",
        load.targets, last.children_cpu
    );
    println!(
        "| run wall time, confirm → done · most targets running at once · results ok · not ok | {run_wall:.1} s · {} · {} · {} |",
        flood.running, journal.results, journal.failed
    );
}
