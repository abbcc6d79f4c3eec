//! Incidents: opened, noted and closed through chained events. An incident
//! row never changes; what is shown of it (status included) is read from its events.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::append::{Journal, NewEvent};
use super::error::{Error, Result};
use super::kind::EventKind;
use crate::protocol::ids;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// An incident with its derived status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub ticket: Option<String>,
    pub opened_at: String,
    pub operator: String,
    /// "open" or "resolved".
    pub status: String,
    pub closed_at: Option<String>,
}

/// How `rune run` picked the incident it records under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChoice {
    /// Named with `--incident`.
    Given,
    /// The most recently opened incident that is still open.
    MostRecentOpen,
    /// None was open, so a new one was opened.
    Opened,
}

impl IncidentChoice {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Given => "as asked",
            Self::MostRecentOpen => "the most recent open incident",
            Self::Opened => "a new incident, since none was open",
        }
    }
}

/// An incident as its chained `open` event tells it: title, severity, ticket
/// and operator come from that event's body, not from the `incidents` row
/// (outside the chain), and an incident row with no `open` event is not
/// shown at all. `verify` checks the rows against these events.
pub(super) const SELECT: &str = "SELECT id, coalesce(json_extract(o.body, '$.title'), ''),
        coalesce(json_extract(o.body, '$.severity'), ''), json_extract(o.body, '$.ticket'), opened_at,
        coalesce(json_extract(o.body, '$.operator'), ''), status, closed_at
    FROM incident_status s JOIN events o ON o.seq = (SELECT min(e.seq) FROM events e
        WHERE e.incident_id = s.id AND e.kind = 'incident' AND json_extract(e.body, '$.action') = 'open')";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        title: r.get(1)?,
        severity: r.get(2)?,
        ticket: r.get(3)?,
        opened_at: r.get(4)?,
        operator: r.get(5)?,
        status: r.get(6)?,
        closed_at: r.get(7)?,
    })
}

impl Journal {
    /// Opens an incident and records it on the chain.
    pub fn open_incident(
        &mut self,
        title: &str,
        severity: Severity,
        ticket: Option<&str>,
        operator: &str,
    ) -> Result<Incident> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::Invalid("an incident needs a title".into()));
        }
        let id = ids::message_id();
        let now = ids::now();
        self.write(|tx, chain| {
            tx.execute(
                "INSERT INTO incidents (id, title, severity, ticket, opened_at, operator) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, title, severity.as_str(), ticket, now, operator],
            )
            .map_err(|e| chain.err(e))?;
            chain.append(
                tx,
                NewEvent {
                    incident_id: &id,
                    request_id: None,
                    execution_id: None,
                    kind: EventKind::Incident,
                    body: json!({"action": "open", "title": title, "severity": severity, "ticket": ticket, "operator": operator}),
                },
            )
        })?;
        self.incident(&id)
    }

    /// Closes an open incident.
    pub fn close_incident(&mut self, id: &str, operator: &str) -> Result<Incident> {
        let incident = self.incident(id)?;
        if incident.status != "open" {
            return Err(Error::IncidentClosed(incident.id));
        }
        self.write(|tx, chain| {
            chain.append(
                tx,
                NewEvent {
                    incident_id: &incident.id,
                    request_id: None,
                    execution_id: None,
                    kind: EventKind::Incident,
                    body: json!({"action": "close", "operator": operator}),
                },
            )
        })?;
        self.incident(&incident.id)
    }

    /// Adds a responder's note to an incident's timeline; returns its sequence.
    pub fn add_note(&mut self, id: &str, text: &str, operator: &str) -> Result<i64> {
        let incident = self.incident(id)?;
        if text.trim().is_empty() {
            return Err(Error::Invalid("a note needs some text".into()));
        }
        self.write(|tx, chain| {
            chain.append(
                tx,
                NewEvent {
                    incident_id: &incident.id,
                    request_id: None,
                    execution_id: None,
                    kind: EventKind::Note,
                    body: json!({"text": text, "operator": operator}),
                },
            )
        })
    }

    /// The incident with this id, or the only one whose id starts with it.
    pub fn incident(&self, id_or_prefix: &str) -> Result<Incident> {
        let exact = self
            .conn
            .query_row(&format!("{SELECT} WHERE id = ?1"), [id_or_prefix], row)
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(incident) = exact {
            return Ok(incident);
        }
        let pattern = format!("{}%", id_or_prefix.replace(['%', '_'], ""));
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} WHERE id LIKE ?1 LIMIT 2"))
            .map_err(|e| self.err(e))?;
        let found: Vec<Incident> = stmt
            .query_map([pattern], row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        match found.as_slice() {
            [one] if id_or_prefix.len() >= 4 => Ok(one.clone()),
            _ => Err(Error::UnknownIncident(id_or_prefix.into())),
        }
    }

    /// Every incident, newest first.
    pub fn incidents(&self) -> Result<Vec<Incident>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} ORDER BY opened_at DESC, id DESC"))
            .map_err(|e| self.err(e))?;
        stmt.query_map([], row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// The incident a run records under: the one asked for (it must be open),
    /// else the most recent open one, else a new one titled after the action.
    pub fn choose_incident(
        &mut self,
        asked: Option<&str>,
        operator: &str,
        action: &str,
    ) -> Result<(Incident, IncidentChoice)> {
        if let Some(id) = asked {
            let incident = self.incident(id)?;
            if incident.status != "open" {
                return Err(Error::IncidentClosed(incident.id));
            }
            return Ok((incident, IncidentChoice::Given));
        }
        if let Some(open) = self.incidents()?.into_iter().find(|i| i.status == "open") {
            return Ok((open, IncidentChoice::MostRecentOpen));
        }
        let title = format!(
            "ad hoc: {action} at {}",
            &ids::now()[..16].replace('T', " ")
        );
        Ok((
            self.open_incident(&title, Severity::Low, None, operator)?,
            IncidentChoice::Opened,
        ))
    }
}
