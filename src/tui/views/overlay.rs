//! Overlays: help with the keys of the current view, the `:` palette, the
//! note input, the dry-run plan, errors and the quit question.

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{block, centered, clean};
use crate::tui::app::{App, Overlay, Screen};

fn help(screen: Screen) -> &'static [&'static str] {
    match screen {
        Screen::Catalog => &[
            "type        search actions (fuzzy)",
            "↑ ↓ Ctrl-N/P  move",
            "Enter       choose the action",
            "Esc         clear the search",
        ],
        Screen::Targets => &[
            "Space       toggle a target",
            "a / n       select all shown / none",
            "/           filter: words match names, key=value matches tags",
            "Enter       next: parameters",
            "j k g G     move",
        ],
        Screen::Params => &[
            "type        edit the field",
            "Tab ↑ ↓     change field",
            "Enter       next field, then confirm",
            "Esc         back to targets",
        ],
        Screen::Confirm => &[
            "Enter       run (a HIGH-risk action needs its name typed first)",
            "d or Tab    show the dry-run plan",
            "Esc         back",
        ],
        Screen::Run => &[
            "↑ ↓ j k     choose a target",
            "Enter       result envelope, stderr and EPS detail",
            "c / C       cancel this target / all",
            "r           re-run on the failed targets",
            "o           group identical outcomes",
            "v           panes: auto (grid when all fit) / grid / list",
            "PgUp PgDn   move ten panes",
        ],
        Screen::Journal => &[
            "Enter       open incident / execution",
            "N           add a note",
            "e           export JSON evidence (:export ndjson|markdown)",
            "x           close the incident",
            "V           verify the hash chain",
            "Esc         back",
        ],
    }
}

const EVERYWHERE: &[&str] = &[
    "?           this help",
    ":           palette: catalog, targets, runs, journal, incident TITLE, export, verify, quit, or a name: action, target, incident id",
    "1 2 3 4     catalog, targets, runs, journal (in lists)",
    "q / Ctrl-C  quit (q asks while a run is active)",
];

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let (title, lines, height): (String, Vec<String>, u16) = match &app.overlay {
        Overlay::None => return,
        Overlay::Help => {
            let mut lines: Vec<String> = help(app.screen).iter().map(|s| (*s).to_owned()).collect();
            lines.push(String::new());
            lines.extend(EVERYWHERE.iter().map(|s| (*s).to_owned()));
            let h = lines.len() as u16 + 2;
            ("keys · any key closes".into(), lines, h)
        }
        Overlay::Palette(text) => (":".into(), vec![format!(":{}█", clean(text))], 3),
        Overlay::Note(text) => (
            "note for the incident · Enter saves · Esc cancels".into(),
            vec![format!("{}█", clean(text))],
            3,
        ),
        Overlay::Plan(lines) => (
            "dry-run plan · nothing runs · any key closes".into(),
            lines.clone(),
            lines.len() as u16 + 2,
        ),
        Overlay::Error(text) => ("error · any key closes".into(), vec![clean(text)], 6),
        Overlay::ConfirmQuit => (
            "quit?".into(),
            vec!["A run is active. Enter or y cancels it and quits; any other key stays.".into()],
            3,
        ),
    };
    let rect = centered(
        area,
        area.width.saturating_sub(8).min(96),
        height.min(area.height),
    );
    frame.render_widget(Clear, rect);
    let lines: Vec<Line> = lines.into_iter().map(|l| Line::from(clean(&l))).collect();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(app, title)),
        rect,
    );
}
