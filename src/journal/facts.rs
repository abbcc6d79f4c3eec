//! What the chain says about an execution: the facts every view and export
//! shows, read from chained event bodies (the `request` event and the
//! execution's first `started` or terminal event), never from the
//! `executions` row, which sits outside the chain and which anyone who can
//! write the file can edit or insert. Reads only; the row check lives in
//! `rows.rs`.

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::append::Journal;
use super::error::Result;
use super::kind::EventKind;
use super::query::ExecutionRow;

/// What a `request` event records, as the executions it planned show it.
#[derive(Debug)]
pub(super) struct RequestFacts {
    pub seq: i64,
    pub incident_id: String,
    pub action: String,
    pub version: String,
    pub bundle_sha256: String,
    pub operator: String,
    /// The redacted parameters inside the RCS request: what the row copies.
    pub params: Value,
    /// `(name, transport)` of each planned target.
    pub targets: Vec<(String, String)>,
}

/// Request facts by request id, each read once per caller: a request plans
/// many executions, and its body (the whole RCS request) is the big one.
pub(super) type Requests = HashMap<String, Option<Rc<RequestFacts>>>;

/// The execution's first chained event: `started`, or a terminal one for a
/// target skipped before it started.
#[derive(Debug)]
pub(super) struct FirstEvent {
    pub seq: i64,
    pub at: String,
    pub incident_id: String,
    pub request_id: Option<String>,
    pub kind: EventKind,
    pub target: Option<String>,
}

fn text(body: &Value, pointer: &str) -> String {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

impl Journal {
    /// The facts of request `id`, from the cache or its `request` event.
    pub(super) fn request_facts(
        &self,
        id: &str,
        cache: &mut Requests,
    ) -> Result<Option<Rc<RequestFacts>>> {
        if let Some(found) = cache.get(id) {
            return Ok(found.clone());
        }
        // `execution_id IS NULL` lets events_by_execution find it among the
        // few events of no execution (incidents, requests, notes), not by
        // scanning every stream line: there is no index on request_id.
        let row = self
            .conn
            .prepare_cached(
                "SELECT seq, incident_id, body FROM events
                 WHERE execution_id IS NULL AND request_id = ?1 AND kind = 'request' ORDER BY seq LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
                    .optional()
            })
            .map_err(|e| self.err(e))?;
        let facts = row.map(|(seq, incident_id, body)| {
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let targets = body["targets"].as_array().map_or_else(Vec::new, |ts| {
                ts.iter()
                    .map(|t| (text(t, "/name"), text(t, "/transport")))
                    .collect()
            });
            Rc::new(RequestFacts {
                seq,
                incident_id,
                action: text(&body, "/action/name"),
                version: text(&body, "/action/version"),
                bundle_sha256: text(&body, "/action/bundle_sha256"),
                operator: text(&body, "/operator"),
                params: body
                    .pointer("/request/payload/data/input_parameters")
                    .cloned()
                    .unwrap_or(Value::Null),
                targets,
            })
        });
        cache.insert(id.to_owned(), facts.clone());
        Ok(facts)
    }

    /// Execution `id`'s first event, if it has one that opens an execution.
    pub(super) fn first_event(&self, id: &str) -> Result<Option<FirstEvent>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT seq, at, incident_id, request_id, kind, body FROM events
                 WHERE execution_id = ?1 ORDER BY seq LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![id], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, EventKind>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        Ok(row
            .filter(|(.., kind, _)| *kind == EventKind::Started || kind.is_terminal())
            .map(|(seq, at, incident_id, request_id, kind, body)| {
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                FirstEvent {
                    seq,
                    at,
                    incident_id,
                    request_id,
                    kind,
                    target: body["target"].as_str().map(str::to_owned),
                }
            }))
    }

    /// `row` as its chained events tell it, or None when they do not
    /// (no opening event, no request): such a row is not shown at all.
    /// Only the row's id, its creation time (not chained; `verify` bounds
    /// it by its first event's time) and its outcome (read from events by
    /// the view) are kept.
    pub(super) fn chained_execution(
        &self,
        row: &ExecutionRow,
        requests: &mut Requests,
    ) -> Result<Option<ExecutionRow>> {
        let Some(first) = self.first_event(&row.id)? else {
            return Ok(None);
        };
        let (Some(request_id), Some(target)) = (first.request_id, first.target) else {
            return Ok(None);
        };
        let Some(request) = self.request_facts(&request_id, requests)? else {
            return Ok(None);
        };
        // As the recorder wrote it: a target missing from the plan is "unknown".
        let transport = request
            .targets
            .iter()
            .find(|(name, _)| *name == target)
            .map_or("unknown", |(_, transport)| transport.as_str())
            .to_owned();
        Ok(Some(ExecutionRow {
            id: row.id.clone(),
            incident_id: first.incident_id,
            request_id,
            action: request.action.clone(),
            action_version: request.version.clone(),
            bundle_sha256: request.bundle_sha256.clone(),
            target,
            transport,
            operator: request.operator.clone(),
            params: request.params.clone(),
            created_at: row.created_at.clone(),
            outcome: row.outcome.clone(),
        }))
    }
}
