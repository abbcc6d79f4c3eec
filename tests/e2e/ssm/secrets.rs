//! Secrets never go over SSM: SSM keeps the command text, so a secret
//! parameter is refused with a reason that says so, and nothing of it (nor
//! the decoded envelope of any run) reaches the emulator's disk or log.

use rune::mediator::Status;
use rune::protocol::eps::code;
use serde_json::{Value, json};

use super::{Emulator, inventory, on_first, reason, run_on};
use crate::support::{fixture_catalog, rune};

#[tokio::test]
async fn a_secret_parameter_is_refused_over_ssm_and_never_sent() {
    let emulator = Emulator::with_instances(1, json!({}));
    let req = on_first("misbehave", &[("case", "stdin"), ("token", "hunter2")]);
    let refusal =
        rune::policy::decide(&fixture_catalog(), &inventory(1), req).expect_err("refused");
    let eps = rune::mediator::eps::to_eps(
        &rune::mediator::eps::Failure::Refused(refusal),
        rune::mediator::eps::Scope::default(),
    );
    assert_eq!(eps.code(), code::POLICY);
    assert!(
        eps.reason().contains("SSM stores the command text"),
        "{}",
        eps.reason()
    );
    assert!(eps.reason().contains("token"), "{}", eps.reason());

    // The same through the binary: refused before anything is sent.
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inventory.toml");
    std::fs::write(
        &inv,
        format!(
            "[[targets]]\nname = \"ssm-1\"\ntransport = \"ssm\"\ninstance_id = \"{}\"\nregion = \"{}\"\n",
            super::instance_id(1),
            super::REGION
        ),
    )
    .unwrap();
    let out = rune(home.path())
        .env("RUNE_SSM_ENDPOINT", emulator.endpoint())
        .arg("--catalog")
        .arg(crate::support::root().join("tests/fixtures/catalog"))
        .arg("--inventory")
        .arg(&inv)
        .args([
            "run",
            "misbehave",
            "-t",
            "ssm-1",
            "-p",
            "case=stdin",
            "-p",
            "token=hunter2",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = &doc["error_payload"]["error_data"]["error"];
    assert_eq!(error["code"], code::POLICY);
    assert!(
        error["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("SSM stores the command text")
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));

    // Without the secret it runs; neither run left the secret (or the
    // envelope) on the emulator's disk or in its command log.
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        on_first("misbehave", &[("case", "stdin")]),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    assert_eq!(emulator.calls_of("SendCommand").len(), 1);
    assert!(
        !emulator.disk_contains("hunter2"),
        "the secret reached the emulator"
    );
    let message_id = &result.input.message_metadata.message_id;
    let instance_files: Vec<_> = emulator
        .files()
        .into_iter()
        .filter(|f| f.starts_with(emulator.state.path().join("instances")))
        .collect();
    assert!(
        instance_files.is_empty(),
        "left on the instance: {instance_files:?}"
    );
    // The command log holds the command text, as SSM does, but the envelope
    // only ever went through a pipe: nothing on disk holds it decoded.
    assert!(
        !emulator.disk_contains(message_id),
        "the envelope was written out"
    );
}
