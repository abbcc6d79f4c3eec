//! One event per line for SIEM ingestion, with ECS fields (`@timestamp`,
//! `message`, `event.*`, `trace.id`, `span.id`, `host.name`, `user.name`,
//! `error.code`) and RUNE's own under `rune.*`. Every field outside `rune.*`
//! is in ECS's catalogue with its ECS type (`tests/fixtures/ecs/ecs_flat.yml`,
//! checked by `tests/e2e/journal/ecs.rs`); one without a value is left out.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{Value, json};

use super::io;
use crate::journal::{EventKind, EventRow, ExecutionRow, Incident, Journal, Result};
use crate::protocol::safe_json;

pub(super) fn write(journal: &Journal, incident: &Incident, out: &mut dyn Write) -> Result<()> {
    let executions = journal.executions(&incident.id)?;
    let by_id: HashMap<&str, &ExecutionRow> =
        executions.iter().map(|x| (x.id.as_str(), x)).collect();
    let timeline = journal.timeline(&incident.id, 0)?;
    // Stderr and status bodies carry no envelope: they take the trace of
    // their execution's input, else of their request.
    let mut traces: HashMap<&str, Trace> = HashMap::new();
    for event in &timeline {
        let key = match event.kind {
            EventKind::Started => event.execution_id.as_deref(),
            EventKind::Request => event.request_id.as_deref(),
            _ => None,
        };
        if let Some(key) = key {
            traces.insert(key, trace_of(event));
        }
    }
    for event in &timeline {
        let exec = event
            .execution_id
            .as_deref()
            .and_then(|id| by_id.get(id).copied());
        let mut trace = trace_of(event);
        if trace.0.is_none() {
            let inherited = [event.execution_id.as_deref(), event.request_id.as_deref()]
                .into_iter()
                .flatten()
                .find_map(|key| traces.get(key));
            if let Some(inherited) = inherited {
                trace = inherited.clone();
            }
        }
        let line = ecs(event, exec, incident, trace);
        // A SIEM line is also read in a terminal: bidi and C1 characters escaped.
        safe_json::to_writer(&mut *out, &line).map_err(|e| io(e.into()))?;
        writeln!(out).map_err(io)?;
    }
    Ok(())
}

/// `(trace.id, span.id)` of an event.
type Trace = (Option<String>, Option<String>);

fn ecs(event: &EventRow, exec: Option<&ExecutionRow>, incident: &Incident, trace: Trace) -> Value {
    let body = &event.body;
    let (trace, span) = trace;
    let outcome = match &event.kind {
        EventKind::Result => "success",
        kind if kind.is_terminal() => "failure",
        _ => "unknown",
    };
    let operator = exec
        .map(|x| x.operator.clone())
        .or_else(|| body["operator"].as_str().map(str::to_owned))
        .or_else(|| {
            body["request"]["payload"]["data"]["context"]["requested_by"]
                .as_str()
                .map(str::to_owned)
        });
    // ECS declares `error.code` a keyword: the EPS number is written as text.
    let error_code = match &body["error"]["error_payload"]["error_data"]["error"]["code"] {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    // What was asked, on the lines that record it (secrets are already redacted there).
    let parameters = match event.kind {
        EventKind::Request => &body["request"]["payload"]["data"]["input_parameters"],
        EventKind::Started => &body["input"]["payload"]["input_parameters"],
        _ => &Value::Null,
    };
    let mut line = json!({
        "@timestamp": event.at,
        "message": message(event),
        "event": {
            "kind": "event", "category": ["process"], "type": [type_of(&event.kind)],
            "action": event.kind, "outcome": outcome, "sequence": event.seq, "dataset": "rune.journal",
        },
        "trace": {"id": trace}, "span": {"id": span},
        "host": {"name": exec.map(|x| x.target.clone())},
        "user": {"name": operator},
        "error": {"code": error_code},
        "rune": {
            "incident": {"id": incident.id, "title": incident.title},
            "action": {"name": exec.map(|x| x.action.clone()).or_else(|| body["action"]["name"].as_str().map(str::to_owned)),
                       "version": exec.map(|x| x.action_version.clone()), "bundle_sha256": exec.map(|x| x.bundle_sha256.clone())},
            "execution": {"id": event.execution_id, "status": body.get("status").cloned()},
            "request": {"id": event.request_id},
            "transport": exec.map(|x| x.transport.clone()),
            "event": {"hash": event.hash},
        },
    });
    if !parameters.is_null() {
        line["rune"]["parameters"] = parameters.clone();
    }
    if let Value::Object(fields) = &mut line {
        // An ECS field RUNE has no value for is left out, as ECS expects, not
        // written as null. `rune.*` is RUNE's own and keeps its shape.
        fields.retain(|name, value| name == "rune" || drop_nulls(value));
    }
    line
}

/// Removes nulls and the objects they leave empty, below `value`; false
/// when nothing is left of `value` itself.
fn drop_nulls(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(fields) => {
            fields.retain(|_, v| drop_nulls(v));
            !fields.is_empty()
        }
        _ => true,
    }
}

/// ECS `event.type`.
fn type_of(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Started => "start",
        EventKind::Incident | EventKind::Note => "change",
        kind if kind.is_terminal() => "end",
        _ => "info",
    }
}

fn trace_of(event: &EventRow) -> Trace {
    let b = &event.body;
    let observability = [
        &b["input"]["observability"],
        &b["request"]["observability"],
        &b["error"]["observability"],
    ];
    let found = observability.into_iter().find(|o| o.is_object());
    let get = |k: &str| found.and_then(|o| o[k].as_str()).map(str::to_owned);
    (get("trace_id"), get("span_id"))
}

fn message(event: &EventRow) -> String {
    let b = &event.body;
    match event.kind {
        EventKind::Stderr => b["line"].as_str().unwrap_or("").to_owned(),
        EventKind::Note => b["text"].as_str().unwrap_or("").to_owned(),
        EventKind::Status => format!("phase {}", b["phase"].as_str().unwrap_or("")),
        EventKind::Request => format!(
            "request {} on {} target(s)",
            b["action"]["name"].as_str().unwrap_or("?"),
            b["targets"].as_array().map_or(0, Vec::len)
        ),
        EventKind::Started => format!("started on {}", b["target"].as_str().unwrap_or("?")),
        EventKind::Incident => format!("incident {}", b["action"].as_str().unwrap_or("?")),
        EventKind::Interrupted => b["reason"]
            .as_str()
            .unwrap_or(event.kind.as_str())
            .to_owned(),
        _ => match b["error"]["error_payload"]["error_data"]["error"]["data"]["reason"].as_str() {
            Some(reason) => reason.to_owned(),
            None => format!(
                "{} on {}",
                b["status"].as_str().unwrap_or(event.kind.as_str()),
                b["target"].as_str().unwrap_or("?")
            ),
        },
    }
}
