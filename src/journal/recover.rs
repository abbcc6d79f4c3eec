//! Recovery on open: executions that a rune which is gone left without an
//! outcome get an `interrupted` event, once. The search starts at the highest
//! recovery mark (schema version 2), not at the first execution ever
//! recorded, so opening a journal stays cheap however long its history.
//! Whether a writer is gone is [`writer::alive`]'s judgement.

use rusqlite::Connection;
use serde_json::json;

use super::append::{Journal, NewEvent};
use super::error::{Error, Result};
use super::kind::EventKind;
use super::writer;

/// A new mark is written once the search would start this many executions
/// further on: one small lazy write per that many executions, not per open.
const MARK_STEP: i64 = 256;

/// An execution without an outcome: rowid, id, incident, request, and the
/// body of its request event (which names the writer).
type Unfinished = (i64, String, String, String, Option<String>);

/// Executions from rowid `?1` on without an outcome, with their request's
/// body. The kinds stay SQL literals: SQLite uses the partial index
/// `events_outcome` only for a term that matches its `WHERE` as written.
/// `schema`'s tests hold this list to [`EventKind::is_terminal`] and to that index.
pub(super) const UNFINISHED: &str = "SELECT x.rowid, x.id, x.incident_id, x.request_id,
        (SELECT body FROM events r WHERE r.kind = 'request' AND r.request_id = x.request_id LIMIT 1)
 FROM executions x WHERE x.rowid >= ?1 AND NOT EXISTS (SELECT 1 FROM events e
     WHERE e.execution_id = x.id AND e.kind IN ('result', 'error', 'cancelled', 'interrupted'))";

impl Journal {
    /// Executions without a terminal event whose process is gone get
    /// `interrupted`; then the mark moves up to the first execution still
    /// running elsewhere, or past the last one read.
    pub(super) fn recover_interrupted(&mut self) -> Result<()> {
        // Read before the search: an execution added in between has a
        // higher rowid, so it is at or above any mark this open writes.
        let (low, last): (i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT coalesce(max(low), 0) FROM recovery_marks),
                        (SELECT coalesce(max(rowid), 0) FROM executions)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))?;
        // A first look without the write lock, so an open with nothing to
        // mark (nearly every open) never waits for another writer.
        let (mut dead, mut live) = judge(unfinished(&self.conn, low).map_err(|e| self.err(e))?);
        if !dead.is_empty() {
            // What was read may be stale by now: the writer may have committed
            // its outcome and exited since, or another rune's recovery marked
            // it. Under the write lock no outcome can be added, so the list is
            // read again and each writer judged again after that read: a
            // writer gone now committed all it ever will before this read.
            (dead, live) = self.write(|tx, chain| {
                let (dead, live) = judge(unfinished(tx, low).map_err(|e| chain.err(e))?);
                for (_, execution, incident, request, _) in &dead {
                    chain.append(
                        tx,
                        NewEvent {
                            incident_id: incident,
                            request_id: Some(request),
                            execution_id: Some(execution),
                            kind: EventKind::Interrupted,
                            body: json!({"reason": "rune stopped before this execution finished; its outcome is unknown"}),
                        },
                    )?;
                }
                Ok((dead, live))
            })?;
            for (_, execution, ..) in &dead {
                tracing::warn!(%execution, "execution left unfinished by a rune that is gone: marked interrupted");
            }
        }
        let mark = live
            .iter()
            .map(|(rowid, ..)| *rowid)
            .fold(last + 1, i64::min);
        if mark - low >= MARK_STEP {
            // Lazy: a mark lost to a power cut only makes the next open read more.
            let path = self.path.clone();
            self.write_with(false, |tx, _| {
                tx.execute("INSERT INTO recovery_marks (low) VALUES (?1)", [mark])
                    .map_err(|e| Error::sqlite(&path, e))?;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// The executions from rowid `low` on without an outcome.
fn unfinished(conn: &Connection, low: i64) -> rusqlite::Result<Vec<Unfinished>> {
    let mut stmt = conn.prepare_cached(UNFINISHED)?;
    stmt.query_map([low], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .and_then(Iterator::collect)
}

/// `(dead, live)`: executions whose writer is gone, and those still running.
fn judge(open: Vec<Unfinished>) -> (Vec<Unfinished>, Vec<Unfinished>) {
    open.into_iter()
        .partition(|(.., body)| !writer::alive(body.as_deref()))
}
