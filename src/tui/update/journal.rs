//! The journal review: incidents, one incident's timeline, one execution's
//! detail, and the journal's answers (lists, timelines, writes, the chain
//! check). Reading and writing the journal is the loop's work; this only
//! asks for it with a `Cmd` and shows what comes back.

use super::super::app::{App, Overlay, Screen};
use super::super::keys::Intent;
use super::super::msg::{Cmd, Recorded};
use super::edit::{scroll, step};
use crate::journal::export::Format;
use crate::journal::{EventRow, ExecutionRow, Incident, VerifyReport};

/// The journal review: incidents, one incident's timeline, one execution.
#[derive(Debug, Default)]
pub struct Review {
    pub incidents: Vec<Incident>,
    pub cursor: usize,
    /// The incident open in the timeline, with its events.
    pub incident: Option<String>,
    pub events: Vec<EventRow>,
    pub executions: Vec<ExecutionRow>,
    pub event_cursor: usize,
    /// An execution's detail is open.
    pub detail: Option<String>,
    /// Lines scrolled in the open detail.
    pub detail_scroll: usize,
    /// The last chain check, as the title shows it.
    pub verified: Option<String>,
}

impl Review {
    /// The id of the incident under the cursor.
    pub fn selected(&self) -> Option<String> {
        self.incidents.get(self.cursor).map(|i| i.id.clone())
    }
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Cmd> {
    let review = &mut app.review;
    if review.detail.is_some() {
        match intent {
            Intent::Back => review.detail = None,
            other => scroll(&mut review.detail_scroll, other),
        }
        return Vec::new();
    }
    if review.incident.is_some() {
        match intent {
            Intent::Back => review.incident = None,
            Intent::Enter => {
                review.detail_scroll = 0;
                review.detail = review
                    .events
                    .get(review.event_cursor)
                    .and_then(|e| e.execution_id.clone())
            }
            other => step(&mut review.event_cursor, review.events.len(), other),
        }
        return Vec::new();
    }
    match (intent, review.selected()) {
        (Intent::Enter, Some(id)) => return vec![Cmd::LoadTimeline(id)],
        (Intent::Note, Some(_)) => app.overlay = Overlay::Note(String::new()),
        (Intent::CloseIncident, Some(id)) => return vec![Cmd::CloseIncident(id)],
        (Intent::Export, Some(id)) => {
            return vec![Cmd::Export {
                incident: id,
                format: Format::Json,
            }];
        }
        (Intent::Verify, _) => return vec![Cmd::Verify],
        (Intent::Back, _) => app.screen = Screen::Catalog,
        (other, _) => step(&mut review.cursor, review.incidents.len(), other),
    }
    Vec::new()
}

pub fn incidents(app: &mut App, list: Vec<Incident>) -> Vec<Cmd> {
    app.review.cursor = app.review.cursor.min(list.len().saturating_sub(1));
    app.review.incidents = list;
    Vec::new()
}

pub fn timeline(
    app: &mut App,
    incident: String,
    events: Vec<EventRow>,
    executions: Vec<ExecutionRow>,
) -> Vec<Cmd> {
    let review = &mut app.review;
    review.incident = Some(incident);
    review.events = events;
    review.executions = executions;
    review.event_cursor = 0;
    review.detail = None;
    Vec::new()
}

/// A journal write finished: say so, and reload what it changed.
pub fn recorded(app: &mut App, recorded: Recorded) -> Vec<Cmd> {
    let (notice, cmds) = match recorded {
        Recorded::Note { incident, seq } => {
            // The open timeline shows the note at once.
            let reload = (app.review.incident.as_ref() == Some(&incident))
                .then(|| Cmd::LoadTimeline(incident));
            (
                format!("note recorded as event {seq}"),
                reload.into_iter().collect(),
            )
        }
        Recorded::IncidentOpened { id, title } => (
            format!("opened incident {id} \"{title}\"; runs record under it"),
            vec![Cmd::LoadIncidents],
        ),
        Recorded::IncidentClosed { id } => {
            (format!("incident {id} resolved"), vec![Cmd::LoadIncidents])
        }
        Recorded::Exported { path } => (format!("exported to {}", path.display()), Vec::new()),
    };
    app.notice = Some(notice);
    cmds
}

/// The chain check's answer: in the journal's title until the next check.
pub fn verified(app: &mut App, report: &VerifyReport) -> Vec<Cmd> {
    let line = match &report.broken {
        None => format!(
            "chain ok: {} events, head {}",
            report.events, report.head.seq
        ),
        Some(b) => format!("chain BROKEN at event {}: {}", b.seq, b.reason),
    };
    app.review.verified = Some(line.clone());
    app.notice = Some(line);
    Vec::new()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::tests::app;
    use crate::journal::{Broken, Head, VerifyReport};
    use crate::tui::msg::{Cmd, Msg, Recorded};
    use crate::tui::update::update;

    #[test]
    fn the_chain_check_is_its_own_message_and_a_notice_is_only_text() {
        let mut app = app();
        let mut report = VerifyReport {
            events: 42,
            head: Head {
                seq: 42,
                hash: "ab".repeat(32),
            },
            broken: None,
        };
        update(&mut app, Msg::Verified(report.clone()));
        assert_eq!(
            app.review.verified.as_deref(),
            Some("chain ok: 42 events, head 42")
        );
        report.broken = Some(Broken {
            seq: 7,
            reason: "hash mismatch".into(),
        });
        update(&mut app, Msg::Verified(report));
        assert_eq!(
            app.review.verified.as_deref(),
            Some("chain BROKEN at event 7: hash mismatch")
        );
        // An export's path that happens to start with "chain" is no check.
        let path = PathBuf::from("chain-of-events.json");
        update(&mut app, Msg::Recorded(Recorded::Exported { path }));
        assert_eq!(
            app.review.verified.as_deref(),
            Some("chain BROKEN at event 7: hash mismatch")
        );
        assert_eq!(
            app.notice.as_deref(),
            Some("exported to chain-of-events.json")
        );
    }

    #[test]
    fn journal_writes_reload_what_they_changed() {
        let mut app = app();
        let opened = Recorded::IncidentOpened {
            id: "i-1".into(),
            title: "nginx 502s".into(),
        };
        let cmds = update(&mut app, Msg::Recorded(opened));
        assert!(matches!(cmds.as_slice(), [Cmd::LoadIncidents]));
        let closed = Recorded::IncidentClosed { id: "i-1".into() };
        let cmds = update(&mut app, Msg::Recorded(closed));
        assert!(matches!(cmds.as_slice(), [Cmd::LoadIncidents]));
        let note = |incident: &str| Recorded::Note {
            incident: incident.into(),
            seq: 9,
        };
        assert!(update(&mut app, Msg::Recorded(note("i-1"))).is_empty());
        app.review.incident = Some("i-1".into());
        let cmds = update(&mut app, Msg::Recorded(note("i-1")));
        assert!(matches!(cmds.as_slice(), [Cmd::LoadTimeline(id)] if id == "i-1"));
        assert_eq!(app.notice.as_deref(), Some("note recorded as event 9"));
    }
}
