//! Timeouts, cancels, caps, floods, hostile text and secrets, with real
//! plugin processes on the local transport.

use std::time::{Duration, Instant};

use rune::inventory::Inventory;
use rune::mediator::{ExecEvent, Limits, Mediator, Status};
use rune::protocol::eps::code;
use rune::transport::Transports;
use tokio_util::sync::CancellationToken;

use crate::support::{
    eventually, fixture_catalog, process_exists, request, run, run_case, run_with,
};

fn marker(tail: &[String]) -> String {
    tail.iter()
        .find_map(|l| l.strip_prefix("marker "))
        .expect("the plugin printed its marker")
        .to_owned()
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_tree() {
    let mut req = request("misbehave", &[("case", "sleep"), ("seconds", "60")]);
    req.timeout = Some(Duration::from_secs(1));
    let clock = Instant::now();
    let (report, _) = run(&fixture_catalog(), &Inventory::default(), req).await;
    assert!(
        clock.elapsed() < Duration::from_secs(15),
        "took {:?}",
        clock.elapsed()
    );
    let result = &report.results[0];
    assert_eq!(result.status, Status::TimedOut);
    let eps = result.error.as_ref().unwrap();
    assert_eq!(eps.code(), code::TIMEOUT);
    assert_eq!(
        eps.error_payload.error_data.error.data["killed"],
        "process group"
    );
    let marker = marker(&result.stderr_tail);
    eventually("the plugin's sleep to be gone", || !process_exists(&marker)).await;
}

#[tokio::test]
async fn nothing_a_plugin_started_outlives_it() {
    let result = run_case("orphan", &[("seconds", "60")]).await;
    assert_eq!(result.status, Status::Success, "{:?}", result.error);
    let marker = marker(&result.stderr_tail);
    eventually("the orphaned sleep to be killed", || {
        !process_exists(&marker)
    })
    .await;
}

/// The entry wrote a valid envelope and exited, but a `setsid` child keeps
/// stdout open past the pipe grace: what was read is still the result.
#[tokio::test]
async fn stdout_held_open_by_an_escaped_child_keeps_what_was_read() {
    let clock = Instant::now();
    let result = run_case("setsid_stdout", &[("seconds", "6")]).await;
    assert_eq!(result.status, Status::Success, "{:?}", result.error);
    let output = result.output.as_ref().expect("the envelope was kept");
    assert_eq!(output.payload.as_ref().unwrap().output_data["fine"], true);
    assert!(
        clock.elapsed() < Duration::from_secs(5),
        "waited {:?}, past the grace",
        clock.elapsed()
    );
}

/// A 200 KiB non-secret parameter: too big for one environment string
/// (Linux's 128 KiB), so it travels in the envelope only, and a note says so.
#[tokio::test]
async fn a_large_parameter_travels_in_the_envelope_not_the_environment() {
    let blob = "b".repeat(200 * 1024);
    let result = run_case("param_sizes", &[("blob", &blob)]).await;
    assert_eq!(result.status, Status::Success, "{:?}", result.error);
    let output = result.output.as_ref().unwrap().payload.as_ref().unwrap();
    assert_eq!(output.output_data["env_len"], 0);
    assert!(output.output_data["stdin_len"].as_u64().unwrap() > 200 * 1024);
    assert!(
        result
            .notes
            .iter()
            .any(|n| n.starts_with("parameter blob (204800 bytes) is not in $RUNE_PARAM_BLOB")),
        "{:?}",
        result.notes
    );
}

#[tokio::test]
async fn cancel_stops_running_and_queued_targets() {
    let mut text = String::new();
    for i in 0..4 {
        text += &format!("[[targets]]\nname = \"t{i}\"\ntransport = \"local\"\n");
    }
    let inventory = Inventory::parse(&text, std::path::Path::new("inv.toml")).unwrap();
    let mut req = request("misbehave", &[("case", "sleep"), ("seconds", "60")]);
    req.selector.names = vec!["t*".into()];
    req.concurrency = 2;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let (report, _) = run_with(
        &fixture_catalog(),
        &inventory,
        req,
        Mediator::new(Transports::local_only()),
        cancel,
    )
    .await;
    let statuses: Vec<_> = report.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Cancelled; 4]);
    let started = report
        .results
        .iter()
        .filter(|r| r.started_at.is_some())
        .count();
    assert_eq!(started, 2, "two ran, two were still queued");
    assert!(
        report
            .results
            .iter()
            .all(|r| r.error.as_ref().unwrap().code() == rune::mediator::eps::CANCELLED)
    );
}

#[tokio::test]
async fn max_errors_skips_the_rest() {
    let mut text = String::new();
    for i in 0..5 {
        text += &format!("[[targets]]\nname = \"t{i}\"\ntransport = \"local\"\n");
    }
    let inventory = Inventory::parse(&text, std::path::Path::new("inv.toml")).unwrap();
    let mut req = request("misbehave", &[("case", "plugin_error")]);
    req.selector.names = vec!["t*".into()];
    req.concurrency = 1;
    req.max_errors = Some(1);
    let (report, _) = run(&fixture_catalog(), &inventory, req).await;
    let statuses: Vec<_> = report.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Failed,
            Status::Failed,
            Status::Skipped,
            Status::Skipped,
            Status::Skipped
        ]
    );
    let skipped = report.results[2].error.as_ref().unwrap();
    assert_eq!(skipped.code(), code::POLICY);
    assert!(
        skipped.reason().contains("--max-errors 1"),
        "{}",
        skipped.reason()
    );
}

#[tokio::test]
async fn the_stdout_cap_is_configurable() {
    let mut mediator = Mediator::new(Transports::local_only());
    mediator.limits = Limits {
        stdout_bytes: 64,
        ..Limits::default()
    };
    let req = request("misbehave", &[("case", "ok")]);
    let (report, _) = run_with(
        &fixture_catalog(),
        &Inventory::default(),
        req,
        mediator,
        CancellationToken::new(),
    )
    .await;
    let eps = report.results[0].error.as_ref().unwrap();
    assert_eq!(eps.code(), code::MESSAGE_TOO_LARGE);
}

#[tokio::test]
async fn a_stderr_flood_is_counted_exactly_and_kept_bounded() {
    let mut mediator = Mediator::new(Transports::local_only());
    mediator.limits = Limits {
        stderr_tail_bytes: 4096,
        line_bytes: 1000,
        ..Limits::default()
    };
    let req = request("misbehave", &[("case", "flood")]);
    let (report, events) = run_with(
        &fixture_catalog(),
        &Inventory::default(),
        req,
        mediator,
        CancellationToken::new(),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{:?}", result.error);
    assert_eq!(
        result.stderr_lines, 20_001,
        "20,000 lines and one unterminated 100,000-byte line"
    );
    assert!(result.stderr_tail.iter().map(String::len).sum::<usize>() <= 4096);
    assert!(result.stderr_tail.last().unwrap().ends_with("[line cut]"));
    let streamed = events
        .iter()
        .filter(|e| matches!(e, ExecEvent::Stderr { .. }))
        .count();
    assert_eq!(
        streamed, 10_000,
        "the first 10,000 lines were streamed as events, the rest only counted"
    );
    assert!(
        result.notes[0].starts_with("stderr: 10000 of 20001 lines were streamed"),
        "{:?}",
        result.notes
    );
}

#[tokio::test]
async fn hostile_stderr_is_sanitized_before_anyone_sees_it() {
    let (report, events) = run(
        &fixture_catalog(),
        &Inventory::default(),
        request("misbehave", &[("case", "escapes")]),
    )
    .await;
    let line = &report.results[0].stderr_tail[0];
    assert_eq!(
        line,
        "title clip redX bell^G back^H^H overEVIL \\u{202e}"
            .replace("overEVIL", "over^MEVIL")
            .as_str()
    );
    for event in &events {
        if let ExecEvent::Stderr { line, .. } = event {
            assert!(
                !line.contains('\x1b') && !line.contains('\u{202e}'),
                "{line:?}"
            );
        }
    }
}

#[tokio::test]
async fn secrets_travel_in_the_envelope_only() {
    let stdin = run_case("stdin", &[("token", "hunter2")]).await;
    let data = stdin.output.unwrap().payload.unwrap().output_data;
    assert_eq!(
        data["has_token"], 1,
        "the plugin reads the secret from stdin"
    );
    let env = run_case("env", &[("token", "hunter2")]).await;
    let recorded = serde_json::to_string(&env).unwrap();
    let data = env.output.unwrap().payload.unwrap().output_data;
    assert_eq!(
        data["token_in_env"], 0,
        "no environment variable holds the secret"
    );
    assert_eq!(
        data["case"], "env",
        "non-secret parameters are exported as RUNE_PARAM_*"
    );
    assert_eq!(
        data["pwd"], "misbehave",
        "the plugin runs in its action folder"
    );
    assert!(
        !recorded.contains("hunter2"),
        "the recorded result redacts the secret"
    );
    assert!(recorded.contains("[REDACTED]"));
}

#[tokio::test]
async fn started_stderr_and_finished_events_arrive_in_order() {
    let (_, events) = run(
        &fixture_catalog(),
        &Inventory::default(),
        request("misbehave", &[("case", "plugin_error")]),
    )
    .await;
    assert!(
        matches!(events.first(), Some(ExecEvent::Started { target, .. }) if target == "localhost")
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ExecEvent::Stderr { line, .. } if line == "jq is required"))
    );
    assert!(matches!(events.last(), Some(ExecEvent::Finished { .. })));
}
