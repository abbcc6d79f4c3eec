//! The three exports of a real incident: the JSON bundle against its shipped
//! JSON Schema and its own SHA-256 manifest, NDJSON's ECS fields and order,
//! and Markdown that is safe to paste (no escapes, pipes escaped).

use rune::journal::{Journal, Severity, canonical};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Home, OPERATOR, export};
use crate::support::{hostile_catalog, root, rune};

/// The sections the manifest covers, as docs and json.rs name them.
const SECTIONS: [&str; 5] = [
    "exported_by",
    "journal",
    "incident",
    "timeline",
    "executions",
];

/// A closed incident with a note holding a pipe, and three runs: a success,
/// a plugin failure with stderr, and a plugin printing escape sequences.
fn incident(home: &Home) -> String {
    let mut journal = Journal::open(&home.journal).unwrap();
    let id = journal
        .open_incident("checkout 502s", Severity::High, Some("INC-4211"), OPERATOR)
        .unwrap()
        .id;
    journal
        .add_note(&id, "rolled back | waiting on db", OPERATOR)
        .unwrap();
    drop(journal);
    assert_eq!(home.run_case(&id, "ok", &[]), 0);
    assert_eq!(home.run_case(&id, "plugin_error", &[]), 1);
    assert_eq!(home.run_case(&id, "escapes", &[]), 0);
    let out = home.rune(&["incident", "close", &id]);
    assert!(out.status.success());
    id
}

/// The schema the JSON bundle is checked against.
fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/evidence.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn sha256_of(value: &Value) -> String {
    hex::encode(Sha256::digest(canonical(value).as_bytes()))
}

/// Each section's SHA-256 of canonical JSON, recomputed from the document.
fn entries(doc: &Value) -> serde_json::Map<String, Value> {
    SECTIONS
        .iter()
        .map(|s| (s.to_string(), Value::from(sha256_of(&doc[*s]))))
        .collect()
}

#[test]
fn the_json_bundle_matches_its_schema_and_its_manifest() {
    let home = Home::new();
    let id = incident(&home);
    let doc: Value = serde_json::from_str(&export(&home, &id, "json")).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/evidence.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The schema is strict enough to fail: a bundle without its manifest,
    // of another format, or with an unknown kind of event is refused.
    for (path, value) in [
        ("/manifest", Value::Null),
        ("/format", Value::from("rune-evidence/2")),
        ("/timeline/0/kind", Value::from("rumour")),
        ("/executions/0/bundle_sha256", Value::from("not-a-sha")),
    ] {
        let mut bad = doc.clone();
        *bad.pointer_mut(path).unwrap() = value;
        assert!(!validator.is_valid(&bad), "{path} was not checked");
    }

    // The manifest: each section's SHA-256, then a digest over the entries.
    let manifest = &doc["manifest"];
    assert_eq!(manifest["algorithm"], "sha256");
    assert_eq!(manifest["entries"], Value::Object(entries(&doc)));
    assert_eq!(manifest["digest"], sha256_of(&manifest["entries"]));
    // Changing one section changes its entry and no other.
    let mut edited = doc.clone();
    edited["timeline"][1]["body"]["text"] = "nothing to see".into();
    let after = entries(&edited);
    for section in SECTIONS {
        assert_eq!(
            after[section] != manifest["entries"][section],
            section == "timeline",
            "{section}"
        );
    }

    // The content a reviewer needs.
    assert_eq!(doc["incident"]["id"], id.as_str());
    assert_eq!(doc["incident"]["status"], "resolved");
    assert_eq!(doc["journal"]["verified"], true);
    assert_eq!(
        doc["journal"]["head"],
        serde_json::to_value(home.verify(None).head).unwrap()
    );
    let executions = doc["executions"].as_array().unwrap();
    let outcomes: Vec<&str> = executions
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["result", "error", "result"]);
    for x in executions {
        assert_eq!(x["bundle_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(
            x["request"]["routing"]["event_type"],
            "ACTION_EXECUTE_REQUEST"
        );
        assert_eq!(x["input"]["message_metadata"]["message_id"], x["id"]);
    }
    assert_eq!(
        executions[1]["stderr"],
        serde_json::json!(["jq is required"])
    );
    assert_eq!(
        executions[1]["error"]["error_payload"]["error_data"]["error"]["code"],
        -32010
    );
    let seqs: Vec<i64> = doc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn ndjson_has_one_ecs_event_per_line_in_sequence() {
    let home = Home::new();
    let id = incident(&home);
    let text = export(&home, &id, "ndjson");
    let events = home.count(&format!(
        "SELECT count(*) FROM events WHERE incident_id = '{id}'"
    ));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len() as i64, events);
    let mut last = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for line in &lines {
        let seq = line["event"]["sequence"].as_i64().unwrap();
        assert!(seq > last, "out of order at {seq}");
        last = seq;
        let action = line["event"]["action"].as_str().unwrap();
        kinds.insert(action.to_owned());
        assert!(
            line["@timestamp"].as_str().unwrap().ends_with('Z'),
            "{line}"
        );
        assert_eq!(line["event"]["kind"], "event");
        assert!(line["user"]["name"].is_string(), "{line}");
        assert_eq!(line["rune"]["incident"]["id"], id.as_str());
        if !line["rune"]["execution"]["id"].is_null() {
            let trace = line["trace"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no trace.id: {line}"));
            assert_eq!(trace.len(), 32, "{line}");
            assert_eq!(line["host"]["name"], "localhost", "{line}");
        }
        if !line["rune"]["request"]["id"].is_null() {
            assert_eq!(line["rune"]["action"]["name"], "misbehave", "{line}");
        }
    }
    let expected = [
        "error", "incident", "note", "request", "result", "started", "status", "stderr",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expected);
    let outcomes: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"]["type"][0] == "end")
        .map(|l| l["event"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "failure", "success"]);
}

#[test]
fn markdown_is_a_safe_readable_timeline() {
    let home = Home::new();
    let id = incident(&home);
    let text = export(&home, &id, "markdown");
    assert!(text.starts_with("# Incident: checkout 502s\n"), "{text}");
    let head = home.verify(None).head;
    assert!(
        text.contains(&format!(
            "Journal chain head: event {} `{}` (verified)",
            head.seq, head.hash
        )),
        "{text}"
    );
    let executions: Vec<String> = home
        .raw()
        .prepare("SELECT id FROM executions ORDER BY created_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(executions.len(), 3);
    assert_eq!(
        text.matches("### misbehave on localhost (local)").count(),
        3
    );
    for x in &executions {
        assert!(text.contains(&format!("- execution `{x}`")), "{x} missing");
    }
    assert!(text.contains("jq is required"));
    // The escapes case printed OSC, CSI, BEL, BS, CR and a bidi override.
    let raw: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
    assert!(
        text.contains("title clip redX bell^G back^H^H over^MEVIL"),
        "the sanitized escapes are gone: {text}"
    );
    assert!(text.contains("rolled back \\| waiting on db"), "{text}");
    assert!(!text.contains("rolled back | waiting"));
}

/// A plugin's U+202E and U+009B, and an incident title and note holding
/// them, are escaped as `\uXXXX` in both JSON exports: nothing raw reaches a
/// terminal that shows the file, every line parses back to the raw strings,
/// and the bundle still matches its schema and its manifest, whose hashes
/// are over the values (canonical JSON), not over the escaped bytes.
#[test]
fn json_exports_escape_bidi_and_c1_and_keep_their_hashes() {
    let home = Home::new();
    let title = "checkout \u{202e}502s";
    let note = "lag \u{9b}40 s";
    let mut journal = Journal::open(&home.journal).unwrap();
    let id = journal
        .open_incident(title, Severity::High, None, OPERATOR)
        .unwrap()
        .id;
    journal.add_note(&id, note, OPERATOR).unwrap();
    drop(journal);
    let catalog = hostile_catalog();
    let out = rune(home.path())
        .arg("--catalog")
        .arg(catalog.path())
        .arg("--journal")
        .arg(&home.journal)
        .args(["run", "hostile", "--incident", &id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = |text: &str| text.chars().any(|c| matches!(c, '\u{202e}' | '\u{9b}'));

    let bundle = export(&home, &id, "json");
    assert!(!raw(&bundle), "{bundle}");
    assert!(
        bundle.contains(r"\u202e") && bundle.contains(r"\u009b"),
        "{bundle}"
    );
    let doc: Value = serde_json::from_str(&bundle).unwrap();
    assert_eq!(doc["incident"]["title"], title);
    assert_eq!(
        doc["executions"][0]["output"]["payload"]["output_data"]["s"],
        "a\u{202e}b\u{9b}c"
    );
    let errors: Vec<String> = validator()
        .iter_errors(&doc)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let manifest = &doc["manifest"];
    assert_eq!(manifest["entries"], Value::Object(entries(&doc)));
    assert_eq!(manifest["digest"], sha256_of(&manifest["entries"]));
    assert_eq!(doc["journal"]["verified"], true);

    let lines = export(&home, &id, "ndjson");
    assert!(!raw(&lines), "{lines}");
    let messages: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["message"].clone())
        .collect();
    assert!(messages.contains(&Value::from(note)), "{messages:?}");
}
