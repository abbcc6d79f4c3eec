//! Snapshots of each view's key states: empty, moved, filtering, masked,
//! live, paged, scrolled, and the help of every screen. tests.rs holds the
//! main path; this file the states a responder meets on the way.

use std::path::Path;
use std::sync::Arc;

use crossterm::event::KeyCode;

use super::tests::{incidents, screen};
use crate::journal::{EventRow, ExecutionRow};
use crate::mediator::{ExecEvent, ExecId};
use crate::tui::app::{App, Overlay, Screen};
use crate::tui::msg::Msg;
use crate::tui::runs::PaneLayout;
use crate::tui::update::tests::{app, press, run_with_outcomes, type_text};
use crate::tui::update::update;

/// A console on the test fixtures, whose `misbehave` action has a secret.
fn fixture_app() -> App {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = crate::catalog::load(&root.join("tests/fixtures/catalog")).unwrap();
    let base = app();
    App::new(
        Arc::new(catalog),
        base.inventory.clone(),
        base.theme.clone(),
        base.operator.clone(),
    )
}

/// A run on `n` targets named t01…, nothing finished. No tick arrives, so
/// the clock stays at zero however fast the test runs.
fn live_run(app: &mut App, n: usize) {
    let targets = (1..=n)
        .map(|i| (format!("t{i:02}"), "ssh".to_string()))
        .collect();
    update(
        app,
        Msg::RunStarted {
            request_id: "req".into(),
            action: "tail-logs".into(),
            targets,
            verify: false,
        },
    );
}

fn start(app: &mut App, target: &str) {
    let input = serde_json::from_str(include_str!(
        "../../../tests/fixtures/envelopes/bpcs-input.json"
    ))
    .unwrap();
    update(
        app,
        Msg::Exec(ExecEvent::Started {
            exec: ExecId(format!("x-{target}")),
            target: target.into(),
            at: "t".into(),
            input: Box::new(input),
        }),
    );
}

fn stderr(app: &mut App, target: &str, line: &str) {
    update(
        app,
        Msg::Exec(ExecEvent::Stderr {
            exec: ExecId(format!("x-{target}")),
            line: line.into(),
        }),
    );
}

#[test]
fn catalog_initial_moved_and_no_match() {
    let mut app = app();
    insta::assert_snapshot!("catalog_initial", screen(&app));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!("catalog_cursor_moved", screen(&app));
    type_text(&mut app, "zzqx");
    assert!(app.search.hits.is_empty());
    insta::assert_snapshot!("catalog_no_match", screen(&app));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.search.input.value(), "");
}

#[test]
fn targets_initial_filtering_and_one_selected() {
    let mut app = app();
    type_text(&mut app, "tail");
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("targets_initial", screen(&app));
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "db");
    insta::assert_snapshot!("targets_filter_typing", screen(&app));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    insta::assert_snapshot!("targets_one_selected", screen(&app));
}

#[test]
fn params_with_defaults_filled() {
    let mut app = app();
    type_text(&mut app, "restart-service");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("params_defaults", screen(&app));
}

#[test]
fn a_secret_is_masked_in_the_form_and_the_confirmation() {
    let mut app = fixture_app();
    type_text(&mut app, "misbehave");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "ok");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "hunter2-s3cret");
    let form = screen(&app);
    assert!(!form.contains("hunter2"), "{form}");
    insta::assert_snapshot!("params_secret_masked", form);
    // Enter walks the remaining fields (defaults filled), then confirms.
    for _ in 0..app.form.fields.len() {
        if app.screen == Screen::Params {
            press(&mut app, KeyCode::Enter);
        }
    }
    assert_eq!(app.screen, Screen::Confirm);
    let confirm = screen(&app);
    assert!(!confirm.contains("hunter2"), "{confirm}");
    insta::assert_snapshot!("confirm_secret_masked", confirm);
}

#[test]
fn a_live_run_as_a_grid() {
    let mut app = app();
    live_run(&mut app, 4);
    start(&mut app, "t01");
    start(&mut app, "t02");
    for i in 0..12 {
        stderr(&mut app, "t01", &format!("t01 line {i}"));
    }
    stderr(&mut app, "t02", "connecting to the unit");
    assert_eq!(app.runs.layout, PaneLayout::Auto);
    insta::assert_snapshot!("run_grid_live", screen(&app));
}

#[test]
fn many_panes_page_in_the_grid_and_fall_back_to_the_list_on_auto() {
    let mut app = app();
    live_run(&mut app, 40);
    // Auto: 40 panes do not fit 100x28, so the list.
    insta::assert_snapshot!("run_auto_many_is_a_list", screen(&app));
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.runs.layout, PaneLayout::Grid);
    for _ in 0..3 {
        press(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.runs.cursor, 30);
    insta::assert_snapshot!("run_grid_paged", screen(&app));
}

#[test]
fn a_result_detail_scrolls() {
    let mut app = app();
    run_with_outcomes(&mut app);
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    press(&mut app, KeyCode::Enter);
    let top = screen(&app);
    for _ in 0..4 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(
        app.runs.cursor, 0,
        "arrows scroll the detail, not the panes"
    );
    let scrolled = screen(&app);
    assert_ne!(top, scrolled);
    insta::assert_snapshot!("run_detail_scrolled", scrolled);
    press(&mut app, KeyCode::Esc);
    assert!(!app.runs.detail);
}

#[test]
fn help_on_every_screen() {
    let mut app = app();
    for (screen_kind, name) in [
        (Screen::Targets, "help_targets"),
        (Screen::Params, "help_params"),
        (Screen::Confirm, "help_confirm"),
        (Screen::Run, "help_run"),
        (Screen::Journal, "help_journal"),
    ] {
        app.screen = screen_kind;
        app.overlay = Overlay::Help;
        insta::assert_snapshot!(name, screen(&app));
    }
}

#[test]
fn the_quit_question_and_the_note_input() {
    let mut app = app();
    live_run(&mut app, 2);
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(app.overlay, Overlay::ConfirmQuit);
    insta::assert_snapshot!("quit_question", screen(&app));
    app.overlay = Overlay::None;
    update(&mut app, Msg::Incidents(incidents()));
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('N'));
    type_text(&mut app, "rolled back 4.2.1");
    insta::assert_snapshot!("note_input", screen(&app));
}

fn execution() -> ExecutionRow {
    ExecutionRow {
        id: "exec-1".into(),
        incident_id: incidents()[0].id.clone(),
        request_id: "req-1".into(),
        action: "disk-usage".into(),
        action_version: "1.0.0".into(),
        bundle_sha256: "ab".repeat(32),
        target: "web-1".into(),
        transport: "ssh".into(),
        operator: "alice@ops".into(),
        params: serde_json::json!({"path": "/var"}),
        created_at: "2026-11-24T03:02:00.000Z".into(),
        outcome: Some("success".into()),
    }
}

fn event(seq: i64, kind: &str, body: serde_json::Value) -> EventRow {
    EventRow {
        seq,
        at: format!("2026-11-24T03:02:{seq:02}.000Z"),
        incident_id: incidents()[0].id.clone(),
        request_id: Some("req-1".into()),
        execution_id: Some("exec-1".into()),
        kind: kind.into(),
        body,
        hash: "h".into(),
    }
}

#[test]
fn journal_verified_and_an_execution_detail() {
    let mut app = app();
    update(&mut app, Msg::Incidents(incidents()));
    let report = crate::journal::VerifyReport {
        events: 42,
        head: crate::journal::Head {
            seq: 42,
            hash: "ab".repeat(32),
        },
        broken: None,
    };
    update(&mut app, Msg::Verified(report));
    app.screen = Screen::Journal;
    insta::assert_snapshot!("journal_verified", screen(&app));
    let events = vec![
        event(
            3,
            "stderr",
            serde_json::json!({"line": "du: scanning /var"}),
        ),
        event(
            4,
            "result",
            serde_json::json!({"status": "success", "exit_code": 0,
                "output": {"used_pct": 41, "mount": "/var"}}),
        ),
    ];
    update(
        &mut app,
        Msg::Timeline {
            incident: incidents()[0].id.clone(),
            events,
            executions: vec![execution()],
        },
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.review.detail.as_deref(), Some("exec-1"));
    insta::assert_snapshot!("journal_execution_detail", screen(&app));
}

#[test]
fn every_end_state_in_the_list() {
    use crate::mediator::Status;
    let mut app = app();
    live_run(&mut app, 6);
    app.runs.layout = PaneLayout::List;
    let states = [
        Status::Success,
        Status::Failed,
        Status::TimedOut,
        Status::Cancelled,
        Status::Skipped,
    ];
    for (pane, status) in app.runs.panes.iter_mut().zip(states) {
        pane.state = crate::tui::runs::PaneState::Done(status);
    }
    start(&mut app, "t06");
    stderr(&mut app, "t06", "still going");
    insta::assert_snapshot!("run_list_end_states", screen(&app));
}
