//! What a run tells its front end, and how the front end steers it. The
//! engine delivers [`RunEvent`]s to a [`Sink`] in order; an execution event
//! arrives only once its row is committed ("done on screen" means "done on
//! disk"). A [`RunHandle`] cancels and awaits the run.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::mediator::eps::Failure;
use crate::mediator::{ExecEvent, Report, TargetCancels};
use crate::policy::{Plan, Refusal};

/// One step of a run's life, in the order it happened.
#[derive(Debug)]
pub enum RunEvent {
    /// The incident the run records under, and how it was chosen.
    Incident {
        id: String,
        title: String,
        choice: &'static str,
    },
    /// A plan's request is committed to the journal; its targets start.
    /// A verify follow-up is a second `Requested` ([`Plan::is_verify`]).
    Requested(Arc<Plan>),
    /// An execution event, already committed to the journal.
    Exec(ExecEvent),
    /// Every target of a plan is done.
    Finished {
        plan: Arc<Plan>,
        report: Arc<Report>,
    },
    /// The gate refused the verify follow-up; what ran before stands.
    VerifyRefused(Refusal),
    /// The run is over: its outcome, or why nothing (more) ran.
    Done(Result<Arc<RunOutcome>, Failure>),
}

/// A finished run: each plan with its report, and the journal's head after it.
#[derive(Debug)]
pub struct RunOutcome {
    pub incident: String,
    /// The action's plan first, then its verify follow-up when one ran.
    pub runs: Vec<(Arc<Plan>, Arc<Report>)>,
    pub journal: PathBuf,
    /// The journal's last event (`seq`, `hash`) once the run was recorded.
    pub head: (i64, String),
}

impl RunOutcome {
    /// The action's own plan and report.
    pub fn first(&self) -> Option<&(Arc<Plan>, Arc<Report>)> {
        self.runs.first()
    }

    /// The verify follow-up, when one ran.
    pub fn verify(&self) -> Option<&(Arc<Plan>, Arc<Report>)> {
        self.runs.get(1)
    }

    /// True when every target of every plan succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.runs.iter().all(|(_, report)| report.all_succeeded())
    }
}

/// Where a run's events go. Delivery waits when the front end is behind
/// (bounded channels): a slow screen slows the run, it never loses a result.
pub trait Sink: Send + Sync + 'static {
    fn deliver(&self, event: RunEvent) -> impl Future<Output = ()> + Send;
}

/// A channel is a sink for any message a run event converts into: the
/// console's `Msg`, or `RunEvent` itself for the CLI's printer.
impl<M: From<RunEvent> + Send + 'static> Sink for mpsc::Sender<M> {
    async fn deliver(&self, event: RunEvent) {
        // A closed receiver means the front end is gone; the run still
        // finishes and is recorded.
        let _ = mpsc::Sender::send(self, M::from(event)).await;
    }
}

/// Stops a run, or one of its targets. Cheap to clone and keep.
#[derive(Clone)]
pub struct Stopper {
    pub(super) all: CancellationToken,
    pub(super) targets: TargetCancels,
}

impl Stopper {
    /// Cancels every running target and starts no other.
    pub fn cancel(&self) {
        self.all.cancel();
    }

    /// Cancels one running target by name; unknown or finished names do nothing.
    pub fn cancel_target(&self, name: &str) {
        if let Ok(map) = self.targets.lock()
            && let Some(token) = map.get(name)
        {
            token.cancel();
        }
    }
}

/// A submitted run.
pub struct RunHandle {
    pub(super) stopper: Stopper,
    pub(super) task: JoinHandle<Result<Arc<RunOutcome>, Failure>>,
}

impl RunHandle {
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Waits for the run to end (the sink has had its `Done` by then).
    pub async fn finish(self) -> Result<Arc<RunOutcome>, Failure> {
        self.task.await.unwrap_or_else(|e| {
            Err(Failure::JournalLost(format!(
                "the run's task stopped unexpectedly: {e}"
            )))
        })
    }
}
