//! The parameter form: one field per declared parameter, defaults filled,
//! each checked as it is typed. Enter walks the fields and, with none in
//! error, opens the confirmation; an action without parameters skips it.

use tui_input::Input;

use super::super::app::{App, Screen};
use super::super::keys::Intent;
use super::super::msg::Cmd;
use super::edit::edit;
use crate::catalog::{Action, parse_text};

/// One field of the parameter form.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub input: Input,
    pub error: Option<String>,
}

/// The form for the chosen action.
#[derive(Debug, Default)]
pub struct Form {
    pub fields: Vec<Field>,
    pub cursor: usize,
}

impl Form {
    /// One field per parameter of `action`, its default filled in as text.
    fn new(action: &Action) -> Self {
        let fields = action
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
        Self { fields, cursor: 0 }
    }

    /// Checks one field as typed; an empty optional field is fine.
    fn check(&mut self, action: &Action, index: usize) {
        let Some(field) = self.fields.get_mut(index) else {
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
                // The form shows the error under its field: the name is said already.
                e.to_string()
                    .replace(&format!("parameter `{}`: ", param.name), "")
            })
        };
    }
}

/// The form with defaults filled; no parameters skips straight to confirmation.
pub fn open(app: &mut App) {
    let Some(action) = &app.action else { return };
    app.form = Form::new(action);
    if app.form.fields.is_empty() {
        super::confirm::open_from_form(app);
    } else {
        app.screen = Screen::Params;
    }
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let Some(action) = app.action.clone() else {
        return Vec::new();
    };
    let form = &mut app.form;
    let count = form.fields.len();
    if let Some(field) = form.fields.get_mut(form.cursor)
        && edit(&mut field.input, intent)
    {
        form.check(&action, form.cursor);
        return Vec::new();
    }
    match intent {
        Intent::NextField | Intent::Down => {
            form.cursor = (form.cursor + 1).min(count.saturating_sub(1))
        }
        Intent::PrevField | Intent::Up => form.cursor = form.cursor.saturating_sub(1),
        Intent::Back => app.screen = Screen::Targets,
        Intent::Enter => {
            (0..count).for_each(|i| form.check(&action, i));
            match form.fields.iter().position(|f| f.error.is_some()) {
                Some(bad) => form.cursor = bad,
                None if form.cursor + 1 < count => form.cursor += 1,
                None => super::confirm::open_from_form(app),
            }
        }
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use super::super::tests::{app, press, type_text};
    use crate::tui::app::Screen;

    #[test]
    fn the_form_validates_as_you_type_and_blocks_bad_values() {
        let mut app = app();
        type_text(&mut app, "restart-service");
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Enter);
        type_text(&mut app, "bad unit!");
        assert!(
            app.form.fields[0]
                .error
                .as_deref()
                .unwrap()
                .contains("does not match"),
            "{:?}",
            app.form.fields[0].error
        );
        press(&mut app, KeyCode::Tab);
        for _ in 0..2 {
            press(&mut app, KeyCode::Backspace);
        }
        type_text(&mut app, "500");
        assert!(
            app.form.fields[1]
                .error
                .as_deref()
                .unwrap()
                .contains("above the maximum 120")
        );
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.screen, Screen::Params, "errors keep the form open");
        assert_eq!(app.form.cursor, 0, "focus goes to the first bad field");
    }

    /// The form shows why a secret is refused, never the secret: the same
    /// messages as `rune run` (`catalog::params`), here for an integer made
    /// secret, typed above its maximum.
    #[test]
    fn a_secret_fields_error_never_shows_its_value() {
        let mut app = app();
        type_text(&mut app, "restart-service");
        press(&mut app, KeyCode::Enter);
        let mut action = (**app.action.as_ref().unwrap()).clone();
        let wait = action.params.iter_mut().find(|p| p.name == "wait").unwrap();
        wait.secret = true;
        app.action = Some(std::sync::Arc::new(action));
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Tab);
        for _ in 0..2 {
            press(&mut app, KeyCode::Backspace);
        }
        type_text(&mut app, "987654321");
        assert_eq!(app.form.fields[1].name, "wait");
        assert_eq!(
            app.form.fields[1].error.as_deref(),
            Some("the secret value is above the maximum 120")
        );
    }
}
