//! The confirmation: the engine's plan of what Enter submits (action and
//! version, resolved targets, count first, parameters redacted by the plan,
//! timeout and concurrency), or why the engine would refuse it. `change` needs
//! Enter; `high` needs the action name typed. It draws `app.confirm`, the
//! copy Enter submits, never the picker or the form.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{block, clean, risk_badge};
use crate::catalog::Risk;
use crate::tui::app::App;
use crate::tui::theme::Role;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(action) = &app.confirm.action else {
        return;
    };
    let mut lines: Vec<Line> = vec![Line::from(vec![
        Span::raw("risk "),
        risk_badge(app, action.risk),
    ])];
    match &app.confirm.plan {
        Some(Ok(plan)) => lines.extend(plan.short.iter().map(|l| Line::from(clean(l)))),
        Some(Err(reason)) => lines.push(Line::from(Span::styled(
            format!("refused: {}", clean(reason)),
            app.theme.style(Role::Failed),
        ))),
        None => lines.push(Line::from("planning…")),
    }
    lines.push(Line::from(""));
    match action.risk {
        Risk::High => {
            lines.push(Line::from(Span::styled(
                format!(
                    "This is a HIGH-risk action. Type {} and press Enter to run it.",
                    action.name
                ),
                app.theme.style(Role::RiskHigh),
            )));
            lines.push(Line::from(format!(
                "> {}█",
                clean(app.confirm.input.value())
            )));
        }
        Risk::Change => lines.push(Line::from(Span::styled(
            "This changes the targets. Enter runs it.",
            app.theme.style(Role::RiskChange),
        ))),
        Risk::Read => lines.push(Line::from("Read-only. Enter runs it.")),
    }
    // A re-run says so in the title: its targets are the failures, not the picker's.
    let title = if app.confirm.rerun {
        format!("confirm re-run of {} on its failed targets", action.name)
    } else {
        format!("confirm {}", action.name)
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(app, title)),
        area,
    );
}
