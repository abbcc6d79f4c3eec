//! Reading the journal back: an incident's timeline and executions. What an
//! execution shows comes from its chained events (`facts.rs`); the
//! `executions` row only names it and orders it.

use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

use super::append::Journal;
use super::error::Result;
use super::facts::Requests;
use super::kind::EventKind;

/// One event as stored.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub seq: i64,
    pub at: String,
    pub incident_id: String,
    pub request_id: Option<String>,
    pub execution_id: Option<String>,
    /// As stored: a kind this build does not know reads as `Unknown`, not as an error.
    pub kind: EventKind,
    pub body: Value,
    pub hash: String,
}

/// One execution with its outcome (its terminal event's kind, if any).
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionRow {
    pub id: String,
    pub incident_id: String,
    pub request_id: String,
    pub action: String,
    pub action_version: String,
    pub bundle_sha256: String,
    pub target: String,
    pub transport: String,
    pub operator: String,
    pub params: Value,
    pub created_at: String,
    pub outcome: Option<EventKind>,
}

impl Journal {
    /// Every event of an incident, in order; `after` skips what a reader already has.
    pub fn timeline(&self, incident_id: &str, after: i64) -> Result<Vec<EventRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, at, incident_id, request_id, execution_id, kind, body, hash FROM events
                 WHERE incident_id = ?1 AND seq > ?2 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![incident_id, after], |r| {
            let body: String = r.get(6)?;
            Ok(EventRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                incident_id: r.get(2)?,
                request_id: r.get(3)?,
                execution_id: r.get(4)?,
                kind: r.get(5)?,
                body: serde_json::from_str(&body).unwrap_or(Value::String(body)),
                hash: r.get(7)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))
    }

    /// Every execution of an incident, oldest first, as its chained events
    /// tell it: a row with no chained events, or whose events belong to
    /// another incident, is left out (`verify` names it).
    pub fn executions(&self, incident_id: &str) -> Result<Vec<ExecutionRow>> {
        let mut requests = Requests::new();
        let mut chained = Vec::new();
        for row in self.execution_rows(incident_id)? {
            if let Some(x) = self.chained_execution(&row, &mut requests)?
                && x.incident_id == incident_id
            {
                chained.push(x);
            }
        }
        Ok(chained)
    }

    /// The `executions` rows of an incident as stored, unchecked.
    pub(super) fn execution_rows(&self, incident_id: &str) -> Result<Vec<ExecutionRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, incident_id, request_id, action, action_version, bundle_sha256, target, transport,
                        operator, params, created_at, outcome
                 FROM execution_outcome WHERE incident_id = ?1 ORDER BY created_at, id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([incident_id], |r| {
            let params: String = r.get(9)?;
            Ok(ExecutionRow {
                id: r.get(0)?,
                incident_id: r.get(1)?,
                request_id: r.get(2)?,
                action: r.get(3)?,
                action_version: r.get(4)?,
                bundle_sha256: r.get(5)?,
                target: r.get(6)?,
                transport: r.get(7)?,
                operator: r.get(8)?,
                params: serde_json::from_str(&params).unwrap_or(Value::Null),
                created_at: r.get(10)?,
                outcome: r.get(11)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))
    }
}
