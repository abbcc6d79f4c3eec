//! The live run: a summary bar, then a grid of panes (views/grid.rs), outcome
//! groups, or one line per target with the selected target's stderr tail (or
//! its full detail) below. Panes scroll.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use super::{block, clean, scrolled};
use crate::mediator::Status;
use crate::tui::app::App;
use crate::tui::runs::{Pane, PaneLayout, PaneState};
use crate::tui::theme::Role;

pub(super) fn state_role(state: PaneState) -> Role {
    match state {
        PaneState::Done(Status::Success) => Role::Ok,
        PaneState::Done(Status::Skipped | Status::Cancelled) => Role::Muted,
        PaneState::Done(_) => Role::Failed,
        _ => Role::Running,
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let runs = &app.runs;
    if runs.panes.is_empty() {
        frame.render_widget(
            Paragraph::new("no run yet: pick an action in the catalog (1)")
                .block(block(app, "run".into())),
            area,
        );
        return;
    }
    let ok = runs.count(|s| s == PaneState::Done(Status::Success));
    let failed = runs.count(|s| matches!(s, PaneState::Done(x) if x != Status::Success));
    let running = runs.count(|s| !matches!(s, PaneState::Done(_)));
    let elapsed = runs.elapsed.as_secs_f32();
    let verb = if runs.verify { "verify" } else { "run" };
    let clock = if runs.active {
        format!("{elapsed:.1}s")
    } else {
        "done".into()
    };
    let title = format!(
        "{verb} {} on {} · {ok} ok · {failed} not ok · {running} running · {clock}",
        runs.action,
        runs.panes.len(),
    );
    let outer = block(app, title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let grid = match runs.layout {
        PaneLayout::Grid => true,
        PaneLayout::List => false,
        PaneLayout::Auto => super::grid::fits(inner, runs.panes.len()),
    };
    if grid && !runs.grouped {
        if runs.detail {
            if let Some(pane) = runs.panes.get(runs.cursor) {
                let title = format!("{} detail · ↑↓ scroll · Esc back", pane.target);
                frame.render_widget(
                    Paragraph::new(scrolled(detail_lines(pane), runs.scroll))
                        .wrap(Wrap { trim: false })
                        .block(block(app, title)),
                    inner,
                );
            }
        } else {
            super::grid::render(app, frame, inner);
        }
        return;
    }
    let list_height = (runs.panes.len() as u16 + 1).min(inner.height / 2).max(3);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(3)]).areas(inner);
    if runs.grouped {
        let lines: Vec<Line> = runs
            .groups()
            .iter()
            .map(|g| {
                let shown: Vec<&str> = g.targets.iter().take(6).map(String::as_str).collect();
                let more = if g.targets.len() > 6 {
                    format!(" … +{}", g.targets.len() - 6)
                } else {
                    String::new()
                };
                Line::from(format!(
                    "{:>4}  {:<44} {}{more}",
                    g.targets.len(),
                    clean(&g.label),
                    shown.join(" ")
                ))
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), top);
    } else {
        let items: Vec<ListItem> = runs.panes.iter().map(|p| pane_line(app, p)).collect();
        let mut state = ListState::default().with_selected(Some(runs.cursor));
        frame.render_stateful_widget(
            List::new(items).highlight_style(app.theme.style(Role::Selected)),
            top,
            &mut state,
        );
    }
    let Some(pane) = runs.panes.get(runs.cursor) else {
        return;
    };
    let body: Vec<Line> = if runs.detail {
        scrolled(detail_lines(pane), runs.scroll)
    } else {
        tail_lines(pane, bottom.height)
    };
    let title = format!(
        "{} {}",
        pane.target,
        if runs.detail {
            "detail"
        } else {
            "stderr (sanitized)"
        }
    );
    frame.render_widget(
        Paragraph::new(body)
            .wrap(Wrap { trim: false })
            .block(block(app, title)),
        bottom,
    );
}

fn pane_line<'a>(app: &App, p: &Pane) -> ListItem<'a> {
    let last = p.lines.back().map(|l| clean(l)).unwrap_or_default();
    let exit = p
        .exit_code()
        .map(|c| format!("exit {c}"))
        .unwrap_or_default();
    ListItem::new(Line::from(vec![
        Span::styled(
            format!("{:<11}", p.state.label()),
            app.theme.style(state_role(p.state)),
        ),
        Span::styled(
            format!("{:<16} ", clean(&p.target)),
            app.theme.style(Role::Title),
        ),
        Span::raw(format!(
            "{:<5} {:>7.1}s {:<8} ",
            p.transport,
            p.elapsed.as_secs_f32(),
            exit
        )),
        Span::styled(last, app.theme.style(Role::Muted)),
    ]))
}

pub(super) fn tail_lines<'a>(p: &Pane, height: u16) -> Vec<Line<'a>> {
    let keep = usize::from(height.saturating_sub(2));
    p.lines
        .iter()
        .skip(p.lines.len().saturating_sub(keep))
        .map(|l| Line::from(clean(l)))
        .collect()
}

fn detail_lines<'a>(p: &Pane) -> Vec<Line<'a>> {
    let Some(result) = &p.result else {
        return vec![Line::from("still running: no result yet")];
    };
    let mut text = format!(
        "status {} · exit {} · {} ms\n",
        result.status.as_str(),
        result
            .exit_code
            .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        result.duration_ms
    );
    if let Some(error) = &result.error {
        text += &format!(
            "EPS {} {}\n{}\n",
            error.code(),
            error.error_payload.error_data.error.message,
            error.reason()
        );
    }
    if let Some(output) = &result.output {
        text += &serde_json::to_string_pretty(output).unwrap_or_default();
        text.push('\n');
    }
    for note in &result.notes {
        text += &format!("note: {note}\n");
    }
    text += &format!(
        "stderr: {} lines, {} bytes; last:\n",
        result.stderr_lines, result.stderr_bytes
    );
    for line in result.stderr_tail.iter().rev().take(10).rev() {
        text += line;
        text.push('\n');
    }
    crate::protocol::sanitize::sanitize_text(&text)
        .lines()
        .map(|l| Line::from(l.to_owned()))
        .collect()
}
