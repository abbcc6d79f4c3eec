//! `render(&App, &mut Frame)`: one file per screen, overlays on top, a
//! bottom line saying where you are and what the next key does. Rendering
//! never changes state. Text from hosts was sanitized in the engine; names
//! and titles are sanitized here too before they reach a cell.

pub mod catalog;
pub mod confirm;
pub mod grid;
pub mod journal;
pub mod overlay;
pub mod params;
pub mod run;
pub mod targets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::app::{App, Screen};
use super::theme::Role;
use crate::catalog::Risk;
use crate::protocol::sanitize::sanitize_line;

pub fn render(app: &App, frame: &mut Frame) {
    let [main, bottom] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(frame.area());
    match app.screen {
        Screen::Catalog => catalog::render(app, frame, main),
        Screen::Targets => targets::render(app, frame, main),
        Screen::Params => params::render(app, frame, main),
        Screen::Confirm => confirm::render(app, frame, main),
        Screen::Run => run::render(app, frame, main),
        Screen::Journal => journal::render(app, frame, main),
    }
    let hints = app.notice.clone().unwrap_or_else(|| hints(app).into());
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            clean(&hints),
            app.theme.style(Role::Muted),
        ))),
        bottom,
    );
    overlay::render(app, frame);
}

/// What the next keys do, per screen.
fn hints(app: &App) -> &'static str {
    match app.screen {
        Screen::Catalog => {
            "type to search · ↑↓ move · Enter choose · : palette · ? help · Ctrl-C quit"
        }
        Screen::Targets if app.picker.filtering => {
            "type a filter (name or key=value) · Enter keep · Esc clear"
        }
        Screen::Targets => {
            "Space toggle · a all shown · n none · / filter · Enter next · Esc back · ? help"
        }
        Screen::Params => "type a value · Tab/↑↓ field · Enter next · Esc back · ? help",
        Screen::Confirm if app.confirm.typing() => {
            "type the action name · Enter run · Tab dry-run plan · Esc back"
        }
        Screen::Confirm => "Enter run · d dry-run plan · Esc back · ? help",
        Screen::Run => {
            "Enter detail · c/C cancel one/all · r re-run failed · o group · v layout · 4 journal · ? help"
        }
        Screen::Journal if app.review.incident.is_some() => {
            "↑↓ move · Enter execution detail · Esc back"
        }
        Screen::Journal => {
            "Enter open · N note · e export · x close incident · V verify chain · Esc back"
        }
    }
}

/// A bordered block with a title in the title role.
pub fn block<'a>(app: &App, title: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.style(Role::Border))
        .title(Span::styled(clean(&title), app.theme.style(Role::Title)))
}

/// Text safe to draw: control, escape, bidi and zero-width characters made visible.
pub fn clean(text: &str) -> String {
    sanitize_line(text)
}

/// The risk badge: reads without colour too.
pub fn risk_badge(app: &App, risk: Risk) -> Span<'static> {
    let (text, role) = match risk {
        Risk::Read => ("read  ", Role::RiskRead),
        Risk::Change => ("change", Role::RiskChange),
        Risk::High => ("HIGH  ", Role::RiskHigh),
    };
    Span::styled(text, app.theme.style(role))
}

/// A long text scrolled by `offset` lines, never past its last line.
pub fn scrolled(lines: Vec<Line<'_>>, offset: usize) -> Vec<Line<'_>> {
    let skip = offset.min(lines.len().saturating_sub(1));
    lines.into_iter().skip(skip).collect()
}

/// A rectangle centred in `area`, for overlays.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod states;
#[cfg(test)]
mod tests;
