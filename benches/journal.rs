//! `cargo bench --bench journal`: the journal's performance targets from
//! issue 5, measured on real files in a temp dir (synchronous FULL, WAL):
//!
//! - append rate of stderr-line events through the recorder (target ≥ 20,000/s)
//! - export of a 100,000-event incident, each format (target < 2 s)
//! - verify of 1,000,000 events (target < 5 s)
//! - journal bytes per event
//! - the start of every `rune run` (open with its recovery, choose the
//!   incident) on a journal of 100,000 executions: as on an empty one
//!
//! `RUNE_BENCH_VERIFY_EVENTS` shrinks the verify journal for a quick run.

// A benchmark has nobody to report an error to: any failure aborts it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rune::catalog;
use rune::inventory::Inventory;
use rune::journal::export::{Format, export};
use rune::journal::{Journal, Severity, recorder};
use rune::mediator::{ExecEvent, ExecId, Status, TargetResult};
use rune::policy::{Confirmation, Operator, ParamInput, Plan, RunRequest, Source, decide};
use rune::protocol::ids;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A stderr line of typical length (~90 bytes).
fn line(i: u64) -> String {
    format!("2026-11-24T03:12:45Z nginx[2231]: upstream timed out (110) while reading, request {i}")
}

/// A real plan for the shipped `noop` action on localhost, in a new incident.
fn new_plan(journal: &mut Journal, incident: &str) -> Arc<Plan> {
    let catalog = catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("actions"))
        .expect("the shipped catalog loads");
    let incident = journal
        .open_incident(incident, Severity::Low, None, "bench@host")
        .expect("an incident opens");
    let request = RunRequest {
        action: "noop".into(),
        selector: Default::default(),
        params: ParamInput::Assignments(vec![("message".into(), "bench".into())]),
        source: Source::Cli,
        operator: Operator::current(),
        incident: Some(incident.id),
        timeout: None,
        concurrency: 1,
        max_errors: None,
        confirmation: Confirmation::Explicit,
        parent_message_id: None,
    };
    let plan = decide(&catalog, &Inventory::default(), request).expect("noop is allowed");
    journal
        .record_request(&plan)
        .expect("the request is recorded");
    Arc::new(plan)
}

/// One execution's events: started, `lines` stderr lines, finished.
fn execution(plan: &Plan, lines: u64, first: u64) -> Vec<ExecEvent> {
    let exec = ExecId(ids::message_id());
    let target = &plan.targets[0];
    let input = plan.envelope(target, &exec.0, &ids::span_id());
    let mut events = vec![ExecEvent::Started {
        exec: exec.clone(),
        target: target.name.clone(),
        at: ids::now(),
        input: Box::new(input.clone()),
    }];
    events.extend((first..first + lines).map(|i| ExecEvent::Stderr {
        exec: exec.clone(),
        line: line(i),
    }));
    let result = TargetResult {
        exec_id: exec.clone(),
        target: target.name.clone(),
        transport: "local".into(),
        status: Status::Success,
        started_at: Some(ids::now()),
        finished_at: ids::now(),
        duration_ms: 1,
        exit_code: Some(0),
        mode: Some("bundle".into()),
        input,
        output: None,
        error: None,
        stderr_tail: vec![line(first + lines - 1)],
        stderr_lines: lines,
        stderr_bytes: lines * 90,
        notes: Vec::new(),
    };
    events.push(ExecEvent::Finished {
        exec,
        result: Box::new(result),
    });
    events
}

/// Appends `events` in batches of the recorder's size, directly.
fn append(journal: &mut Journal, plan: &Plan, events: &[ExecEvent]) {
    for batch in events.chunks(recorder::BATCH) {
        journal.record_events(plan, batch).expect("a batch commits");
    }
}

/// The whole recorder: mediator-side channel → commit → forwarded channel.
fn append_through_recorder(journal: Journal, plan: Arc<Plan>, events: Vec<ExecEvent>) -> Journal {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async move {
        // The same queue depth `rune run` uses between mediator, journal and printer.
        let (events_tx, events_rx) = mpsc::channel(1024);
        let (forward_tx, mut forward_rx) = mpsc::channel(1024);
        let record = recorder::record(
            journal,
            plan,
            events_rx,
            forward_tx,
            CancellationToken::new(),
            rune::mediator::start_gate().0,
        );
        let produce = async move {
            for event in events {
                events_tx.send(event).await.expect("the recorder listens");
            }
        };
        let consume = async move { while forward_rx.recv().await.is_some() {} };
        let (journal, (), ()) = tokio::join!(record, produce, consume);
        journal.expect("every batch commits")
    })
}

fn file_size(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn report(what: &str, took: Duration, result: String, target: &str, met: bool) {
    println!(
        "{what:<46} {:>9.3} s  {result:<26} target {target:<14} {}",
        took.as_secs_f64(),
        if met { "ok" } else { "MISSED" }
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");
    println!(
        "rune journal benchmark (release, synchronous=FULL, WAL) in {}",
        dir.path().display()
    );

    // 1. Append: stderr lines through the recorder, as `rune run` does.
    const APPEND: u64 = 200_000;
    let path = dir.path().join("append.db");
    let mut journal = Journal::open(&path).expect("the journal opens");
    let plan = new_plan(&mut journal, "append");
    let events = execution(&plan, APPEND, 0);
    let start = Instant::now();
    let journal = append_through_recorder(journal, Arc::clone(&plan), events);
    let took = start.elapsed();
    let rate = APPEND as f64 / took.as_secs_f64();
    report(
        "append stderr events via recorder::record",
        took,
        format!("{rate:.0} events/s"),
        "≥ 20000/s",
        rate >= 20_000.0,
    );
    let events = journal.head().0;
    drop(journal); // closing checkpoints the WAL into the file
    let bytes = file_size(&path) as f64 / events as f64;
    println!(
        "{:<46} {:>11}  {:.0} bytes/event ({events} events, {} bytes)",
        "journal size",
        "",
        bytes,
        file_size(&path)
    );

    // 2. Export an incident of 100,000 events (10 executions of 10,000).
    let path = dir.path().join("export.db");
    let mut journal = Journal::open(&path).expect("the journal opens");
    let plan = new_plan(&mut journal, "export");
    for i in 0..10 {
        append(&mut journal, &plan, &execution(&plan, 9_998, i * 10_000));
    }
    let incident = plan.incident_id.clone();
    let count = journal.timeline(&incident, 0).expect("a timeline").len();
    for (format, name) in [
        (Format::Json, "json"),
        (Format::Ndjson, "ndjson"),
        (Format::Markdown, "markdown"),
    ] {
        let out_path = dir.path().join(format!("export.{name}"));
        let start = Instant::now();
        let mut out = std::fs::File::create(&out_path).expect("an export file");
        export(&journal, &incident, format, &mut out).expect("the export");
        out.sync_all().expect("the export is on disk");
        let took = start.elapsed();
        let size = std::fs::metadata(&out_path).map(|m| m.len()).unwrap_or(0);
        report(
            &format!("export {count} events as {name}"),
            took,
            format!("{:.1} MB", size as f64 / 1e6),
            "< 2 s",
            took < Duration::from_secs(2),
        );
    }
    drop(journal);

    // 3. Verify a journal of 1,000,000 events.
    let total: u64 = std::env::var("RUNE_BENCH_VERIFY_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let path = dir.path().join("verify.db");
    let mut journal = Journal::open(&path).expect("the journal opens");
    let plan = new_plan(&mut journal, "verify");
    let start = Instant::now();
    let mut written = journal.head().0 as u64;
    while written < total {
        let lines = (total - written).clamp(1, 100_000).saturating_sub(2).max(1);
        append(&mut journal, &plan, &execution(&plan, lines, written));
        written = journal.head().0 as u64;
    }
    let build = start.elapsed();
    println!(
        "{:<46} {:>9.3} s  {:.0} events/s (direct record_events)",
        format!("build {written} events"),
        build.as_secs_f64(),
        written as f64 / build.as_secs_f64()
    );
    drop(journal);
    let start = Instant::now();
    let journal = Journal::open(&path).expect("the journal reopens");
    report(
        &format!("open (with recovery scan) of {written} events"),
        start.elapsed(),
        String::new(),
        "-",
        true,
    );
    let start = Instant::now();
    let verified = journal.verify(None).expect("verify runs");
    let took = start.elapsed();
    assert!(verified.broken.is_none(), "{:?}", verified.broken);
    report(
        &format!("verify {} events", verified.events),
        took,
        format!(
            "{:.0} events/s",
            verified.events as f64 / took.as_secs_f64()
        ),
        "< 5 s",
        took < Duration::from_secs(5),
    );
    let journal_size = file_size(&path) as f64 / written as f64;
    drop(journal);
    println!(
        "{:<46} {:>11}  {journal_size:.0} bytes/event",
        "journal size (10k-line executions)", ""
    );

    // 4. What every `rune run` and the console pay first, on a long history.
    const EXECUTIONS: u64 = 100_000;
    let path = dir.path().join("history.db");
    let mut journal = Journal::open(&path).expect("the journal opens");
    let plan = new_plan(&mut journal, "history");
    let events: Vec<ExecEvent> = (0..EXECUTIONS)
        .flat_map(|i| execution(&plan, 1, i))
        .collect();
    append(&mut journal, &plan, &events);
    drop(journal);
    let start_of_run = |path: &Path| {
        let start = Instant::now();
        for _ in 0..10 {
            let mut journal = Journal::open(path).expect("the journal reopens");
            journal
                .choose_incident(None, "bench@host", "noop")
                .expect("an incident is chosen");
        }
        start.elapsed() / 10
    };
    let empty = dir.path().join("empty.db");
    drop(Journal::open(&empty).expect("an empty journal opens"));
    let baseline = start_of_run(&empty);
    start_of_run(&path); // the first open writes the recovery mark
    let took = start_of_run(&path);
    report(
        &format!("open + choose incident, {EXECUTIONS} executions"),
        took,
        format!(
            "{:.2} ms per start (empty journal: {:.2} ms)",
            took.as_secs_f64() * 1000.0,
            baseline.as_secs_f64() * 1000.0
        ),
        "≤ 2× empty",
        took <= baseline * 2,
    );
}
