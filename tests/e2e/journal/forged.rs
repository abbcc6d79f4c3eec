//! Forging the rows outside the chain: the `incidents` and `executions`
//! tables copy facts that chained events record, and anyone who can write
//! the file can drop their triggers and edit or insert rows. Verify names
//! the forged row and field; no export or listing shows the forged value.

use serde_json::Value;

use super::{Home, export, incident, text};

/// A raw connection with every append-only trigger dropped, as an attacker
/// with write access to the file would.
fn forger(home: &Home) -> rusqlite::Connection {
    let conn = home.attacker();
    conn.execute_batch(
        "DROP TRIGGER incidents_no_update; DROP TRIGGER incidents_no_delete;
         DROP TRIGGER executions_no_update; DROP TRIGGER executions_no_delete;",
    )
    .unwrap();
    conn
}

/// The first execution row recorded.
fn first_execution(home: &Home) -> String {
    home.raw()
        .query_row(
            "SELECT id FROM executions ORDER BY rowid LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Asserts the API and `rune journal verify` (text and JSON) report the
/// journal broken with a reason containing every one of `phrases`.
fn assert_forgery_named(home: &Home, phrases: &[&str]) {
    let broken = home
        .verify(None)
        .broken
        .expect("the forged row went unnoticed");
    for phrase in phrases {
        assert!(
            broken.reason.contains(phrase),
            "{:?} lacks {phrase:?}",
            broken.reason
        );
    }
    let out = home.rune(&["journal", "verify"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("BROKEN at event {}: {}", broken.seq, broken.reason)
    );
    let out = home.rune(&["journal", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["broken"]["reason"], broken.reason.as_str());
}

/// Asserts no export of incident `id` and no listing shows any of `forged`
/// (the JSON bundle may name it only in the reason verify failed), and the
/// bundle and the Markdown say the journal did not verify.
fn assert_no_export_shows(home: &Home, id: &str, forged: &[&str]) {
    let mut bundle: Value = serde_json::from_str(&export(home, id, "json")).unwrap();
    assert_eq!(bundle["journal"]["verified"], false);
    bundle["journal"]["broken"] = Value::Null;
    let markdown = export(home, id, "markdown");
    assert!(markdown.contains("VERIFY FAILED"), "{markdown}");
    let mut shown = vec![
        ("json", bundle.to_string()),
        ("ndjson", export(home, id, "ndjson")),
        ("markdown", markdown),
    ];
    for args in [
        ["incident", "show", id, "--json"],
        ["incident", "show", id, ""],
        ["incident", "list", "--json", ""],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let out = home.rune(&args);
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        shown.push(("listing", text(&out).0));
    }
    for (format, text) in shown {
        for value in forged {
            assert!(!text.contains(value), "{format} shows {value:?}:\n{text}");
        }
    }
}

#[test]
fn a_forged_execution_target_and_operator_fail_verify_and_reach_no_export() {
    let home = Home::new();
    let id = incident(&home);
    let exec = first_execution(&home);
    forger(&home)
        .execute(
            "UPDATE executions SET target = 'db-prod-FORGED', operator = 'mallory@evil' WHERE id = ?1",
            [&exec],
        )
        .unwrap();
    assert_forgery_named(
        &home,
        &[
            &format!("executions row {exec} was tampered with"),
            "its target is \"db-prod-FORGED\"",
        ],
    );
    assert_no_export_shows(&home, &id, &["db-prod-FORGED", "mallory@evil"]);
}

#[test]
fn a_forged_operator_alone_is_named_too() {
    let home = Home::new();
    incident(&home);
    let exec = first_execution(&home);
    forger(&home)
        .execute(
            "UPDATE executions SET operator = 'mallory@evil' WHERE id = ?1",
            [&exec],
        )
        .unwrap();
    assert_forgery_named(
        &home,
        &[
            &format!("executions row {exec}"),
            "its operator is \"mallory@evil\"",
        ],
    );
}

#[test]
fn a_forged_incident_title_fails_verify_and_reaches_no_export() {
    let home = Home::new();
    let id = incident(&home);
    forger(&home)
        .execute(
            "UPDATE incidents SET title = 'FORGED', ticket = 'INC-FORGED' WHERE id = ?1",
            [&id],
        )
        .unwrap();
    assert_forgery_named(
        &home,
        &[
            &format!("incidents row {id} was tampered with"),
            "its title is \"FORGED\" but its chained event says \"db latency\"",
        ],
    );
    assert_no_export_shows(&home, &id, &["FORGED"]);
}

#[test]
fn a_fabricated_execution_row_fails_verify_and_reaches_no_export() {
    let home = Home::new();
    let id = incident(&home);
    let exec = first_execution(&home);
    // A copy of a real row under a new id: its request and incident exist,
    // only no chained event ever recorded this execution.
    forger(&home)
        .execute(
            "INSERT INTO executions SELECT 'fabricated-0001', incident_id, request_id, action,
                 action_version, bundle_sha256, 'db-prod-FABRICATED', transport, 'mallory@evil', params, created_at
             FROM executions WHERE id = ?1",
            [&exec],
        )
        .unwrap();
    assert_forgery_named(
        &home,
        &[
            "executions row fabricated-0001 was tampered with",
            "no chained `started` or terminal event records it",
        ],
    );
    assert_no_export_shows(
        &home,
        &id,
        &["fabricated-0001", "db-prod-FABRICATED", "mallory@evil"],
    );
}

#[test]
fn a_deleted_execution_row_fails_verify() {
    let home = Home::new();
    incident(&home);
    let exec = first_execution(&home);
    forger(&home)
        .execute("DELETE FROM executions WHERE id = ?1", [&exec])
        .unwrap();
    assert_forgery_named(
        &home,
        &[&format!(
            "execution {exec} has chained events but no row in executions"
        )],
    );
}
