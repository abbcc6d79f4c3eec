//! The live run: one pane per target with a bounded stderr tail, and the
//! grouping of identical outcomes. Fed only by committed events. Time comes
//! only from the frame clock's ticks (`tick(now)`), never from reading the
//! clock here: a clock starts at the first tick that sees it running, at
//! most one frame late, and elapsed times stand still between ticks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::mediator::{ExecEvent, Status, TargetResult};

/// Stderr lines a pane keeps for drawing; the journal keeps them all.
pub const PANE_LINES: usize = 200;

/// Where one target's execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneState {
    Queued,
    Connecting,
    Running,
    Done(Status),
}

impl PaneState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Connecting => "connecting",
            Self::Running => "running",
            Self::Done(Status::Success) => "ok",
            Self::Done(Status::Failed) => "failed",
            Self::Done(Status::TimedOut) => "timed out",
            Self::Done(Status::Cancelled) => "cancelled",
            Self::Done(Status::Skipped) => "skipped",
        }
    }
}

/// One target of the run.
#[derive(Debug, Clone)]
pub struct Pane {
    pub target: String,
    pub transport: String,
    pub exec: Option<String>,
    pub state: PaneState,
    pub lines: VecDeque<String>,
    /// The tick at which this target was first seen connecting or running.
    pub started: Option<Instant>,
    pub elapsed: Duration,
    pub result: Option<Box<TargetResult>>,
}

impl Pane {
    pub fn exit_code(&self) -> Option<i32> {
        self.result.as_ref().and_then(|r| r.exit_code)
    }

    /// A short outcome key: identical outputs or identical error codes group together.
    pub fn outcome_key(&self) -> String {
        let Some(result) = &self.result else {
            return self.state.label().into();
        };
        match (&result.error, &result.output) {
            (Some(e), _) => {
                let detail = e
                    .error_payload
                    .error_data
                    .error
                    .data
                    .get("plugin_error_code")
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default();
                format!(
                    "{} {}{detail} {}",
                    self.state.label(),
                    e.code(),
                    e.error_payload.error_data.error.message
                )
            }
            (None, Some(o)) => {
                let data = o
                    .payload
                    .as_ref()
                    .map(|p| crate::journal::canonical(&p.output_data))
                    .unwrap_or_default();
                format!("ok {:016x}", fxhash(data.as_bytes()))
            }
            (None, None) => self.state.label().into(),
        }
    }
}

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A group of panes with the same outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub targets: Vec<String>,
}

/// How the panes are laid out; `v` cycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PaneLayout {
    /// A grid when every pane fits on the screen, else the list.
    #[default]
    Auto,
    /// Always the grid, a page at a time around the cursor.
    Grid,
    /// One line per target and the selected target's stderr below.
    List,
}

impl PaneLayout {
    pub fn next(self) -> Self {
        match self {
            Self::Auto => Self::Grid,
            Self::Grid => Self::List,
            Self::List => Self::Auto,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Grid => "grid",
            Self::List => "list",
        }
    }
}

/// All panes of the current run.
#[derive(Debug, Default)]
pub struct RunView {
    pub request_id: Option<String>,
    pub action: String,
    pub verify: bool,
    pub panes: Vec<Pane>,
    by_exec: HashMap<String, usize>,
    pub cursor: usize,
    pub grouped: bool,
    pub layout: PaneLayout,
    /// A pane's detail (result envelope, stderr, EPS) is open.
    pub detail: bool,
    /// The first tick of this run.
    pub started: Option<Instant>,
    /// Time since `started`, as of the last tick.
    pub elapsed: Duration,
    pub active: bool,
    pub scroll: usize,
}

impl RunView {
    /// A fresh view for a run on `targets` (name, transport).
    pub fn start(
        &mut self,
        request_id: String,
        action: String,
        targets: Vec<(String, String)>,
        verify: bool,
    ) {
        *self = Self {
            request_id: Some(request_id),
            action,
            verify,
            panes: targets
                .into_iter()
                .map(|(target, transport)| Pane {
                    target,
                    transport,
                    exec: None,
                    state: PaneState::Queued,
                    lines: VecDeque::new(),
                    started: None,
                    elapsed: Duration::ZERO,
                    result: None,
                })
                .collect(),
            active: true,
            grouped: self.grouped,
            layout: self.layout,
            ..Self::default()
        };
    }

    pub fn apply(&mut self, event: ExecEvent) {
        match event {
            ExecEvent::Started { exec, target, .. } => {
                if let Some(i) = self.panes.iter().position(|p| p.target == target) {
                    self.by_exec.insert(exec.0.clone(), i);
                    let pane = &mut self.panes[i];
                    pane.exec = Some(exec.0);
                    pane.state = PaneState::Connecting;
                }
            }
            ExecEvent::Stderr { exec, line } => {
                if let Some(pane) = self.pane_mut(&exec.0) {
                    if pane.lines.len() == PANE_LINES {
                        pane.lines.pop_front();
                    }
                    pane.lines.push_back(line);
                }
            }
            ExecEvent::Status { exec, phase } => {
                if let Some(pane) = self.pane_mut(&exec.0) {
                    pane.state = if phase == "connecting" {
                        PaneState::Connecting
                    } else {
                        PaneState::Running
                    };
                }
            }
            ExecEvent::Finished { result, .. } => {
                if let Some(i) = self.panes.iter().position(|p| p.target == result.target) {
                    let pane = &mut self.panes[i];
                    pane.state = PaneState::Done(result.status);
                    pane.elapsed = Duration::from_millis(result.duration_ms);
                    pane.result = Some(result);
                }
            }
        }
    }

    fn pane_mut(&mut self, exec: &str) -> Option<&mut Pane> {
        let i = *self.by_exec.get(exec)?;
        self.panes.get_mut(i)
    }

    /// The frame clock says it is `now`: advances the run's and every
    /// running target's elapsed time. An ended run's clock stands still.
    pub fn tick(&mut self, now: Instant) {
        if !self.active {
            return;
        }
        let started = *self.started.get_or_insert(now);
        self.elapsed = now.saturating_duration_since(started);
        for pane in &mut self.panes {
            if matches!(pane.state, PaneState::Connecting | PaneState::Running) {
                let started = *pane.started.get_or_insert(now);
                pane.elapsed = now.saturating_duration_since(started);
            }
        }
    }

    pub fn count(&self, f: impl Fn(PaneState) -> bool) -> usize {
        self.panes.iter().filter(|p| f(p.state)).count()
    }

    /// Panes grouped by outcome; the largest group first.
    pub fn groups(&self) -> Vec<Group> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pane in &self.panes {
            groups
                .entry(pane.outcome_key())
                .or_default()
                .push(pane.target.clone());
        }
        let mut list: Vec<Group> = groups
            .into_iter()
            .map(|(key, targets)| {
                let label = match key.split_once(' ') {
                    Some(("ok", _)) => "ok · identical output".to_owned(),
                    _ => key,
                };
                Group { label, targets }
            })
            .collect();
        list.sort_by(|a, b| {
            b.targets
                .len()
                .cmp(&a.targets.len())
                .then(a.label.cmp(&b.label))
        });
        list
    }

    pub fn failed_targets(&self) -> Vec<String> {
        self.panes
            .iter()
            .filter(|p| matches!(p.state, PaneState::Done(s) if s != Status::Success))
            .map(|p| p.target.clone())
            .collect()
    }
}
