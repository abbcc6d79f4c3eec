//! The catalog screen: a search box over the actions and a cursor on the
//! ranked matches. Enter chooses the action and opens the target picker.
//! The fuzzy ranking itself lives behind `catalog::search`.

use tui_input::Input;

use super::super::app::{App, Screen};
use super::super::keys::Intent;
use super::super::msg::Cmd;
use super::edit::{edit, step};
use crate::catalog::{Catalog, Match, search};

/// The search box and its ranked matches.
#[derive(Debug, Default)]
pub struct Search {
    pub input: Input,
    pub hits: Vec<Match>,
    pub cursor: usize,
}

impl Search {
    /// Every action, ranked for an empty search.
    pub fn new(catalog: &Catalog) -> Self {
        Self {
            hits: search(&catalog.actions, ""),
            ..Self::default()
        }
    }

    /// Searches `text`; the cursor keeps its place when the list allows.
    pub fn set(&mut self, catalog: &Catalog, text: &str) {
        self.input = Input::new(text.to_owned());
        self.refresh(catalog);
    }

    fn refresh(&mut self, catalog: &Catalog) {
        self.hits = search(&catalog.actions, self.input.value());
        self.cursor = self.cursor.min(self.hits.len().saturating_sub(1));
    }
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Cmd> {
    if edit(&mut app.search.input, intent) {
        // A new search ranks afresh: the best match goes under the cursor.
        app.search.cursor = 0;
        app.search.refresh(&app.catalog);
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
        Intent::Back => app.search.set(&app.catalog, ""),
        other => step(&mut app.search.cursor, app.search.hits.len(), other),
    }
    Vec::new()
}
