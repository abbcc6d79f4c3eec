//! Journal review, offline: incidents → an incident's timeline → one
//! execution's envelopes, stderr and EPS details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use super::{block, clean, scrolled};
use crate::journal::EventKind;
use crate::tui::app::App;
use crate::tui::theme::Role;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let review = &app.review;
    if let Some(exec) = &review.detail {
        return detail(app, frame, area, exec);
    }
    if let Some(incident) = &review.incident {
        let title = review
            .incidents
            .iter()
            .find(|i| &i.id == incident)
            .map_or(incident.clone(), |i| i.title.clone());
        let items: Vec<ListItem> = review
            .events
            .iter()
            .map(|e| {
                let target = e
                    .execution_id
                    .as_deref()
                    .and_then(|x| review.executions.iter().find(|r| r.id == x))
                    .map_or("", |r| r.target.as_str());
                let what = match e.kind {
                    EventKind::Note => e.body["text"].as_str().unwrap_or("").to_owned(),
                    EventKind::Request => format!(
                        "{} requested by {}",
                        e.body["action"]["name"].as_str().unwrap_or("?"),
                        e.body["operator"].as_str().unwrap_or("?")
                    ),
                    EventKind::Stderr => e.body["line"].as_str().unwrap_or("").to_owned(),
                    EventKind::Incident => e.body["action"].as_str().unwrap_or("").to_owned(),
                    _ => e.body["status"]
                        .as_str()
                        .or(e.body["phase"].as_str())
                        .unwrap_or("")
                        .to_owned(),
                };
                let time = e.at.get(11..23).unwrap_or(&e.at);
                ListItem::new(Line::from(vec![
                    Span::styled(
                        format!("{:>6} {time} ", e.seq),
                        app.theme.style(Role::Muted),
                    ),
                    Span::styled(format!("{:<11}", e.kind), app.theme.style(Role::Title)),
                    Span::raw(format!("{:<14} {}", clean(target), clean(&what))),
                ]))
            })
            .collect();
        let mut state = ListState::default().with_selected(Some(review.event_cursor));
        let list = List::new(items)
            .highlight_style(app.theme.style(Role::Selected))
            .block(block(app, format!("timeline · {}", title)));
        frame.render_stateful_widget(list, area, &mut state);
        return;
    }
    let items: Vec<ListItem> = review
        .incidents
        .iter()
        .map(|i| {
            let role = if i.status == "open" {
                Role::Running
            } else {
                Role::Muted
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{:<9}", i.status), app.theme.style(role)),
                Span::raw(format!(
                    "{:<9}{} ",
                    i.severity,
                    i.opened_at
                        .get(..16)
                        .unwrap_or(&i.opened_at)
                        .replace('T', " ")
                )),
                Span::styled(clean(&i.title), app.theme.style(Role::Title)),
                Span::styled(
                    format!("  {}", i.id.get(..8).unwrap_or(&i.id)),
                    app.theme.style(Role::Muted),
                ),
            ]))
        })
        .collect();
    let verified = review
        .verified
        .clone()
        .unwrap_or_else(|| "chain not checked (V)".into());
    let title = format!(
        "journal · {} incidents · {verified}",
        review.incidents.len()
    );
    let empty = items.is_empty();
    let mut state = ListState::default().with_selected((!empty).then_some(review.cursor));
    frame.render_stateful_widget(
        List::new(items)
            .highlight_style(app.theme.style(Role::Selected))
            .block(block(app, title)),
        area,
        &mut state,
    );
}

fn detail(app: &App, frame: &mut Frame, area: Rect, exec: &str) {
    let review = &app.review;
    let mut text = String::new();
    if let Some(x) = review.executions.iter().find(|x| x.id == exec) {
        text += &format!(
            "{} {} on {} ({}) · bundle {}\noperator {} · params {}\noutcome {}\n\n",
            x.action,
            x.action_version,
            x.target,
            x.transport,
            x.bundle_sha256,
            x.operator,
            x.params,
            x.outcome.as_ref().map_or("none", EventKind::as_str)
        );
    }
    for event in review
        .events
        .iter()
        .filter(|e| e.execution_id.as_deref() == Some(exec))
    {
        match event.kind {
            EventKind::Stderr => {
                text += &format!("stderr: {}\n", event.body["line"].as_str().unwrap_or(""))
            }
            EventKind::Status => {}
            _ => {
                text += &format!(
                    "{} #{}:\n{}\n",
                    event.kind,
                    event.seq,
                    serde_json::to_string_pretty(&event.body).unwrap_or_default()
                )
            }
        }
    }
    let lines: Vec<Line> = crate::protocol::sanitize::sanitize_text(&text)
        .lines()
        .map(|l| Line::from(l.to_owned()))
        .collect();
    let lines = scrolled(lines, review.detail_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(
                app,
                format!("execution {exec} · ↑↓ scroll · Esc back"),
            )),
        area,
    );
}
