//! Snapshots of every view and overlay at a fixed size, on TestBackend.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::render;
use crate::journal::{EventRow, Incident};
use crate::mediator::{ExecEvent, ExecId};
use crate::tui::app::{App, Overlay, Screen};
use crate::tui::msg::Msg;
use crate::tui::update::tests::{
    app, finished, press, run_with_outcomes, started, type_text, walk_to_confirm,
};
use crate::tui::update::update;

pub(super) fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 28)).unwrap();
    terminal.draw(|f| render(app, f)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    // A bundle's hash changes with every edit of the shipped plugins.
    let hash = regex::Regex::new("bundle [0-9a-f]{6,}").unwrap();
    hash.replace_all(&out, "bundle <sha256>      ").into_owned()
}

#[test]
fn catalog_searching() {
    let mut app = app();
    type_text(&mut app, "rest");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn targets_filtered_and_selected() {
    let mut app = app();
    type_text(&mut app, "tail");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "role=web");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('a'));
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn params_with_an_inline_error() {
    let mut app = app();
    type_text(&mut app, "restart-service");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "nginx;reboot");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn confirm_high_risk() {
    let mut app = app();
    walk_to_confirm(&mut app);
    type_text(&mut app, "restart");
    insta::assert_snapshot!(screen(&app));
}

/// `r` after restart-service failed on web-2 only: the confirmation names
/// web-2 alone and asks for the name again.
#[test]
fn confirm_rerun_of_the_failed_targets() {
    use crate::mediator::Status;
    let mut app = app();
    walk_to_confirm(&mut app);
    type_text(&mut app, "restart-service");
    press(&mut app, KeyCode::Enter);
    update(&mut app, started("restart-service", &["web-1", "web-2"]));
    update(&mut app, finished("web-1", Status::Success, None));
    update(&mut app, finished("web-2", Status::Failed, Some(-32010)));
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "restart");
    insta::assert_snapshot!("confirm_rerun_high", screen(&app));
}

#[test]
fn run_list_and_groups() {
    let mut app = app();
    run_with_outcomes(&mut app);
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    // Three panes fit a grid; `v` twice reaches the list.
    insta::assert_snapshot!("run_grid_done", screen(&app));
    press(&mut app, KeyCode::Char('v'));
    press(&mut app, KeyCode::Char('v'));
    insta::assert_snapshot!("run_list", screen(&app));
    press(&mut app, KeyCode::Char('o'));
    insta::assert_snapshot!("run_grouped", screen(&app));
    press(&mut app, KeyCode::Char('o'));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("run_detail", screen(&app));
}

#[test]
fn hostile_stderr_is_drawn_harmless() {
    let mut app = app();
    let targets = vec![("web-1".to_string(), "ssh".to_string())];
    update(
        &mut app,
        Msg::RunStarted {
            request_id: "r".into(),
            action: "noop".into(),
            targets,
            verify: false,
        },
    );
    let input = serde_json::from_str(include_str!(
        "../../../tests/fixtures/envelopes/bpcs-input.json"
    ))
    .unwrap();
    update(
        &mut app,
        Msg::Exec(ExecEvent::Started {
            exec: ExecId("e".into()),
            target: "web-1".into(),
            at: "t".into(),
            input: Box::new(input),
        }),
    );
    // Lines reach the console sanitized by the engine; the view sanitizes again.
    let hostile = "title\x1b]0;pwned\x07 nul\0 back\x08 \u{202e}evil \x1b[31mred";
    update(
        &mut app,
        Msg::Exec(ExecEvent::Stderr {
            exec: ExecId("e".into()),
            line: hostile.into(),
        }),
    );
    update(
        &mut app,
        Msg::RunDone {
            report: None,
            error: None,
        },
    );
    let text = screen(&app);
    assert!(
        !text.contains('\x1b') && !text.contains('\0') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(
        text.contains("title nul^@ back^H \\u{202e}evil red"),
        "{text}"
    );
}

pub(super) fn incidents() -> Vec<Incident> {
    vec![Incident {
        id: "01937a40-0f00-7a00-b000-000000000001".into(),
        title: "nginx 502s".into(),
        severity: "high".into(),
        ticket: Some("INC-42".into()),
        opened_at: "2026-11-24T03:00:00.000Z".into(),
        operator: "alice@ops".into(),
        status: "open".into(),
        closed_at: None,
    }]
}

#[test]
fn journal_incidents_and_timeline() {
    let mut app = app();
    update(&mut app, Msg::Incidents(incidents()));
    app.screen = Screen::Journal;
    insta::assert_snapshot!("journal_incidents", screen(&app));
    let events = vec![
        EventRow {
            seq: 1,
            at: "2026-11-24T03:00:00.000Z".into(),
            incident_id: incidents()[0].id.clone(),
            request_id: None,
            execution_id: None,
            kind: "incident".into(),
            body: serde_json::json!({"action": "open", "operator": "alice@ops"}),
            hash: "h".into(),
        },
        EventRow {
            seq: 2,
            at: "2026-11-24T03:01:00.000Z".into(),
            incident_id: incidents()[0].id.clone(),
            request_id: None,
            execution_id: None,
            kind: "note".into(),
            body: serde_json::json!({"text": "rolled back the deploy", "operator": "alice@ops"}),
            hash: "h".into(),
        },
    ];
    update(
        &mut app,
        Msg::Timeline {
            incident: incidents()[0].id.clone(),
            events,
            executions: Vec::new(),
        },
    );
    insta::assert_snapshot!("journal_timeline", screen(&app));
}

#[test]
fn overlays() {
    let mut app = app();
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_catalog", screen(&app));
    app.overlay = Overlay::Palette("jour".into());
    insta::assert_snapshot!("palette", screen(&app));
    app.overlay = Overlay::Error("the journal cannot record, so nothing runs".into());
    insta::assert_snapshot!("error", screen(&app));
}

#[test]
fn confirm_change_risk_and_the_dry_run_plan() {
    let mut app = app();
    type_text(&mut app, "disk");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Confirm);
    insta::assert_snapshot!("confirm_read", screen(&app));
    press(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!("dry_run_plan", screen(&app));
}
