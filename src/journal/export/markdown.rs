//! A readable timeline a responder pastes into a ticket. Everything that
//! came from a host is sanitized and escaped for Markdown tables.

use std::collections::HashMap;
use std::io::Write;

use super::{gather, io};
use crate::journal::{EventKind, ExecutionRow, Incident, Journal, Result};
use crate::protocol::sanitize::sanitize_line;

/// Stderr lines shown per execution; the JSON export keeps them all.
const STDERR_LINES: usize = 20;

pub(super) fn write(journal: &Journal, incident: &Incident, out: &mut dyn Write) -> Result<()> {
    let timeline = journal.timeline(&incident.id, 0)?;
    let executions = journal.executions(&incident.id)?;
    let by_id: HashMap<&str, &ExecutionRow> =
        executions.iter().map(|x| (x.id.as_str(), x)).collect();
    let head = journal.verify(None)?;
    let mut w = String::new();
    w += &format!("# Incident: {}\n\n", cell(&incident.title));
    w += "| | |\n|---|---|\n";
    for (k, v) in [
        ("id", incident.id.as_str()),
        ("status", incident.status.as_str()),
        ("severity", incident.severity.as_str()),
        ("ticket", incident.ticket.as_deref().unwrap_or("-")),
        ("opened", incident.opened_at.as_str()),
        ("closed", incident.closed_at.as_deref().unwrap_or("-")),
        ("opened by", incident.operator.as_str()),
    ] {
        w += &format!("| {k} | {} |\n", cell(v));
    }
    w += "\n## Timeline\n\n| time (UTC) | event | target | detail |\n|---|---|---|---|\n";
    for event in timeline.iter().filter(|e| !e.kind.is_stream()) {
        let target = event
            .execution_id
            .as_deref()
            .and_then(|id| by_id.get(id))
            .map_or("", |x| x.target.as_str());
        let b = &event.body;
        let detail = match event.kind {
            EventKind::Request => format!(
                "{} {} requested by {}",
                b["action"]["name"].as_str().unwrap_or("?"),
                b["action"]["version"].as_str().unwrap_or(""),
                b["operator"].as_str().unwrap_or("?")
            ),
            EventKind::Note => format!(
                "{}: {}",
                b["operator"].as_str().unwrap_or("?"),
                b["text"].as_str().unwrap_or("")
            ),
            EventKind::Incident => format!(
                "{} by {}",
                b["action"].as_str().unwrap_or("?"),
                b["operator"].as_str().unwrap_or("?")
            ),
            EventKind::Started => "started".into(),
            EventKind::Interrupted => b["reason"].as_str().unwrap_or("").into(),
            _ => outcome_text(b),
        };
        w += &format!(
            "| {} | {} | {} | {} |\n",
            event.at,
            event.kind,
            cell(target),
            cell(&detail)
        );
    }
    let gathered = gather(&timeline);
    w += "\n## Executions\n";
    for x in &executions {
        w += &format!(
            "\n### {} on {} ({})\n\n- execution `{}`\n- action {} {}, bundle sha256 `{}`\n- operator {}; parameters `{}`\n- outcome: {}\n",
            cell(&x.action),
            cell(&x.target),
            x.transport,
            x.id,
            cell(&x.action),
            cell(&x.action_version),
            x.bundle_sha256,
            cell(&x.operator),
            cell(&x.params.to_string()),
            x.outcome
                .as_ref()
                .map_or("none recorded", EventKind::as_str),
        );
        if let Some(g) = gathered.get(&x.id) {
            if !g.result.is_null() {
                w += &format!("- result: {}\n", cell(&outcome_text(&g.result)));
            }
            if !g.stderr.is_empty() {
                let shown = &g.stderr[g.stderr.len().saturating_sub(STDERR_LINES)..];
                w += &format!(
                    "\nstderr (last {} of {} lines):\n\n```text\n",
                    shown.len(),
                    g.stderr.len()
                );
                for line in shown {
                    w += &sanitize_line(line).replace("```", "ˋˋˋ");
                    w.push('\n');
                }
                w += "```\n";
            }
        }
    }
    w += &format!(
        "\n---\nJournal chain head: event {} `{}` ({}).\n",
        head.head.seq,
        head.head.hash,
        if head.broken.is_none() {
            "verified"
        } else {
            "VERIFY FAILED"
        }
    );
    out.write_all(w.as_bytes()).map_err(io)
}

fn outcome_text(result: &serde_json::Value) -> String {
    let status = result["status"].as_str().unwrap_or("?");
    match result["error"]["error_payload"]["error_data"]["error"].as_object() {
        Some(e) => format!(
            "{status}: {} {}",
            e.get("code").map(ToString::to_string).unwrap_or_default(),
            e.get("data")
                .and_then(|d| d["reason"].as_str())
                .unwrap_or("")
        ),
        None => format!("{status} in {} ms", result["duration_ms"]),
    }
}

/// Text safe inside a Markdown table cell: sanitized, pipes escaped.
fn cell(text: &str) -> String {
    sanitize_line(text).replace('|', "\\|").replace('`', "ˋ")
}
