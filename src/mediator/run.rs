//! Running a plan: one task per target under a concurrency bound, each with
//! its timeout, cancel token and caps; every end becomes a [`TargetResult`].
//! A transport that paces itself (SSM: AWS applies MaxConcurrency and
//! MaxErrors) gets its executions without the bound and the max-errors
//! check; their results are judged and counted here all the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::eps::{EXCERPT, Failure, Scope, to_eps};
use super::event::{ExecEvent, ExecId, Status, TargetResult};
use super::gate::StartWait;
use super::limits::Limits;
use super::lines::StderrTail;
use super::mask::Masker;
use crate::catalog::Plugin;
use crate::inventory::Target;
use crate::policy::Plan;
use crate::protocol::validate::{Stdout, validate};
use crate::protocol::{BpcsInput, Request, ids, sanitize::sanitize_bytes};
use crate::transport::{
    Exit, Fanout, Finished, Job, Program, Progress, TransportError, Transports,
};

/// How long a transport may take to return after its cancel token fired.
/// Past it the execution future is dropped, which kills a local child.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// Progress messages buffered between a transport and its stderr reader.
const PROGRESS_QUEUE: usize = 64;

/// Runs plans. Cheap to clone; shares its transports (and their pools).
#[derive(Clone)]
pub struct Mediator {
    pub transports: Transports,
    pub limits: Limits,
    /// When set, each running target's cancel token is registered here by
    /// target name, so one target can be cancelled alone (the console's `c`).
    pub target_cancels: Option<TargetCancels>,
}

/// Per-target cancel tokens of a run, by target name.
pub type TargetCancels =
    Arc<std::sync::Mutex<std::collections::HashMap<String, CancellationToken>>>;

/// The whole request once every target is done.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub request: Request,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub results: Vec<TargetResult>,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    pub fn all_succeeded(&self) -> bool {
        self.results.iter().all(|r| r.status == Status::Success)
    }
}

struct Shared {
    plan: Arc<Plan>,
    mediator: Mediator,
    events: mpsc::Sender<ExecEvent>,
    cancel: CancellationToken,
    failures: AtomicUsize,
    permits: Semaphore,
    gate: Option<StartWait>,
    /// Built once per plan: the request's secrets, masked in all that comes back.
    masker: Arc<Masker>,
}

impl Mediator {
    pub fn new(transports: Transports) -> Self {
        Self {
            transports,
            limits: Limits::default(),
            target_cancels: None,
        }
    }

    /// Runs `plan` on all its targets. Events go to `events` as they happen;
    /// the report lists targets in plan order. `cancel` stops everything.
    pub async fn run(
        &self,
        plan: Arc<Plan>,
        events: mpsc::Sender<ExecEvent>,
        cancel: CancellationToken,
    ) -> Report {
        self.run_gated(plan, events, cancel, None).await
    }

    /// [`Mediator::run`] for a recorded run: each target starts only once
    /// `gate` says its `started` event is committed to the journal.
    pub async fn run_gated(
        &self,
        plan: Arc<Plan>,
        events: mpsc::Sender<ExecEvent>,
        cancel: CancellationToken,
        gate: Option<StartWait>,
    ) -> Report {
        let started = Instant::now();
        let started_at = ids::now();
        let shared = Arc::new(Shared {
            permits: Semaphore::new(plan.concurrency.max(1)),
            plan: Arc::clone(&plan),
            mediator: self.clone(),
            events,
            cancel,
            failures: AtomicUsize::new(0),
            gate,
            masker: Arc::new(Masker::new(&plan.secret_values())),
        });
        let mut tasks = JoinSet::new();
        for (index, target) in plan.targets.iter().enumerate() {
            let shared = Arc::clone(&shared);
            let target = target.clone();
            tasks.spawn(async move { (index, run_target(&shared, target).await) });
        }
        let mut results: Vec<Option<TargetResult>> = vec![None; plan.targets.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, result)) = joined {
                results[index] = Some(result);
            }
        }
        Report {
            request: plan.request.clone(),
            started_at,
            finished_at: ids::now(),
            duration_ms: millis(started.elapsed()),
            results: results.into_iter().flatten().collect(),
        }
    }
}

struct Attempt {
    exec: ExecId,
    span_id: String,
    /// The BPCS input as recorded: secrets redacted.
    input: BpcsInput,
    target: Target,
    started_at: Option<String>,
    clock: Instant,
}

async fn run_target(shared: &Shared, target: Target) -> TargetResult {
    let exec = ExecId(ids::message_id());
    let span_id = ids::span_id();
    let input = shared.plan.envelope(&target, &exec.0, &span_id);
    let attempt = Attempt {
        exec,
        span_id,
        input,
        target,
        started_at: None,
        clock: Instant::now(),
    };
    // A transport that paces itself gets every execution at once and
    // applies --concurrency and --max-errors on the remote side; its
    // results are still judged and counted here.
    let paced = shared
        .mediator
        .transports
        .get(attempt.target.kind())
        .is_some_and(|t| t.paces_itself());
    let permit = tokio::select! {
        biased;
        () = shared.cancel.cancelled() => None,
        permit = shared.permits.acquire(), if !paced => permit.ok().map(Some),
        () = std::future::ready(()), if paced => Some(None),
    };
    let Some(_permit) = permit else {
        return finish(
            shared,
            attempt,
            Ended::NotRun(Failure::Cancelled { started: false }),
        )
        .await;
    };
    if !paced && let Some(limit) = shared.plan.max_errors {
        let failed = shared.failures.load(Ordering::SeqCst);
        if failed > limit {
            let reason = format!("{failed} targets failed, more than --max-errors {limit}");
            return finish(shared, attempt, Ended::NotRun(Failure::Skipped { reason })).await;
        }
    }
    let mut attempt = attempt;
    // Built again now: `created_at` is when the envelope goes out, not when it was queued.
    attempt.input = shared
        .plan
        .envelope(&attempt.target, &attempt.exec.0, &attempt.span_id);
    let at = ids::now();
    attempt.started_at = Some(at.clone());
    attempt.clock = Instant::now();
    let _ = shared
        .events
        .send(ExecEvent::Started {
            exec: attempt.exec.clone(),
            target: attempt.target.name.clone(),
            at,
            input: Box::new(attempt.input.clone()),
        })
        .await;
    if let Some(gate) = &shared.gate {
        let committed = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => false,
            committed = gate.committed(&attempt.exec) => committed,
        };
        if !committed {
            let never = Failure::Cancelled { started: false };
            return finish(shared, attempt, Ended::NotRun(never)).await;
        }
    }
    let ended = execute(shared, &attempt).await;
    finish(shared, attempt, ended).await
}

/// How an execution ended, before it is judged.
enum Ended {
    NotRun(Failure),
    Ran {
        finished: Result<Finished, TransportError>,
        timed_out: bool,
        cancelled: bool,
        tail: StderrTail,
        notes: Vec<String>,
    },
}

async fn execute(shared: &Shared, attempt: &Attempt) -> Ended {
    let plan = &shared.plan;
    let limits = shared.mediator.limits;
    let mut tail = StderrTail::new(
        limits.line_bytes,
        limits.stderr_tail_bytes,
        limits.stream_lines,
    )
    .with_masker(Arc::clone(&shared.masker));
    let kind = attempt.target.kind();
    let Some(transport) = shared.mediator.transports.get(kind) else {
        let error = TransportError::Unavailable(kind.as_str().into());
        return Ended::Ran {
            finished: Err(error),
            timed_out: false,
            cancelled: false,
            tail,
            notes: Vec::new(),
        };
    };
    let (param_env, env_notes) = super::limits::bound_param_env(plan.param_env());
    let envelope = plan.with_real_params(&attempt.input);
    let stdin = serde_json::to_vec(&envelope).unwrap_or_default();
    let cancel = shared.cancel.child_token();
    if let Some(registry) = &shared.mediator.target_cancels
        && let Ok(mut map) = registry.lock()
    {
        map.insert(attempt.target.name.clone(), cancel.clone());
    }
    let paced = transport.paces_itself();
    let job = Job {
        fanout: Fanout {
            request: plan.request.message_metadata.message_id.clone(),
            concurrency: plan.concurrency.max(1),
            max_errors: plan.max_errors,
            executions: plan.targets.iter().filter(|t| t.kind() == kind).count(),
        },
        target: attempt.target.name.clone(),
        address: attempt.target.address.clone(),
        program: program(&plan.action.plugin),
        stdin,
        env: param_env,
        stdout_limit: limits.stdout_bytes,
        timeout: plan.timeout,
        cancel: cancel.clone(),
    };
    let (progress_tx, mut progress_rx) = mpsc::channel(PROGRESS_QUEUE);
    // The timeout runs from the start, or for a transport that paces
    // itself from the moment it says the plugin is running.
    let (running_tx, mut running_rx) = tokio::sync::watch::channel(!paced);
    let mut timed_out = false;
    let run = async {
        let exec = transport.exec(job, progress_tx);
        tokio::pin!(exec);
        let deadline = async {
            let _ = running_rx.wait_for(|running| *running).await;
            tokio::time::sleep(plan.timeout).await;
        };
        tokio::select! {
            result = &mut exec => return result,
            () = deadline => timed_out = true,
            () = cancel.cancelled() => {}
        }
        cancel.cancel();
        tokio::time::timeout(KILL_GRACE, exec)
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::Io(
                    "the transport did not stop within its grace period".into(),
                ))
            })
    };
    let mut notes = env_notes;
    let drain = async {
        while let Some(progress) = progress_rx.recv().await {
            let exec = &attempt.exec;
            match progress {
                Progress::Stderr(chunk) => {
                    // Once the execution is being stopped, lines are only counted
                    // and kept: its end never waits for a backlog to be journalled.
                    if cancel.is_cancelled() {
                        tail.stop_streaming();
                    }
                    let mut lines = Vec::new();
                    tail.push(&chunk, &mut |line| lines.push(line.to_owned()));
                    for line in lines {
                        let _ = shared
                            .events
                            .send(ExecEvent::Stderr {
                                exec: exec.clone(),
                                line,
                            })
                            .await;
                    }
                }
                Progress::Phase(phase) => {
                    let _ = shared
                        .events
                        .send(ExecEvent::Status {
                            exec: exec.clone(),
                            phase,
                        })
                        .await;
                }
                Progress::Note(note) => notes.push(note),
                Progress::Running => {
                    let _ = running_tx.send(true);
                }
            }
        }
        let mut last = Vec::new();
        tail.finish(&mut |line| last.push(line.to_owned()));
        for line in last {
            let _ = shared
                .events
                .send(ExecEvent::Stderr {
                    exec: attempt.exec.clone(),
                    line,
                })
                .await;
        }
    };
    let (finished, ()) = tokio::join!(run, drain);
    if tail.lines > tail.streamed {
        notes.push(format!(
            "stderr: {} of {} lines were streamed and journalled (at most {} per execution, none once stopped); the newest are kept in stderr_tail",
            tail.streamed, tail.lines, limits.stream_lines
        ));
    }
    let cancelled = !timed_out && cancel.is_cancelled();
    Ended::Ran {
        finished,
        timed_out,
        cancelled,
        tail,
        notes,
    }
}

async fn finish(shared: &Shared, attempt: Attempt, ended: Ended) -> TargetResult {
    let plan = &shared.plan;
    let mut result = TargetResult {
        exec_id: attempt.exec.clone(),
        target: attempt.target.name.clone(),
        transport: attempt.target.kind().as_str().into(),
        status: Status::Failed,
        started_at: attempt.started_at.clone(),
        finished_at: String::new(),
        duration_ms: 0,
        exit_code: None,
        mode: None,
        input: attempt.input.clone(),
        output: None,
        error: None,
        stderr_tail: Vec::new(),
        stderr_lines: 0,
        stderr_bytes: 0,
        notes: Vec::new(),
    };
    let failure = match ended {
        Ended::NotRun(failure) => Some(failure),
        Ended::Ran {
            finished,
            timed_out,
            cancelled,
            tail,
            notes,
        } => {
            result.stderr_tail = tail.tail();
            result.stderr_lines = tail.lines;
            result.stderr_bytes = tail.bytes;
            result.notes = notes;
            result.notes.extend(shared.masker.note());
            judge(
                plan,
                shared.mediator.limits.stdout_bytes,
                finished,
                timed_out,
                cancelled,
                &mut result,
            )
        }
    };
    if let Some(failure) = failure {
        result.status = match &failure {
            Failure::Timeout { .. } => Status::TimedOut,
            Failure::Cancelled { .. } => Status::Cancelled,
            Failure::Skipped { .. } => Status::Skipped,
            _ => Status::Failed,
        };
        if result.status != Status::Skipped && result.status != Status::Cancelled {
            shared.failures.fetch_add(1, Ordering::SeqCst);
        }
        result.error = Some(eps_for(plan, &attempt, &result, &failure));
    } else {
        result.status = Status::Success;
    }
    mask_result(&shared.masker, &mut result);
    result.finished_at = ids::now();
    result.duration_ms = millis(attempt.clock.elapsed());
    let _ = shared
        .events
        .send(ExecEvent::Finished {
            exec: attempt.exec.clone(),
            result: Box::new(result.clone()),
        })
        .await;
    result
}

/// Validates what came back; `None` means success.
fn judge(
    plan: &Plan,
    stdout_limit: u64,
    finished: Result<Finished, TransportError>,
    timed_out: bool,
    cancelled: bool,
    result: &mut TargetResult,
) -> Option<Failure> {
    let finished = match finished {
        Ok(f) => f,
        // The remote side stopped the fan-out past --max-errors before this one.
        Err(TransportError::NotStarted { reason, .. }) => {
            return Some(Failure::Skipped { reason });
        }
        Err(_) if timed_out => {
            return Some(Failure::Timeout {
                timeout_ms: millis(plan.timeout),
                killed: false,
            });
        }
        Err(_) if cancelled => return Some(Failure::Cancelled { started: true }),
        Err(error) => return Some(Failure::Transport(error)),
    };
    result.mode = Some(finished.mode.into());
    if let Exit::Code(code) = finished.exit {
        result.exit_code = Some(code);
    }
    if timed_out {
        return Some(Failure::Timeout {
            timeout_ms: millis(plan.timeout),
            killed: finished.killed,
        });
    }
    if cancelled {
        return Some(Failure::Cancelled { started: true });
    }
    let exit_code = match finished.exit {
        Exit::Code(code) => code,
        // Stopped for writing past the stdout cap: the cap is the cause, not the kill.
        Exit::Signal(_) if finished.stdout_total > stdout_limit => -1,
        Exit::Signal(signal) => return Some(Failure::Signal { signal }),
        Exit::Unknown => -1,
    };
    let stdout = Stdout {
        bytes: &finished.stdout,
        total: finished.stdout_total,
        limit: stdout_limit,
    };
    match validate(stdout, exit_code) {
        Ok(output) => {
            let failure = output
                .error
                .clone()
                .map(|error| Failure::PluginFailed { error, exit_code });
            result.output = Some(output);
            failure
        }
        Err(violation) => Some(Failure::Violation {
            violation,
            exit_code,
            stdout_excerpt: sanitize_bytes(&finished.stdout[..finished.stdout.len().min(EXCERPT)]),
        }),
    }
}

fn eps_for(
    plan: &Plan,
    attempt: &Attempt,
    result: &TargetResult,
    failure: &Failure,
) -> crate::protocol::EpsError {
    let mut data = serde_json::Map::new();
    if !result.stderr_tail.is_empty() {
        data.insert(
            "stderr_tail".into(),
            result
                .stderr_tail
                .iter()
                .rev()
                .take(20)
                .rev()
                .cloned()
                .collect(),
        );
    }
    let scope = Scope {
        request_id: Some(&plan.request.message_metadata.message_id),
        parent_id: Some(&attempt.exec.0),
        source: Some(plan.source.as_str()),
        trace_id: Some(&plan.request.observability.trace_id),
        action: Some(&plan.action.name),
        target: Some(&attempt.target.name),
        transport: Some(attempt.target.kind().as_str()),
        data,
    };
    to_eps(failure, scope)
}

/// Masks the request's secrets in all that came back from the target, the
/// one place before the result leaves the mediator (the stderr tail is
/// masked as it is kept). The input is already redacted.
fn mask_result(masker: &Masker, result: &mut TargetResult) {
    if !masker.is_active() {
        return;
    }
    if let Some(output) = &mut result.output {
        masker.mask_output(output);
    }
    if let Some(error) = &mut result.error {
        masker.mask_eps(error);
    }
    result.notes.iter_mut().for_each(|n| masker.mask_string(n));
}

/// What the transport runs: the catalog's plugin, in the transport's terms.
fn program(plugin: &Plugin) -> Program {
    match plugin {
        Plugin::Bundle(bundle) => Program::Bundle(Arc::clone(bundle)),
        Plugin::Installed(path) => Program::Installed(path.clone()),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
