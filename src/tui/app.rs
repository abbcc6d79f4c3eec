//! The console's state: plain data, no I/O. One overlay at a time.

use std::collections::BTreeSet;
use std::sync::Arc;

use tui_input::Input;

use super::runs::RunView;
use super::theme::Theme;
use crate::catalog::{Action, Catalog, Match, search};
use crate::inventory::{Inventory, Target};
use crate::journal::{EventRow, ExecutionRow, Incident};

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

/// The target picker.
#[derive(Debug, Default)]
pub struct Picker {
    pub filter: Input,
    pub filtering: bool,
    pub selected: BTreeSet<String>,
    pub cursor: usize,
}

/// One field of the parameter form.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub input: Input,
    pub error: Option<String>,
}

/// The journal review: incidents, one incident's timeline, one execution.
#[derive(Debug, Default)]
pub struct Review {
    pub incidents: Vec<Incident>,
    pub cursor: usize,
    /// The incident open in the timeline, with its events.
    pub incident: Option<String>,
    pub events: Vec<EventRow>,
    pub executions: Vec<ExecutionRow>,
    pub event_cursor: usize,
    /// An execution's detail is open.
    pub detail: Option<String>,
    /// Lines scrolled in the open detail.
    pub detail_scroll: usize,
    pub verified: Option<String>,
}

/// The whole console.
pub struct App {
    pub catalog: Arc<Catalog>,
    pub inventory: Arc<Inventory>,
    pub theme: Theme,
    pub screen: Screen,
    pub overlay: Overlay,
    pub search: Input,
    pub hits: Vec<Match>,
    pub catalog_cursor: usize,
    /// The action chosen from the catalog.
    pub action: Option<Arc<Action>>,
    pub picker: Picker,
    pub fields: Vec<Field>,
    pub field_cursor: usize,
    pub confirm_input: Input,
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
        let hits = search(&catalog.actions, "");
        Self {
            catalog,
            inventory,
            theme,
            screen: Screen::Catalog,
            overlay: Overlay::None,
            search: Input::default(),
            hits,
            catalog_cursor: 0,
            action: None,
            picker: Picker::default(),
            fields: Vec::new(),
            field_cursor: 0,
            confirm_input: Input::default(),
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
        let hit = self.hits.get(self.catalog_cursor)?;
        self.catalog.actions.get(hit.index)
    }

    /// Targets the picker shows: filtered by text, or by `key=value` tags.
    pub fn visible_targets(&self) -> Vec<&Target> {
        let filter = self.picker.filter.value().trim().to_lowercase();
        self.inventory
            .targets
            .iter()
            .filter(|t| self.action.as_ref().is_none_or(|a| a.allows(t.transport)))
            .filter(|t| matches_filter(t, &filter))
            .collect()
    }

    pub fn refresh_hits(&mut self) {
        self.hits = search(&self.catalog.actions, self.search.value());
        self.catalog_cursor = self.catalog_cursor.min(self.hits.len().saturating_sub(1));
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
                    || target.transport.as_str() == word
            }
        })
}
