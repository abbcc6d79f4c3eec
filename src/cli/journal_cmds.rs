//! `rune incident …`, `rune note`, `rune journal verify` and `rune export`.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::args::{
    Cli, ExportArgs, IncidentArgs, IncidentCommand, JournalArgs, JournalCommand, NoteArgs,
};
use super::catalog_cmds::load_catalog;
use super::print::{self, Layout, errln, out_json, outln};
use super::{EXIT_FAILED, EXIT_OK};
use crate::inventory::{Inventory, Selector};
use crate::journal::{self, EventKind, Journal, export};
use crate::mediator::{ExecEvent, ExecId};
use crate::policy::{Confirmation, Operator, ParamInput, RunRequest, Source, decide};
use crate::protocol::ids;
use crate::protocol::sanitize::sanitize_line;

/// The journal the command line names, else the platform default.
pub(super) fn journal_path(cli: &Cli) -> anyhow::Result<PathBuf> {
    cli.journal
        .clone()
        .or_else(journal::default_path)
        .ok_or_else(|| {
            anyhow::anyhow!("no home directory to keep the journal in; pass --journal FILE")
        })
}

pub(super) fn incident(cli: &Cli, args: &IncidentArgs) -> anyhow::Result<u8> {
    let path = journal_path(cli)?;
    let operator = Operator::current().id();
    match &args.command {
        IncidentCommand::Open {
            title,
            severity,
            ticket,
        } => {
            let mut journal = Journal::open(&path)?;
            let incident =
                journal.open_incident(&title.join(" "), *severity, ticket.as_deref(), &operator)?;
            if args.json {
                out_json(&incident, Layout::Pretty)?;
            } else {
                outln!("{}", incident.id)?;
            }
        }
        IncidentCommand::List => {
            let journal = Journal::open(&path)?;
            let incidents = journal.incidents()?;
            if args.json {
                out_json(&json!({"incidents": incidents}), Layout::Pretty)?;
            } else {
                outln!(
                    "{:<36}  {:<8} {:<8} {:<24} TITLE",
                    "ID",
                    "STATUS",
                    "SEVERITY",
                    "OPENED"
                )?;
                for i in incidents {
                    outln!(
                        "{:<36}  {:<8} {:<8} {:<24} {}",
                        i.id,
                        i.status,
                        i.severity,
                        i.opened_at,
                        sanitize_line(&i.title)
                    )?;
                }
            }
        }
        IncidentCommand::Show { id } => {
            let journal = Journal::open(&path)?;
            let incident = journal.incident(id)?;
            let executions = journal.executions(&incident.id)?;
            let timeline = journal.timeline(&incident.id, 0)?;
            if args.json {
                let doc = json!({"incident": incident, "executions": executions, "events": timeline.len()});
                out_json(&doc, Layout::Pretty)?;
            } else {
                outln!(
                    "{} · {} · {} · {}",
                    incident.id,
                    sanitize_line(&incident.title),
                    incident.status,
                    incident.severity
                )?;
                outln!(
                    "opened {} by {}; {} events",
                    incident.opened_at,
                    incident.operator,
                    timeline.len()
                )?;
                for x in executions {
                    outln!(
                        "  {} {} on {} ({}): {}",
                        x.created_at,
                        x.action,
                        x.target,
                        x.transport,
                        x.outcome
                            .as_ref()
                            .map_or("running or lost", EventKind::as_str)
                    )?;
                }
                for note in timeline.iter().filter(|e| e.kind == EventKind::Note) {
                    outln!(
                        "  note {}: {}",
                        note.at,
                        sanitize_line(note.body["text"].as_str().unwrap_or(""))
                    )?;
                }
            }
        }
        IncidentCommand::Close { id } => {
            let mut journal = Journal::open(&path)?;
            let incident = journal.close_incident(id, &operator)?;
            outln!("{} resolved", incident.id)?;
        }
    }
    Ok(EXIT_OK)
}

pub(super) fn note(cli: &Cli, args: &NoteArgs) -> anyhow::Result<u8> {
    let mut journal = Journal::open(&journal_path(cli)?)?;
    let seq = journal.add_note(
        &args.incident,
        &args.text.join(" "),
        &Operator::current().id(),
    )?;
    outln!("note recorded as event {seq}")?;
    Ok(EXIT_OK)
}

pub(super) fn journal_cmd(cli: &Cli, args: &JournalArgs) -> anyhow::Result<u8> {
    match &args.command {
        JournalCommand::Verify { head, json } => {
            let journal = Journal::open_existing(&journal_path(cli)?)?;
            let report = journal.verify(head.as_ref())?;
            if *json {
                out_json(&report, Layout::Pretty)?;
            } else if let Some(broken) = &report.broken {
                outln!("BROKEN at event {}: {}", broken.seq, broken.reason)?;
            } else {
                outln!(
                    "ok: {} events verified; head {}:{}",
                    report.events,
                    report.head.seq,
                    report.head.hash
                )?;
            }
            Ok(if report.broken.is_none() {
                EXIT_OK
            } else {
                EXIT_FAILED
            })
        }
        JournalCommand::Stress {
            events,
            batch,
            action,
        } => stress(cli, *events, *batch, action),
    }
}

/// The writer the SIGKILL durability test kills: a real request and
/// execution, then stderr events through [`Journal::record_events`] (the
/// recorder's batched path). `committed SEQ HASH` is printed, and flushed,
/// only after the batch's commit returned: the test's list of what must
/// survive. The execution is left open for the next start to mark interrupted.
fn stress(cli: &Cli, events: u64, batch: usize, action: &str) -> anyhow::Result<u8> {
    let catalog = load_catalog(cli)?;
    let mut journal = Journal::open(&journal_path(cli)?)?;
    let operator = Operator::current();
    let (incident, _) = journal.choose_incident(None, &operator.id(), action)?;
    let request = RunRequest {
        action: action.into(),
        selector: Selector::default(),
        params: ParamInput::Assignments(Vec::new()),
        source: Source::Cli,
        operator,
        incident: Some(incident.id),
        timeout: None,
        concurrency: 1,
        max_errors: None,
        confirmation: Confirmation::Explicit,
        parent_message_id: None,
    };
    let plan = decide(&catalog, &Inventory::default(), request)?;
    let target = plan
        .targets
        .first()
        .ok_or_else(|| anyhow::anyhow!("the plan has no target"))?;
    journal.record_request(&plan)?;
    let exec = ExecId(ids::message_id());
    let input = plan.envelope(target, &exec.0, &ids::span_id());
    let mut pending = vec![ExecEvent::Started {
        exec: exec.clone(),
        target: target.name.clone(),
        at: ids::now(),
        input: Box::new(input),
    }];
    let mut written = 0;
    while written < events {
        // `batch` stderr events per commit; the first commit also carries `started`.
        let end = (written + batch.max(1) as u64).min(events);
        while written < end {
            written += 1;
            pending.push(ExecEvent::Stderr {
                exec: exec.clone(),
                line: format!("stress line {written} of {events}"),
            });
        }
        journal.record_events(&plan, &pending)?;
        pending.clear();
        let (seq, hash) = journal.head();
        outln!("committed {seq} {hash}")?;
    }
    Ok(EXIT_OK)
}

pub(super) fn export_cmd(cli: &Cli, args: &ExportArgs) -> anyhow::Result<u8> {
    let journal = Journal::open_existing(&journal_path(cli)?)?;
    match &args.output {
        Some(path) => {
            let mut file = export::create_private(path)?;
            export::export(&journal, &args.incident, args.format, &mut file)?;
            file.sync_all()?;
            errln!("rune: exported to {}", path.display());
        }
        None => {
            let mut out = print::stdout();
            export::export(&journal, &args.incident, args.format, &mut out)?;
            out.flush()?;
        }
    }
    Ok(EXIT_OK)
}
