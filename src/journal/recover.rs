//! Recovery on open: executions that a rune which is gone left without an
//! outcome get an `interrupted` event, once. The search starts at the highest
//! recovery mark (schema version 2), not at the first execution ever
//! recorded, so opening a journal stays cheap however long its history.

use serde_json::{Value, json};

use super::append::{Journal, NewEvent};
use super::error::{Error, Result};
use super::kind::EventKind;

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
        let mut stmt = self.conn.prepare(UNFINISHED).map_err(|e| self.err(e))?;
        let open: Vec<Unfinished> = stmt
            .query_map([low], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        drop(stmt);
        let (dead, live): (Vec<Unfinished>, Vec<Unfinished>) = open
            .into_iter()
            .partition(|(.., body)| !writer_alive(body.as_deref()));
        if !dead.is_empty() {
            for (_, execution, ..) in &dead {
                tracing::warn!(%execution, "execution left unfinished by a rune that is gone: marked interrupted");
            }
            self.write(|tx, chain| {
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
                Ok(())
            })?;
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

/// True when the process that wrote a request is still running here: its
/// executions are in flight, not interrupted.
fn writer_alive(request_body: Option<&str>) -> bool {
    let Some(body) = request_body.and_then(|b| serde_json::from_str::<Value>(b).ok()) else {
        return false;
    };
    let writer = &body["writer"];
    let here = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let same_host = writer["host"].as_str() == Some(here.as_str());
    let pid = writer["pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);
    match pid {
        Some(pid) if same_host => {
            pid.as_raw_nonzero().get() == i32::try_from(std::process::id()).unwrap_or(0)
                || rustix::process::test_kill_process(pid).is_ok()
        }
        _ => false,
    }
}
