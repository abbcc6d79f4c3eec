//! The target picker: filter by name or `key=value` tags, toggle targets,
//! select all shown. Enter goes on to the parameter form with at least one
//! target selected (the one under the cursor when none is).

use std::collections::BTreeSet;

use tui_input::Input;

use super::super::app::{App, Screen};
use super::super::keys::Intent;
use super::super::msg::Cmd;
use super::edit::{edit, step};

/// The picker's filter, selection and cursor.
#[derive(Debug, Default)]
pub struct Picker {
    pub filter: Input,
    /// The filter has focus: keys type into it.
    pub filtering: bool,
    pub selected: BTreeSet<String>,
    pub cursor: usize,
}

impl Picker {
    /// Shows only what `text` matches, from the top.
    pub fn filter_by(&mut self, text: &str) {
        self.filter = Input::new(text.to_owned());
        self.cursor = 0;
    }
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Cmd> {
    if app.picker.filtering {
        filtering(app, intent);
        return Vec::new();
    }
    let visible: Vec<String> = app
        .visible_targets()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let picker = &mut app.picker;
    match intent {
        Intent::Filter => picker.filtering = true,
        Intent::Toggle => {
            if let Some(name) = visible.get(picker.cursor)
                && !picker.selected.remove(name)
            {
                picker.selected.insert(name.clone());
            }
        }
        Intent::All => picker.selected.extend(visible),
        Intent::NoneSelected => picker.selected.clear(),
        Intent::Back => app.screen = Screen::Catalog,
        Intent::Enter => {
            if picker.selected.is_empty()
                && let Some(name) = visible.get(picker.cursor)
            {
                picker.selected.insert(name.clone());
            }
            if !picker.selected.is_empty() {
                super::params::open(app);
            }
        }
        other => step(&mut picker.cursor, visible.len(), other),
    }
    Vec::new()
}

/// Keys while the filter has focus: Enter keeps the filter, Esc clears it.
fn filtering(app: &mut App, intent: Intent) {
    if edit(&mut app.picker.filter, intent) {
        app.picker.cursor = 0;
        return;
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
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use super::super::tests::{app, press, type_text};

    #[test]
    fn target_filters_match_names_and_tags() {
        let mut app = app();
        type_text(&mut app, "noop");
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Char('/'));
        type_text(&mut app, "role=db");
        let names: Vec<_> = app
            .visible_targets()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        assert_eq!(names, ["db-1"]);
        press(&mut app, KeyCode::Esc);
        assert_eq!(
            app.visible_targets().len(),
            4,
            "Esc clears the filter (localhost included)"
        );
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Char('n'));
        assert!(app.picker.selected.is_empty());
    }
}
