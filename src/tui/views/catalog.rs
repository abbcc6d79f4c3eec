//! The catalog: search box, ranked matches with highlighted characters,
//! and the highlighted action's description and parameters.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use super::{block, clean, risk_badge};
use crate::tui::app::App;
use crate::tui::theme::Role;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let incident_hint = format!(
        "RUNE · {} actions · {} targets",
        app.catalog.actions.len(),
        app.inventory.targets.len()
    );
    let outer = block(app, incident_hint);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [search, list, detail] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(8),
    ])
    .areas(inner);
    let cursor = Span::styled("█", app.theme.style(Role::Muted));
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw("search: "),
            Span::raw(clean(app.search.input.value())),
            cursor,
        ])),
        search,
    );
    let items: Vec<ListItem> = app
        .search
        .hits
        .iter()
        .filter_map(|hit| {
            let action = app.catalog.actions.get(hit.index)?;
            let mut spans: Vec<Span> = action
                .name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let role = if hit.name_indices.contains(&i) {
                        Role::Match
                    } else {
                        Role::Title
                    };
                    Span::styled(c.to_string(), app.theme.style(role))
                })
                .collect();
            spans.push(Span::raw(
                " ".repeat(20usize.saturating_sub(action.name.chars().count())),
            ));
            spans.push(risk_badge(app, action.risk));
            let transports = action.transports.as_ref().map_or("any".into(), |t| {
                t.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" ")
            });
            spans.push(Span::styled(
                format!("  {transports:<12} "),
                app.theme.style(Role::Muted),
            ));
            spans.push(Span::raw(clean(&action.title)));
            Some(ListItem::new(Line::from(spans)))
        })
        .collect();
    let empty = items.is_empty();
    let list_widget = List::new(items)
        .highlight_style(app.theme.style(Role::Selected))
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected((!empty).then_some(app.search.cursor));
    frame.render_stateful_widget(list_widget, list, &mut state);
    if empty {
        frame.render_widget(
            Paragraph::new("no action matches; Esc clears the search"),
            list,
        );
    }
    if let Some(action) = app.highlighted() {
        let mut lines = vec![
            Line::from(Span::styled(
                clean(&format!(
                    "{} {} · owner {} · timeout {} · {}",
                    action.name,
                    action.version,
                    action.owner,
                    humantime::format_duration(action.timeout),
                    action
                        .verify
                        .as_ref()
                        .map_or("no verify".into(), |v| format!("verify {v}"))
                )),
                app.theme.style(Role::Muted),
            )),
            Line::from(clean(&action.description)),
        ];
        for p in &action.params {
            let mut text = format!("  {:<12} {}", p.name, p.kind.describe());
            if p.required {
                text += ", required";
            }
            if let Some(d) = p.default.as_ref().filter(|_| !p.secret) {
                text += &format!(", default {d}");
            }
            if p.secret {
                text += ", secret";
            }
            lines.push(Line::from(clean(&text)));
        }
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .block(block(app, String::new())),
            detail,
        );
    }
}
