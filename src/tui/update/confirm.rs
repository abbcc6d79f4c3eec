//! The confirmation: the one gate between a responder's choices and a run.
//! It shows exactly what Enter will submit (action, targets, parameters,
//! risk) and Enter submits exactly that: `change` and `read` need Enter,
//! `high` the action's name typed first. A re-run of failed targets comes
//! through here too, as a new run needing the same confirmation.
//!
//! This is the only place in the console that builds a request, and so the
//! only place a request may carry an explicit `Confirmation`: the operator
//! has just confirmed what the screen shows (a test holds every other
//! handler to that).

use std::sync::Arc;

use serde_json::Map;
use tui_input::Input;

use super::super::app::{App, Overlay, Screen};
use super::super::keys::Intent;
use super::super::msg::{Cmd, PlanText};
use super::edit::edit;
use super::params::Field;
use crate::catalog::{Action, Risk, parse_text};
use crate::inventory::Selector;
use crate::policy::{Confirmation, ParamInput, RunRequest, Source};

/// An action and its parameters as the operator confirmed them: what a
/// re-run of the failed targets offers to run again.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub action: Arc<Action>,
    pub fields: Vec<Field>,
}

/// What the confirmation shows and, on Enter, submits. It holds its own
/// copy of action, targets and parameters: a re-run confirms other targets
/// than the picker's, and nothing edited elsewhere changes what was shown.
#[derive(Debug)]
pub struct ConfirmState {
    pub action: Option<Arc<Action>>,
    pub fields: Vec<Field>,
    /// The targets the request names, in the order shown.
    pub targets: Vec<String>,
    /// What the operator typed (the action's name, for `high`).
    pub input: Input,
    /// A re-run of a run's failed targets, not a first run.
    pub rerun: bool,
    /// Where Esc goes: the form, the picker, or the run view for a re-run.
    pub back: Screen,
    /// Submitted, its run not started yet: a second Enter must not submit again.
    pub pending: Option<Confirmed>,
    /// What the run on the run screen was confirmed as (kept through its verify).
    pub last: Option<Confirmed>,
    /// The engine's plan of what is shown (`None` until it comes back), or
    /// why the engine would refuse it: the screen never plans on its own.
    pub plan: Option<Result<PlanText, String>>,
    /// Which opening of the confirmation the plan belongs to: a late plan of
    /// an earlier opening is dropped.
    pub plan_seq: u64,
    /// The confirmation opened and its plan is yet to be asked for.
    plan_wanted: bool,
}

impl Default for ConfirmState {
    fn default() -> Self {
        Self {
            action: None,
            fields: Vec::new(),
            targets: Vec::new(),
            input: Input::default(),
            rerun: false,
            back: Screen::Catalog,
            pending: None,
            last: None,
            plan: None,
            plan_seq: 0,
            plan_wanted: false,
        }
    }
}

impl ConfirmState {
    fn high_risk(&self) -> bool {
        self.action.as_ref().is_some_and(|a| a.risk == Risk::High)
    }

    /// Keys type here: a high-risk action waits for its name.
    pub fn typing(&self) -> bool {
        self.high_risk()
    }

    fn show(&mut self, confirmed: Confirmed, targets: Vec<String>, rerun: bool, back: Screen) {
        self.action = Some(confirmed.action);
        self.fields = confirmed.fields;
        self.targets = targets;
        self.input = Input::default();
        self.rerun = rerun;
        self.back = back;
        self.plan = None;
        self.plan_seq += 1;
        self.plan_wanted = true;
    }
}

/// The confirmation of the picker's targets with the form's values.
pub fn open_from_form(app: &mut App) {
    let Some(action) = app.action.clone() else {
        return;
    };
    let back = if app.form.fields.is_empty() {
        Screen::Targets
    } else {
        Screen::Params
    };
    let confirmed = Confirmed {
        action,
        fields: app.form.fields.clone(),
    };
    let targets = app.picker.selected.iter().cloned().collect();
    app.confirm.show(confirmed, targets, false, back);
    app.screen = Screen::Confirm;
}

/// The confirmation of a re-run: the confirmed action and parameters again,
/// on `targets` only. Esc goes back to the run.
pub fn open_rerun(app: &mut App, confirmed: Confirmed, targets: Vec<String>) {
    app.confirm.show(confirmed, targets, true, Screen::Run);
    app.screen = Screen::Confirm;
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Cmd> {
    if app.confirm.high_risk() && edit(&mut app.confirm.input, intent) {
        return Vec::new();
    }
    match intent {
        Intent::Back => app.screen = app.confirm.back,
        Intent::DryRun | Intent::NextField => {
            app.overlay = Overlay::Plan(match &app.confirm.plan {
                Some(Ok(plan)) => plan.full.clone(),
                Some(Err(reason)) => vec![format!("refused: {reason}")],
                None => vec!["planning…".into()],
            })
        }
        Intent::Enter => return submit(app),
        _ => {}
    }
    Vec::new()
}

/// The engine's plan for a confirmation that just opened: asked once per
/// opening, for exactly the request Enter would submit.
pub fn plan_cmd(app: &mut App) -> Option<Cmd> {
    if !std::mem::take(&mut app.confirm.plan_wanted) {
        return None;
    }
    let action = app.confirm.action.clone()?;
    let Some(request) = request(app, &action) else {
        app.confirm.plan = Some(Err("a parameter does not parse".into()));
        return None;
    };
    Some(Cmd::Plan {
        seq: app.confirm.plan_seq,
        request: Box::new(request),
    })
}

/// The plan came back; one for an earlier opening is dropped.
pub fn planned(app: &mut App, seq: u64, plan: Result<PlanText, String>) -> Vec<Cmd> {
    if seq == app.confirm.plan_seq {
        app.confirm.plan = Some(plan);
    }
    Vec::new()
}

/// Enter: the request for what the screen shows, once confirmed as its risk asks.
fn submit(app: &mut App) -> Vec<Cmd> {
    let Some(action) = app.confirm.action.clone() else {
        return Vec::new();
    };
    if app.confirm.high_risk() && app.confirm.input.value() != action.name {
        app.notice = Some(format!(
            "type {} to confirm this high-risk action",
            action.name
        ));
        return Vec::new();
    }
    if app.runs.active {
        app.notice = Some("a run is still active: wait for it or cancel it (3, then C)".into());
        return Vec::new();
    }
    if app.confirm.pending.is_some() {
        app.notice = Some("submitted already: the run is starting".into());
        return Vec::new();
    }
    let Some(request) = request(app, &action) else {
        app.notice = Some("a parameter no longer parses: Esc, fix it, confirm again".into());
        return Vec::new();
    };
    app.notice = None;
    app.confirm.pending = Some(Confirmed {
        action,
        fields: app.confirm.fields.clone(),
    });
    vec![Cmd::Submit(Box::new(request))]
}

/// The request the confirmation shows; `None` when a value does not parse.
fn request(app: &App, action: &Action) -> Option<RunRequest> {
    let mut params = Map::new();
    for field in &app.confirm.fields {
        let param = action.param(&field.name)?;
        if !field.input.value().is_empty() {
            params.insert(
                field.name.clone(),
                parse_text(param, field.input.value()).ok()?,
            );
        }
    }
    Some(RunRequest {
        action: action.name.clone(),
        selector: Selector {
            names: app.confirm.targets.clone(),
            tags: Vec::new(),
        },
        params: ParamInput::Typed(params),
        source: Source::Console,
        operator: app.operator.clone(),
        incident: None,
        timeout: None,
        concurrency: app.concurrency,
        max_errors: None,
        confirmation: Confirmation::Explicit,
        parent_message_id: None,
    })
}

#[cfg(test)]
mod tests;
