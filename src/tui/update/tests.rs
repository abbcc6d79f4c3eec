//! Helpers shared by every handler's tests (and the view snapshots), and
//! the tests that walk across screens: the responder's path, the palette.

use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::mediator::{ExecEvent, ExecId};
use crate::policy::ParamInput;
use crate::tui::theme::Theme;

pub(crate) fn app() -> App {
    let catalog =
        crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("actions")).unwrap();
    let inventory = crate::inventory::Inventory::parse(
        "[[targets]]\nname = \"web-1\"\ntransport = \"ssh\"\nhost = \"10.0.1.11\"\ntags = { role = \"web\", env = \"prod\" }\n\
         [[targets]]\nname = \"web-2\"\ntransport = \"ssh\"\nhost = \"10.0.1.12\"\ntags = { role = \"web\", env = \"prod\" }\n\
         [[targets]]\nname = \"db-1\"\ntransport = \"ssh\"\nhost = \"10.0.2.1\"\ntags = { role = \"db\", env = \"prod\" }\n",
        Path::new("inv.toml"),
    )
    .unwrap();
    App::new(
        Arc::new(catalog),
        Arc::new(inventory),
        Theme::mono(),
        crate::policy::Operator {
            user: "tester".into(),
            host: "ci".into(),
        },
    )
}

/// A key, with the plan the confirmation asks for answered as the loop
/// answers it (the engine's decide and plan text); other effects come back.
pub(crate) fn press(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    let cmds = update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    let mut rest = Vec::new();
    for cmd in cmds {
        match cmd {
            Cmd::Plan { seq, request } => {
                let plan = crate::policy::decide(&app.catalog, &app.inventory, *request)
                    .map(|plan| crate::tui::msg::PlanText {
                        short: crate::engine::plan_lines(&plan, 8),
                        full: crate::engine::plan_lines(&plan, usize::MAX),
                    })
                    .map_err(|refusal| refusal.to_string());
                update(app, Msg::Planned { seq, plan });
            }
            other => rest.push(other),
        }
    }
    rest
}

pub(crate) fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// The design's path: "rest" Enter, /role=web Enter a, Enter, nginx Enter, name Enter.
pub(crate) fn walk_to_confirm(app: &mut App) {
    type_text(app, "rest");
    press(app, KeyCode::Enter);
    press(app, KeyCode::Char('/'));
    type_text(app, "role=web");
    press(app, KeyCode::Enter);
    press(app, KeyCode::Char('a'));
    press(app, KeyCode::Enter);
    type_text(app, "nginx");
    press(app, KeyCode::Enter);
    press(app, KeyCode::Enter);
}

#[test]
fn the_responders_path_takes_seven_keys_beyond_the_text() {
    let mut app = app();
    type_text(&mut app, "rest");
    assert_eq!(app.highlighted().unwrap().name, "restart-service");
    walk_to_confirm(&mut app);
    assert_eq!(app.screen, Screen::Confirm);
    assert_eq!(
        app.picker.selected.iter().collect::<Vec<_>>(),
        ["web-1", "web-2"]
    );
    type_text(&mut app, "restart-service");
    let cmds = press(&mut app, KeyCode::Enter);
    let [Cmd::Submit(request)] = cmds.as_slice() else {
        panic!("expected a submit, got {cmds:?}")
    };
    assert_eq!(request.action, "restart-service");
    assert_eq!(request.selector.names, ["web-1", "web-2"]);
    let ParamInput::Typed(params) = &request.params else {
        panic!("typed params")
    };
    assert_eq!(params["unit"], "nginx");
    assert_eq!(params["wait"], 30);
    assert_eq!(request.source, crate::policy::Source::Console);
    assert_eq!(request.concurrency, crate::tui::app::CONCURRENCY);
}

pub(crate) fn finished(target: &str, status: crate::mediator::Status, code: Option<i64>) -> Msg {
    let input: crate::protocol::BpcsInput = serde_json::from_str(include_str!(
        "../../../tests/fixtures/envelopes/bpcs-input.json"
    ))
    .unwrap();
    let error = code.map(|c| {
        let mut eps: crate::protocol::EpsError = serde_json::from_str(include_str!(
            "../../../tests/fixtures/envelopes/eps-timeout.json"
        ))
        .unwrap();
        eps.error_payload.error_data.error.code = c;
        eps
    });
    let output = error.is_none().then(|| {
        serde_json::from_str(include_str!(
            "../../../tests/fixtures/envelopes/bpcs-output-success.json"
        ))
        .unwrap()
    });
    let result = crate::mediator::TargetResult {
        exec_id: ExecId(format!("exec-{target}")),
        target: target.into(),
        transport: "ssh".into(),
        status,
        started_at: None,
        finished_at: "t".into(),
        duration_ms: 1200,
        exit_code: Some(if code.is_some() { 2 } else { 0 }),
        mode: Some("bundle".into()),
        input,
        output,
        error,
        stderr_tail: Vec::new(),
        stderr_lines: 0,
        stderr_bytes: 0,
        notes: Vec::new(),
    };
    Msg::Exec(ExecEvent::Finished {
        exec: ExecId(format!("exec-{target}")),
        result: Box::new(result),
    })
}

/// The loop's message for an accepted run of `action` on `targets` (over ssh).
pub(crate) fn started(action: &str, targets: &[&str]) -> Msg {
    Msg::RunStarted {
        request_id: "req".into(),
        action: action.into(),
        targets: targets
            .iter()
            .map(|t| (t.to_string(), "ssh".to_string()))
            .collect(),
        verify: false,
    }
}

pub(crate) fn run_with_outcomes(app: &mut App) {
    update(app, started("tail-logs", &["web-1", "web-2", "db-1"]));
    update(
        app,
        finished("web-1", crate::mediator::Status::Success, None),
    );
    update(
        app,
        finished("web-2", crate::mediator::Status::Success, None),
    );
    update(
        app,
        finished("db-1", crate::mediator::Status::Failed, Some(-32010)),
    );
}

#[test]
fn the_palette_switches_views_and_opens_incidents() {
    let mut app = app();
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "journal");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Journal);
    assert!(matches!(cmds.as_slice(), [Cmd::LoadIncidents]));
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "incident nginx 502s");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(cmds.as_slice(), [Cmd::OpenIncident { title }] if title == "nginx 502s"),
        "the list reloads once the incident is recorded, not before: {cmds:?}"
    );
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "frobnicate");
    press(&mut app, KeyCode::Enter);
    assert!(app.notice.as_deref().unwrap().contains("unknown command"));
}

#[test]
fn the_palette_finds_targets_and_incidents_by_name() {
    let mut app = app();
    type_text(&mut app, "noop");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "db-1");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Targets);
    let names: Vec<_> = app
        .visible_targets()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(names, ["db-1"]);
    let incident = crate::journal::Incident {
        id: "01937a40-aaaa-7a00-b000-000000000001".into(),
        title: "t".into(),
        severity: "low".into(),
        ticket: None,
        opened_at: "2026-11-24T03:00:00.000Z".into(),
        operator: "o".into(),
        status: "open".into(),
        closed_at: None,
    };
    update(&mut app, Msg::Incidents(vec![incident]));
    press(&mut app, KeyCode::Char(':'));
    type_text(&mut app, "01937a40");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(matches!(&cmds[..], [Cmd::LoadTimeline(id)] if id.starts_with("01937a40-aaaa")));
    assert_eq!(app.screen, Screen::Journal);
}
