//! Exports of one incident as evidence: `json` (a bundle with a SHA-256
//! manifest and its JSON Schema in assets/), `ndjson` (ECS-style events for
//! a SIEM) and `markdown` (a timeline for a ticket).

mod json;
mod markdown;
mod ndjson;

use std::io::Write;

use super::{EventKind, Journal, Result};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Ndjson,
    Markdown,
}

/// Writes incident `id` in `format` to `out`.
pub fn export(journal: &Journal, id: &str, format: Format, out: &mut dyn Write) -> Result<()> {
    let incident = journal.incident(id)?;
    // The writers emit many small pieces (serde writes token by token); an
    // unbuffered file or a line-buffered stdout would make each one a syscall.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    match format {
        Format::Json => json::write(journal, &incident, &mut out),
        Format::Ndjson => ndjson::write(journal, &incident, &mut out),
        Format::Markdown => markdown::write(journal, &incident, &mut out),
    }?;
    out.flush().map_err(io)
}

fn io(e: std::io::Error) -> super::Error {
    super::Error::Io {
        path: "the export output".into(),
        detail: e.to_string(),
    }
}

/// Per execution: what the timeline says about it, gathered in one pass.
#[derive(Default)]
struct Gathered {
    input: serde_json::Value,
    stderr: Vec<String>,
    result: serde_json::Value,
}

fn gather(timeline: &[super::EventRow]) -> std::collections::HashMap<String, Gathered> {
    let mut by_exec: std::collections::HashMap<String, Gathered> = std::collections::HashMap::new();
    for event in timeline {
        let Some(exec) = &event.execution_id else {
            continue;
        };
        let entry = by_exec.entry(exec.clone()).or_default();
        match event.kind {
            EventKind::Started => entry.input = event.body["input"].clone(),
            EventKind::Stderr => entry
                .stderr
                .push(event.body["line"].as_str().unwrap_or("").to_owned()),
            // Its body says only why: the bundle's `status` needs a result-shaped value.
            EventKind::Interrupted => {
                entry.result = serde_json::json!({"status": "interrupted", "error": null})
            }
            _ if event.kind.is_terminal() => entry.result = event.body.clone(),
            _ => {}
        }
    }
    by_exec
}

/// Opens `path` for an export: created 0600, and an existing file is
/// narrowed to 0600 before anything is written, because evidence is private.
pub fn create_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}
