//! Parameters and installed plugins over SSH: a large non-secret value
//! travels in the envelope (the exec command stays bounded), and a missing
//! installed plugin is a configuration error, not a broken plugin.

use rune::mediator::Status;
use rune::protocol::eps::code;

use super::{Env, eps_code, reason, run_on};
use crate::support::{fixture_catalog, request};

#[tokio::test]
async fn a_large_parameter_travels_in_the_envelope_over_ssh() {
    let env = Env::start(1);
    let blob = "b".repeat(200 * 1024);
    let mut req = request("misbehave", &[("case", "param_sizes"), ("blob", &blob)]);
    req.selector.names = vec![env.first()];
    let report = run_on(&env, env.mediator(env.settings()), &fixture_catalog(), req).await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
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
async fn a_missing_installed_plugin_is_a_configuration_error_over_ssh() {
    let env = Env::start(1);
    let dir = tempfile::tempdir().unwrap();
    let catalog_dir = dir.path().join("catalog/preinstalled");
    std::fs::create_dir_all(&catalog_dir).unwrap();
    std::fs::write(
        catalog_dir.join("action.toml"),
        "name = \"preinstalled\"\ntitle = \"P\"\ndescription = \"d\"\nversion = \"1\"\nowner = \"o\"\nrisk = \"read\"\ntimeout = \"10s\"\ninstalled = \"/nonexistent/rune-plugin\"\n",
    )
    .unwrap();
    let catalog = rune::catalog::load(&dir.path().join("catalog")).unwrap();
    let mut req = request("preinstalled", &[]);
    req.selector.names = vec![env.first()];
    let report = run_on(&env, env.mediator(env.settings()), &catalog, req).await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::CONFIGURATION, "{}", reason(result));
    assert!(
        reason(result).contains("installed plugin /nonexistent/rune-plugin is missing"),
        "{}",
        reason(result)
    );
}
