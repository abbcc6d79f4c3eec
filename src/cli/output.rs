//! The three output formats. `json` is one document at the end, `ndjson` one
//! event per line as it happens, `pretty` is for people. Only results go to
//! stdout; live stderr lines and notices go to stderr. Everything a target
//! wrote was sanitized by the engine, and all of it is printed through
//! [`super::print`], which sanitizes text and escapes JSON again on the way out.

use std::collections::HashMap;
use std::io::IsTerminal;

use serde_json::{Value, json};

use super::args::OutputFormat;
use super::print::{self, Layout, errln, out_json, out_marked, outln};
use crate::engine::{RunEvent, RunOutcome, plan_lines};
use crate::mediator::eps::{Failure, Scope, to_eps};
use crate::mediator::{ExecEvent, Report, Status, TargetResult};
use crate::policy::Plan;
use crate::protocol::ids;
use crate::protocol::sanitize::{sanitize_line, sanitize_text};

pub(super) struct Printer {
    format: OutputFormat,
    colour: bool,
    targets: HashMap<String, String>,
}

impl Printer {
    pub fn new(format: OutputFormat) -> Self {
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self {
            format,
            colour,
            targets: HashMap::new(),
        }
    }

    /// One event of the run, as it happens.
    pub fn on(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        match event {
            RunEvent::Incident { id, title, choice } => {
                errln!(
                    "rune: recording under incident {id} \"{}\" ({choice})",
                    sanitize_line(title)
                );
                Ok(())
            }
            RunEvent::Requested(plan) => self.request(plan),
            RunEvent::Exec(event) => self.event(event),
            RunEvent::VerifyRefused(refusal) => {
                errln!("rune: verify refused: {refusal}");
                Ok(())
            }
            RunEvent::Finished { .. } | RunEvent::Done(_) => Ok(()),
        }
    }

    fn request(&mut self, plan: &Plan) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Ndjson => {
                let verify = plan.request.message_metadata.parent_message_id.is_some();
                line(
                    &json!({"event": "request", "at": ids::now(), "verify": verify, "request": plan.request}),
                )
            }
            OutputFormat::Pretty => {
                errln!(
                    "rune: {} {} on {} target(s) · incident {} · request {}",
                    plan.action.name,
                    plan.action.version,
                    plan.targets.len(),
                    plan.incident_id,
                    plan.request.message_metadata.message_id
                );
                Ok(())
            }
            OutputFormat::Json => Ok(()),
        }
    }

    fn event(&mut self, event: &ExecEvent) -> anyhow::Result<()> {
        let exec = event.exec().0.clone();
        if let ExecEvent::Started { target, .. } = event {
            self.targets.insert(exec.clone(), target.clone());
        }
        let target = self.targets.get(&exec).cloned().unwrap_or_default();
        match (self.format, event) {
            (OutputFormat::Ndjson, ExecEvent::Started { at, .. }) => {
                line(&json!({"event": "started", "at": at, "exec_id": exec, "target": target}))
            }
            (OutputFormat::Ndjson, ExecEvent::Stderr { line: text, .. }) => line(
                &json!({"event": "stderr", "at": ids::now(), "exec_id": exec, "target": target, "line": text}),
            ),
            (OutputFormat::Ndjson, ExecEvent::Status { phase, .. }) => line(
                &json!({"event": "status", "at": ids::now(), "exec_id": exec, "target": target, "phase": phase}),
            ),
            (OutputFormat::Ndjson, ExecEvent::Finished { result, .. }) => line(&json!({
                "event": "finished", "at": result.finished_at, "exec_id": exec, "target": result.target,
                "status": result.status, "result": result,
            })),
            (OutputFormat::Pretty, ExecEvent::Stderr { line: text, .. }) => {
                errln!("[{target}] {text}");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The end of the run: the action's report and, when one ran, its verify report.
    pub fn report(&mut self, outcome: &RunOutcome) -> anyhow::Result<()> {
        let Some((plan, report)) = outcome.first() else {
            return Ok(());
        };
        let verify = outcome.verify().map(|(p, r)| (p.as_ref(), r.as_ref()));
        let (seq, hash) = &outcome.head;
        let path = &outcome.journal;
        match self.format {
            OutputFormat::Json => {
                let mut doc = report_doc(plan, report);
                doc["verify"] = verify.map_or(Value::Null, |(p, r)| report_doc(p, r));
                doc["journal"] = json!({"path": path, "head": {"seq": seq, "hash": hash}});
                out_json(&doc, Layout::Pretty)
            }
            OutputFormat::Ndjson => {
                let mut event =
                    json!({"event": "summary", "at": ids::now(), "summary": summary(report)});
                if let Some((_, r)) = verify {
                    event["verify_summary"] = summary(r);
                }
                event["journal"] = json!({"path": path, "head": {"seq": seq, "hash": hash}});
                line(&event)
            }
            OutputFormat::Pretty => {
                self.pretty_report(report)?;
                if let Some((p, r)) = verify {
                    outln!("verify: {} on {} target(s)", p.action.name, p.targets.len())?;
                    self.pretty_report(r)?;
                }
                errln!("rune: recorded in {} (event {seq})", path.display());
                Ok(())
            }
        }
    }

    fn pretty_report(&self, report: &Report) -> anyhow::Result<()> {
        for result in &report.results {
            let (mark, colour) = match result.status {
                Status::Success => ("ok  ", "32"),
                Status::Skipped | Status::Cancelled => ("skip", "33"),
                _ => ("FAIL", "31"),
            };
            out_marked(
                self.colour.then_some(colour),
                mark,
                format_args!(
                    " {} ({}) {} in {} ms",
                    result.target,
                    result.transport,
                    result.status.as_str(),
                    result.duration_ms
                ),
            )?;
            pretty_body(result)?;
        }
        let s = summary(report);
        outln!(
            "{} ok · {} failed · {} timed out · {} cancelled · {} skipped · {} ms",
            s["success"],
            s["failed"],
            s["timed_out"],
            s["cancelled"],
            s["skipped"],
            s["duration_ms"]
        )?;
        Ok(())
    }
}

fn pretty_body(result: &TargetResult) -> anyhow::Result<()> {
    if let Some(data) = result
        .output
        .as_ref()
        .and_then(|o| o.payload.as_ref())
        .map(|p| &p.output_data)
    {
        let text = sanitize_text(&serde_json::to_string_pretty(data)?);
        for l in text.lines() {
            outln!("    {l}")?;
        }
    }
    if let Some(error) = &result.error {
        outln!(
            "    error {}: {}",
            error.code(),
            sanitize_line(error.reason())
        )?;
        let tail = &result.stderr_tail;
        for l in &tail[tail.len().saturating_sub(5)..] {
            outln!("    stderr: {l}")?;
        }
    }
    Ok(())
}

fn line(value: &Value) -> anyhow::Result<()> {
    // Nobody reads stdout any more: the run goes on to its end (and its
    // journal) without an error per event, then exits 141 (`super::exit_code`).
    if print::stdout_closed() {
        return Ok(());
    }
    out_json(value, Layout::Line)
}

fn report_doc(plan: &Plan, report: &Report) -> Value {
    json!({
        "request": report.request,
        "action": action_summary(plan),
        "incident_id": plan.incident_id,
        "summary": summary(report),
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "results": report.results,
    })
}

fn action_summary(plan: &Plan) -> Value {
    let a = &plan.action;
    json!({"name": a.name, "version": a.version, "risk": a.risk, "bundle_sha256": a.bundle_sha256()})
}

fn summary(report: &Report) -> Value {
    json!({
        "targets": report.results.len(),
        "success": report.count(Status::Success),
        "failed": report.count(Status::Failed),
        "timed_out": report.count(Status::TimedOut),
        "cancelled": report.count(Status::Cancelled),
        "skipped": report.count(Status::Skipped),
        "duration_ms": report.duration_ms,
    })
}

pub(super) fn print_dry_run(plan: &Plan, format: OutputFormat) -> anyhow::Result<()> {
    let targets: Vec<Value> = plan
        .targets
        .iter()
        .map(|t| json!({"name": t.name, "transport": t.kind(), "address": t.address()}))
        .collect();
    let envelope = plan
        .targets
        .first()
        .map(|t| plan.envelope(t, &ids::message_id(), &ids::span_id()));
    let doc = json!({
        "dry_run": true,
        "request": plan.request,
        "action": action_summary(plan),
        "targets": targets,
        "timeout_ms": plan.timeout.as_millis() as u64,
        "concurrency": plan.concurrency,
        "max_errors": plan.max_errors,
        "envelope": envelope,
    });
    match format {
        OutputFormat::Json | OutputFormat::Ndjson => line(&doc),
        OutputFormat::Pretty => {
            outln!("dry run: nothing was executed")?;
            for l in plan_lines(plan, usize::MAX) {
                outln!("{}", sanitize_line(&l))?;
            }
            outln!("envelope (secrets redacted):")?;
            outln!("{}", serde_json::to_string_pretty(&doc["envelope"])?)?;
            Ok(())
        }
    }
}

/// A request that could not run: the reason on stderr and, for machine
/// formats, an EPS document on stdout.
pub(super) fn print_failure(format: OutputFormat, failure: Failure) {
    let eps = to_eps(
        &failure,
        Scope {
            source: Some("cli"),
            ..Scope::default()
        },
    );
    let verb = match failure {
        Failure::JournalLost(_) => "stopped",
        _ => "refused",
    };
    errln!("rune: {verb}: {}", eps.reason());
    if format != OutputFormat::Pretty {
        let _ = line(&serde_json::to_value(&eps).unwrap_or(Value::Null));
    }
}
