//! Every SSH failure ends in its EPS code within bounded time.

use std::time::{Duration, Instant};

use rune::mediator::{Status, TargetResult};
use rune::protocol::eps::code;

use super::{Env, eps_code, reason, run_on};
use crate::support::{eventually, fixture_catalog, process_exists, request, shipped_catalog};

/// Runs noop on one target defined inline (not part of the farm).
pub(super) async fn run_inline(
    env: &Env,
    settings: rune::transport::ssh::SshSettings,
    inventory: &str,
    target: &str,
) -> rune::mediator::Report {
    let inventory =
        rune::inventory::Inventory::parse(inventory, std::path::Path::new("inline.toml")).unwrap();
    crate::support::run_with(
        &shipped_catalog(),
        &inventory,
        noop_on(target),
        env.mediator(settings),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .0
}

fn noop_on(target: &str) -> rune::policy::RunRequest {
    let mut req = request("noop", &[]);
    req.selector.names = vec![target.into()];
    req
}

#[tokio::test]
async fn an_unauthorized_key_is_refused_naming_what_was_tried() {
    let env = Env::start(1);
    let stranger = env.farm.new_client_key("stranger", "ed25519", None, false);
    std::fs::write(
        env.ssh_dir().join("config"),
        format!("Host *\n    IdentityFile {}\n", stranger.display()),
    )
    .unwrap();
    let report = run_on(
        &env,
        env.mediator(env.settings()),
        &shipped_catalog(),
        noop_on("ssh-1"),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::AUTHENTICATION, "{}", reason(result));
    assert!(
        reason(result).contains("stranger (refused)"),
        "{}",
        reason(result)
    );
}

#[tokio::test]
async fn an_unknown_host_is_refused_with_its_fingerprint_unless_accepted() {
    let env = Env::start(1);
    std::fs::write(env.ssh_dir().join("known_hosts"), "").unwrap();
    let refused = run_on(
        &env,
        env.mediator(env.settings()),
        &shipped_catalog(),
        noop_on("ssh-1"),
    )
    .await;
    let result = &refused.results[0];
    assert_eq!(eps_code(result), code::HOST_KEY, "{}", reason(result));
    let data = &result
        .error
        .as_ref()
        .unwrap()
        .error_payload
        .error_data
        .error
        .data;
    assert!(data["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    assert!(
        reason(result).contains("--accept-new-host-keys"),
        "{}",
        reason(result)
    );

    let mut settings = env.settings();
    settings.accept_new_host_keys = true;
    let accepted = run_on(
        &env,
        env.mediator(settings),
        &shipped_catalog(),
        noop_on("ssh-1"),
    )
    .await;
    let result = &accepted.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    assert!(
        result
            .notes
            .iter()
            .any(|n| n.contains("accepted new host key SHA256:")),
        "{:?}",
        result.notes
    );
    let saved = std::fs::read_to_string(env.home.path().join("rune_known_hosts")).unwrap();
    assert!(
        saved.contains(
            env.farm
                .host_public_key()
                .split_whitespace()
                .nth(1)
                .unwrap()
        )
    );

    let again = run_on(
        &env,
        env.mediator(env.settings()),
        &shipped_catalog(),
        noop_on("ssh-1"),
    )
    .await;
    assert_eq!(
        again.results[0].status,
        Status::Success,
        "the saved key is trusted next time"
    );
    assert!(again.results[0].notes.is_empty());
}

#[tokio::test]
async fn a_changed_host_key_is_always_refused() {
    let env = Env::start(1);
    let other = env.farm.new_client_key("impostor", "ed25519", None, false);
    let impostor = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut fields = impostor.split_whitespace();
    let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
    let host = &env.farm.hosts()[0];
    std::fs::write(
        env.ssh_dir().join("known_hosts"),
        format!("[{}]:{} {kind} {blob}\n", host.addr, host.port),
    )
    .unwrap();
    let mut settings = env.settings();
    settings.accept_new_host_keys = true;
    let report = run_on(
        &env,
        env.mediator(settings),
        &shipped_catalog(),
        noop_on("ssh-1"),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::HOST_KEY, "{}", reason(result));
    assert!(reason(result).contains("CHANGED"), "{}", reason(result));
    assert!(
        !env.home.path().join("rune_known_hosts").exists(),
        "nothing was learned"
    );
}

/// A host known by an ECDSA key that now offers only ed25519 is a key
/// change, not a new host: --accept-new-host-keys must not learn it.
#[tokio::test]
async fn a_key_type_swap_is_refused_even_when_accepting_new_keys() {
    let env = Env::start(1);
    let other = env.farm.new_client_key("old-ecdsa", "ecdsa", None, false);
    let old = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut fields = old.split_whitespace();
    let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
    let host = &env.farm.hosts()[0];
    std::fs::write(
        env.ssh_dir().join("known_hosts"),
        format!("[{}]:{} {kind} {blob}\n", host.addr, host.port),
    )
    .unwrap();
    let mut settings = env.settings();
    settings.accept_new_host_keys = true;
    let report = run_on(
        &env,
        env.mediator(settings),
        &shipped_catalog(),
        noop_on("ssh-1"),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::HOST_KEY, "{}", reason(result));
    let why = reason(result);
    assert!(
        why.contains(&format!("host {}:{}", host.addr, host.port)),
        "{why}"
    );
    assert!(why.contains("offered a ssh-ed25519 key"), "{why}");
    assert!(why.contains("only ecdsa-sha2-nistp256 keys"), "{why}");
    assert!(why.contains("ssh-keygen -R"), "{why}");
    assert!(
        !env.home.path().join("rune_known_hosts").exists(),
        "nothing was learned"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_network_error_at_once() {
    let env = Env::start(1);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "[[targets]]\nname = \"closed\"\ntransport = \"ssh\"\nhost = \"127.0.0.1\"\nport = {port}\n"
    );
    let clock = Instant::now();
    let report = run_inline(&env, env.settings(), &text, "closed").await;
    assert_eq!(
        eps_code(&report.results[0]),
        code::NETWORK,
        "{}",
        reason(&report.results[0])
    );
    assert!(
        reason(&report.results[0])
            .to_lowercase()
            .contains("refused"),
        "{}",
        reason(&report.results[0])
    );
    assert!(clock.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn sshd_killed_mid_run_is_a_lost_connection() {
    let mut env = Env::start(1);
    let mut req = request("misbehave", &[("case", "sleep"), ("seconds", "30")]);
    req.selector.names = vec!["ssh-1".into()];
    let plan =
        std::sync::Arc::new(rune::policy::decide(&fixture_catalog(), &env.inventory, req).unwrap());
    let mediator = env.mediator(env.settings());
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let run = tokio::spawn(async move {
        mediator
            .run(plan, tx, tokio_util::sync::CancellationToken::new())
            .await
    });
    // The plugin announces its marker on stderr once it runs on the target.
    while let Some(event) = rx.recv().await {
        if matches!(&event, rune::mediator::ExecEvent::Stderr { line, .. } if line.starts_with("marker "))
        {
            break;
        }
    }
    let clock = Instant::now();
    env.farm.kill();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let report = run.await.unwrap();
    drain.await.unwrap();
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::NETWORK, "{}", reason(result));
    assert!(reason(result).contains("lost"), "{}", reason(result));
    assert!(clock.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_timeout_leaves_no_process_on_the_target() {
    let env = Env::start(1);
    let mut req = request("misbehave", &[("case", "sleep"), ("seconds", "120")]);
    req.selector.names = vec!["ssh-1".into()];
    req.timeout = Some(Duration::from_secs(2));
    let clock = Instant::now();
    let report = run_on(&env, env.mediator(env.settings()), &fixture_catalog(), req).await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::TimedOut, "{}", reason(result));
    assert_eq!(eps_code(result), code::TIMEOUT);
    assert!(
        clock.elapsed() < Duration::from_secs(15),
        "took {:?}",
        clock.elapsed()
    );
    let marker = marker(result);
    // The kill adds nothing to the plugin's stderr: no shell's "Killed".
    assert_eq!(
        result.stderr_tail,
        [format!("marker {marker}")],
        "stderr holds only what the plugin wrote"
    );
    eventually("the remote sleep to be killed", || !process_exists(&marker)).await;
}

/// A plugin killed by a signal is resource-exhausted as it is locally, and
/// its stderr holds nothing it did not write (the prelude's shell stays quiet).
#[tokio::test]
async fn a_plugin_killed_by_a_signal_fails_as_it_does_locally() {
    let env = Env::start(1);
    let mut req = request("misbehave", &[("case", "signal")]);
    req.selector.names = vec!["ssh-1".into()];
    let report = run_on(&env, env.mediator(env.settings()), &fixture_catalog(), req).await;
    crate::support::assert_killed_by_signal_9(&report.results[0]);
}

/// At a normal end only the plugin's process group is killed (one builtin
/// `kill`); a timeout kills its whole remote session, found by a scan of
/// /proc, so a child that moved to a process group of its own dies too.
#[tokio::test]
async fn a_timeout_kills_a_child_in_a_process_group_of_its_own() {
    let env = Env::start(1);
    let mut req = request("misbehave", &[("case", "own_group"), ("seconds", "120")]);
    req.selector.names = vec!["ssh-1".into()];
    req.timeout = Some(Duration::from_secs(2));
    let report = run_on(&env, env.mediator(env.settings()), &fixture_catalog(), req).await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::TimedOut, "{}", reason(result));
    let marker = marker(result);
    eventually("the sleep in its own process group to be killed", || {
        !process_exists(&marker)
    })
    .await;
}

#[tokio::test]
async fn the_stdout_cap_holds_over_ssh() {
    let env = Env::start(1);
    let mut req = request("misbehave", &[("case", "oversize")]);
    req.selector.names = vec!["ssh-1".into()];
    let report = run_on(&env, env.mediator(env.settings()), &fixture_catalog(), req).await;
    assert_eq!(
        eps_code(&report.results[0]),
        code::MESSAGE_TOO_LARGE,
        "{}",
        reason(&report.results[0])
    );
}

#[tokio::test]
async fn an_unresolvable_name_is_a_network_error() {
    let env = Env::start(1);
    let text = "[[targets]]\nname = \"ghost\"\ntransport = \"ssh\"\nhost = \"ghost.invalid\"\n";
    let report = run_inline(&env, env.settings(), text, "ghost").await;
    assert_eq!(
        eps_code(&report.results[0]),
        code::NETWORK,
        "{}",
        reason(&report.results[0])
    );
    assert!(
        reason(&report.results[0]).contains("ghost.invalid"),
        "{}",
        reason(&report.results[0])
    );
}

#[tokio::test]
async fn nothing_a_plugin_started_outlives_it_on_the_target() {
    let env = Env::start(1);
    let mut req = request("misbehave", &[("case", "orphan"), ("seconds", "60")]);
    req.selector.names = vec!["ssh-1".into()];
    let report = run_on(&env, env.mediator(env.settings()), &fixture_catalog(), req).await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    let marker = marker(result);
    eventually("the orphaned sleep to be reaped", || {
        !process_exists(&marker)
    })
    .await;
}

/// The process name a misbehave case announces on stderr ("marker NAME").
fn marker(result: &TargetResult) -> String {
    result
        .stderr_tail
        .iter()
        .find_map(|l| l.strip_prefix("marker "))
        .unwrap()
        .to_owned()
}
