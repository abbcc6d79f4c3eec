//! `rune incident …`, `rune note`, `rune journal verify` and `rune export`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use serde_json::json;

use super::args::{
    Cli, ExportArgs, IncidentArgs, IncidentCommand, JournalArgs, JournalCommand, NoteArgs,
};
use super::{EXIT_FAILED, EXIT_OK};
use crate::journal::{self, Journal, export};
use crate::policy::Operator;
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
                println!("{}", serde_json::to_string_pretty(&incident)?);
            } else {
                println!("{}", incident.id);
            }
        }
        IncidentCommand::List => {
            let journal = Journal::open(&path)?;
            let incidents = journal.incidents()?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"incidents": incidents}))?
                );
            } else {
                println!(
                    "{:<36}  {:<8} {:<8} {:<24} TITLE",
                    "ID", "STATUS", "SEVERITY", "OPENED"
                );
                for i in incidents {
                    println!(
                        "{:<36}  {:<8} {:<8} {:<24} {}",
                        i.id,
                        i.status,
                        i.severity,
                        i.opened_at,
                        sanitize_line(&i.title)
                    );
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
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!(
                    "{} · {} · {} · {}",
                    incident.id,
                    sanitize_line(&incident.title),
                    incident.status,
                    incident.severity
                );
                println!(
                    "opened {} by {}; {} events",
                    incident.opened_at,
                    incident.operator,
                    timeline.len()
                );
                for x in executions {
                    println!(
                        "  {} {} on {} ({}): {}",
                        x.created_at,
                        x.action,
                        x.target,
                        x.transport,
                        x.outcome.as_deref().unwrap_or("running or lost")
                    );
                }
                for note in timeline.iter().filter(|e| e.kind == "note") {
                    println!(
                        "  note {}: {}",
                        note.at,
                        sanitize_line(note.body["text"].as_str().unwrap_or(""))
                    );
                }
            }
        }
        IncidentCommand::Close { id } => {
            let mut journal = Journal::open(&path)?;
            let incident = journal.close_incident(id, &operator)?;
            println!("{} resolved", incident.id);
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
    println!("note recorded as event {seq}");
    Ok(EXIT_OK)
}

pub(super) fn journal_cmd(cli: &Cli, args: &JournalArgs) -> anyhow::Result<u8> {
    match &args.command {
        JournalCommand::Verify { head, json } => {
            let journal = Journal::open_existing(&journal_path(cli)?)?;
            let report = journal.verify(head.as_ref())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if let Some(broken) = &report.broken {
                println!("BROKEN at event {}: {}", broken.seq, broken.reason);
            } else {
                println!(
                    "ok: {} events verified; head {}:{}",
                    report.events, report.head.seq, report.head.hash
                );
            }
            Ok(if report.broken.is_none() {
                EXIT_OK
            } else {
                EXIT_FAILED
            })
        }
    }
}

pub(super) fn export_cmd(cli: &Cli, args: &ExportArgs) -> anyhow::Result<u8> {
    let journal = Journal::open_existing(&journal_path(cli)?)?;
    match &args.output {
        Some(path) => {
            // Evidence is private: created 0600, never readable by others.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)?;
            export::export(&journal, &args.incident, args.format, &mut file)?;
            file.sync_all()?;
            eprintln!("rune: exported to {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            export::export(&journal, &args.incident, args.format, &mut out)?;
            out.flush()?;
        }
    }
    Ok(EXIT_OK)
}
