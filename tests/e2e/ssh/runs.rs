//! What works over SSH: shipped actions, the CLI as a new user runs it,
//! fan-out, pooled connections, jump hosts, agent and passphrase keys.

use std::time::{Duration, Instant};

use rune::mediator::{Mediator, Status};
use rune::protocol::eps::code;
use rune::transport::Transports;
use tokio_util::sync::CancellationToken;

use super::{Env, eps_code, reason, run_on};
use crate::support::{fixture_catalog, request, run_with, rune, shipped_catalog};

#[tokio::test]
async fn every_shipped_action_runs_over_ssh() {
    let env = Env::start(1);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "one\ntwo\n").unwrap();
    let log = log.to_str().unwrap();
    // (action, parameters, the plugin's error code; 0 for success)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], i64);
    let cases: &[Case<'_>] = &[
        ("noop", &[("message", "over ssh")], 0),
        ("host-facts", &[], 0),
        ("disk-usage", &[("path", "/etc"), ("top", "3")], 0),
        ("tail-logs", &[("path", log), ("lines", "1")], 0),
        ("check-port", &[("host", "127.0.0.1"), ("port", "1")], 0),
        ("process-top", &[("count", "2")], 0),
        ("cert-expiry", &[("path", "/nonexistent.pem")], 1),
    ];
    let mediator = env.mediator(env.settings());
    for (action, params, plugin_code) in cases {
        let mut req = request(action, params);
        req.selector.names = vec![env.first()];
        let report = run_on(&env, mediator.clone(), &shipped_catalog(), req).await;
        let result = &report.results[0];
        assert_eq!(result.transport, "ssh");
        if *plugin_code == 0 {
            assert_eq!(
                result.status,
                Status::Success,
                "{action}: {}",
                reason(result)
            );
            assert_eq!(result.mode.as_deref(), Some("bundle"));
        } else {
            let data = &result
                .error
                .as_ref()
                .unwrap()
                .error_payload
                .error_data
                .error
                .data;
            assert_eq!(
                data["plugin_error_code"],
                *plugin_code,
                "{action}: {}",
                reason(result)
            );
        }
    }
    let mut req = request("tail-logs", &[("path", log), ("lines", "1")]);
    req.selector.names = vec![env.first()];
    let report = run_on(&env, mediator, &shipped_catalog(), req).await;
    let data = &report.results[0]
        .output
        .as_ref()
        .unwrap()
        .payload
        .as_ref()
        .unwrap()
        .output_data;
    assert_eq!(data["lines"][0], "two");
}

#[test]
fn a_new_user_runs_host_facts_on_an_ssh_target_from_the_cli() {
    let env = Env::start(1);
    let inventory = env.home.path().join("inventory.toml");
    std::fs::write(&inventory, env.farm.inventory_toml()).unwrap();
    let out = rune(env.home.path())
        .arg("--inventory")
        .arg(&inventory)
        .args(["run", "host-facts", "-t", "ssh-1", "-o", "json"])
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let result = &doc["results"][0];
    assert_eq!(result["transport"], "ssh");
    assert!(result["output"]["payload"]["output_data"]["hostname"].is_string());
}

#[tokio::test]
async fn fifty_targets_at_concurrency_fifty() {
    let env = Env::start(50);
    let mut req = request("noop", &[]);
    req.selector.names = vec!["ssh-*".into()];
    req.concurrency = 50;
    let clock = Instant::now();
    let report = run_on(&env, env.mediator(env.settings()), &shipped_catalog(), req).await;
    assert_eq!(report.results.len(), 50);
    for result in &report.results {
        assert_eq!(
            result.status,
            Status::Success,
            "{}: {}",
            result.target,
            reason(result)
        );
    }
    assert!(
        clock.elapsed() < Duration::from_secs(60),
        "took {:?}",
        clock.elapsed()
    );
}

/// Several targets resolving to one endpoint share one pooled connection;
/// stderr floods on all of them, read by a consumer that lags, must not
/// stall that connection.
#[tokio::test]
async fn concurrent_channels_on_one_connection_survive_a_slow_reader() {
    let env = Env::start(1);
    let host = &env.farm.hosts()[0];
    let mut text = String::new();
    for i in 0..6 {
        text += &format!(
            "[[targets]]\nname = \"alias-{i}\"\ntransport = \"ssh\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n",
            host.addr,
            host.port,
            env.farm.user()
        );
    }
    let inventory =
        rune::inventory::Inventory::parse(&text, std::path::Path::new("aliases.toml")).unwrap();
    let mut req = request("misbehave", &[("case", "flood")]);
    req.selector.names = vec!["alias-*".into()];
    req.concurrency = 6;
    let plan =
        std::sync::Arc::new(rune::policy::decide(&fixture_catalog(), &inventory, req).unwrap());
    let mut mediator = env.mediator(env.settings());
    // Every line streamed, past the default cap: the slow reader must see them all.
    mediator.limits.stream_lines = 100_000;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let slow = async {
        let mut n = 0u64;
        while rx.recv().await.is_some() {
            n += 1;
            if n.is_multiple_of(2000) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        n
    };
    let clock = Instant::now();
    let (report, seen) = tokio::join!(mediator.run(plan, tx, CancellationToken::new()), slow);
    assert!(
        clock.elapsed() < Duration::from_secs(60),
        "took {:?}",
        clock.elapsed()
    );
    for result in &report.results {
        assert_eq!(
            result.status,
            Status::Success,
            "{}: {}",
            result.target,
            reason(result)
        );
        assert_eq!(
            result.stderr_lines, 20_001,
            "every line arrived on {}",
            result.target
        );
    }
    assert!(seen > 6 * 20_000);
}

#[tokio::test]
async fn a_jump_host_carries_the_connection() {
    let env = Env::start(2);
    let [jump, target] = [&env.farm.hosts()[0], &env.farm.hosts()[1]];
    let config = format!(
        "Host inner\n    HostName {}\n    Port {}\n    User {}\n    ProxyJump {}@{}:{}\nHost *\n    IdentityFile {}\n",
        target.addr,
        target.port,
        env.farm.user(),
        env.farm.user(),
        jump.addr,
        jump.port,
        env.farm.client_key().display()
    );
    std::fs::write(env.ssh_dir().join("config"), config).unwrap();
    let inventory = rune::inventory::Inventory::parse(
        "[[targets]]\nname = \"behind\"\ntransport = \"ssh\"\nhost = \"inner\"\n",
        std::path::Path::new("jump.toml"),
    )
    .unwrap();
    let mut req = request("noop", &[]);
    req.selector.names = vec!["behind".into()];
    let report = run_with(
        &shipped_catalog(),
        &inventory,
        req,
        env.mediator(env.settings()),
        CancellationToken::new(),
    )
    .await
    .0;
    assert_eq!(
        report.results[0].status,
        Status::Success,
        "{}",
        reason(&report.results[0])
    );
}

#[tokio::test]
async fn encrypted_keys_work_through_the_agent_and_with_a_passphrase() {
    let env = Env::start(1);
    let key = env
        .farm
        .new_client_key("locked", "ecdsa", Some("s3cret pass"), true);
    std::fs::write(
        env.ssh_dir().join("config"),
        format!("Host *\n    IdentityFile {}\n", key.display()),
    )
    .unwrap();
    let mut req = request("noop", &[]);
    req.selector.names = vec![env.first()];

    let without = run_on(
        &env,
        env.mediator(env.settings()),
        &shipped_catalog(),
        req.clone(),
    )
    .await;
    assert_eq!(eps_code(&without.results[0]), code::AUTHENTICATION);
    assert!(
        reason(&without.results[0]).contains("RUNE_SSH_PASSPHRASE"),
        "{}",
        reason(&without.results[0])
    );

    let mut settings = env.settings();
    settings.passphrase = Some("s3cret pass".into());
    let with = run_on(
        &env,
        env.mediator(settings),
        &shipped_catalog(),
        req.clone(),
    )
    .await;
    assert_eq!(
        with.results[0].status,
        Status::Success,
        "{}",
        reason(&with.results[0])
    );

    let agent = env
        .farm
        .start_agent(&[(key.as_path(), Some("s3cret pass"))]);
    std::fs::write(
        env.ssh_dir().join("config"),
        "Host *\n    IdentityFile /nonexistent/key\n",
    )
    .unwrap();
    let mut settings = env.settings();
    settings.agent = Some(agent.sock.clone());
    let via_agent = run_on(
        &env,
        Mediator::new(Transports::standard(settings).unwrap().0),
        &shipped_catalog(),
        req,
    )
    .await;
    assert_eq!(
        via_agent.results[0].status,
        Status::Success,
        "{}",
        reason(&via_agent.results[0])
    );
}

#[tokio::test]
async fn a_preinstalled_plugin_runs_in_installed_mode() {
    let env = Env::start(1);
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("installed-plugin");
    std::fs::write(
        &plugin,
        "#!/bin/sh\ncat >/dev/null\necho '{\"message_metadata\":{\"message_id\":\"i\"},\"payload\":{\"result\":\"success\",\"output_data\":{\"where\":\"installed\"}}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let catalog_dir = dir.path().join("catalog/preinstalled");
    std::fs::create_dir_all(&catalog_dir).unwrap();
    std::fs::write(
        catalog_dir.join("action.toml"),
        format!(
            "name = \"preinstalled\"\ntitle = \"P\"\ndescription = \"d\"\nversion = \"1\"\nowner = \"o\"\nrisk = \"read\"\ntimeout = \"10s\"\ninstalled = \"{}\"\n",
            plugin.display()
        ),
    )
    .unwrap();
    let catalog = rune::catalog::load(&dir.path().join("catalog")).unwrap();
    let mut req = request("preinstalled", &[]);
    req.selector.names = vec![env.first()];
    let report = run_on(&env, env.mediator(env.settings()), &catalog, req).await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    assert_eq!(result.mode.as_deref(), Some("installed"));
    assert_eq!(
        result
            .output
            .as_ref()
            .unwrap()
            .payload
            .as_ref()
            .unwrap()
            .output_data["where"],
        "installed"
    );
}
