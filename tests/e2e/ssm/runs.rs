//! What works over SSM: every shipped action as it runs locally, the
//! envelope and stderr, status phases, and batching into SendCommands of at
//! most 50 instances with one envelope per instance.

use std::time::{Duration, Instant};

use rune::inventory::Inventory;
use rune::mediator::Status;
use rune::protocol::eps::code;
use serde_json::{Value, json};

use super::{
    Emulator, REGION, data, eps_code, instances, inventory, on_first, phases, reason, run_on,
};
use crate::support::{fixture_catalog, request, run, shipped_catalog};

/// The plugin's error code, or 0 for a success.
fn plugin_code(result: &rune::mediator::TargetResult) -> i64 {
    match result.status {
        Status::Success => 0,
        _ => result
            .error
            .as_ref()
            .and_then(|e| {
                e.error_payload
                    .error_data
                    .error
                    .data
                    .get("plugin_error_code")
            })
            .and_then(Value::as_i64)
            .unwrap_or(-1),
    }
}

#[tokio::test]
async fn every_shipped_action_runs_over_ssm_as_it_runs_locally() {
    let emulator = Emulator::with_instances(1, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "one\ntwo\n").unwrap();
    let log = log.to_str().unwrap();
    // (action, parameters, the plugin's error code here; 0 for success)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], i64);
    let cases: &[Case<'_>] = &[
        ("noop", &[("message", "over ssm")], 0),
        ("host-facts", &[], 0),
        ("disk-usage", &[("path", "/etc"), ("top", "3")], 0),
        ("tail-logs", &[("path", log), ("lines", "1")], 0),
        ("check-port", &[("host", "127.0.0.1"), ("port", "1")], 0),
        ("process-top", &[("count", "2")], 0),
        ("cert-expiry", &[("path", "/nonexistent.pem")], 1),
        // No systemd on this machine: both report a resource error.
        ("service-status", &[("unit", "rune-none.service")], 2),
        ("restart-service", &[("unit", "rune-none.service")], 2),
    ];
    let inventory = inventory(1);
    let mediator = emulator.mediator(emulator.settings());
    for (action, params, expected) in cases {
        let (local, _) = run(
            &shipped_catalog(),
            &Inventory::default(),
            request(action, params),
        )
        .await;
        let req = on_first(action, params);
        let (report, _) = run_on(mediator.clone(), &shipped_catalog(), &inventory, req).await;
        let (local, remote) = (&local.results[0], &report.results[0]);
        assert_eq!(remote.transport, "ssm");
        assert_eq!(
            plugin_code(remote),
            *expected,
            "{action} over ssm: {}",
            reason(remote)
        );
        assert_eq!(
            plugin_code(local),
            *expected,
            "{action} locally: {}",
            reason(local)
        );
        assert_eq!(remote.status, local.status, "{action}");
        assert_eq!(remote.exit_code, local.exit_code, "{action}");
        if *expected == 0 {
            assert_eq!(remote.mode.as_deref(), Some("bundle"));
            let keys = |r: &rune::mediator::TargetResult| {
                let out = r.output.as_ref().unwrap().payload.as_ref().unwrap();
                out.output_data
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(keys(remote), keys(local), "{action}: same output fields");
        }
    }
    let req = on_first("tail-logs", &[("path", log), ("lines", "1")]);
    let (report, _) = run_on(mediator, &shipped_catalog(), &inventory, req).await;
    let out = &report.results[0]
        .output
        .as_ref()
        .unwrap()
        .payload
        .as_ref()
        .unwrap()
        .output_data;
    assert_eq!(out["lines"][0], "two");
    assert!(
        emulator.calls().iter().all(|c| c["signed"] == true),
        "every call is SigV4-signed"
    );
}

#[tokio::test]
async fn the_plugin_reads_exactly_the_envelope_and_stderr_arrives() {
    let emulator = Emulator::with_instances(1, json!({}));
    let mut req = on_first("misbehave", &[("case", "stdin")]);
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        req.clone(),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    let bytes = &result
        .output
        .as_ref()
        .unwrap()
        .payload
        .as_ref()
        .unwrap()
        .output_data["bytes"];
    let sent = serde_json::to_vec(&result.input).unwrap().len();
    assert_eq!(
        bytes.as_u64().unwrap() as usize,
        sent,
        "the envelope, nothing more or less"
    );

    req.params =
        rune::policy::ParamInput::Assignments(vec![("case".into(), "plugin_error".into())]);
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        req,
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::PLUGIN_FAILURE);
    assert_eq!(result.exit_code, Some(2));
    assert_eq!(
        result.stderr_tail,
        ["jq is required"],
        "the agent's own note is dropped"
    );
}

/// A plugin killed by a signal is resource-exhausted as it is locally, and
/// the wrapper's shell stays quiet: bash or dash would report "Killed" on
/// the stderr that SSM hands back as the plugin's.
#[tokio::test]
async fn a_plugin_killed_by_a_signal_fails_as_it_does_locally() {
    let emulator = Emulator::with_instances(1, json!({}));
    let req = on_first("misbehave", &[("case", "signal")]);
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        req,
    )
    .await;
    crate::support::assert_killed_by_signal_9(&report.results[0]);
}

#[tokio::test]
async fn each_status_change_is_a_phase() {
    let emulator = Emulator::start(json!({
        "region": REGION, "instances": instances(1), "pending_ms": 1000,
    }));
    let req = on_first("misbehave", &[("case", "sleep"), ("seconds", "1")]);
    let (report, events) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        req,
    )
    .await;
    assert_eq!(
        report.results[0].status,
        Status::Success,
        "{}",
        reason(&report.results[0])
    );
    assert_eq!(
        phases(&events),
        ["sending", "Pending", "InProgress", "Success"]
    );
    let notes = &report.results[0].notes;
    assert!(
        notes.iter().any(|n| n.starts_with("SSM command ")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_fan_out_shares_one_send_command_and_each_instance_gets_its_own_envelope() {
    let emulator = Emulator::start(json!({
        "region": REGION,
        "instances": instances(5),
        "invocation_page_size": 2,
    }));
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssm-[0-9]".into()];
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(5),
        req,
    )
    .await;
    for result in &report.results {
        assert_eq!(
            result.status,
            Status::Success,
            "{}: {}",
            result.target,
            reason(result)
        );
        let out = &result
            .output
            .as_ref()
            .unwrap()
            .payload
            .as_ref()
            .unwrap()
            .output_data;
        assert_eq!(out["context"]["node"], result.target.as_str());
    }
    let sends = emulator.calls_of("SendCommand");
    assert_eq!(sends.len(), 1, "one SendCommand for five instances");
    assert_eq!(
        sends[0]["request"]["InstanceIds"].as_array().unwrap().len(),
        5
    );
    let params = &sends[0]["request"]["Parameters"];
    let timeout: u64 = params["executionTimeout"][0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(timeout, 30 + 15, "noop's 30s timeout plus the remote grace");
    // Every per-instance invocation of that one command is listed on its own.
    let command_id = command_id_of(&emulator, &sends[0]);
    let before = emulator.calls_of("ListCommandInvocations").len();
    let listed: Vec<_> = emulator
        .client()
        .list_command_invocations()
        .command_id(command_id)
        .details(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|i| i.unwrap())
        .collect();
    assert_eq!(listed.len(), 5);
    assert!(
        listed
            .iter()
            .all(|i| i.status().unwrap().as_str() == "Success")
    );
    assert_eq!(
        emulator.calls_of("ListCommandInvocations").len() - before,
        3,
        "two per page"
    );
}

/// The CommandId SSM gave the SendCommand `call`: the one every poll names.
fn command_id_of(emulator: &Emulator, call: &Value) -> String {
    let instance = call["request"]["InstanceIds"][0].as_str().unwrap();
    emulator
        .calls_of("GetCommandInvocation")
        .iter()
        .find(|c| c["request"]["InstanceId"] == instance)
        .map(|c| c["request"]["CommandId"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn sixty_targets_go_out_in_send_commands_of_at_most_fifty() {
    let emulator = Emulator::with_instances(60, json!({}));
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssm-[0-9]*".into()];
    req.concurrency = 60;
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(60),
        req,
    )
    .await;
    assert_eq!(report.results.len(), 60);
    for result in &report.results {
        assert_eq!(
            result.status,
            Status::Success,
            "{}: {}",
            result.target,
            reason(result)
        );
    }
    let sizes: Vec<usize> = emulator
        .calls_of("SendCommand")
        .iter()
        .map(|c| c["request"]["InstanceIds"].as_array().unwrap().len())
        .collect();
    assert!(sizes.iter().all(|&n| n <= 50), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 60, "{sizes:?}");
    assert!(
        sizes.len() <= 10,
        "batched, not one call per target: {sizes:?}"
    );
    assert!(
        clock.elapsed() < Duration::from_secs(60),
        "took {:?}",
        clock.elapsed()
    );
}

#[tokio::test]
async fn an_unknown_instance_fails_alone_and_is_named() {
    let emulator = Emulator::with_instances(2, json!({}));
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssm-1".into(), "ssm-2".into(), "ssm-ghost".into()];
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(2),
        req,
    )
    .await;
    let by = |name: &str| report.results.iter().find(|r| r.target == name).unwrap();
    assert_eq!(
        by("ssm-1").status,
        Status::Success,
        "{}",
        reason(by("ssm-1"))
    );
    assert_eq!(
        by("ssm-2").status,
        Status::Success,
        "{}",
        reason(by("ssm-2"))
    );
    let ghost = by("ssm-ghost");
    assert_eq!(eps_code(ghost), code::UNKNOWN_ACTION_OR_TARGET);
    assert!(
        reason(ghost).contains("i-0badbadbadbadbad0"),
        "{}",
        reason(ghost)
    );
    assert!(
        reason(ghost).contains("no reachable managed instance"),
        "{}",
        reason(ghost)
    );
    assert_eq!(data(ghost)["target"], "ssm-ghost");
}
