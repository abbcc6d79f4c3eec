//! Checking the tables outside the chain against it. The `incidents` and
//! `executions` rows are copies of facts chained events record; anyone who
//! can write the file can drop the triggers and edit or insert rows, which
//! the hash chain alone never sees. Every row must agree with its chained
//! event, field by field, and every chained incident or execution must have
//! its row. `recovery_marks` are not evidence and are not checked. Reads only.

use std::time::Duration;

use serde_json::Value;

use super::append::Journal;
use super::error::Result;
use super::facts::Requests;
use super::query::ExecutionRow;
use super::verify::Broken;

/// How long before its chained event a row's own timestamp may be taken.
/// The row's time is read just before the event's, but an incident's
/// before the write lock is taken, which may wait the 5 s busy timeout;
/// the margin covers a slow disk. An earlier time is forged.
const ROW_TIME_SLACK: Duration = Duration::from_secs(60);

/// How far after its event a row's time may read: both come from the wall
/// clock, which a time sync may step back between the two readings, and an
/// honest journal must not read as forged for that.
const CLOCK_STEP: Duration = Duration::from_secs(5);

/// A disagreement, naming the table, the row and the field.
fn tampered(seq: i64, table: &str, id: &str, what: String) -> Broken {
    Broken {
        // The evidence schema wants a sequence of at least 1.
        seq: seq.max(1),
        reason: format!("{table} row {id} was tampered with: {what}"),
    }
}

fn differs(field: &str, row: &str, chained: &str) -> String {
    format!("its {field} is {row:?} but its chained event says {chained:?}")
}

/// Whether a row's `time` may precede its event's `at` as the writer does.
fn plausible(time: &str, at: &str) -> bool {
    let parse = |t: &str| humantime::parse_rfc3339(t).ok();
    match (parse(time), parse(at)) {
        (Some(time), Some(at)) => match at.duration_since(time) {
            Ok(before) => before <= ROW_TIME_SLACK,
            Err(after) => after.duration() <= CLOCK_STEP,
        },
        _ => false,
    }
}

impl Journal {
    /// The first row that disagrees with the chain, if any.
    pub(super) fn verify_rows(&self) -> Result<Option<Broken>> {
        if let Some(broken) = self.verify_incident_rows()? {
            return Ok(Some(broken));
        }
        self.verify_execution_rows()
    }

    fn verify_incident_rows(&self) -> Result<Option<Broken>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.id, i.title, i.severity, i.ticket, i.opened_at, i.operator, o.seq, o.at, o.body
                 FROM incidents i LEFT JOIN events o ON o.seq = (SELECT min(e.seq) FROM events e
                     WHERE e.incident_id = i.id AND e.kind = 'incident' AND json_extract(e.body, '$.action') = 'open')
                 ORDER BY i.rowid",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let get = |i| -> Option<String> { r.get(i).ok() };
            let id = get(0).unwrap_or_default();
            let (Some(seq), Some(at), Some(body)) = (r.get::<_, i64>(6).ok(), get(7), get(8))
            else {
                let what = "no chained `incident` event opens it".to_owned();
                return Ok(Some(tampered(1, "incidents", &id, what)));
            };
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let chained = |k: &str| body[k].as_str().map(str::to_owned);
            for (field, row, event) in [
                ("title", get(1), chained("title")),
                ("severity", get(2), chained("severity")),
                ("ticket", get(3), chained("ticket")),
                ("operator", get(5), chained("operator")),
            ] {
                if row != event {
                    let show = |v: Option<String>| v.unwrap_or_else(|| "null".into());
                    let what = differs(field, &show(row), &show(event));
                    return Ok(Some(tampered(seq, "incidents", &id, what)));
                }
            }
            let opened = get(4).unwrap_or_default();
            if !plausible(&opened, &at) {
                let what =
                    format!("its opened_at {opened:?} does not fit its chained event at {at:?}");
                return Ok(Some(tampered(seq, "incidents", &id, what)));
            }
        }
        self.missing_rows(
            "SELECT min(seq), incident_id FROM events WHERE kind = 'incident'
                 AND incident_id NOT IN (SELECT id FROM incidents) GROUP BY incident_id ORDER BY 1 LIMIT 1",
            "incident",
        )
    }

    fn verify_execution_rows(&self) -> Result<Option<Broken>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT incident_id FROM executions ORDER BY incident_id")
            .map_err(|e| self.err(e))?;
        let incidents: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        let mut requests = Requests::new();
        for incident in incidents {
            for row in self.execution_rows(&incident)? {
                if let Some(broken) = self.verify_execution_row(&row, &mut requests)? {
                    return Ok(Some(broken));
                }
            }
        }
        self.missing_rows(
            "SELECT min(seq), execution_id FROM events WHERE execution_id IS NOT NULL
                 AND execution_id NOT IN (SELECT id FROM executions) GROUP BY execution_id ORDER BY 1 LIMIT 1",
            "execution",
        )
    }

    fn verify_execution_row(
        &self,
        row: &ExecutionRow,
        requests: &mut Requests,
    ) -> Result<Option<Broken>> {
        let Some(first) = self.first_event(&row.id)? else {
            let what = "no chained `started` or terminal event records it".to_owned();
            return Ok(Some(tampered(1, "executions", &row.id, what)));
        };
        let seq = first.seq;
        let Some(chained) = self.chained_execution(row, requests)? else {
            let what = format!(
                "its {} event names no request that was recorded",
                first.kind
            );
            return Ok(Some(tampered(seq, "executions", &row.id, what)));
        };
        for (field, stored, event) in [
            ("incident_id", &row.incident_id, &chained.incident_id),
            ("request_id", &row.request_id, &chained.request_id),
            ("action", &row.action, &chained.action),
            (
                "action_version",
                &row.action_version,
                &chained.action_version,
            ),
            ("bundle_sha256", &row.bundle_sha256, &chained.bundle_sha256),
            ("target", &row.target, &chained.target),
            ("transport", &row.transport, &chained.transport),
            ("operator", &row.operator, &chained.operator),
        ] {
            if stored != event {
                let what = differs(field, stored, event);
                return Ok(Some(tampered(seq, "executions", &row.id, what)));
            }
        }
        if row.params != chained.params {
            let what = differs(
                "params",
                &row.params.to_string(),
                &chained.params.to_string(),
            );
            return Ok(Some(tampered(seq, "executions", &row.id, what)));
        }
        if let Some(request) = self.request_facts(&chained.request_id, requests)?
            && request.incident_id != chained.incident_id
        {
            let what = format!(
                "its request {} belongs to another incident",
                chained.request_id
            );
            return Ok(Some(tampered(request.seq, "executions", &row.id, what)));
        }
        if !plausible(&row.created_at, &first.at) {
            let what = format!(
                "its created_at {:?} does not fit its chained event at {:?}",
                row.created_at, first.at
            );
            return Ok(Some(tampered(seq, "executions", &row.id, what)));
        }
        Ok(None)
    }

    /// A chained incident or execution with no row: the row was deleted, and
    /// every list and export would leave it out.
    fn missing_rows(&self, sql: &str, what: &str) -> Result<Option<Broken>> {
        use rusqlite::OptionalExtension;
        let found: Option<(i64, String)> = self
            .conn
            .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(found.map(|(seq, id)| Broken {
            seq: seq.max(1),
            reason: format!(
                "{what} {id} has chained events but no row in {what}s: the row was deleted"
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_time_must_just_precede_its_event() {
        let event = "2026-12-03T10:00:00.000Z";
        for (row, fits) in [
            ("2026-12-03T10:00:00.000Z", true),
            ("2026-12-03T09:59:59.996Z", true),
            ("2026-12-03T09:59:00.000Z", true),
            // A clock stepped back between the two readings.
            ("2026-12-03T10:00:01.000Z", true),
            ("2026-12-03T10:00:06.000Z", false),
            ("2026-12-03T09:58:59.000Z", false),
            ("yesterday", false),
        ] {
            assert_eq!(plausible(row, event), fits, "{row}");
        }
    }
}
