//! AWS-side fan-out: a request's SSM executions go out as SendCommands of
//! at most 50 instances whose MaxConcurrency and MaxErrors carry
//! `--concurrency` and `--max-errors`; one ListCommandInvocations loop per
//! command follows them, each finished instance's output is read once, and
//! every target still gets its own result. Instances AWS never started
//! because MaxErrors was passed end skipped (-32504).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rune::mediator::Status;
use rune::protocol::eps::code;
use serde_json::{Value, json};

use super::{Emulator, REGION, eps_code, instance_id, instances, inventory, reason, run_on};
use crate::support::{fixture_catalog, request, shipped_catalog};

fn all(n: usize, action: &str, params: &[(&str, &str)]) -> rune::policy::RunRequest {
    let mut req = request(action, params);
    req.selector.names = (1..=n).map(|i| format!("ssm-{i}")).collect();
    req
}

/// An emulator whose instances carry `flags` by number (1-based).
fn emulator_with(count: usize, flags: &[(usize, Value)], config: Value) -> Emulator {
    let mut list = instances(count);
    for (n, flag) in flags {
        for (k, v) in flag.as_object().unwrap() {
            list[n - 1][k] = v.clone();
        }
    }
    let mut config = config;
    config["region"] = json!(REGION);
    config["instances"] = list;
    Emulator::start(config)
}

/// Each result belongs to its own target, and a success printed its own node.
fn assert_own_results(report: &rune::mediator::Report, n: usize) {
    assert_eq!(report.results.len(), n);
    let names: HashSet<&str> = report.results.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(names.len(), n, "one result per target");
    let execs: HashSet<&str> = report
        .results
        .iter()
        .map(|r| r.exec_id.0.as_str())
        .collect();
    assert_eq!(execs.len(), n, "one execution per target");
    for r in report
        .results
        .iter()
        .filter(|r| r.status == Status::Success)
    {
        let out = &r
            .output
            .as_ref()
            .unwrap()
            .payload
            .as_ref()
            .unwrap()
            .output_data;
        assert_eq!(out["context"]["node"], r.target.as_str());
    }
}

#[tokio::test]
async fn aws_runs_at_most_max_concurrency_at_once() {
    let emulator = Emulator::with_instances(5, json!({}));
    let mut req = all(5, "misbehave", &[("case", "sleep"), ("seconds", "1")]);
    req.concurrency = 2;
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(5),
        req,
    )
    .await;
    for r in &report.results {
        assert_eq!(r.status, Status::Success, "{}: {}", r.target, reason(r));
    }
    let sends = emulator.calls_of("SendCommand");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["request"]["MaxConcurrency"], "2");
    assert_eq!(sends[0]["request"]["MaxErrors"], "100%");
    let reads = emulator.calls_of("GetCommandInvocation").len();
    // The emulator's own record of when each instance ran.
    let client = emulator.client();
    let command_id = emulator.calls_of("GetCommandInvocation")[0]["request"]["CommandId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut spans = Vec::new();
    for n in 1..=5 {
        let inv = client
            .get_command_invocation()
            .command_id(&command_id)
            .instance_id(instance_id(n))
            .send()
            .await
            .unwrap();
        let start = inv.execution_start_date_time().unwrap().to_owned();
        let end = inv.execution_end_date_time().unwrap().to_owned();
        spans.push((start, end));
    }
    for (start, _) in &spans {
        let running = spans
            .iter()
            .filter(|(s, e)| s <= start && start < e)
            .count();
        assert!(running <= 2, "{running} ran at once: {spans:?}");
    }
    assert_eq!(
        reads, 5,
        "one read per finished instance; the polling is ListCommandInvocations"
    );
}

#[tokio::test]
async fn a_queued_instance_s_timeout_starts_when_it_runs() {
    // Four runs of 2 s one after another take 8 s or more: the last one
    // would be past a 6 s timeout counted from when it was handed over.
    let emulator = Emulator::with_instances(4, json!({}));
    let mut req = all(4, "misbehave", &[("case", "sleep"), ("seconds", "2")]);
    req.concurrency = 1;
    req.timeout = Some(Duration::from_secs(6));
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(4),
        req,
    )
    .await;
    assert!(clock.elapsed() >= Duration::from_secs(8), "one at a time");
    let send = &emulator.calls_of("SendCommand")[0]["request"];
    assert_eq!(send["MaxConcurrency"], "1");
    assert_eq!(
        send["TimeoutSeconds"], 30,
        "room for four waves of 6 s, and never below SSM's 30 s minimum"
    );
    for r in &report.results {
        assert_eq!(r.status, Status::Success, "{}: {}", r.target, reason(r));
    }
}

#[tokio::test]
async fn past_max_errors_aws_stops_and_the_rest_are_skipped() {
    let emulator = emulator_with(5, &[(1, json!({"broken": true}))], json!({}));
    let mut req = all(5, "noop", &[]);
    req.concurrency = 1;
    req.max_errors = Some(0);
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(5),
        req,
    )
    .await;
    let sends = emulator.calls_of("SendCommand");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["request"]["MaxErrors"], "0");
    assert_eq!(sends[0]["request"]["MaxConcurrency"], "1");
    assert_eq!(report.results[0].status, Status::Failed);
    for r in &report.results[1..] {
        assert_eq!(r.status, Status::Skipped, "{}: {}", r.target, reason(r));
        assert_eq!(eps_code(r), code::POLICY);
        assert!(reason(r).contains("--max-errors"), "{}", reason(r));
        assert!(reason(r).contains("Terminated"), "{}", reason(r));
    }
    assert_eq!(report.count(Status::Skipped), 4);
    let reads: Vec<Value> = emulator.calls_of("GetCommandInvocation");
    assert_eq!(reads.len(), 1, "only the one that ran is read");
}

#[tokio::test]
async fn fifty_targets_with_a_stuck_one_all_get_their_own_result() {
    let emulator = emulator_with(
        50,
        &[(17, json!({"stuck": true}))],
        json!({
            "invocation_page_size": 7,
            "faults": {"throttle": {"ops": ["ListCommandInvocations"], "count": 3}},
        }),
    );
    let mut req = all(50, "noop", &[]);
    req.concurrency = 50;
    req.timeout = Some(Duration::from_secs(4));
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(50),
        req,
    )
    .await;
    let wall = clock.elapsed();
    assert_own_results(&report, 50);
    for r in &report.results {
        if r.target == "ssm-17" {
            assert_eq!(r.status, Status::TimedOut, "{}", reason(r));
            assert_eq!(eps_code(r), code::TIMEOUT);
        } else {
            assert_eq!(r.status, Status::Success, "{}: {}", r.target, reason(r));
        }
    }
    let sends = emulator.calls_of("SendCommand");
    let sizes: Vec<usize> = sends
        .iter()
        .map(|c| c["request"]["InstanceIds"].as_array().unwrap().len())
        .collect();
    // 50 envelopes pass the size budget of one command: two commands.
    assert!(sends.len() <= 2, "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 50);
    let cancels = emulator.calls_of("CancelCommand");
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0]["request"]["InstanceIds"][0], instance_id(17));
    assert_eq!(emulator.calls_of("GetCommandInvocation").len(), 49);
    let lists = emulator.calls_of("ListCommandInvocations");
    eprintln!(
        "50 targets, one stuck: {} SendCommand {sizes:?}, {} ListCommandInvocations pages, 49 \
         reads, {wall:?}",
        sends.len(),
        lists.len()
    );
}

#[tokio::test]
async fn a_hundred_and_twenty_targets_go_out_in_three_commands() {
    let emulator = Emulator::with_instances(120, json!({}));
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssm-[0-9]*".into()];
    req.concurrency = 60;
    let clock = Instant::now();
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &shipped_catalog(),
        &inventory(120),
        req,
    )
    .await;
    let wall = clock.elapsed();
    assert_own_results(&report, 120);
    for r in &report.results {
        assert_eq!(r.status, Status::Success, "{}: {}", r.target, reason(r));
    }
    let sends = emulator.calls_of("SendCommand");
    let sizes: Vec<usize> = sends
        .iter()
        .map(|c| c["request"]["InstanceIds"].as_array().unwrap().len())
        .collect();
    // At least three (50 ids at most each); a few more when the size
    // budget or the batch window splits one.
    assert!((3..=6).contains(&sizes.len()), "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 50), "{sizes:?}");
    let ids: HashSet<&str> = sends
        .iter()
        .flat_map(|c| c["request"]["InstanceIds"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 120, "every instance exactly once");
    let concurrency: usize = sends
        .iter()
        .map(|c| {
            c["request"]["MaxConcurrency"]
                .as_str()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert!(concurrency <= 60, "the commands share --concurrency");
    assert_eq!(emulator.calls_of("GetCommandInvocation").len(), 120);
    let lists = emulator.calls_of("ListCommandInvocations").len();
    eprintln!(
        "120 targets: {} SendCommand {sizes:?}, {lists} ListCommandInvocations, 120 \
         GetCommandInvocation, {wall:?}",
        sends.len()
    );
}
