//! `update(&mut App, Msg) -> Vec<Cmd>`: the console's state machine. No I/O
//! and no clock: effects come back as [`Cmd`]s for the loop to perform, and
//! time arrives in [`Msg::Tick`]. One handler per screen, mirroring
//! `views/`; each owns its screen's state struct inside `App`. This file
//! only routes a message or key to its handler.
//!
//! A run is submitted in one place only: Enter on the confirmation
//! (`confirm.rs`). Everything else, the run screen's `r` included, at most
//! opens that confirmation.

mod catalog;
mod confirm;
mod edit;
mod journal;
mod overlay;
mod params;
mod run;
mod targets;

pub use catalog::Search;
pub use confirm::{ConfirmState, Confirmed};
pub use journal::Review;
pub use params::{Field, Form};
pub use targets::Picker;

use crossterm::event::KeyEvent;

use super::app::{App, Overlay, Screen};
use super::keys::{self, Intent};
use super::msg::{Cmd, Msg};

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(key) => {
            let mut cmds = on_key(app, &key);
            // Whatever key opened the confirmation, its plan comes from the engine.
            cmds.extend(confirm::plan_cmd(app));
            cmds
        }
        Msg::Tick(now) => run::tick(app, now),
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Msg::Run(event) => run::on_event(app, event),
        Msg::Exec(event) => run::exec(app, event),
        Msg::RunStarted {
            request_id,
            action,
            targets,
            verify,
        } => run::started(app, request_id, action, targets, verify),
        Msg::RunDone { report, error } => run::done(app, report, error),
        Msg::Incidents(list) => journal::incidents(app, list),
        Msg::Timeline {
            incident,
            events,
            executions,
        } => journal::timeline(app, incident, events, executions),
        Msg::Recorded(recorded) => journal::recorded(app, recorded),
        Msg::Verified(report) => journal::verified(app, &report),
        Msg::Planned { seq, plan } => confirm::planned(app, seq, plan),
        Msg::Failed(text) => {
            app.overlay = Overlay::Error(text);
            Vec::new()
        }
    }
}

fn on_key(app: &mut App, key: &KeyEvent) -> Vec<Cmd> {
    // A notice lasts until the next key, then the hints come back (k9s flashes).
    app.notice = None;
    if app.overlay != Overlay::None {
        return overlay::on_key(app, key);
    }
    let text_mode = match app.screen {
        Screen::Catalog | Screen::Params => true,
        Screen::Targets => app.picker.filtering,
        Screen::Confirm => app.confirm.typing(),
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
        Screen::Catalog => catalog::on_intent(app, intent),
        Screen::Targets => targets::on_intent(app, intent),
        Screen::Params => params::on_intent(app, intent),
        Screen::Confirm => confirm::on_intent(app, intent),
        Screen::Run => run::on_intent(app, intent),
        Screen::Journal => journal::on_intent(app, intent),
    }
}

/// `q` asks while a run is active; Ctrl-C (`force`) cancels it and quits.
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

/// `1`–`4`: catalog, targets (once an action is chosen), runs, journal.
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

#[cfg(test)]
pub(crate) mod tests;
