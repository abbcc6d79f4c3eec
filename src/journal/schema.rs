//! The journal's schema and its migrations. `PRAGMA user_version` holds the
//! version; a journal from a newer rune is refused, never rewritten.

use rusqlite::{Connection, TransactionBehavior};

/// The schema this build writes.
pub const VERSION: i64 = 2;

/// The oldest schema a read-only open accepts as it is: every migration
/// since only adds what writing needs (version 2: recovery marks).
pub const READABLE_FROM: i64 = 1;

/// Migration `i` takes a journal from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    ticket TEXT,
    opened_at TEXT NOT NULL,
    operator TEXT NOT NULL
) STRICT;

CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    action_version TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    target TEXT NOT NULL,
    transport TEXT NOT NULL,
    operator TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    request_id TEXT,
    execution_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('incident', 'request', 'started', 'stderr', 'status', 'result',
        'error', 'note', 'cancelled', 'interrupted')),
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_incident ON events(incident_id, seq);
CREATE INDEX events_by_execution ON events(execution_id, seq);
CREATE INDEX executions_by_incident ON executions(incident_id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be updated'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be deleted'); END;
CREATE TRIGGER incidents_no_update BEFORE UPDATE ON incidents
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: incidents change through events'); END;
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: incidents cannot be deleted'); END;
CREATE TRIGGER executions_no_update BEFORE UPDATE ON executions
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: executions change through events'); END;
CREATE TRIGGER executions_no_delete BEFORE DELETE ON executions
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: executions cannot be deleted'); END;

-- An incident is closed once a close event exists for it.
CREATE VIEW incident_status AS
    SELECT i.*, CASE WHEN EXISTS (
        SELECT 1 FROM events e WHERE e.incident_id = i.id AND e.kind = 'incident'
            AND json_extract(e.body, '$.action') = 'close')
        THEN 'resolved' ELSE 'open' END AS status,
        (SELECT max(e.at) FROM events e WHERE e.incident_id = i.id AND e.kind = 'incident'
            AND json_extract(e.body, '$.action') = 'close') AS closed_at
    FROM incidents i;

-- An execution's outcome is its terminal event, if it has one.
CREATE VIEW execution_outcome AS
    SELECT x.*, (SELECT e.kind FROM events e WHERE e.execution_id = x.id
        AND e.kind IN ('result', 'error', 'cancelled', 'interrupted') ORDER BY e.seq DESC LIMIT 1) AS outcome
    FROM executions x;

CREATE VIEW notes AS
    SELECT seq, at, incident_id, json_extract(body, '$.text') AS text, json_extract(body, '$.operator') AS operator
    FROM events WHERE kind = 'note';
"#,
    r#"
-- Where the search for executions a dead rune left unfinished starts: every
-- execution whose rowid is below a mark's `low` had its outcome when the mark
-- was written, and an outcome is never taken back, so the highest mark holds.
-- Without marks that search read every execution ever recorded on each open
-- (130 ms at 200,000). Not evidence: without marks recovery only reads more.
CREATE TABLE recovery_marks (
    seq INTEGER PRIMARY KEY,
    low INTEGER NOT NULL
) STRICT;
CREATE TRIGGER recovery_marks_no_update BEFORE UPDATE ON recovery_marks
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: recovery marks cannot be updated'); END;
CREATE TRIGGER recovery_marks_no_delete BEFORE DELETE ON recovery_marks
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: recovery marks cannot be deleted'); END;
-- Finding an execution's outcome reads only outcomes.
CREATE INDEX events_outcome ON events(execution_id) WHERE kind IN ('result', 'error', 'cancelled', 'interrupted');
-- An incident's status (incident_status) reads only its open/close events,
-- not every stream line it holds (400,000 lines: 100 ms on each start).
CREATE INDEX events_incident_changes ON events(incident_id) WHERE kind = 'incident';
"#,
];

/// The journal's version before migrating.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies every migration the journal lacks, each in its own transaction;
/// returns the version the journal has then, or the newer one found (which
/// the caller refuses: nothing is applied to it).
///
/// Several runes may open a new journal at once. Each step takes the write
/// lock first (IMMEDIATE, waiting out the busy timeout) and reads the version
/// again under it, so a migration another opener committed meanwhile is
/// skipped rather than run twice ("table incidents already exists").
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = version(&tx)?;
        let Some(sql) = usize::try_from(current)
            .ok()
            .and_then(|step| MIGRATIONS.get(step))
        else {
            return Ok(current);
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::EventKind;
    use crate::journal::recover::UNFINISHED;

    #[test]
    fn migrations_reach_the_current_version_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), VERSION);
        assert_eq!(version(&conn).unwrap(), VERSION);
        assert_eq!(migrate(&mut conn).unwrap(), VERSION);
        assert_eq!(version(&conn).unwrap(), VERSION);
    }

    #[test]
    fn a_newer_journal_is_reported_and_left_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), VERSION + 1);
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_version_1_journal_gains_recovery_marks() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), 2);
        conn.execute("INSERT INTO recovery_marks (low) VALUES (7)", [])
            .unwrap();
        let update = conn
            .execute("UPDATE recovery_marks SET low = 1", [])
            .unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
    }

    #[test]
    fn events_refuse_update_and_delete() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO events (at, incident_id, kind, body, prev_hash, hash) VALUES ('t', 'i', 'note', '{}', 'p', 'h')",
            [],
        )
        .unwrap();
        let update = conn
            .execute("UPDATE events SET body = '{\"x\":1}'", [])
            .unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = conn.execute("DELETE FROM events", []).unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
    }

    /// The kinds quoted by each `kind IN (...)` in `sql`, in order.
    fn in_lists(sql: &str) -> Vec<Vec<EventKind>> {
        let upper = sql.to_ascii_uppercase();
        upper
            .match_indices("KIND IN (")
            .map(|(at, opening)| {
                let list = sql[at + opening.len()..].split(')').next().unwrap();
                let names = list.split(',').map(|n| n.trim().trim_matches('\''));
                names.map(EventKind::from).collect()
            })
            .collect()
    }

    /// The kinds named by each `kind = '...'` in `sql`.
    fn equalities(sql: &str) -> Vec<EventKind> {
        let upper = sql.to_ascii_uppercase();
        upper
            .match_indices("KIND = '")
            .map(|(at, opening)| {
                let name = sql[at + opening.len()..].split('\'').next().unwrap();
                EventKind::from(name)
            })
            .collect()
    }

    fn terminal() -> Vec<EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(EventKind::is_terminal)
            .collect()
    }

    /// SQL keeps kinds as literals (migrations are history, and a partial
    /// index needs its predicate spelled the same in each query): this holds
    /// every list to the type, so a kind added to one side fails here.
    #[test]
    fn the_sql_kind_lists_follow_the_type() {
        let sql = MIGRATIONS.concat() + UNFINISHED;
        let lists = in_lists(&sql);
        assert_eq!(
            lists.len(),
            4,
            "CHECK, execution_outcome, events_outcome, recovery: {lists:?}"
        );
        assert_eq!(
            lists[0],
            EventKind::ALL,
            "the CHECK admits what the journal writes"
        );
        for list in &lists[1..] {
            assert_eq!(
                list,
                &terminal(),
                "an outcome list differs from is_terminal"
            );
        }
        let named = equalities(&sql);
        assert_eq!(named.len(), 5, "{named:?}");
        assert!(named.iter().all(EventKind::is_known), "{named:?}");
    }

    #[test]
    fn an_execution_outcome_is_exactly_its_terminal_event() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO incidents VALUES ('i', 't', 'low', NULL, 'now', 'o')",
            [],
        )
        .unwrap();
        for (i, kind) in EventKind::ALL.iter().enumerate() {
            conn.execute(
                "INSERT INTO executions VALUES (?1, 'i', 'r', 'a', '1', 's', 't', 'local', 'o', '{}', 'now')",
                [i.to_string()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO events (at, incident_id, execution_id, kind, body, prev_hash, hash) VALUES ('t', 'i', ?1, ?2, '{}', 'p', 'h')",
                [i.to_string(), kind.as_str().to_owned()],
            )
            .unwrap();
            let outcome: Option<EventKind> = conn
                .query_row(
                    "SELECT outcome FROM execution_outcome WHERE id = ?1",
                    [i.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(outcome, kind.is_terminal().then(|| kind.clone()), "{kind}");
        }
        let unknown = conn
            .execute(
                "INSERT INTO events (at, incident_id, kind, body, prev_hash, hash) VALUES ('t', 'i', 'Result', '{}', 'p', 'h')",
                [],
            )
            .unwrap_err();
        assert!(unknown.to_string().contains("CHECK"), "{unknown}");
    }

    #[test]
    fn recovery_reads_outcomes_through_their_partial_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {UNFINISHED}"))
            .unwrap()
            .query_map([0], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("events_outcome")),
            "{plan:?}"
        );
    }
}
