//! Recording a run: the request before anything starts, then every
//! execution event, committed in batches before it is passed on. Whoever
//! reads the forwarded stream sees only what is already on disk.

use rusqlite::params;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::append::{Journal, NewEvent};
use super::chain::canonical;
use super::error::Result;
use super::kind::EventKind;
use crate::mediator::{ExecEvent, StartGate, Status, TargetResult};
use crate::policy::Plan;

/// Events written per transaction at most: stderr floods become a few
/// fsyncs a second instead of thousands, and a result waits at most one batch.
pub const BATCH: usize = 1024;

impl Journal {
    /// Records the RCS request. Nothing may run until this has committed.
    pub fn record_request(&mut self, plan: &Plan) -> Result<i64> {
        let request_id = plan.request.message_metadata.message_id.clone();
        let body = json!({
            "request": plan.request,
            "action": {
                "name": plan.action.name, "version": plan.action.version,
                "risk": plan.action.risk, "bundle_sha256": plan.action.bundle_sha256(),
            },
            "targets": plan.targets.iter().map(|t| json!({"name": t.name, "transport": t.kind()})).collect::<Vec<_>>(),
            "operator": plan.operator.id(),
            // The process, not the operator: recovery asks whether it still runs.
            "writer": super::writer::current(),
        });
        let seq = self.write(|tx, chain| {
            chain.append(
                tx,
                NewEvent {
                    incident_id: &plan.incident_id,
                    request_id: Some(&request_id),
                    execution_id: None,
                    kind: EventKind::Request,
                    body,
                },
            )
        })?;
        // The log gets what the journal got: parameters redacted, never the real ones.
        let params = canonical(&Value::Object(plan.redacted_params()));
        tracing::info!(
            seq,
            request = %request_id,
            incident = %plan.incident_id,
            action = %plan.action.name,
            %params,
            "request recorded"
        );
        Ok(seq)
    }

    /// Records a batch of execution events in one transaction, synced to
    /// disk when it holds a result: a result is durable before it is reported.
    pub fn record_events(&mut self, plan: &Plan, events: &[ExecEvent]) -> Result<()> {
        let request_id = plan.request.message_metadata.message_id.as_str();
        let durable = events
            .iter()
            .any(|e| matches!(e, ExecEvent::Finished { .. }));
        self.write_with(durable, |tx, chain| {
            for event in events {
                let exec = event.exec().0.as_str();
                let (kind, body) = match event {
                    ExecEvent::Started { target, input, .. } => {
                        insert_execution(tx, plan, exec, target).map_err(|e| chain.err(e))?;
                        (
                            EventKind::Started,
                            json!({"target": target, "input": input}),
                        )
                    }
                    ExecEvent::Stderr { line, .. } => (EventKind::Stderr, json!({"line": line})),
                    ExecEvent::Status { phase, .. } => (EventKind::Status, json!({"phase": phase})),
                    ExecEvent::Finished { result, .. } => {
                        insert_execution(tx, plan, exec, &result.target)
                            .map_err(|e| chain.err(e))?;
                        (
                            terminal_kind(result),
                            serde_json::to_value(result.as_ref()).unwrap_or(Value::Null),
                        )
                    }
                };
                chain.append(
                    tx,
                    NewEvent {
                        incident_id: &plan.incident_id,
                        request_id: Some(request_id),
                        execution_id: Some(exec),
                        kind,
                        body,
                    },
                )?;
            }
            Ok(())
        })
    }
}

fn terminal_kind(result: &TargetResult) -> EventKind {
    match result.status {
        Status::Success => EventKind::Result,
        Status::Cancelled => EventKind::Cancelled,
        Status::Failed | Status::TimedOut | Status::Skipped => EventKind::Error,
    }
}

/// The execution row, once: a target skipped before it started gets one at its end.
fn insert_execution(
    tx: &rusqlite::Transaction<'_>,
    plan: &Plan,
    exec: &str,
    target: &str,
) -> rusqlite::Result<usize> {
    let transport = plan
        .targets
        .iter()
        .find(|t| t.name == target)
        .map_or("unknown", |t| t.kind().as_str());
    tx.prepare_cached(
        "INSERT OR IGNORE INTO executions (id, incident_id, request_id, action, action_version, bundle_sha256,
             target, transport, operator, params, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        exec,
        plan.incident_id,
        plan.request.message_metadata.message_id,
        plan.action.name,
        plan.action.version,
        plan.action.bundle_sha256(),
        target,
        transport,
        plan.operator.id(),
        canonical(&Value::Object(plan.redacted_params())),
        crate::protocol::ids::now(),
    ])
}

/// Commits every event from `events_rx` before sending it on `forward_tx`,
/// and opens `gate` for each execution whose `started` event committed.
/// If the journal cannot be written, `cancel` stops the run and the gate
/// closes (no unaudited execution starts) and the error is returned
/// instead of the journal.
pub async fn record(
    mut journal: Journal,
    plan: std::sync::Arc<Plan>,
    mut events_rx: mpsc::Receiver<ExecEvent>,
    forward_tx: mpsc::Sender<ExecEvent>,
    cancel: CancellationToken,
    gate: StartGate,
) -> Result<Journal> {
    let worker = tokio::task::spawn_blocking(move || {
        let mut failure = None;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(first) = events_rx.blocking_recv() {
            batch.push(first);
            while batch.len() < BATCH {
                match events_rx.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            if failure.is_none()
                && let Err(e) = journal.record_events(&plan, &batch)
            {
                tracing::error!(error = %e, "journal write failed; cancelling the run");
                cancel.cancel();
                failure = Some(e);
            }
            if failure.is_none() {
                gate.open(batch.iter().filter_map(|event| match event {
                    ExecEvent::Started { exec, .. } => Some(exec),
                    _ => None,
                }));
            }
            // After a failure events are still drained so the run can end, but never forwarded as recorded.
            if failure.is_none() {
                for event in batch.drain(..) {
                    if forward_tx.blocking_send(event).is_err() {
                        break;
                    }
                }
            }
            batch.clear();
        }
        failure.map_or(Ok(journal), Err)
    });
    worker
        .await
        .map_err(|e| super::Error::Invalid(format!("the journal writer stopped: {e}")))?
}
