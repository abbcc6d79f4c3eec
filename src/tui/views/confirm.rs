//! The confirmation: action and version, resolved targets (count first),
//! parameters with secrets masked, timeout and concurrency. `change` needs
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

/// The lines of the plan, also shown as the dry-run overlay.
pub fn plan_lines(app: &App) -> Vec<String> {
    let Some(action) = &app.confirm.action else {
        return Vec::new();
    };
    let mut lines = vec![
        format!(
            "action   {} {} (bundle {})",
            action.name,
            action.version,
            &action.bundle_sha256()[..action.bundle_sha256().len().min(19)]
        ),
        format!("targets  {}", app.confirm.targets.len()),
    ];
    for name in &app.confirm.targets {
        if let Some(t) = app.inventory.get(name) {
            lines.push(format!(
                "  {} via {} ({})",
                t.name,
                t.kind().as_str(),
                t.address()
            ));
        }
    }
    lines.push("parameters".into());
    for field in &app.confirm.fields {
        let secret = action.param(&field.name).is_some_and(|p| p.secret);
        let value = if secret {
            "[REDACTED]".to_owned()
        } else {
            field.input.value().to_owned()
        };
        lines.push(format!("  {} = {value}", field.name));
    }
    lines.push(format!(
        "timeout {} · concurrency {}",
        humantime::format_duration(action.timeout),
        app.concurrency
    ));
    if let Some(verify) = &action.verify {
        lines.push(format!("then verify with {verify}"));
    }
    lines
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(action) = &app.confirm.action else {
        return;
    };
    let mut lines: Vec<Line> = vec![Line::from(vec![
        Span::raw("risk "),
        risk_badge(app, action.risk),
    ])];
    lines.extend(plan_lines(app).into_iter().map(|l| Line::from(clean(&l))));
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
