//! Every SSM fault ends in its EPS code within bounded time: throttling and
//! unlisted invocations are retried, a stuck or slow command times out and
//! is cancelled, cut output keeps its start, and denial, unknown instances
//! and a silent endpoint fail cleanly.

use std::time::{Duration, Instant};

use rune::mediator::Status;
use rune::protocol::eps::code;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Emulator, data, eps_code, inventory, on_first, reason, run_on};
use crate::support::{fixture_catalog, request, run_with, shipped_catalog};

#[tokio::test]
async fn throttling_is_retried_until_the_run_succeeds() {
    let emulator = Emulator::with_instances(1, json!({"throttle": {"count": 4}}));
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    let throttled = emulator
        .calls()
        .iter()
        .filter(|c| c["error"] == "ThrottlingException")
        .count();
    assert_eq!(throttled, 4);
}

#[tokio::test]
async fn throttling_that_never_ends_is_rate_limited() {
    let emulator = Emulator::with_instances(
        1,
        json!({"throttle": {"ops": ["SendCommand"], "count": 1000}}),
    );
    let mut settings = emulator.settings();
    settings.max_attempts = 3;
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(settings),
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::RATE_LIMITED, "{}", reason(result));
    assert!(
        reason(result).contains("SSM throttled SendCommand"),
        "{}",
        reason(result)
    );
    assert_eq!(
        emulator.calls_of("SendCommand").len(),
        3,
        "the SDK's attempts, no more"
    );
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "took {:?}",
        clock.elapsed()
    );
}

#[tokio::test]
async fn an_invocation_not_listed_yet_is_polled_again() {
    let emulator = Emulator::with_instances(1, json!({"missing_polls": 3}));
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
    )
    .await;
    assert_eq!(
        report.results[0].status,
        Status::Success,
        "{}",
        reason(&report.results[0])
    );
    let missing: Vec<Value> = emulator
        .calls_of("GetCommandInvocation")
        .into_iter()
        .filter(|c| c["error"] == "InvocationDoesNotExist")
        .collect();
    assert_eq!(missing.len(), 3);
    assert!(
        emulator.calls_of("ListCommandInvocations").len() > 3,
        "three empty listings, then the invocation"
    );
}

#[tokio::test]
async fn a_stuck_invocation_times_out_and_is_cancelled() {
    let emulator = Emulator::with_instances(1, json!({"stuck": true}));
    let mut req = on_first("noop", &[]);
    req.timeout = Some(Duration::from_secs(2));
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(1),
        req,
    )
    .await;
    let result = &report.results[0];
    assert!(
        clock.elapsed() < Duration::from_secs(12),
        "took {:?}",
        clock.elapsed()
    );
    assert_eq!(result.status, Status::TimedOut);
    assert_eq!(eps_code(result), code::TIMEOUT);
    assert!(
        reason(result).contains("SSM does not guarantee that the process stopped"),
        "{}",
        reason(result)
    );
    assert!(
        result
            .notes
            .iter()
            .any(|n| n.starts_with("CancelCommand sent")),
        "{:?}",
        result.notes
    );
    let sent = emulator.calls_of("SendCommand");
    let cancels = emulator.calls_of("CancelCommand");
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["status"], 200);
    let command_id = cancels[0]["request"]["CommandId"].as_str().unwrap();
    assert_eq!(sent.len(), 1);
    let state = emulator
        .client()
        .get_command_invocation()
        .command_id(command_id)
        .instance_id(super::instance_id(1))
        .send()
        .await
        .unwrap();
    assert_eq!(state.status().unwrap().as_str(), "Cancelled");
}

#[tokio::test]
async fn a_running_command_is_killed_on_timeout() {
    let emulator = Emulator::with_instances(1, json!({}));
    let mut req = on_first("misbehave", &[("case", "sleep"), ("seconds", "60")]);
    req.timeout = Some(Duration::from_secs(2));
    let tmp = emulator
        .state
        .path()
        .join("instances")
        .join(super::instance_id(1))
        .join("tmp");
    let (catalog, inventory) = (fixture_catalog(), inventory(1));
    let run = run_on(
        emulator.mediator(emulator.settings()),
        &catalog,
        &inventory,
        req,
    );
    let seen = async {
        for _ in 0..40 {
            if runs_under(&tmp) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    let ((report, _), seen) = tokio::join!(run, seen);
    assert!(seen, "the plugin ran in its private directory");
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::TIMEOUT, "{}", reason(result));
    assert_eq!(data(result)["killed"], "CancelCommand sent, not guaranteed");
    // The emulator, like the agent, kills the command's process group.
    crate::support::eventually("the remote sleep is gone", || !runs_under(&tmp)).await;
    crate::support::eventually("the private directory is gone", || {
        std::fs::read_dir(&tmp).unwrap().count() == 0
    })
    .await;
}

#[tokio::test]
async fn an_operator_cancel_reaches_ssm() {
    let emulator = Emulator::with_instances(1, json!({"stuck": true}));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        trigger.cancel();
    });
    let (report, _) = run_with(
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
        emulator.mediator(emulator.settings()),
        cancel,
    )
    .await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Cancelled);
    assert!(
        reason(result).contains("RUNE sent CancelCommand"),
        "{}",
        reason(result)
    );
    assert_eq!(emulator.calls_of("CancelCommand").len(), 1);
}

#[tokio::test]
async fn cut_output_is_too_large_and_keeps_its_start() {
    let emulator = Emulator::with_instances(1, json!({}));
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        on_first("misbehave", &[("case", "oversize")]),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(
        eps_code(result),
        code::MESSAGE_TOO_LARGE,
        "{}",
        reason(result)
    );
    assert!(
        reason(result).contains("24000 characters of stdout"),
        "{}",
        reason(result)
    );
    let data = data(result);
    assert!(
        data["partial_stdout"]
            .as_str()
            .unwrap()
            .starts_with("xxxxxxxx")
    );
    let kept = data["partial_stdout_bytes"].as_u64().unwrap();
    assert!((23_900..24_000).contains(&kept), "{kept}");
}

#[tokio::test]
async fn an_access_denied_is_an_authorization_error() {
    let emulator = Emulator::with_instances(1, json!({"deny": ["SendCommand"]}));
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::AUTHORIZATION, "{}", reason(result));
    assert!(
        reason(result).contains("may not call ssm:SendCommand"),
        "{}",
        reason(result)
    );
    assert_eq!(
        emulator.calls_of("SendCommand").len(),
        1,
        "a denial is not retried"
    );
}

#[tokio::test]
async fn an_unknown_instance_is_named() {
    let emulator = Emulator::with_instances(1, json!({}));
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssm-ghost".into()];
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(1),
        req,
    )
    .await;
    let result = &report.results[0];
    assert_eq!(
        eps_code(result),
        code::UNKNOWN_ACTION_OR_TARGET,
        "{}",
        reason(result)
    );
    assert!(
        reason(result).contains("i-0badbadbadbadbad0"),
        "{}",
        reason(result)
    );
}

#[tokio::test]
async fn an_endpoint_that_never_answers_fails_in_bounded_time() {
    let emulator = Emulator::with_instances(1, json!({"hang": true}));
    let mut settings = emulator.settings();
    settings.attempt_timeout = Duration::from_secs(1);
    settings.operation_timeout = Duration::from_secs(3);
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(settings),
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
    )
    .await;
    let result = &report.results[0];
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "took {:?}",
        clock.elapsed()
    );
    assert_eq!(eps_code(result), code::NETWORK, "{}", reason(result));
    assert!(
        reason(result).contains("did not answer SendCommand in time"),
        "{}",
        reason(result)
    );
}

#[tokio::test]
async fn an_instance_that_never_picks_the_command_up_is_undeliverable_in_bounded_time() {
    let emulator = Emulator::start(json!({
        "region": super::REGION,
        "instances": [{"id": super::instance_id(1), "online": false}],
        "delivery_timeout_ms": 1500,
    }));
    let clock = Instant::now();
    let (report, events) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(1),
        on_first("noop", &[]),
    )
    .await;
    let result = &report.results[0];
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "took {:?}",
        clock.elapsed()
    );
    assert_eq!(eps_code(result), code::NETWORK, "{}", reason(result));
    assert!(
        reason(result).contains("could not deliver the command"),
        "{}",
        reason(result)
    );
    let phases = super::phases(&events);
    assert_eq!(
        phases.last().map(String::as_str),
        Some("TimedOut (DeliveryTimedOut)"),
        "{phases:?}"
    );
    assert!(!phases.iter().any(|p| p == "InProgress"), "{phases:?}");
    assert!(emulator.calls_of("CancelCommand").is_empty());
}

/// True while a process works in a directory under `dir`.
fn runs_under(dir: &std::path::Path) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|entry| {
            std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
}
