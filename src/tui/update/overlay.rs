//! Keys while an overlay covers the screen: the `:` palette, the note
//! input, the quit question. Help, plan and error overlays close on any
//! key. The palette jumps anywhere the keys could go; it never submits a
//! run (only the confirmation does).

use crossterm::event::{KeyCode, KeyEvent};

use super::super::app::{App, Overlay, Screen};
use super::super::keys::{self, Intent};
use super::super::msg::Cmd;
use crate::journal::export::Format;

pub fn on_key(app: &mut App, key: &KeyEvent) -> Vec<Cmd> {
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
                let incident = app.review.selected().unwrap_or_default();
                vec![Cmd::AddNote { incident, text }]
            }
            TextKey::Edited(text) | TextKey::Submit(text) => {
                app.overlay = Overlay::Note(text);
                Vec::new()
            }
            TextKey::Cancel => Vec::new(),
        },
        Overlay::ConfirmQuit => match key.code {
            KeyCode::Enter | KeyCode::Char('y') => super::quit(app, true),
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

/// A one-line text overlay: printable keys type, Enter submits, Esc cancels.
fn text_key(mut text: String, key: &KeyEvent) -> TextKey {
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
        "catalog" | "actions" | "1" => super::switch(app, 1),
        "targets" | "2" => super::switch(app, 2),
        "runs" | "run" | "3" => super::switch(app, 3),
        "journal" | "incidents" | "4" => super::switch(app, 4),
        "q" | "quit" => super::quit(app, false),
        // The list reloads once the incident is recorded (`Recorded::IncidentOpened`).
        "incident" if !rest.is_empty() => vec![Cmd::OpenIncident {
            title: rest.to_owned(),
        }],
        "verify" => vec![Cmd::Verify],
        "export" => export(app, rest),
        "" => Vec::new(),
        _ => jump(app, word),
    }
}

fn export(app: &mut App, format: &str) -> Vec<Cmd> {
    let format = match format {
        "ndjson" => Format::Ndjson,
        "markdown" | "md" => Format::Markdown,
        _ => Format::Json,
    };
    match app.review.selected() {
        Some(incident) => vec![Cmd::Export { incident, format }],
        None => {
            app.notice = Some("open the journal (4) and pick an incident first".into());
            Vec::new()
        }
    }
}

/// A name: a target (for the chosen action), an incident id prefix, or an action.
fn jump(app: &mut App, word: &str) -> Vec<Cmd> {
    if app.action.is_some() && app.inventory.get(word).is_some() {
        app.picker.filter_by(word);
        app.screen = Screen::Targets;
        return Vec::new();
    }
    // Four characters at least: shorter prefixes of UUIDv7s match nearly every incident.
    let incident = (word.len() >= 4)
        .then(|| {
            app.review
                .incidents
                .iter()
                .position(|i| i.id.starts_with(word))
        })
        .flatten();
    if let Some(position) = incident {
        app.review.cursor = position;
        app.screen = Screen::Journal;
        return app
            .review
            .selected()
            .map(Cmd::LoadTimeline)
            .into_iter()
            .collect();
    }
    if app.catalog.get(word).is_some() {
        app.search.set(&app.catalog, word);
        app.screen = Screen::Catalog;
        return Vec::new();
    }
    app.notice = Some(format!(
        "unknown command `{word}`: catalog, targets, runs, journal, incident TITLE, export [json|ndjson|markdown], verify, quit, or an action, target or incident id"
    ));
    Vec::new()
}
