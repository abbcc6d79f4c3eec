//! The confirmation as the one gate: what it needs per risk, that it
//! submits exactly what it shows, and that a re-run of failed targets goes
//! through it like a first run.

use crossterm::event::KeyCode;

use super::super::tests::{app, finished, press, started, type_text, walk_to_confirm};
use crate::mediator::Status;
use crate::policy::{Confirmation, RunRequest};
use crate::tui::app::{App, Screen};
use crate::tui::msg::{Cmd, Msg};
use crate::tui::update::update;

fn submitted(cmds: &[Cmd]) -> &RunRequest {
    match cmds {
        [Cmd::Submit(request)] => request,
        other => panic!("expected one submit, got {other:?}"),
    }
}

fn no_submit(cmds: &[Cmd]) {
    assert!(
        !cmds.iter().any(|c| matches!(c, Cmd::Submit(_))),
        "nothing may be submitted here: {cmds:?}"
    );
}

/// Confirms restart-service (high risk) on web-1 and web-2, then the loop
/// reports web-1 ok and web-2 failed.
fn failed_high_risk_run(app: &mut App) {
    walk_to_confirm(app);
    type_text(app, "restart-service");
    submitted(&press(app, KeyCode::Enter));
    update(app, started("restart-service", &["web-1", "web-2"]));
    update(app, finished("web-1", Status::Success, None));
    update(app, finished("web-2", Status::Failed, Some(-32010)));
    update(
        app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    assert_eq!(app.screen, Screen::Run);
}

#[test]
fn a_high_risk_action_needs_its_name_typed() {
    let mut app = app();
    walk_to_confirm(&mut app);
    type_text(&mut app, "restart");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("type restart-service")
    );
}

#[test]
fn a_run_uses_the_configured_concurrency() {
    let mut app = app();
    app.concurrency = 50;
    walk_to_confirm(&mut app);
    let plan = shown_plan(&app);
    assert!(
        plan.iter().any(|l| l.contains("concurrency 50 ")),
        "{plan:?}"
    );
    type_text(&mut app, "restart-service");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(submitted(&cmds).concurrency, 50);
}

#[test]
fn a_second_enter_before_the_run_starts_submits_nothing() {
    let mut app = app();
    walk_to_confirm(&mut app);
    type_text(&mut app, "restart-service");
    submitted(&press(&mut app, KeyCode::Enter));
    no_submit(&press(&mut app, KeyCode::Enter));
    assert!(app.notice.as_deref().unwrap().contains("submitted already"));
    // A refused request never starts: the operator may confirm again.
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: Some("refused: no".into()),
        },
    );
    app.overlay = crate::tui::app::Overlay::None;
    submitted(&press(&mut app, KeyCode::Enter));
}

#[test]
fn rerun_of_a_failed_high_risk_run_opens_the_confirmation_for_the_failed_targets() {
    let mut app = app();
    failed_high_risk_run(&mut app);
    let cmds = press(&mut app, KeyCode::Char('r'));
    no_submit(&cmds);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.screen, Screen::Confirm);
    assert!(app.confirm.rerun);
    assert_eq!(app.confirm.targets, ["web-2"]);
    let plan = shown_plan(&app);
    assert!(plan.contains(&"targets  1".to_owned()), "{plan:?}");
    assert!(
        plan.iter().any(|l| l.starts_with("  web-2 via ssh")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|l| l.contains("web-1")), "{plan:?}");
    assert!(plan.contains(&"  unit = nginx".to_owned()), "{plan:?}");
    // The picker keeps its selection: the re-run is not the picker's run.
    assert_eq!(app.picker.selected.len(), 2);
}

#[test]
fn rerun_of_a_high_risk_action_without_its_name_typed_submits_nothing() {
    let mut app = app();
    failed_high_risk_run(&mut app);
    press(&mut app, KeyCode::Char('r'));
    no_submit(&press(&mut app, KeyCode::Enter));
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("type restart-service")
    );
    // The first run's typed name does not carry over.
    type_text(&mut app, "restart-servic");
    no_submit(&press(&mut app, KeyCode::Enter));
    assert_eq!(app.screen, Screen::Confirm);
}

#[test]
fn rerun_after_the_name_is_typed_submits_only_the_failed_targets() {
    let mut app = app();
    failed_high_risk_run(&mut app);
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "restart-service");
    let cmds = press(&mut app, KeyCode::Enter);
    let request = submitted(&cmds);
    assert_eq!(request.action, "restart-service");
    assert_eq!(request.selector.names, ["web-2"]);
    assert!(request.selector.tags.is_empty());
    assert_eq!(request.confirmation, Confirmation::Explicit);
    let crate::policy::ParamInput::Typed(params) = &request.params else {
        panic!("typed params")
    };
    assert_eq!(params["unit"], "nginx");
}

#[test]
fn esc_on_a_rerun_confirmation_goes_back_to_the_run() {
    let mut app = app();
    failed_high_risk_run(&mut app);
    press(&mut app, KeyCode::Char('r'));
    no_submit(&press(&mut app, KeyCode::Esc));
    assert_eq!(app.screen, Screen::Run);
}

#[test]
fn rerun_of_a_read_action_needs_enter() {
    let mut app = app();
    type_text(&mut app, "disk");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('a'));
    for _ in 0..3 {
        press(&mut app, KeyCode::Enter);
    }
    assert_eq!(app.screen, Screen::Confirm);
    submitted(&press(&mut app, KeyCode::Enter));
    update(&mut app, started("disk-usage", &["db-1", "web-1", "web-2"]));
    update(&mut app, finished("db-1", Status::Failed, Some(-32010)));
    update(&mut app, finished("web-1", Status::Success, None));
    update(&mut app, finished("web-2", Status::TimedOut, Some(-32010)));
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    no_submit(&press(&mut app, KeyCode::Char('r')));
    assert_eq!(app.screen, Screen::Confirm);
    assert_eq!(app.confirm.targets, ["db-1", "web-2"]);
    let cmds = press(&mut app, KeyCode::Enter);
    let request = submitted(&cmds);
    assert_eq!(request.action, "disk-usage");
    assert_eq!(request.selector.names, ["db-1", "web-2"]);
}

#[test]
fn rerun_of_a_verified_run_re_runs_the_action_not_the_check() {
    let mut app = app();
    walk_to_confirm(&mut app);
    type_text(&mut app, "restart-service");
    submitted(&press(&mut app, KeyCode::Enter));
    update(&mut app, started("restart-service", &["web-1", "web-2"]));
    let mut verify = started("service-status", &["web-1", "web-2"]);
    if let Msg::RunStarted { verify: v, .. } = &mut verify {
        *v = true;
    }
    update(&mut app, verify);
    update(&mut app, finished("web-1", Status::Failed, Some(-32010)));
    update(&mut app, finished("web-2", Status::Success, None));
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    no_submit(&press(&mut app, KeyCode::Char('r')));
    assert_eq!(
        app.confirm.action.as_ref().map(|a| a.name.as_str()),
        Some("restart-service")
    );
    assert_eq!(app.confirm.targets, ["web-1"]);
}

#[test]
fn a_run_not_confirmed_here_is_not_re_run() {
    let mut app = app();
    super::super::tests::run_with_outcomes(&mut app);
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    no_submit(&press(&mut app, KeyCode::Char('r')));
    assert_eq!(app.screen, Screen::Run);
    assert!(app.notice.as_deref().unwrap().contains("not confirmed"));
}

/// The source of every handler: one place may mark a request confirmed.
#[test]
fn only_the_confirmation_builds_an_explicitly_confirmed_request() {
    // Spelled in two halves so that this file does not count itself.
    let needle = ["Confirmation::", "Explicit"].concat();
    let sources = [
        ("mod.rs", include_str!("../mod.rs")),
        ("catalog.rs", include_str!("../catalog.rs")),
        ("targets.rs", include_str!("../targets.rs")),
        ("params.rs", include_str!("../params.rs")),
        ("run.rs", include_str!("../run.rs")),
        ("journal.rs", include_str!("../journal.rs")),
        ("overlay.rs", include_str!("../overlay.rs")),
        ("edit.rs", include_str!("../edit.rs")),
    ];
    for (file, text) in sources {
        assert!(!text.contains(&needle), "{file} builds a confirmed request");
    }
    let confirm = include_str!("../confirm.rs");
    assert_eq!(
        confirm.matches(&needle).count(),
        1,
        "one place in confirm.rs"
    );
    assert!(!include_str!("../../term.rs").contains(&needle));
}

/// The plan lines the confirmation shows: the engine's, answered by `press`.
fn shown_plan(app: &crate::tui::app::App) -> Vec<String> {
    match &app.confirm.plan {
        Some(Ok(plan)) => plan.short.clone(),
        other => panic!("no plan on the confirmation: {other:?}"),
    }
}

#[test]
fn the_confirmation_shows_the_engines_plan_and_drops_a_late_one() {
    let mut app = app();
    walk_to_confirm(&mut app);
    let first = app.confirm.plan_seq;
    assert!(shown_plan(&app).contains(&"targets  2".to_owned()));
    // Back and in again: a plan answering the first opening is stale.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Confirm);
    assert_ne!(app.confirm.plan_seq, first);
    update(
        &mut app,
        Msg::Planned {
            seq: first,
            plan: Err("stale".into()),
        },
    );
    assert!(matches!(app.confirm.plan, Some(Ok(_))));
    // A refusal the engine reports is what the confirmation shows.
    let seq = app.confirm.plan_seq;
    update(
        &mut app,
        Msg::Planned {
            seq,
            plan: Err("restart-service may not run over ssh".into()),
        },
    );
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        app.overlay,
        crate::tui::app::Overlay::Plan(vec![
            "refused: restart-service may not run over ssh".into()
        ])
    );
}
