//! The console's state: plain data, no I/O. One overlay at a time. Each
//! screen's state is a struct owned by that screen's handler in `update/`
//! (only that handler changes it); `App` composes them, views read them.

use std::sync::Arc;

use super::runs::RunView;
use super::theme::Theme;
use super::update::{ConfirmState, Form, Picker, Review, Search};
use crate::catalog::{Action, Catalog};
use crate::inventory::{Inventory, Target};

/// The main screens, in the order a responder walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Catalog,
    Targets,
    Params,
    Confirm,
    Run,
    Journal,
}

/// What covers the screen, if anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    /// `:` commands: `catalog`, `targets`, `runs`, `journal`, `incident TITLE`, `quit` …
    Palette(String),
    /// Typing a note for the selected incident.
    Note(String),
    /// A dry-run plan shown from the confirmation.
    Plan(Vec<String>),
    Error(String),
    /// `q` while a run is active.
    ConfirmQuit,
}

/// The whole console.
pub struct App {
    pub catalog: Arc<Catalog>,
    pub inventory: Arc<Inventory>,
    pub theme: Theme,
    pub screen: Screen,
    pub overlay: Overlay,
    /// The action chosen from the catalog: the subject of the picker and the form.
    pub action: Option<Arc<Action>>,
    pub search: Search,
    pub picker: Picker,
    pub form: Form,
    pub confirm: ConfirmState,
    pub runs: RunView,
    pub review: Review,
    /// A short message for the bottom line.
    pub notice: Option<String>,
    pub size: (u16, u16),
    pub quit: bool,
    /// Who runs requests from this console (read once at start: update does no I/O).
    pub operator: crate::policy::Operator,
    /// Targets a run from this console runs at once (`concurrency` in config.toml).
    pub concurrency: usize,
}

/// Targets running at once unless config.toml says otherwise: the CLI's default.
pub const CONCURRENCY: usize = 16;

impl App {
    pub fn new(
        catalog: Arc<Catalog>,
        inventory: Arc<Inventory>,
        theme: Theme,
        operator: crate::policy::Operator,
    ) -> Self {
        let search = Search::new(&catalog);
        Self {
            catalog,
            inventory,
            theme,
            screen: Screen::Catalog,
            overlay: Overlay::None,
            action: None,
            search,
            picker: Picker::default(),
            form: Form::default(),
            confirm: ConfirmState::default(),
            runs: RunView::default(),
            review: Review::default(),
            notice: None,
            size: (100, 30),
            quit: false,
            operator,
            concurrency: CONCURRENCY,
        }
    }

    /// The action under the catalog cursor.
    pub fn highlighted(&self) -> Option<&Arc<Action>> {
        let hit = self.search.hits.get(self.search.cursor)?;
        self.catalog.actions.get(hit.index)
    }

    /// Targets the picker shows: filtered by text, or by `key=value` tags.
    pub fn visible_targets(&self) -> Vec<&Target> {
        let filter = self.picker.filter.value().trim().to_lowercase();
        self.inventory
            .targets
            .iter()
            .filter(|t| self.action.as_ref().is_none_or(|a| a.allows(t.kind())))
            .filter(|t| matches_filter(t, &filter))
            .collect()
    }
}

/// Every space-separated word must match: `key=value` a tag, anything else
/// a substring of the name, address or transport.
fn matches_filter(target: &Target, filter: &str) -> bool {
    filter
        .split_whitespace()
        .all(|word| match word.split_once('=') {
            Some((k, v)) => target.tags.get(k).is_some_and(|tv| tv.to_lowercase() == v),
            None => {
                target.name.to_lowercase().contains(word)
                    || target.address().to_lowercase().contains(word)
                    || target.kind().as_str() == word
            }
        })
}
