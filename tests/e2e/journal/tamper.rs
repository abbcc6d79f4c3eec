//! Tampering with the file directly (append-only triggers dropped first, as
//! anyone with write access can): verify names the exact first broken event,
//! through the API and through `rune journal verify` (exit 1, its text).

use rune::journal::{EventBytes, Head};
use serde_json::Value;

use super::{Home, export, exported_head, incident, seq_of, text};

/// The columns an event carries besides its sequence.
const CONTENT: &str = "at, incident_id, request_id, execution_id, kind, body, prev_hash, hash";

/// Asserts the API and the CLI both report the chain broken at `seq` for `reason`.
fn assert_broken(home: &Home, head: Option<&Head>, seq: i64, reason: &str) {
    let broken = home
        .verify(head)
        .broken
        .expect("the tampering went unnoticed");
    assert_eq!(broken.seq, seq, "{}", broken.reason);
    assert!(
        broken.reason.contains(reason),
        "{:?} lacks {reason:?}",
        broken.reason
    );
    let mut args = vec!["journal".to_owned(), "verify".to_owned()];
    if let Some(head) = head {
        args.extend(["--head".into(), format!("{}:{}", head.seq, head.hash)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = home.rune(&args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("BROKEN at event {seq}: {reason}")),
        "{stdout}"
    );
    let out = home.rune(&[args.as_slice(), &["--json"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["broken"]["seq"], seq);
}

#[test]
fn an_untampered_journal_verifies_and_so_does_the_head_an_export_recorded() {
    let home = Home::new();
    let id = incident(&home);
    let total = home.count("SELECT count(*) FROM events");
    let report = home.verify(None);
    assert_eq!(report.broken, None);
    assert_eq!((report.events, report.head.seq), (total, total));
    let head = exported_head(&export(&home, &id, "json"));
    assert_eq!(head, report.head);
    assert_eq!(home.verify(Some(&head)).broken, None);
    let out = home.rune(&[
        "journal",
        "verify",
        "--head",
        &format!("{}:{}", head.seq, head.hash),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "ok: {total} events verified; head {}:{}",
            head.seq, head.hash
        )
    );
}

#[test]
fn triggers_refuse_update_and_delete_through_a_normal_connection() {
    let home = Home::new();
    incident(&home);
    let conn = home.raw();
    for (sql, message) in [
        (
            "UPDATE events SET body = '{}' WHERE seq = 2",
            "the journal is append-only: events cannot be updated",
        ),
        (
            "DELETE FROM events WHERE seq = 2",
            "the journal is append-only: events cannot be deleted",
        ),
        (
            "UPDATE incidents SET title = 'nothing happened'",
            "the journal is append-only: incidents change through events",
        ),
        (
            "DELETE FROM incidents",
            "the journal is append-only: incidents cannot be deleted",
        ),
        (
            "UPDATE executions SET target = 'elsewhere'",
            "the journal is append-only: executions change through events",
        ),
        (
            "DELETE FROM executions",
            "the journal is append-only: executions cannot be deleted",
        ),
    ] {
        let error = conn.execute(sql, []).unwrap_err().to_string();
        assert!(error.contains(message), "{sql}: {error}");
    }
    assert_eq!(home.verify(None).broken, None);
}

#[test]
fn an_edited_body_breaks_at_that_event() {
    let home = Home::new();
    incident(&home);
    let seq = seq_of(&home, "stderr", "jq is required");
    home.attacker()
        .execute(
            "UPDATE events SET body = replace(body, 'jq is required', 'all is well') WHERE seq = ?1",
            [seq],
        )
        .unwrap();
    assert_broken(
        &home,
        None,
        seq,
        &format!("event {seq} was altered: its content does not match its hash"),
    );
}

#[test]
fn an_edited_time_breaks_at_that_event() {
    let home = Home::new();
    incident(&home);
    let seq = seq_of(&home, "result", r#""fine":true"#);
    home.attacker()
        .execute(
            "UPDATE events SET at = '2020-01-01T00:00:00.000Z' WHERE seq = ?1",
            [seq],
        )
        .unwrap();
    assert_broken(&home, None, seq, &format!("event {seq} was altered"));
}

#[test]
fn a_deleted_middle_row_breaks_where_it_was() {
    let home = Home::new();
    incident(&home);
    let seq = seq_of(&home, "note", "replica lag");
    home.attacker()
        .execute("DELETE FROM events WHERE seq = ?1", [seq])
        .unwrap();
    assert_broken(
        &home,
        None,
        seq,
        &format!(
            "expected event {seq} but found {}: events were deleted or renumbered",
            seq + 1
        ),
    );
}

#[test]
fn two_rows_with_their_contents_swapped_break_at_the_first() {
    let home = Home::new();
    incident(&home);
    let seq = seq_of(&home, "note", "replica lag");
    // Everything but the sequence changes places, hashes included.
    home.attacker()
        .execute_batch(&format!(
            "CREATE TEMP TABLE a AS SELECT * FROM events WHERE seq = {seq};
             UPDATE events SET ({CONTENT}) = (SELECT {CONTENT} FROM events WHERE seq = {next}) WHERE seq = {seq};
             UPDATE events SET ({CONTENT}) = (SELECT {CONTENT} FROM temp.a) WHERE seq = {next};",
            next = seq + 1
        ))
        .unwrap();
    assert_eq!(
        home.count(&format!(
            "SELECT kind = 'request' FROM events WHERE seq = {seq}"
        )),
        1,
        "the rows were not swapped"
    );
    assert_broken(
        &home,
        None,
        seq,
        &format!(
            "event {seq} does not link to event {}: the chain was cut or reordered",
            seq - 1
        ),
    );
}

#[test]
fn a_truncated_tail_shows_only_against_a_head_recorded_earlier() {
    let home = Home::new();
    let id = incident(&home);
    let head = exported_head(&export(&home, &id, "json"));
    let keep = head.seq - 3;
    home.attacker()
        .execute("DELETE FROM events WHERE seq > ?1", [keep])
        .unwrap();
    // On its own, a shorter chain is a valid chain.
    assert_eq!(home.verify(None).broken, None);
    assert_broken(
        &home,
        Some(&head),
        keep + 1,
        &format!(
            "the journal ends at event {keep} but a head at event {} was recorded: its tail was truncated",
            head.seq
        ),
    );
}

#[test]
fn a_rewritten_chain_shows_against_a_head_recorded_earlier() {
    let home = Home::new();
    let id = incident(&home);
    let head = exported_head(&export(&home, &id, "json"));
    let seq = seq_of(&home, "stderr", "jq is required");
    let conn = home.attacker();
    conn.execute(
        "UPDATE events SET body = replace(body, 'jq is required', 'all is well') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    // The attacker recomputes every hash from the edit on, so the chain is
    // consistent in itself; only a head kept elsewhere can tell.
    let prev: String = conn
        .query_row("SELECT prev_hash FROM events WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    let mut previous: [u8; 32] = hex::decode(prev).unwrap().try_into().unwrap();
    for s in seq..=head.seq {
        let hash = conn
            .query_row(
                "SELECT at, incident_id, request_id, execution_id, kind, body FROM events WHERE seq = ?1",
                [s],
                |r| {
                    let (request, execution): (Option<String>, Option<String>) = (r.get(2)?, r.get(3)?);
                    let event = EventBytes {
                        seq: s,
                        at: &r.get::<_, String>(0)?,
                        incident_id: &r.get::<_, String>(1)?,
                        request_id: request.as_deref(),
                        execution_id: execution.as_deref(),
                        kind: &r.get::<_, String>(4)?,
                        body: &r.get::<_, String>(5)?,
                    };
                    Ok(event.hash(&previous))
                },
            )
            .unwrap();
        conn.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![hex::encode(previous), hex::encode(hash), s],
        )
        .unwrap();
        previous = hash;
    }
    assert_eq!(home.verify(None).broken, None);
    assert_broken(
        &home,
        Some(&head),
        head.seq,
        &format!("event {} differs from the recorded head", head.seq),
    );
}
