//! The run screen and the run's messages: panes fed by committed events,
//! the frame clock, detail and layout keys, cancelling, and `r`, which
//! never runs anything itself: it opens the confirmation for the failed
//! targets, because a re-run is a new run and needs the same confirmation.

use std::time::Instant;

use super::super::app::{App, Overlay, Screen};
use super::super::keys::Intent;
use super::super::msg::Cmd;
use super::edit::{scroll, step};
use crate::engine::RunEvent;
use crate::mediator::eps::{Scope, to_eps};
use crate::mediator::{ExecEvent, Report, Status};

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let runs = &mut app.runs;
    match intent {
        Intent::Enter => {
            runs.detail = !runs.detail;
            runs.scroll = 0;
        }
        Intent::Back if runs.detail => runs.detail = false,
        Intent::Up | Intent::Down | Intent::PageUp | Intent::PageDown | Intent::Top
            if runs.detail =>
        {
            scroll(&mut runs.scroll, intent)
        }
        Intent::Back => app.screen = Screen::Catalog,
        Intent::Group => runs.grouped = !runs.grouped,
        Intent::Layout => {
            runs.layout = runs.layout.next();
            app.notice = Some(format!("panes: {}", runs.layout.label()));
        }
        Intent::CancelOne if runs.active => {
            let target = runs.panes.get(runs.cursor).map(|p| p.target.clone());
            return vec![Cmd::Cancel(target)];
        }
        Intent::CancelAll if runs.active => return vec![Cmd::Cancel(None)],
        Intent::Rerun if runs.active => {
            app.notice = Some("the run is still going: re-run its failures once it ends".into())
        }
        Intent::Rerun => rerun(app),
        other => step(&mut runs.cursor, runs.panes.len(), other),
    }
    Vec::new()
}

/// `r`: the confirmation for the failed targets, with the action and
/// parameters the run was confirmed with. Nothing is submitted here.
fn rerun(app: &mut App) {
    let failed = app.runs.failed_targets();
    if failed.is_empty() {
        app.notice = Some("nothing failed: nothing to re-run".into());
        return;
    }
    match app.confirm.last.clone() {
        Some(confirmed) => super::confirm::open_rerun(app, confirmed, failed),
        None => {
            app.notice = Some(
                "this run was not confirmed in this console: choose the action in the catalog (1)"
                    .into(),
            )
        }
    }
}

/// A run's life as the engine reports it, in the console's terms.
pub fn on_event(app: &mut App, event: RunEvent) -> Vec<Cmd> {
    match event {
        RunEvent::Incident { id, title, .. } => {
            app.notice = Some(format!("recording under incident {id} \"{title}\""));
            Vec::new()
        }
        RunEvent::Requested(plan) => {
            let targets = plan
                .targets
                .iter()
                .map(|t| (t.name.clone(), t.kind().as_str().to_owned()))
                .collect();
            started(
                app,
                plan.request.message_metadata.message_id.clone(),
                plan.action.name.clone(),
                targets,
                plan.is_verify(),
            )
        }
        RunEvent::Exec(event) => exec(app, event),
        RunEvent::VerifyRefused(refusal) => {
            app.notice = Some(format!("verify refused: {refusal}"));
            Vec::new()
        }
        RunEvent::Finished { .. } => Vec::new(),
        RunEvent::Done(Ok(outcome)) => {
            let last = outcome
                .runs
                .last()
                .map(|(_, r)| Box::new(r.as_ref().clone()));
            done(app, last, None)
        }
        // The one EPS mapping says why: refused, or the journal could not record.
        RunEvent::Done(Err(failure)) => {
            let eps = to_eps(&failure, Scope::default());
            done(app, None, Some(eps.reason().to_owned()))
        }
    }
}

/// A run was accepted. A verify run follows its action's run and keeps
/// what that run was confirmed as: `r` re-runs the action, not the check.
pub fn started(
    app: &mut App,
    request_id: String,
    action: String,
    targets: Vec<(String, String)>,
    verify: bool,
) -> Vec<Cmd> {
    if !verify {
        app.confirm.last = app.confirm.pending.take();
    }
    app.runs.start(request_id, action, targets, verify);
    app.screen = Screen::Run;
    Vec::new()
}

/// The run (and its verify) ended, or could not start.
pub fn done(app: &mut App, report: Option<Box<Report>>, error: Option<String>) -> Vec<Cmd> {
    app.runs.active = false;
    // A refused request never started: Enter may submit again.
    app.confirm.pending = None;
    if let Some(error) = error {
        app.overlay = Overlay::Error(error);
    } else if let Some(report) = report {
        let ok = report.count(Status::Success);
        let failed = report.results.len() - ok;
        app.notice = Some(format!(
            "{} done: {ok} ok, {failed} not ok · recorded in the journal",
            app.runs.action
        ));
    }
    Vec::new()
}

pub fn exec(app: &mut App, event: ExecEvent) -> Vec<Cmd> {
    app.runs.apply(event);
    Vec::new()
}

pub fn tick(app: &mut App, now: Instant) -> Vec<Cmd> {
    app.runs.tick(now);
    Vec::new()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crossterm::event::KeyCode;

    use super::super::tests::{app, press, run_with_outcomes, started};
    use crate::mediator::{ExecEvent, ExecId};
    use crate::tui::app::Overlay;
    use crate::tui::msg::{Cmd, Msg};
    use crate::tui::update::update;

    #[test]
    fn identical_outcomes_group_together() {
        let mut app = app();
        run_with_outcomes(&mut app);
        let groups = app.runs.groups();
        assert_eq!(groups[0].label, "ok · identical output");
        assert_eq!(groups[0].targets, ["web-1", "web-2"]);
        assert_eq!(groups[1].targets, ["db-1"]);
        assert!(groups[1].label.contains("-32010"), "{}", groups[1].label);
        assert_eq!(app.runs.failed_targets(), ["db-1"]);
    }

    #[test]
    fn quitting_during_a_run_asks_first_and_cancels() {
        let mut app = app();
        update(&mut app, started("noop", &["web-1"]));
        assert!(press(&mut app, KeyCode::Char('q')).is_empty());
        assert_eq!(app.overlay, Overlay::ConfirmQuit);
        let cmds = press(&mut app, KeyCode::Char('y'));
        assert!(matches!(cmds.as_slice(), [Cmd::Cancel(None), Cmd::Quit]));
        assert!(app.quit);
    }

    #[test]
    fn elapsed_time_advances_only_with_ticks() {
        let mut app = app();
        update(&mut app, started("noop", &["web-1", "web-2"]));
        let input = serde_json::from_str(include_str!(
            "../../../tests/fixtures/envelopes/bpcs-input.json"
        ))
        .unwrap();
        update(
            &mut app,
            Msg::Exec(ExecEvent::Started {
                exec: ExecId("x".into()),
                target: "web-1".into(),
                at: "t".into(),
                input: Box::new(input),
            }),
        );
        assert_eq!(app.runs.elapsed, Duration::ZERO, "no tick, no time");
        // Instants in the future: only the message can put them there.
        let t0 = Instant::now() + Duration::from_secs(3600);
        update(&mut app, Msg::Tick(t0));
        assert_eq!(
            app.runs.elapsed,
            Duration::ZERO,
            "the clock starts at a tick"
        );
        update(&mut app, Msg::Tick(t0 + Duration::from_millis(3200)));
        assert_eq!(app.runs.elapsed, Duration::from_millis(3200));
        assert_eq!(app.runs.panes[0].elapsed, Duration::from_millis(3200));
        assert_eq!(
            app.runs.panes[1].elapsed,
            Duration::ZERO,
            "a queued target's clock has not started"
        );
        // Keys and events between ticks leave the clocks where the last tick put them.
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.runs.elapsed, Duration::from_millis(3200));
        update(&mut app, Msg::Tick(t0 + Duration::from_secs(5)));
        assert_eq!(app.runs.elapsed, Duration::from_secs(5));
        assert_eq!(app.runs.panes[0].elapsed, Duration::from_secs(5));
    }
}
