//! The single-target SSH and SSM fault cases (ssh/failures.rs,
//! ssm/faults.rs) mixed into 50-target fan-outs: the healthy targets must
//! still succeed, each broken one must end in its own EPS code, and the
//! run must not wait on the broken ones longer than their own bound.
//! SSM is driven only through the mediator (black box): the transport's
//! fan-out internals are not this module's business.

use std::path::Path;
use std::time::{Duration, Instant};

use rune::inventory::Inventory;
use rune::mediator::{Status, TargetResult};
use rune::protocol::eps::code;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Nap;
use crate::ssh::Env;
use crate::ssm::{Emulator, instance_id, inventory};
use crate::support::{request, run_with, shipped_catalog};

/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(4);

fn code_of(result: &TargetResult) -> i64 {
    result.error.as_ref().map_or(0, |e| e.code())
}

fn reason_of(result: &TargetResult) -> String {
    result
        .error
        .as_ref()
        .map_or_else(String::new, |e| e.reason().to_owned())
}

fn by_name<'a>(results: &'a [TargetResult], name: &str) -> &'a TargetResult {
    results.iter().find(|r| r.target == name).unwrap()
}

/// 46 healthy hosts, two closed ports, one TCP peer that never sends a
/// banner and one host whose key changed, all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_ssh_targets_with_dead_silent_and_changed_key_hosts() {
    let env = Env::start(47);
    let nap = Nap::new("sshmix");
    let impostor = env.farm.new_client_key("impostor", "ed25519", None, false);
    let impostor = std::fs::read_to_string(impostor.with_extension("pub")).unwrap();
    let impostor: Vec<&str> = impostor.split_whitespace().take(2).collect();
    let mut known = String::new();
    for host in env.farm.hosts() {
        let key = if host.name == "ssh-47" {
            impostor.join(" ")
        } else {
            env.farm.host_public_key()
        };
        known += &format!("[{}]:{} {key}\n", host.addr, host.port);
    }
    std::fs::write(env.ssh_dir().join("known_hosts"), known).unwrap();
    let closed = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // Bound and never accepted: the kernel completes the handshake, nobody speaks.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut text = env.farm.inventory_toml();
    for (name, port) in [
        ("dead-1", closed()),
        ("dead-2", closed()),
        ("silent", silent.local_addr().unwrap().port()),
    ] {
        text += &format!(
            "\n[[targets]]\nname = \"{name}\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {port}\n"
        );
    }
    let inventory = Inventory::parse(&text, Path::new("mixed.toml")).unwrap();
    let pairs = nap.pairs("1");
    let params: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    let mut req = request("nap", &params);
    req.selector.names = vec!["ssh-*".into(), "dead-*".into(), "silent".into()];
    req.concurrency = 50;
    let mut settings = env.settings();
    settings.connect_timeout = Duration::from_secs(2);
    let catalog = rune::catalog::load(&nap.catalog).unwrap();
    let clock = Instant::now();
    let (report, _) = run_with(
        &catalog,
        &inventory,
        req,
        env.mediator(settings.clone()),
        CancellationToken::new(),
    )
    .await;
    let took = clock.elapsed();
    let results = &report.results;
    assert_eq!(results.len(), 50);
    for name in ["dead-1", "dead-2"] {
        let r = by_name(results, name);
        assert_eq!(code_of(r), code::NETWORK, "{name}: {}", reason_of(r));
        assert!(
            reason_of(r).to_lowercase().contains("refused"),
            "{}",
            reason_of(r)
        );
    }
    let r = by_name(results, "silent");
    assert_eq!(code_of(r), code::NETWORK, "{}", reason_of(r));
    // A peer that accepts and never speaks ends at the banner timeout.
    assert!(reason_of(r).contains("banner"), "{}", reason_of(r));
    let r = by_name(results, "ssh-47");
    assert_eq!(code_of(r), code::HOST_KEY, "{}", reason_of(r));
    assert!(reason_of(r).contains("CHANGED"), "{}", reason_of(r));
    let live: Vec<&TargetResult> = results
        .iter()
        .filter(|r| r.status == Status::Success)
        .collect();
    assert_eq!(
        live.len(),
        46,
        "{:?}",
        results.iter().map(reason_of).collect::<Vec<_>>()
    );
    // Nothing ran where the host key was wrong.
    let started = nap.started();
    assert_eq!(started.len(), 46);
    assert!(!started.contains(&"ssh-47".to_owned()));
    let slowest = live.iter().map(|r| r.duration_ms).max().unwrap();
    let bound = Duration::from_millis(slowest) + settings.connect_timeout + SLACK;
    assert!(took < bound, "took {took:?}, over {bound:?}");
    eprintln!(
        "ssh fan-out: 46 ok (slowest {slowest} ms), 2 refused, 1 silent, 1 changed key; whole run {took:?}"
    );
}

/// 50 instances behind a throttling endpoint, one of them stuck, plus one
/// instance the service does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_ssm_instances_with_throttling_a_stuck_one_and_an_unknown_one() {
    // Healthy targets take about 4 s here (the emulator is Python and runs
    // bash for each of them on a shared 2-core machine).
    const TIMEOUT: Duration = Duration::from_secs(8);
    let emulator = Emulator::with_instances(
        50,
        json!({"throttle": {"count": 4}, "stuck": [instance_id(50)]}),
    );
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssm-*".into()];
    req.concurrency = 50;
    req.timeout = Some(TIMEOUT);
    let clock = Instant::now();
    let (report, _) = run_with(
        &shipped_catalog(),
        &inventory(50),
        req,
        emulator.mediator(emulator.settings()),
        CancellationToken::new(),
    )
    .await;
    let took = clock.elapsed();
    let results = &report.results;
    assert_eq!(results.len(), 51);
    let r = by_name(results, "ssm-ghost");
    assert_eq!(
        code_of(r),
        code::UNKNOWN_ACTION_OR_TARGET,
        "{}",
        reason_of(r)
    );
    assert!(
        reason_of(r).contains("i-0badbadbadbadbad0"),
        "{}",
        reason_of(r)
    );
    let r = by_name(results, "ssm-50");
    assert_eq!(r.status, Status::TimedOut, "{}", reason_of(r));
    assert_eq!(code_of(r), code::TIMEOUT);
    let ok = report.count(Status::Success);
    assert_eq!(
        ok,
        49,
        "{:?}",
        results
            .iter()
            .filter(|r| r.status != Status::Success)
            .map(|r| (&r.target, reason_of(r)))
            .collect::<Vec<_>>()
    );
    let throttled = emulator
        .calls()
        .iter()
        .filter(|c| c["error"] == "ThrottlingException")
        .count();
    assert_eq!(throttled, 4, "the throttling never happened");
    let cancels = emulator.calls_of("CancelCommand");
    assert!(!cancels.is_empty(), "the stuck command was never cancelled");
    // The stuck one bounds the run: its timeout, the cancel, and polling.
    let bound = TIMEOUT + emulator.settings().attempt_timeout + SLACK;
    assert!(took < bound, "took {took:?}, over {bound:?}");
    let slowest = results
        .iter()
        .filter(|r| r.status == Status::Success)
        .map(|r| r.duration_ms)
        .max()
        .unwrap();
    eprintln!(
        "ssm fan-out: {ok} ok (slowest {slowest} ms), 1 stuck timed out, 1 unknown; {throttled} calls throttled, \
         {} SendCommand calls; whole run {took:?}",
        emulator.calls_of("SendCommand").len()
    );
}
