//! The evidence bundle: the incident, its ordered timeline, each execution
//! with its request, input, result and EPS envelopes, stderr and bundle
//! SHA-256, who exported it, the chain head, and a SHA-256 manifest of its
//! own sections. Its schema: assets/evidence.schema.json.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{Value, json};

use super::{gather, io};
use crate::journal::chain::canonical_sha256;
use crate::journal::{EventKind, Incident, Journal, Result};
use crate::policy::Operator;
use crate::protocol::{ids, safe_json};

/// Names this document's layout; bumped on any incompatible change.
pub const FORMAT: &str = "rune-evidence/1";

pub(super) fn write(journal: &Journal, incident: &Incident, out: &mut dyn Write) -> Result<()> {
    let timeline = journal.timeline(&incident.id, 0)?;
    let executions = journal.executions(&incident.id)?;
    let requests: HashMap<&str, &Value> = timeline
        .iter()
        .filter(|e| e.kind == EventKind::Request)
        .filter_map(|e| Some((e.request_id.as_deref()?, &e.body["request"])))
        .collect();
    let mut gathered = gather(&timeline);
    let executions: Vec<Value> = executions
        .iter()
        .map(|x| {
            // Taken, not cloned: each execution's stderr is used once.
            let g = gathered.remove(&x.id);
            let g = g.as_ref();
            let result = g.map_or(&Value::Null, |g| &g.result);
            json!({
                "id": x.id, "request_id": x.request_id, "action": x.action, "action_version": x.action_version,
                "bundle_sha256": x.bundle_sha256, "target": x.target, "transport": x.transport,
                "operator": x.operator, "params": x.params, "created_at": x.created_at,
                "outcome": x.outcome, "status": result.get("status").cloned().unwrap_or(Value::Null),
                "started_at": result.get("started_at").cloned().unwrap_or(Value::Null),
                "finished_at": result.get("finished_at").cloned().unwrap_or(Value::Null),
                "duration_ms": result.get("duration_ms").cloned().unwrap_or(Value::Null),
                "exit_code": result.get("exit_code").cloned().unwrap_or(Value::Null),
                "request": requests.get(x.request_id.as_str()).copied().cloned().unwrap_or(Value::Null),
                "input": g.map_or(Value::Null, |g| g.input.clone()),
                "output": result.get("output").cloned().unwrap_or(Value::Null),
                "error": result.get("error").cloned().unwrap_or(Value::Null),
                "stderr": g.map_or(&[][..], |g| g.stderr.as_slice()),
                "notes": result.get("notes").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    drop(requests);
    // Bodies are moved into the document: json!() would re-serialize each one.
    let timeline: Vec<Value> = timeline
        .into_iter()
        .map(|e| {
            let mut event = serde_json::Map::with_capacity(7);
            event.insert("seq".into(), e.seq.into());
            event.insert("at".into(), e.at.into());
            event.insert("kind".into(), e.kind.as_str().into());
            event.insert("request_id".into(), e.request_id.into());
            event.insert("execution_id".into(), e.execution_id.into());
            event.insert("hash".into(), e.hash.into());
            event.insert("body".into(), e.body);
            Value::Object(event)
        })
        .collect();
    let verified = journal.verify(None)?;
    let operator = Operator::current();
    let mut doc = json!({
        "format": FORMAT,
        "exported_at": ids::now(),
        "exported_by": {"user": operator.user, "host": operator.host},
        "journal": {
            "path": journal.path().display().to_string(),
            "head": verified.head,
            "verified": verified.broken.is_none(),
            "broken": verified.broken,
        },
        "incident": incident,
        "timeline": timeline,
        "executions": executions,
    });
    doc["manifest"] = manifest(&doc);
    // Escaped for whoever `cat`s the file; the manifest hashes values, which
    // read back unchanged from the escapes (`protocol::safe_json`).
    safe_json::to_writer_pretty(&mut *out, &doc).map_err(|e| io(e.into()))?;
    writeln!(out).map_err(io)
}

/// SHA-256 of each section's canonical JSON, and a digest over them all, so a
/// reader can tell which part of a bundle was changed after export. Computed
/// over the values, not the bytes written: a verifier parses the bundle and
/// re-canonicalizes, so the `\uXXXX` escapes of the written file (and any
/// re-indenting by a tool) leave every hash as it was.
pub fn manifest(doc: &Value) -> Value {
    let mut entries = serde_json::Map::new();
    for section in [
        "exported_by",
        "journal",
        "incident",
        "timeline",
        "executions",
    ] {
        entries.insert(section.into(), canonical_sha256(&doc[section]).into());
    }
    let digest = canonical_sha256(&Value::Object(entries.clone()));
    json!({"algorithm": "sha256", "canonicalization": "sorted keys, no whitespace", "entries": entries, "digest": digest})
}
