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

use super::app::App;
use super::msg::{Cmd, Msg, PlanText, Recorded};
use super::theme::Theme;
use super::update::update;
use super::views::render;
use crate::engine::{Engine, Stopper, plan_lines};
use crate::journal::{Journal, export};
use crate::policy::{Operator, RunRequest};

/// A frame at most every 50 ms: smooth enough, and idle costs nothing.
const FRAME: Duration = Duration::from_millis(50);
/// Messages queued between background work and the loop.
const QUEUE: usize = 4096;
/// Queued messages handled per turn before keys are polled again: a stderr
/// flood costs one `select!` (and one poll of the terminal, which contends
/// with crossterm's reader thread) per batch instead of per line, and a key
/// waits at most one batch (microseconds of `update`).
const BATCH: usize = 256;

/// Targets the confirmation lists before "+N more": its prompt stays on screen.
const CONFIRM_TARGETS: usize = 8;

/// What the console needs from the command line.
pub struct Options {
    /// The same engine `rune run` submits to: catalog, inventory, journal, transports.
    pub engine: Engine,
    pub theme: Theme,
    /// Where `e` writes exports.
    pub export_dir: PathBuf,
}

/// Runs the console until the operator quits.
pub async fn run(options: Options) -> anyhow::Result<()> {
    // Fail before the screen changes: no unaudited action, ever.
    options.engine.check_journal()?;
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
    engine: Engine,
    journal: PathBuf,
    export_dir: PathBuf,
    msg_tx: mpsc::Sender<Msg>,
    /// Stops the active run, or one of its targets.
    stopper: Option<Stopper>,
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    options: Options,
) -> anyhow::Result<()> {
    let engine = options.engine;
    let mut app = App::new(
        Arc::clone(engine.catalog()),
        Arc::clone(engine.inventory()),
        options.theme,
        Operator::current(),
    );
    app.concurrency = engine.concurrency();
    let (msg_tx, mut msg_rx) = mpsc::channel::<Msg>(QUEUE);
    let mut effects = Effects {
        journal: engine.journal_path().to_path_buf(),
        engine,
        export_dir: options.export_dir,
        msg_tx,
        stopper: None,
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
    if let Some(stopper) = &effects.stopper {
        stopper.cancel();
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
            Cmd::Plan { seq, request } => {
                let engine = self.engine.clone();
                blocking(tx, move || {
                    let plan = engine
                        .plan(*request)
                        .map(|plan| PlanText {
                            short: plan_lines(&plan, CONFIRM_TARGETS),
                            full: plan_lines(&plan, usize::MAX),
                        })
                        .map_err(|refusal| refusal.to_string());
                    Ok(Msg::Planned { seq, plan })
                });
            }
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
        match (&self.stopper, target) {
            (Some(stopper), None) => stopper.cancel(),
            (Some(stopper), Some(name)) => stopper.cancel_target(name),
            (None, _) => {}
        }
    }

    /// Hands a request to the engine; its events come back as messages.
    fn submit(&mut self, request: RunRequest) {
        let handle = self.engine.submit(request, self.msg_tx.clone());
        self.stopper = Some(handle.stopper());
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
