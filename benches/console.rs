//! Console under load: 50 targets each streaming 10,000 stderr lines a
//! second into the real `update` and `render` (TestBackend, 20 frames a
//! second), with a key press every 100 ms. Prints lines/s absorbed, frame
//! and key latency, and peak RSS, which must stay flat as lines pour in.
//!
//! cargo bench --bench console

// A measurement harness, like a test: failing loudly on a broken fixture is right.
#![allow(clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rune::mediator::{ExecEvent, ExecId};
use rune::tui::app::App;
use rune::tui::msg::Msg;
use rune::tui::theme::Theme;
use rune::tui::update::update;
use rune::tui::views::render;

const TARGETS: usize = 50;
const LINES_PER_TARGET_PER_SECOND: usize = 10_000;
const SECONDS: usize = 5;

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let catalog = rune::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("actions"))
        .expect("catalog");
    let inventory = rune::inventory::Inventory::default();
    let mut app = App::new(
        Arc::new(catalog),
        Arc::new(inventory),
        Theme::dark(),
        rune::policy::Operator {
            user: "bench".into(),
            host: "bench".into(),
        },
    );
    let targets: Vec<(String, String)> = (0..TARGETS)
        .map(|i| (format!("web-{i:02}"), "ssh".to_string()))
        .collect();
    update(
        &mut app,
        Msg::RunStarted {
            request_id: "r".into(),
            action: "tail-logs".into(),
            targets: targets.clone(),
            verify: false,
        },
    );
    let input: rune::protocol::BpcsInput =
        serde_json::from_str(include_str!("../tests/fixtures/envelopes/bpcs-input.json"))
            .expect("fixture");
    for (i, (name, _)) in targets.iter().enumerate() {
        let started = ExecEvent::Started {
            exec: ExecId(format!("e{i}")),
            target: name.clone(),
            at: "t".into(),
            input: Box::new(input.clone()),
        };
        update(&mut app, Msg::Exec(started));
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("backend");
    let per_frame = TARGETS * LINES_PER_TARGET_PER_SECOND / 20;
    let frames = SECONDS * 20;
    let rss_start = rss_kb("VmRSS:");
    let (mut worst_frame, mut total_frame) = (Duration::ZERO, Duration::ZERO);
    let (mut worst_key, mut keys) = (Duration::ZERO, 0u32);
    let mut absorbed = Duration::ZERO;
    let mut line = 0usize;
    let mut rss_mid = 0;
    for frame in 0..frames {
        let clock = Instant::now();
        for n in 0..per_frame {
            line += 1;
            let exec = ExecId(format!("e{}", n % TARGETS));
            let text = format!(
                "line {line} of a busy log with some realistic length to it, request id 4bf92f3577b34da6"
            );
            update(&mut app, Msg::Exec(ExecEvent::Stderr { exec, line: text }));
        }
        absorbed += clock.elapsed();
        let clock = Instant::now();
        terminal.draw(|f| render(&app, f)).expect("draw");
        let took = clock.elapsed();
        total_frame += took;
        worst_frame = worst_frame.max(took);
        if frame % 2 == 0 {
            let clock = Instant::now();
            update(
                &mut app,
                Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
            );
            terminal.draw(|f| render(&app, f)).expect("draw");
            worst_key = worst_key.max(clock.elapsed());
            keys += 1;
        }
        if frame == frames / 2 {
            rss_mid = rss_kb("VmRSS:");
        }
    }
    let total_lines = frames * per_frame;
    println!(
        "console under load: {TARGETS} targets x {LINES_PER_TARGET_PER_SECOND} lines/s for {SECONDS} s ({total_lines} lines)"
    );
    println!(
        "  update absorbs      {:>10.0} lines/s (needs {})",
        total_lines as f64 / absorbed.as_secs_f64(),
        TARGETS * LINES_PER_TARGET_PER_SECOND
    );
    println!(
        "  frame render        mean {:>6.2} ms, worst {:>6.2} ms (budget 50 ms)",
        total_frame.as_secs_f64() * 1000.0 / frames as f64,
        worst_frame.as_secs_f64() * 1000.0
    );
    println!(
        "  key to new frame    worst {:>6.2} ms over {keys} presses",
        worst_key.as_secs_f64() * 1000.0
    );
    println!(
        "  RSS                 start {rss_start} kB, half-way {rss_mid} kB, end {} kB, peak {} kB",
        rss_kb("VmRSS:"),
        rss_kb("VmHWM:")
    );
    println!(
        "  busy fraction       {:.1}% of wall time spent in update+render",
        (absorbed + total_frame).as_secs_f64() * 100.0 / SECONDS as f64
    );
}
