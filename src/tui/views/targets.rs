//! The target picker: transport badges, tags, a text and tag filter,
//! multi-select, and a running count.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use super::{block, clean};
use crate::tui::app::App;
use crate::tui::theme::Role;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let visible = app.visible_targets();
    let action = app.action.as_ref().map_or("?", |a| a.name.as_str());
    let filter = app.picker.filter.value();
    let title = format!(
        "targets for {action} · {}{} of {} shown · {} selected",
        if filter.is_empty() {
            String::new()
        } else {
            format!("filter {filter} · ")
        },
        visible.len(),
        app.inventory.targets.len(),
        app.picker.selected.len()
    );
    let outer = block(app, title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [filter_line, list] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    if app.picker.filtering || !filter.is_empty() {
        let cursor = if app.picker.filtering { "█" } else { "" };
        frame.render_widget(
            Paragraph::new(format!("/{}{cursor}", clean(filter))),
            filter_line,
        );
    }
    let items: Vec<ListItem> = visible
        .iter()
        .map(|t| {
            let mark = if app.picker.selected.contains(&t.name) {
                "[x]"
            } else {
                "[ ]"
            };
            let tags: Vec<String> = t.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            ListItem::new(Line::from(vec![
                Span::raw(format!("{mark} ")),
                Span::styled(
                    format!("{:<16} ", clean(&t.name)),
                    app.theme.style(Role::Title),
                ),
                Span::styled(
                    format!("{:<6}", t.kind().as_str()),
                    app.theme.style(Role::Muted),
                ),
                Span::raw(format!("{:<24} ", clean(&t.address()))),
                Span::styled(clean(&tags.join(" ")), app.theme.style(Role::Muted)),
            ]))
        })
        .collect();
    let empty = items.is_empty();
    let mut state = ListState::default().with_selected((!empty).then_some(app.picker.cursor));
    frame.render_stateful_widget(
        List::new(items).highlight_style(app.theme.style(Role::Selected)),
        list,
        &mut state,
    );
    if empty {
        frame.render_widget(
            Paragraph::new("no target matches the filter (or the action's transports)"),
            list,
        );
    }
}
