//! The run pipeline, written once for every front end and every kind of
//! run (a first run, a re-run of failed targets, a verify follow-up):
//! decide once per plan → choose the incident → record the request → run
//! through the recorder and the start gate → the verify follow-up, which
//! passes the same gate. Nothing runs unless its request is committed first.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::{RunEvent, RunHandle, RunOutcome, Sink, Stopper};
use super::open::Engine;
use crate::journal::{self, Journal, recorder};
use crate::mediator::eps::Failure;
use crate::mediator::{ExecEvent, Mediator, Report, Status, TargetCancels, start_gate};
use crate::policy::{Plan, Refusal, RunRequest, decide, verify_request};

/// Events buffered between the mediator, the journal writer and the sink.
const EVENT_QUEUE: usize = 1024;

impl Engine {
    /// Checks `request` and plans it, recording and running nothing: the
    /// dry run, and the plan a confirmation screen shows.
    pub fn plan(&self, request: RunRequest) -> Result<Plan, Refusal> {
        let mut plan = decide(&self.catalog, &self.inventory, request)?;
        // Past the open-file budget, targets would fail with "Too many open
        // files" instead of waiting their turn.
        plan.concurrency = plan.concurrency.min(self.max_concurrency);
        Ok(plan)
    }

    /// Runs `request` in the background. Every event goes to `sink`, the
    /// last one being [`RunEvent::Done`]; the handle cancels and awaits it.
    /// Must be called within a tokio runtime.
    pub fn submit<S: Sink>(&self, request: RunRequest, sink: S) -> RunHandle {
        let stopper = Stopper {
            all: CancellationToken::new(),
            targets: TargetCancels::default(),
        };
        let mut mediator = self.mediator.clone();
        mediator.target_cancels = Some(Arc::clone(&stopper.targets));
        let engine = self.clone();
        let cancel = stopper.all.clone();
        let task = tokio::spawn(async move {
            let outcome = pipeline(&engine, &mediator, request, &sink, &cancel)
                .await
                .map(Arc::new);
            sink.deliver(RunEvent::Done(outcome.clone())).await;
            outcome
        });
        RunHandle { stopper, task }
    }
}

async fn pipeline(
    engine: &Engine,
    mediator: &Mediator,
    request: RunRequest,
    sink: &impl Sink,
    cancel: &CancellationToken,
) -> Result<RunOutcome, Failure> {
    let asked = request.incident.clone();
    // Decided before the journal is touched: a refused request opens no incident.
    let mut plan = engine.plan(request).map_err(Failure::Refused)?;
    let (journal, incident) = open_incident(engine, asked, &plan).await?;
    sink.deliver(RunEvent::Incident {
        id: incident.0.id.clone(),
        title: incident.0.title.clone(),
        choice: incident.1.describe(),
    })
    .await;
    plan.assign_incident(&incident.0.id);
    let plan = Arc::new(plan);
    let (mut journal, report) = record_and_run(mediator, journal, &plan, sink, cancel).await?;
    let mut runs = vec![(Arc::clone(&plan), Arc::clone(&report))];
    let succeeded: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Success)
        .map(|r| r.target.clone())
        .collect();
    let follow_up = verify_request(&plan, &engine.catalog, &succeeded);
    if let Some(verify) = follow_up.filter(|_| !cancel.is_cancelled()) {
        // The same gate as any run: decided once, recorded before it starts.
        match engine.plan(verify) {
            Ok(verify_plan) => {
                let verify_plan = Arc::new(verify_plan);
                // The action ran and is recorded: a journal failure from here
                // on is a lost journal, not "nothing runs".
                let verify_report;
                (journal, verify_report) =
                    record_and_run(mediator, journal, &verify_plan, sink, cancel)
                        .await
                        .map_err(|failure| match failure {
                            Failure::Journal(reason) => Failure::JournalLost(reason),
                            other => other,
                        })?;
                runs.push((verify_plan, verify_report));
            }
            Err(refusal) => sink.deliver(RunEvent::VerifyRefused(refusal)).await,
        }
    }
    Ok(RunOutcome {
        incident: incident.0.id,
        runs,
        journal: engine.journal.to_path_buf(),
        head: journal.head(),
    })
}

/// Opens the journal and picks the incident, off the async threads (SQLite
/// may wait for another writer's lock). Any failure here means nothing runs.
async fn open_incident(
    engine: &Engine,
    asked: Option<String>,
    plan: &Plan,
) -> Result<(Journal, (journal::Incident, journal::IncidentChoice)), Failure> {
    let path = Arc::clone(&engine.journal);
    let operator = plan.operator.id();
    let action = plan.action.name.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let mut journal = Journal::open(&path)?;
        let chosen = journal.choose_incident(asked.as_deref(), &operator, &action)?;
        Ok::<_, journal::Error>((journal, chosen))
    })
    .await
    .map_err(|e| Failure::Journal(format!("the journal task stopped: {e}")))?;
    opened.map_err(|e| match e {
        journal::Error::UnknownIncident(_) | journal::Error::IncidentClosed(_) => {
            Failure::Refused(Refusal::BadOption(e.to_string()))
        }
        other => Failure::Journal(other.to_string()),
    })
}

/// Commits `plan`'s request, then runs it: mediator → journal writer
/// (commits, opens the start gate) → sink.
async fn record_and_run(
    mediator: &Mediator,
    mut journal: Journal,
    plan: &Arc<Plan>,
    sink: &impl Sink,
    cancel: &CancellationToken,
) -> Result<(Journal, Arc<Report>), Failure> {
    journal
        .record_request(plan)
        .map_err(|e| Failure::Journal(e.to_string()))?;
    sink.deliver(RunEvent::Requested(Arc::clone(plan))).await;
    let (events_tx, events_rx) = mpsc::channel::<ExecEvent>(EVENT_QUEUE);
    let (recorded_tx, mut recorded_rx) = mpsc::channel::<ExecEvent>(EVENT_QUEUE);
    let (gate, start_wait) = start_gate();
    let run = mediator.run_gated(
        Arc::clone(plan),
        events_tx,
        cancel.clone(),
        Some(start_wait),
    );
    let record = recorder::record(
        journal,
        Arc::clone(plan),
        events_rx,
        recorded_tx,
        cancel.clone(),
        gate,
    );
    let forward = async {
        while let Some(event) = recorded_rx.recv().await {
            sink.deliver(RunEvent::Exec(event)).await;
        }
    };
    let (report, journal, ()) = tokio::join!(run, record, forward);
    let journal = journal.map_err(|e| Failure::JournalLost(e.to_string()))?;
    let report = Arc::new(report);
    sink.deliver(RunEvent::Finished {
        plan: Arc::clone(plan),
        report: Arc::clone(&report),
    })
    .await;
    Ok((journal, report))
}
