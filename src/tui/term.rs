//! The loop: one `tokio::select!` over key presses, committed execution
//! events, effect results and a frame clock. It performs the effects `update`
//! asks for and redraws on the frame tick only when something changed, so a
//! flood of stream lines never turns into a flood of frames. The terminal is
//! restored on exit and on panic.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::app::App;
use super::msg::{Cmd, Msg, Recorded};
use super::theme::Theme;
use super::update::update;
use super::views::render;
use crate::catalog::Catalog;
use crate::inventory::Inventory;
use crate::journal::{Journal, export, recorder};
use crate::mediator::{ExecEvent, Mediator, TargetCancels};
use crate::policy::{Operator, Plan, RunRequest, decide, verify_request};

/// A frame at most every 50 ms: smooth enough, and idle costs nothing.
const FRAME: Duration = Duration::from_millis(50);
/// Messages queued between background work and the loop.
const QUEUE: usize = 4096;
/// Queued messages handled per turn before keys are polled again: a stderr
/// flood costs one `select!` (and one poll of the terminal, which contends
/// with crossterm's reader thread) per batch instead of per line, and a key
/// waits at most one batch (microseconds of `update`).
const BATCH: usize = 256;

/// What the console needs from the command line.
pub struct Options {
    pub catalog: Catalog,
    pub inventory: Inventory,
    pub journal: PathBuf,
    pub mediator: Mediator,
    pub theme: Theme,
    /// Where `e` writes exports.
    pub export_dir: PathBuf,
    /// Targets a run runs at once.
    pub concurrency: usize,
}

/// Runs the console until the operator quits.
pub async fn run(options: Options) -> anyhow::Result<()> {
    // Fail before the screen changes: no unaudited action, ever.
    Journal::open(&options.journal)?;
    // Without a terminal (a pipe, cron, CI) init would panic; say what to use instead.
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        anyhow::anyhow!("the console needs a terminal ({e}); run actions headless with `rune run`")
    })?;
    let result = event_loop(&mut terminal, options).await;
    ratatui::restore();
    result
}

struct Effects {
    catalog: Arc<Catalog>,
    inventory: Arc<Inventory>,
    journal: PathBuf,
    mediator: Mediator,
    export_dir: PathBuf,
    msg_tx: mpsc::Sender<Msg>,
    /// The active run's cancel token, and one per target.
    cancel: Option<(CancellationToken, TargetCancels)>,
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    options: Options,
) -> anyhow::Result<()> {
    let catalog = Arc::new(options.catalog);
    let inventory = Arc::new(options.inventory);
    let mut app = App::new(
        Arc::clone(&catalog),
        Arc::clone(&inventory),
        options.theme,
        Operator::current(),
    );
    app.concurrency = options.concurrency;
    let (msg_tx, mut msg_rx) = mpsc::channel::<Msg>(QUEUE);
    let mut effects = Effects {
        catalog,
        inventory,
        journal: options.journal,
        mediator: options.mediator,
        export_dir: options.export_dir,
        msg_tx,
        cancel: None,
    };
    let mut keys = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    let mut dirty = true;
    while !app.quit {
        let msg = tokio::select! {
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(msg) = msg_rx.recv() => msg,
            _ = frame.tick() => {
                if app.runs.active {
                    update(&mut app, Msg::Tick(Instant::now()));
                    dirty = true;
                }
                if dirty {
                    terminal.draw(|f| render(&app, f))?;
                    dirty = false;
                }
                continue;
            }
        };
        // Keys redraw at once; stream events wait for the next frame.
        let immediate = matches!(msg, Msg::Key(_) | Msg::Resize(..));
        for cmd in update(&mut app, msg) {
            effects.perform(cmd);
        }
        if !immediate {
            for msg in queued(&mut msg_rx, BATCH) {
                for cmd in update(&mut app, msg) {
                    effects.perform(cmd);
                }
            }
        }
        dirty = true;
        if immediate {
            terminal.draw(|f| render(&app, f))?;
            dirty = false;
        }
    }
    if let Some((token, _)) = &effects.cancel {
        token.cancel();
    }
    Ok(())
}

impl Effects {
    fn perform(&mut self, cmd: Cmd) {
        let tx = self.msg_tx.clone();
        let path = self.journal.clone();
        match cmd {
            Cmd::Quit => {}
            Cmd::Submit(request) => self.submit(*request),
            Cmd::Cancel(target) => self.cancel_run(target.as_deref()),
            Cmd::LoadIncidents => blocking(tx, move || {
                let journal = Journal::open_existing(&path).map_err(|e| e.to_string())?;
                journal
                    .incidents()
                    .map(Msg::Incidents)
                    .map_err(|e| e.to_string())
            }),
            Cmd::LoadTimeline(incident) => blocking(tx, move || {
                let journal = Journal::open_existing(&path).map_err(|e| e.to_string())?;
                let events = journal.timeline(&incident, 0).map_err(|e| e.to_string())?;
                let executions = journal.executions(&incident).map_err(|e| e.to_string())?;
                Ok(Msg::Timeline {
                    incident,
                    events,
                    executions,
                })
            }),
            Cmd::AddNote { incident, text } => blocking(tx, move || {
                let mut journal = Journal::open(&path).map_err(|e| e.to_string())?;
                let seq = journal
                    .add_note(&incident, &text, &Operator::current().id())
                    .map_err(|e| e.to_string())?;
                Ok(Msg::Recorded(Recorded::Note { incident, seq }))
            }),
            Cmd::OpenIncident { title } => blocking(tx, move || {
                let mut journal = Journal::open(&path).map_err(|e| e.to_string())?;
                let i = journal
                    .open_incident(
                        &title,
                        crate::journal::Severity::Medium,
                        None,
                        &Operator::current().id(),
                    )
                    .map_err(|e| e.to_string())?;
                Ok(Msg::Recorded(Recorded::IncidentOpened {
                    id: i.id,
                    title: i.title,
                }))
            }),
            Cmd::CloseIncident(id) => blocking(tx, move || {
                let mut journal = Journal::open(&path).map_err(|e| e.to_string())?;
                let i = journal
                    .close_incident(&id, &Operator::current().id())
                    .map_err(|e| e.to_string())?;
                Ok(Msg::Recorded(Recorded::IncidentClosed { id: i.id }))
            }),
            Cmd::Verify => blocking(tx, move || {
                let journal = Journal::open_existing(&path).map_err(|e| e.to_string())?;
                journal
                    .verify(None)
                    .map(Msg::Verified)
                    .map_err(|e| e.to_string())
            }),
            Cmd::Export { incident, format } => {
                let dir = self.export_dir.clone();
                blocking(tx, move || {
                    let journal = Journal::open_existing(&path).map_err(|e| e.to_string())?;
                    let ext = match format {
                        export::Format::Json => "json",
                        export::Format::Ndjson => "ndjson",
                        export::Format::Markdown => "md",
                    };
                    let file = dir.join(format!("rune-{incident}.{ext}"));
                    let mut out = export::create_private(&file)
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    export::export(&journal, &incident, format, &mut out)
                        .map_err(|e| e.to_string())?;
                    Ok(Msg::Recorded(Recorded::Exported { path: file }))
                });
            }
        }
    }

    fn cancel_run(&self, target: Option<&str>) {
        let Some((all, per_target)) = &self.cancel else {
            return;
        };
        match target {
            None => all.cancel(),
            Some(name) => {
                if let Ok(map) = per_target.lock()
                    && let Some(token) = map.get(name)
                {
                    token.cancel();
                }
            }
        }
    }

    /// Plans, records and runs a request (and then its verify) in the background.
    fn submit(&mut self, request: RunRequest) {
        let token = CancellationToken::new();
        let per_target = TargetCancels::default();
        self.cancel = Some((token.clone(), Arc::clone(&per_target)));
        let tx = self.msg_tx.clone();
        let mut mediator = self.mediator.clone();
        mediator.target_cancels = Some(per_target);
        let (catalog, inventory, path) = (
            Arc::clone(&self.catalog),
            Arc::clone(&self.inventory),
            self.journal.clone(),
        );
        tokio::spawn(async move {
            let outcome =
                run_request(&catalog, &inventory, &mediator, &path, request, &tx, &token).await;
            let msg = match outcome {
                Ok(report) => Msg::RunDone {
                    report: report.map(Box::new),
                    error: None,
                },
                Err(error) => Msg::RunDone {
                    report: None,
                    error: Some(error),
                },
            };
            let _ = tx.send(msg).await;
        });
    }
}

/// Up to `max` messages already waiting, without waiting for more.
fn queued(rx: &mut mpsc::Receiver<Msg>, max: usize) -> impl Iterator<Item = Msg> + '_ {
    std::iter::from_fn(|| rx.try_recv().ok()).take(max)
}

/// Runs a journal operation off the loop; its result comes back as a message.
fn blocking(tx: mpsc::Sender<Msg>, work: impl FnOnce() -> Result<Msg, String> + Send + 'static) {
    tokio::spawn(async move {
        let msg = match tokio::task::spawn_blocking(work).await {
            Ok(Ok(msg)) => msg,
            Ok(Err(e)) => Msg::Failed(e),
            Err(e) => Msg::Failed(e.to_string()),
        };
        let _ = tx.send(msg).await;
    });
}

async fn run_request(
    catalog: &Catalog,
    inventory: &Inventory,
    mediator: &Mediator,
    path: &std::path::Path,
    mut request: RunRequest,
    tx: &mpsc::Sender<Msg>,
    cancel: &CancellationToken,
) -> Result<Option<crate::mediator::Report>, String> {
    let mut journal = Journal::open(path)
        .map_err(|e| format!("the journal cannot record, so nothing runs: {e}"))?;
    let (incident, _) = journal
        .choose_incident(None, &request.operator.id(), &request.action)
        .map_err(|e| format!("the journal cannot record, so nothing runs: {e}"))?;
    request.incident_id = incident.id;
    let plan = Arc::new(decide(catalog, inventory, request).map_err(|e| format!("refused: {e}"))?);
    journal
        .record_request(&plan)
        .map_err(|e| format!("the journal cannot record, so nothing runs: {e}"))?;
    let (journal, report) = execute(mediator, journal, &plan, tx, cancel).await?;
    let succeeded: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == crate::mediator::Status::Success)
        .map(|r| r.target.clone())
        .collect();
    let Some(verify) =
        verify_request(&plan, catalog, &succeeded).filter(|_| !cancel.is_cancelled())
    else {
        return Ok(Some(report));
    };
    let mut journal = journal;
    let verify_plan =
        Arc::new(decide(catalog, inventory, verify).map_err(|e| format!("verify refused: {e}"))?);
    journal
        .record_request(&verify_plan)
        .map_err(|e| e.to_string())?;
    let (_, verify_report) = execute(mediator, journal, &verify_plan, tx, cancel).await?;
    Ok(Some(verify_report))
}

/// mediator → journal (commits) → the loop, for one plan.
async fn execute(
    mediator: &Mediator,
    journal: Journal,
    plan: &Arc<Plan>,
    tx: &mpsc::Sender<Msg>,
    cancel: &CancellationToken,
) -> Result<(Journal, crate::mediator::Report), String> {
    let targets = plan
        .targets
        .iter()
        .map(|t| (t.name.clone(), t.transport.as_str().to_owned()))
        .collect();
    let verify = plan.request.message_metadata.parent_message_id.is_some();
    let _ = tx
        .send(Msg::RunStarted {
            request_id: plan.request.message_metadata.message_id.clone(),
            action: plan.action.name.clone(),
            targets,
            verify,
        })
        .await;
    let (events_tx, events_rx) = mpsc::channel::<ExecEvent>(QUEUE);
    let (recorded_tx, mut recorded_rx) = mpsc::channel::<ExecEvent>(QUEUE);
    let (gate, start_wait) = crate::mediator::start_gate();
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
            if tx.send(Msg::Exec(event)).await.is_err() {
                break;
            }
        }
    };
    let (report, journal, ()) = tokio::join!(run, record, forward);
    Ok((
        journal.map_err(|e| format!("the journal failed during the run: {e}"))?,
        report,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_takes_at_most_a_batch_of_what_is_queued_in_order() {
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        for i in 0..BATCH + 10 {
            tx.try_send(Msg::Failed(i.to_string())).unwrap();
        }
        let taken: Vec<String> = queued(&mut rx, BATCH)
            .map(|m| match m {
                Msg::Failed(n) => n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(taken.len(), BATCH);
        assert_eq!(taken.first().map(String::as_str), Some("0"));
        assert_eq!(taken.last(), Some(&(BATCH - 1).to_string()));
        // The rest waits for the next turn, and an empty queue never blocks.
        assert_eq!(queued(&mut rx, BATCH).count(), 10);
        assert_eq!(queued(&mut rx, BATCH).count(), 0);
    }
}
