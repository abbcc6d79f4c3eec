//! The engine's one gate, through its public API as both front ends use it:
//! a refused request records nothing, a console request that skipped its
//! confirmation is refused, and a verify follow-up passes the same risk
//! gate as a first run (it inherits what the operator confirmed, no more).

use std::path::Path;

use rune::engine::{Engine, RunEvent, RunOutcome, Settings, SshOptions};
use rune::inventory::Inventory;
use rune::journal::Journal;
use rune::mediator::eps::Failure;
use rune::policy::{Confirmation, Refusal, RunRequest, Source};
use tokio::sync::mpsc;

use crate::support::{request, root};

/// A catalog of `probe` (read) whose verify is `fix` (high), both running
/// the misbehave fixture plugin.
fn gate_catalog(dir: &Path) -> rune::catalog::Catalog {
    let source = root().join("tests/fixtures/catalog");
    for sub in ["lib", "probe", "fix"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy(source.join("lib/echo-ids.sh"), dir.join("lib/echo-ids.sh")).unwrap();
    for (name, risk, verify) in [("probe", "read", "verify = \"fix\"\n"), ("fix", "high", "")] {
        std::fs::copy(
            source.join("misbehave/run.sh"),
            dir.join(name).join("run.sh"),
        )
        .unwrap();
        std::fs::write(
            dir.join(name).join("action.toml"),
            format!(
                "name = \"{name}\"\ntitle = \"{name}\"\ndescription = \"gate test\"\nversion = \"0.1.0\"\n\
                 owner = \"rune-tests\"\nrisk = \"{risk}\"\ntimeout = \"10s\"\nentry = \"run.sh\"\n\
                 files = [\"../lib/echo-ids.sh\"]\n{verify}\n[params.case]\ntype = \"string\"\nrequired = true\n"
            ),
        )
        .unwrap();
    }
    rune::catalog::load(dir).unwrap()
}

fn engine(catalog: rune::catalog::Catalog, journal: &Path) -> Engine {
    let settings = Settings {
        catalog,
        inventory: Inventory::default(),
        journal: journal.to_path_buf(),
        config: Default::default(),
        ssh: SshOptions::default(),
        ssm: Default::default(),
        limits: Default::default(),
        concurrency: None,
    };
    Engine::open(settings).unwrap().0
}

/// Submits `request` and returns every event the sink saw, and the outcome.
async fn submit(
    engine: &Engine,
    request: RunRequest,
) -> (Vec<RunEvent>, Result<std::sync::Arc<RunOutcome>, Failure>) {
    let (tx, mut rx) = mpsc::channel::<RunEvent>(64);
    let handle = engine.submit(request, tx);
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    (events, handle.finish().await)
}

fn requests_in(journal: &Path) -> usize {
    let conn = rusqlite::Connection::open(journal).unwrap();
    conn.query_row(
        "select count(*) from events where kind = 'request'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as usize
}

#[tokio::test]
async fn a_refused_request_records_nothing_and_opens_no_incident() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let engine = engine(gate_catalog(&dir.path().join("catalog")), &journal);
    let mut high = request("fix", &[("case", "ok")]);
    high.incident = None;
    high.confirmation = Confirmation::None;
    let (events, outcome) = submit(&engine, high).await;
    assert!(
        matches!(
            outcome,
            Err(Failure::Refused(Refusal::NeedsConfirmation { ref action })) if action == "fix"
        ),
        "{outcome:?}"
    );
    // The sink's only event is the end: no incident, no request.
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(!journal.exists(), "a refused request created the journal");
}

#[tokio::test]
async fn a_console_change_without_its_confirmation_screen_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let engine = engine(crate::support::fixture_catalog(), &journal);
    // flaky is a `change` action: the CLI runs it unconfirmed, the console never.
    let mut console = request("flaky", &[("case", "ok")]);
    console.incident = None;
    console.source = Source::Console;
    console.confirmation = Confirmation::None;
    let (_, outcome) = submit(&engine, console.clone()).await;
    assert!(
        matches!(
            outcome,
            Err(Failure::Refused(Refusal::NeedsAcknowledgement { .. }))
        ),
        "{outcome:?}"
    );
    assert!(!journal.exists());
    console.confirmation = Confirmation::Explicit;
    let (_, outcome) = submit(&engine, console).await;
    let outcome = outcome.unwrap();
    assert!(outcome.first().unwrap().1.all_succeeded());
    // Confirmed once, it ran and so did its verify (misbehave, read).
    assert_eq!(outcome.runs.len(), 2);
    assert_eq!(requests_in(&journal), 2);
}

#[tokio::test]
async fn a_verify_follow_up_passes_the_same_gate_as_a_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let engine = engine(gate_catalog(&dir.path().join("catalog")), &journal);

    // probe is read-only and needs no confirmation from the CLI; its verify
    // `fix` is high-risk: the follow-up inherits "none" and is refused.
    let mut unconfirmed = request("probe", &[("case", "ok")]);
    unconfirmed.incident = None;
    unconfirmed.confirmation = Confirmation::None;
    let (events, outcome) = submit(&engine, unconfirmed.clone()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.runs.len(), 1, "the verify ran unconfirmed");
    assert!(events.iter().any(|e| matches!(
        e,
        RunEvent::VerifyRefused(Refusal::NeedsConfirmation { action }) if action == "fix"
    )));
    assert_eq!(requests_in(&journal), 1);

    // Confirmed explicitly, the same request's verify passes the gate.
    unconfirmed.confirmation = Confirmation::Explicit;
    let (events, outcome) = submit(&engine, unconfirmed).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.runs.len(), 2);
    assert!(outcome.verify().unwrap().0.is_verify());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RunEvent::VerifyRefused(_)))
    );
    assert_eq!(requests_in(&journal), 3);
    // Both runs of the second request share the incident the first chose.
    let journal = Journal::open_existing(&journal).unwrap();
    assert_eq!(journal.incidents().unwrap().len(), 1);
}

#[tokio::test]
async fn the_sink_sees_the_incident_then_each_request_before_its_executions() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let engine = engine(crate::support::fixture_catalog(), &journal);
    let mut ok = request("misbehave", &[("case", "ok")]);
    ok.incident = None;
    let (events, outcome) = submit(&engine, ok).await;
    let outcome = outcome.unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| match e {
            RunEvent::Incident { .. } => "incident",
            RunEvent::Requested(_) => "requested",
            RunEvent::Exec(rune::mediator::ExecEvent::Started { .. }) => "started",
            RunEvent::Exec(rune::mediator::ExecEvent::Finished { .. }) => "finished",
            RunEvent::Exec(_) => "stream",
            RunEvent::Finished { .. } => "report",
            RunEvent::VerifyRefused(_) => "verify refused",
            RunEvent::Done(_) => "done",
        })
        .filter(|n| *n != "stream")
        .collect();
    assert_eq!(
        names,
        [
            "incident",
            "requested",
            "started",
            "finished",
            "report",
            "done"
        ]
    );
    // The plan and RCS request carry the incident the engine chose.
    let (plan, _) = outcome.first().unwrap();
    assert_eq!(plan.incident_id, outcome.incident);
    let context = &plan.request.payload.data.context;
    assert_eq!(context["incident_id"], outcome.incident.as_str());
    assert!(
        plan.request
            .routing
            .routing_tags
            .contains(&format!("incident:{}", outcome.incident))
    );
    assert_eq!(
        outcome.head.0,
        Journal::open_existing(&journal).unwrap().head().0
    );
}
