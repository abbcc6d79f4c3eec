//! `update(&mut App, Msg) -> Vec<Cmd>`: the console's state machine. No I/O:
//! effects come back as [`Cmd`]s for the loop to perform.

use serde_json::Map;
use tui_input::{Input, InputRequest};

use super::app::{App, Field, Overlay, Screen};
use super::keys::{self, Intent};
use super::msg::{Cmd, Msg};
use crate::catalog::{Risk, parse_text};
use crate::engine::RunEvent;
use crate::inventory::Selector;
use crate::journal::export::Format;
use crate::mediator::eps::{Scope, to_eps};
use crate::policy::{Confirmation, ParamInput, RunRequest, Source};

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(key) => on_key(app, &key),
        Msg::Tick => {
            app.runs.tick();
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Msg::Run(event) => on_run(app, event),
        Msg::Exec(event) => {
            app.runs.apply(event);
            Vec::new()
        }
        Msg::RunStarted {
            request_id,
            action,
            targets,
            verify,
        } => {
            app.runs.start(request_id, action, targets, verify);
            app.screen = Screen::Run;
            Vec::new()
        }
        Msg::RunDone { report, error } => {
            app.runs.active = false;
            if let Some(error) = error {
                app.overlay = Overlay::Error(error);
            } else if let Some(report) = report {
                let failed = report.results.len() - report.count(crate::mediator::Status::Success);
                app.notice = Some(format!(
                    "{} done: {} ok, {failed} not ok · recorded in the journal",
                    app.runs.action,
                    report.count(crate::mediator::Status::Success)
                ));
            }
            Vec::new()
        }
        Msg::Incidents(list) => {
            app.review.cursor = app.review.cursor.min(list.len().saturating_sub(1));
            app.review.incidents = list;
            Vec::new()
        }
        Msg::Timeline {
            incident,
            events,
            executions,
        } => {
            app.review.incident = Some(incident);
            app.review.events = events;
            app.review.executions = executions;
            app.review.event_cursor = 0;
            app.review.detail = None;
            Vec::new()
        }
        Msg::Notice(text) => {
            if text.starts_with("chain") {
                app.review.verified = Some(text.clone());
            }
            app.notice = Some(text);
            Vec::new()
        }
        Msg::Failed(text) => {
            app.overlay = Overlay::Error(text);
            Vec::new()
        }
    }
}

/// A run's life as the engine reports it, in the console's terms.
fn on_run(app: &mut App, event: RunEvent) -> Vec<Cmd> {
    match event {
        RunEvent::Incident { id, title, .. } => {
            app.notice = Some(format!("recording under incident {id} \"{title}\""));
            Vec::new()
        }
        RunEvent::Requested(plan) => update(
            app,
            Msg::RunStarted {
                request_id: plan.request.message_metadata.message_id.clone(),
                action: plan.action.name.clone(),
                targets: plan
                    .targets
                    .iter()
                    .map(|t| (t.name.clone(), t.transport.as_str().to_owned()))
                    .collect(),
                verify: plan.is_verify(),
            },
        ),
        RunEvent::Exec(event) => update(app, Msg::Exec(event)),
        RunEvent::VerifyRefused(refusal) => {
            app.notice = Some(format!("verify refused: {refusal}"));
            Vec::new()
        }
        RunEvent::Finished { .. } => Vec::new(),
        RunEvent::Done(Ok(outcome)) => update(
            app,
            Msg::RunDone {
                report: outcome
                    .runs
                    .last()
                    .map(|(_, r)| Box::new(r.as_ref().clone())),
                error: None,
            },
        ),
        RunEvent::Done(Err(failure)) => {
            let eps = to_eps(&failure, Scope::default());
            update(
                app,
                Msg::RunDone {
                    report: None,
                    error: Some(eps.reason().to_owned()),
                },
            )
        }
    }
}

fn on_key(app: &mut App, key: &crossterm::event::KeyEvent) -> Vec<Cmd> {
    // A notice lasts until the next key, then the hints come back (k9s flashes).
    app.notice = None;
    if app.overlay != Overlay::None {
        return on_overlay(app, key);
    }
    let text_mode = match app.screen {
        Screen::Catalog | Screen::Params => true,
        Screen::Targets => app.picker.filtering,
        Screen::Confirm => app.action.as_ref().is_some_and(|a| a.risk == Risk::High),
        Screen::Run | Screen::Journal => false,
    };
    let intent = if text_mode {
        keys::typing(key, app.screen == Screen::Catalog)
    } else {
        keys::command(key)
    };
    match intent {
        Intent::ForceQuit => return quit(app, true),
        Intent::Quit => return quit(app, false),
        Intent::Help => {
            app.overlay = Overlay::Help;
            return Vec::new();
        }
        Intent::Palette => {
            app.overlay = Overlay::Palette(String::new());
            return Vec::new();
        }
        Intent::Screen(n) => return switch(app, n),
        _ => {}
    }
    match app.screen {
        Screen::Catalog => catalog(app, intent),
        Screen::Targets => targets(app, intent),
        Screen::Params => params(app, intent),
        Screen::Confirm => confirm(app, intent),
        Screen::Run => run(app, intent),
        Screen::Journal => journal(app, intent),
    }
}

fn quit(app: &mut App, force: bool) -> Vec<Cmd> {
    if app.runs.active && !force {
        app.overlay = Overlay::ConfirmQuit;
        return Vec::new();
    }
    app.quit = true;
    if app.runs.active {
        vec![Cmd::Cancel(None), Cmd::Quit]
    } else {
        vec![Cmd::Quit]
    }
}

fn switch(app: &mut App, n: u8) -> Vec<Cmd> {
    match n {
        1 => app.screen = Screen::Catalog,
        2 if app.action.is_some() => app.screen = Screen::Targets,
        3 => app.screen = Screen::Run,
        4 => {
            app.screen = Screen::Journal;
            return vec![Cmd::LoadIncidents];
        }
        _ => {}
    }
    Vec::new()
}

fn edit(input: &mut Input, intent: Intent) -> bool {
    let request = match intent {
        Intent::Type(c) => InputRequest::InsertChar(c),
        Intent::Erase => InputRequest::DeletePrevChar,
        _ => return false,
    };
    input.handle(request);
    true
}

/// Scrolling a long detail text; the view clamps to the text's end.
fn scroll(offset: &mut usize, intent: Intent) {
    *offset = match intent {
        Intent::Up => offset.saturating_sub(1),
        Intent::Down => offset.saturating_add(1),
        Intent::PageUp => offset.saturating_sub(10),
        Intent::PageDown => offset.saturating_add(10),
        Intent::Top => 0,
        _ => *offset,
    };
}

fn step(cursor: &mut usize, len: usize, intent: Intent) {
    let last = len.saturating_sub(1);
    *cursor = match intent {
        Intent::Up => cursor.saturating_sub(1),
        Intent::Down => (*cursor + 1).min(last),
        Intent::Top => 0,
        Intent::Bottom => last,
        Intent::PageUp => cursor.saturating_sub(10),
        Intent::PageDown => (*cursor + 10).min(last),
        _ => *cursor,
    };
}

fn catalog(app: &mut App, intent: Intent) -> Vec<Cmd> {
    if edit(&mut app.search, intent) {
        app.catalog_cursor = 0;
        app.refresh_hits();
        return Vec::new();
    }
    match intent {
        Intent::Enter => {
            if let Some(action) = app.highlighted().cloned() {
                app.action = Some(action);
                app.picker.cursor = 0;
                app.picker.selected.clear();
                app.screen = Screen::Targets;
            }
        }
        Intent::Back => {
            app.search = Input::default();
            app.refresh_hits();
        }
        other => step(&mut app.catalog_cursor, app.hits.len(), other),
    }
    Vec::new()
}

fn targets(app: &mut App, intent: Intent) -> Vec<Cmd> {
    if app.picker.filtering {
        if edit(&mut app.picker.filter, intent) {
            app.picker.cursor = 0;
            return Vec::new();
        }
        match intent {
            Intent::Enter => app.picker.filtering = false,
            Intent::Back => {
                app.picker.filter = Input::default();
                app.picker.filtering = false;
            }
            other => {
                let len = app.visible_targets().len();
                step(&mut app.picker.cursor, len, other);
            }
        }
        return Vec::new();
    }
    let visible: Vec<String> = app
        .visible_targets()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    match intent {
        Intent::Filter => app.picker.filtering = true,
        Intent::Toggle => {
            if let Some(name) = visible.get(app.picker.cursor)
                && !app.picker.selected.remove(name)
            {
                app.picker.selected.insert(name.clone());
            }
        }
        Intent::All => app.picker.selected.extend(visible),
        Intent::NoneSelected => app.picker.selected.clear(),
        Intent::Back => app.screen = Screen::Catalog,
        Intent::Enter => {
            if app.picker.selected.is_empty()
                && let Some(name) = visible.get(app.picker.cursor)
            {
                app.picker.selected.insert(name.clone());
            }
            if !app.picker.selected.is_empty() {
                open_form(app);
            }
        }
        other => step(&mut app.picker.cursor, visible.len(), other),
    }
    Vec::new()
}

/// The form with defaults filled; no parameters skips straight to confirmation.
fn open_form(app: &mut App) {
    let Some(action) = &app.action else { return };
    app.fields = action
        .params
        .iter()
        .map(|p| {
            let default = match &p.default {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            Field {
                name: p.name.clone(),
                input: Input::new(default),
                error: None,
            }
        })
        .collect();
    app.field_cursor = 0;
    app.confirm_input = Input::default();
    app.screen = if app.fields.is_empty() {
        Screen::Confirm
    } else {
        Screen::Params
    };
}

/// Checks one field as typed; an empty optional field is fine.
fn check_field(app: &mut App, index: usize) {
    let Some(action) = app.action.clone() else {
        return;
    };
    let Some(field) = app.fields.get_mut(index) else {
        return;
    };
    let Some(param) = action.param(&field.name) else {
        return;
    };
    let text = field.input.value();
    field.error = if text.is_empty() {
        (param.required && param.default.is_none())
            .then(|| format!("required: {}", param.kind.describe()))
    } else {
        parse_text(param, text).err().map(|e| {
            e.to_string()
                .replace(&format!("parameter `{}`: ", param.name), "")
        })
    };
}

fn params(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let count = app.fields.len();
    if let Some(field) = app.fields.get_mut(app.field_cursor)
        && edit(&mut field.input, intent)
    {
        check_field(app, app.field_cursor);
        return Vec::new();
    }
    match intent {
        Intent::NextField | Intent::Down => {
            app.field_cursor = (app.field_cursor + 1).min(count.saturating_sub(1))
        }
        Intent::PrevField | Intent::Up => app.field_cursor = app.field_cursor.saturating_sub(1),
        Intent::Back => app.screen = Screen::Targets,
        Intent::Enter => {
            (0..count).for_each(|i| check_field(app, i));
            match app.fields.iter().position(|f| f.error.is_some()) {
                Some(bad) => app.field_cursor = bad,
                None if app.field_cursor + 1 < count => app.field_cursor += 1,
                None => {
                    app.confirm_input = Input::default();
                    app.screen = Screen::Confirm;
                }
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The request the confirmation would submit.
pub fn pending_request(app: &App, targets: Option<Vec<String>>) -> Option<RunRequest> {
    let action = app.action.as_ref()?;
    let mut params = Map::new();
    for field in &app.fields {
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
            names: targets.unwrap_or_else(|| app.picker.selected.iter().cloned().collect()),
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

fn confirm(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let high = app.action.as_ref().is_some_and(|a| a.risk == Risk::High);
    if high && edit(&mut app.confirm_input, intent) {
        return Vec::new();
    }
    match intent {
        Intent::Back => {
            app.screen = if app.fields.is_empty() {
                Screen::Targets
            } else {
                Screen::Params
            }
        }
        Intent::DryRun | Intent::NextField => {
            app.overlay = Overlay::Plan(super::views::confirm::plan_lines(app))
        }
        Intent::Enter => {
            let name = app
                .action
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default();
            if high && app.confirm_input.value() != name {
                app.notice = Some(format!("type {name} to confirm this high-risk action"));
                return Vec::new();
            }
            if app.runs.active {
                app.notice =
                    Some("a run is still active: wait for it or cancel it (3, then C)".into());
                return Vec::new();
            }
            if let Some(request) = pending_request(app, None) {
                app.notice = None;
                return vec![Cmd::Submit(Box::new(request))];
            }
        }
        _ => {}
    }
    Vec::new()
}

fn run(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let target = app
        .runs
        .panes
        .get(app.runs.cursor)
        .map(|p| p.target.clone());
    match intent {
        Intent::Enter => {
            app.runs.detail = !app.runs.detail;
            app.runs.scroll = 0;
        }
        Intent::Back if app.runs.detail => app.runs.detail = false,
        Intent::Up | Intent::Down | Intent::PageUp | Intent::PageDown | Intent::Top
            if app.runs.detail =>
        {
            scroll(&mut app.runs.scroll, intent)
        }
        Intent::Back => app.screen = Screen::Catalog,
        Intent::Group => app.runs.grouped = !app.runs.grouped,
        Intent::Layout => {
            app.runs.layout = app.runs.layout.next();
            app.notice = Some(format!("panes: {}", app.runs.layout.label()));
        }
        Intent::CancelOne if app.runs.active => return vec![Cmd::Cancel(target)],
        Intent::CancelAll if app.runs.active => return vec![Cmd::Cancel(None)],
        Intent::Rerun if !app.runs.active => {
            let failed = app.runs.failed_targets();
            if failed.is_empty() {
                app.notice = Some("nothing failed: nothing to re-run".into());
            } else if let Some(request) = pending_request(app, Some(failed)) {
                return vec![Cmd::Submit(Box::new(request))];
            }
        }
        other => step(&mut app.runs.cursor, app.runs.panes.len(), other),
    }
    Vec::new()
}

fn journal(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let review = &mut app.review;
    let selected = review.incidents.get(review.cursor).map(|i| i.id.clone());
    if review.detail.is_some() {
        match intent {
            Intent::Back => review.detail = None,
            other => scroll(&mut review.detail_scroll, other),
        }
        return Vec::new();
    }
    if review.incident.is_some() {
        match intent {
            Intent::Back => review.incident = None,
            Intent::Enter => {
                review.detail_scroll = 0;
                review.detail = review
                    .events
                    .get(review.event_cursor)
                    .and_then(|e| e.execution_id.clone())
            }
            other => step(&mut review.event_cursor, review.events.len(), other),
        }
        return Vec::new();
    }
    match (intent, selected) {
        (Intent::Enter, Some(id)) => vec![Cmd::LoadTimeline(id)],
        (Intent::Note, Some(_)) => {
            app.overlay = Overlay::Note(String::new());
            Vec::new()
        }
        (Intent::CloseIncident, Some(id)) => vec![Cmd::CloseIncident(id)],
        (Intent::Export, Some(id)) => vec![Cmd::Export {
            incident: id,
            format: Format::Json,
        }],
        (Intent::Verify, _) => vec![Cmd::Verify],
        (Intent::Back, _) => {
            app.screen = Screen::Catalog;
            Vec::new()
        }
        (other, _) => {
            step(&mut review.cursor, review.incidents.len(), other);
            Vec::new()
        }
    }
}

fn on_overlay(app: &mut App, key: &crossterm::event::KeyEvent) -> Vec<Cmd> {
    let overlay = std::mem::replace(&mut app.overlay, Overlay::None);
    match overlay {
        Overlay::Palette(text) => match text_key(text, key) {
            TextKey::Edited(text) => {
                app.overlay = Overlay::Palette(text);
                Vec::new()
            }
            TextKey::Submit(text) => palette(app, text.trim()),
            TextKey::Cancel => Vec::new(),
        },
        Overlay::Note(text) => match text_key(text, key) {
            TextKey::Submit(text) if !text.trim().is_empty() => {
                let incident = app
                    .review
                    .incidents
                    .get(app.review.cursor)
                    .map(|i| i.id.clone())
                    .unwrap_or_default();
                vec![Cmd::AddNote { incident, text }]
            }
            TextKey::Edited(text) | TextKey::Submit(text) => {
                app.overlay = Overlay::Note(text);
                Vec::new()
            }
            TextKey::Cancel => Vec::new(),
        },
        Overlay::ConfirmQuit => match key.code {
            crossterm::event::KeyCode::Enter | crossterm::event::KeyCode::Char('y') => {
                quit(app, true)
            }
            _ => Vec::new(),
        },
        // Help, plan and errors close on any key.
        _ => Vec::new(),
    }
}

enum TextKey {
    Edited(String),
    Submit(String),
    Cancel,
}

fn text_key(mut text: String, key: &crossterm::event::KeyEvent) -> TextKey {
    match keys::typing(key, false) {
        Intent::Type(c) => {
            text.push(c);
            TextKey::Edited(text)
        }
        Intent::Erase => {
            text.pop();
            TextKey::Edited(text)
        }
        Intent::Enter => TextKey::Submit(text),
        Intent::Back | Intent::ForceQuit => TextKey::Cancel,
        _ => TextKey::Edited(text),
    }
}

/// `:` commands. Unknown ones say what exists.
fn palette(app: &mut App, line: &str) -> Vec<Cmd> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match word {
        "catalog" | "actions" | "1" => switch(app, 1),
        "targets" | "2" => switch(app, 2),
        "runs" | "run" | "3" => switch(app, 3),
        "journal" | "incidents" | "4" => switch(app, 4),
        "q" | "quit" => quit(app, false),
        "incident" if !rest.is_empty() => vec![
            Cmd::OpenIncident {
                title: rest.to_owned(),
            },
            Cmd::LoadIncidents,
        ],
        "verify" => vec![Cmd::Verify],
        "export" => {
            let format = match rest {
                "ndjson" => Format::Ndjson,
                "markdown" | "md" => Format::Markdown,
                _ => Format::Json,
            };
            match app.review.incidents.get(app.review.cursor) {
                Some(i) => vec![Cmd::Export {
                    incident: i.id.clone(),
                    format,
                }],
                None => {
                    app.notice = Some("open the journal (4) and pick an incident first".into());
                    Vec::new()
                }
            }
        }
        "" => Vec::new(),
        _ if app.action.is_some() && app.inventory.get(word).is_some() => {
            app.picker.filter = Input::new(word.to_owned());
            app.picker.cursor = 0;
            app.screen = Screen::Targets;
            Vec::new()
        }
        _ if word.len() >= 4 && app.review.incidents.iter().any(|i| i.id.starts_with(word)) => {
            let position = app
                .review
                .incidents
                .iter()
                .position(|i| i.id.starts_with(word))
                .unwrap_or(0);
            app.review.cursor = position;
            app.screen = Screen::Journal;
            vec![Cmd::LoadTimeline(app.review.incidents[position].id.clone())]
        }
        _ if app.catalog.get(word).is_some() => {
            app.search = Input::new(word.to_owned());
            app.refresh_hits();
            app.screen = Screen::Catalog;
            Vec::new()
        }
        other => {
            app.notice = Some(format!(
                "unknown command `{other}`: catalog, targets, runs, journal, incident TITLE, export [json|ndjson|markdown], verify, quit, or an action, target or incident id"
            ));
            Vec::new()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
