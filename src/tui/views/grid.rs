//! The pane grid: one bordered pane per target with its state, elapsed time,
//! exit code and live stderr tail. Used when the panes fit on the screen
//! (or always, with `v`): a page of panes around the cursor at a time.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::run::{state_role, tail_lines};
use super::{block, clean};
use crate::tui::app::App;
use crate::tui::runs::Pane;
use crate::tui::theme::Role;

/// The smallest pane worth drawing: a title and four lines of stderr.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 6;

/// Columns and rows of panes that fit in `area`.
pub fn shape(area: Rect) -> (usize, usize) {
    let cols = (area.width / MIN_WIDTH).max(1);
    let rows = (area.height / MIN_HEIGHT).max(1);
    (usize::from(cols), usize::from(rows))
}

/// Whether `panes` panes all fit in `area` at once.
pub fn fits(area: Rect, panes: usize) -> bool {
    let (cols, rows) = shape(area);
    panes <= cols * rows
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let runs = &app.runs;
    let (max_cols, max_rows) = shape(area);
    let per_page = max_cols * max_rows;
    let page = runs.cursor / per_page;
    let first = page * per_page;
    let shown = &runs.panes[first..runs.panes.len().min(first + per_page)];
    // Few panes get bigger cells: as many columns as needed, rows to match.
    let cols = max_cols.min(shown.len()).max(1);
    let rows = shown.len().div_ceil(cols).max(1);
    let pages = runs.panes.len().div_ceil(per_page);
    let area = if pages > 1 {
        let [grid, footer] =
            Layout::vertical([Constraint::Min(MIN_HEIGHT), Constraint::Length(1)]).areas(area);
        let text = format!(
            "page {}/{} · panes {}–{} of {} · PgUp/PgDn",
            page + 1,
            pages,
            first + 1,
            first + shown.len(),
            runs.panes.len()
        );
        frame.render_widget(
            Paragraph::new(Line::styled(text, app.theme.style(Role::Muted))),
            footer,
        );
        grid
    } else {
        area
    };
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(area);
    for (r, row) in row_areas.iter().enumerate() {
        let cells = Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols]).split(*row);
        for (c, cell) in cells.iter().enumerate() {
            let index = r * cols + c;
            if let Some(pane) = shown.get(index) {
                draw_pane(app, frame, *cell, pane, first + index == runs.cursor);
            }
        }
    }
}

fn draw_pane(app: &App, frame: &mut Frame, area: Rect, pane: &Pane, selected: bool) {
    let exit = pane
        .exit_code()
        .map(|c| format!(" · exit {c}"))
        .unwrap_or_default();
    let title = format!(
        "{} · {} · {:.1}s{exit}",
        clean(&pane.target),
        pane.state.label(),
        pane.elapsed.as_secs_f32()
    );
    let border = if selected {
        Role::Selected
    } else {
        state_role(pane.state)
    };
    let marker = if selected { "▶ " } else { "" };
    let outer = block(app, format!("{marker}{title}")).border_style(app.theme.style(border));
    // A finished pane ends with its outcome, so a failure reads without Enter.
    let outcome = pane.result.as_ref().map(|r| match &r.error {
        Some(e) => Line::styled(
            clean(&format!(
                "EPS {} {}",
                e.code(),
                e.error_payload.error_data.error.message
            )),
            app.theme.style(Role::Failed),
        ),
        None => Line::styled(
            format!("{} · {} stderr lines", r.status.as_str(), r.stderr_lines),
            app.theme.style(Role::Ok),
        ),
    });
    let room = area.height.saturating_sub(u16::from(outcome.is_some()));
    let mut lines = tail_lines(pane, room);
    lines.extend(outcome);
    frame.render_widget(Paragraph::new(lines).block(outer), area);
}
