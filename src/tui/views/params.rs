//! The parameter form: one typed field per line, its constraint, an inline
//! error as you type, secrets shown as dots.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, clean};
use crate::tui::app::App;
use crate::tui::theme::Role;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(action) = &app.action else { return };
    let title = format!(
        "parameters for {} · {} target(s)",
        action.name,
        app.picker.selected.len()
    );
    let mut lines = Vec::new();
    for (i, field) in app.form.fields.iter().enumerate() {
        let Some(param) = action.param(&field.name) else {
            continue;
        };
        let focused = i == app.form.cursor;
        let value = if param.secret {
            "•".repeat(field.input.value().chars().count())
        } else {
            clean(field.input.value())
        };
        let marker = if focused { "▶ " } else { "  " };
        let cursor = if focused { "█" } else { "" };
        let style = if focused {
            app.theme.style(Role::Selected)
        } else {
            app.theme.style(Role::Title)
        };
        let required = if param.required { ", required" } else { "" };
        lines.push(Line::from(vec![
            Span::raw(marker),
            Span::styled(format!("{:<14}", field.name), style),
            Span::raw(format!("{value}{cursor}")),
        ]));
        lines.push(Line::from(Span::styled(
            format!(
                "    {}{required}  {}",
                clean(&param.kind.describe()),
                clean(&param.description)
            ),
            app.theme.style(Role::Muted),
        )));
        if let Some(error) = &field.error {
            lines.push(Line::from(Span::styled(
                format!("    ✗ {}", clean(error)),
                app.theme.style(Role::Failed),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block(app, title)), area);
}
