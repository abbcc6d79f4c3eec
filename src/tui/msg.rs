//! Everything that can happen to the console, and every effect it can ask for.

use std::path::PathBuf;
use std::time::Instant;

use crossterm::event::KeyEvent;

use crate::engine::RunEvent;
use crate::journal::{EventRow, ExecutionRow, Incident, VerifyReport};
use crate::mediator::{ExecEvent, Report};
use crate::policy::RunRequest;

/// An input to `update`.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The frame clock, read by the loop: the only time `update` sees, so
    /// elapsed times advance with ticks and tests can choose the instant.
    Tick(Instant),
    Resize(u16, u16),
    /// A run's event from the engine (its execution events are committed).
    /// `update/run.rs` turns it into the three messages below, the run
    /// view's own terms, which tests also send to drive it without an engine.
    Run(RunEvent),
    /// An execution event, already committed to the journal.
    Exec(ExecEvent),
    /// A run was accepted: its request id, action, targets and the verify flag.
    RunStarted {
        request_id: String,
        action: String,
        targets: Vec<(String, String)>,
        verify: bool,
    },
    /// A run ended (`None` report when it could not start).
    RunDone {
        report: Option<Box<Report>>,
        error: Option<String>,
    },
    Incidents(Vec<Incident>),
    Timeline {
        incident: String,
        events: Vec<EventRow>,
        executions: Vec<ExecutionRow>,
    },
    /// A journal write finished.
    Recorded(Recorded),
    /// The hash chain was checked.
    Verified(VerifyReport),
    /// A journal operation failed: the message to show.
    Failed(String),
    /// The engine's plan for what the confirmation shows (`seq` names which
    /// opening of the confirmation asked), or why it would be refused.
    Planned {
        seq: u64,
        plan: Result<PlanText, String>,
    },
}

/// A plan as text, from the engine's one rendering of a decided plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanText {
    /// A bounded target list: the confirmation keeps its prompt on screen.
    pub short: Vec<String>,
    /// Every target: the dry-run overlay.
    pub full: Vec<String>,
}

/// What a journal write did, typed so that `update` reacts to it (reloads a
/// list, refreshes a timeline) without reading meaning out of a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Note { incident: String, seq: i64 },
    IncidentOpened { id: String, title: String },
    IncidentClosed { id: String },
    Exported { path: PathBuf },
}

/// An effect, as data: only the loop in `term.rs` carries it out.
#[derive(Debug, Clone)]
pub enum Cmd {
    Submit(Box<RunRequest>),
    /// Decide `request` and show its plan; nothing is recorded or run.
    Plan {
        seq: u64,
        request: Box<RunRequest>,
    },
    /// Cancel one execution (by target name) or, with `None`, the whole run.
    Cancel(Option<String>),
    LoadIncidents,
    LoadTimeline(String),
    AddNote {
        incident: String,
        text: String,
    },
    OpenIncident {
        title: String,
    },
    CloseIncident(String),
    Export {
        incident: String,
        format: crate::journal::export::Format,
    },
    Verify,
    Quit,
}

/// The console is the engine's sink: a run's events arrive as messages.
impl From<RunEvent> for Msg {
    fn from(event: RunEvent) -> Self {
        Self::Run(event)
    }
}
