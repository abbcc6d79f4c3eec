//! Everything that can happen to the console, and every effect it can ask for.

use crossterm::event::KeyEvent;

use crate::engine::RunEvent;
use crate::journal::{EventRow, ExecutionRow, Incident};
use crate::mediator::{ExecEvent, Report};
use crate::policy::RunRequest;

/// An input to `update`.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The frame clock: advances elapsed times.
    Tick,
    Resize(u16, u16),
    /// A run's event from the engine (its execution events are committed).
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
    /// A journal operation finished: a line for the status bar.
    Notice(String),
    Failed(String),
}

/// An effect, as data: only the loop in `term.rs` carries it out.
#[derive(Debug, Clone)]
pub enum Cmd {
    Submit(Box<RunRequest>),
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
