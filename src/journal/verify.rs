//! Verifying the chain: recompute every hash from the first event and name
//! the first sequence number that does not hold. Catches edited, deleted and
//! reordered rows; a truncated tail shows against a head hash recorded
//! earlier (every export carries one).

use serde::Serialize;

use super::append::Journal;
use super::chain::{EventBytes, GENESIS, parse_hash};
use super::error::Result;

/// A chain head: the last event's sequence and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Head {
    type Err = String;

    /// `SEQ:HASH`, as `rune journal verify` prints it.
    fn from_str(s: &str) -> Result<Self, String> {
        let (seq, hash) = s.split_once(':').ok_or("a head is SEQ:HASH")?;
        let seq = seq
            .parse()
            .map_err(|_| format!("{seq:?} is not a sequence number"))?;
        parse_hash(hash).ok_or_else(|| format!("{hash:?} is not a SHA-256 in hex"))?;
        Ok(Self {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub events: i64,
    pub head: Head,
    pub broken: Option<Broken>,
}

impl Journal {
    /// Recomputes the whole chain; `expected` is a head recorded earlier.
    pub fn verify(&self, expected: Option<&Head>) -> Result<VerifyReport> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, incident_id, request_id, execution_id, kind, body, prev_hash, hash FROM events ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut previous = GENESIS;
        let mut expected_seq = 1;
        let mut broken = None;
        let mut seen_expected = None;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let seq: i64 = r.get(0).map_err(|e| self.err(e))?;
            let text = |i| {
                r.get_ref(i)
                    .ok()
                    .and_then(|v| v.as_str().ok())
                    .unwrap_or("")
            };
            let optional = |i| {
                r.get_ref(i)
                    .ok()
                    .and_then(|v| v.as_str_or_null().ok().flatten())
            };
            let event = EventBytes {
                seq,
                at: text(1),
                incident_id: text(2),
                request_id: optional(3),
                execution_id: optional(4),
                kind: text(5),
                body: text(6),
            };
            let reason = if seq != expected_seq {
                Some(format!(
                    "expected event {expected_seq} but found {seq}: events were deleted or renumbered"
                ))
            } else if parse_hash(text(7)) != Some(previous) {
                Some(format!(
                    "event {seq} does not link to event {}: the chain was cut or reordered",
                    seq - 1
                ))
            } else {
                let hash = event.hash(&previous);
                if parse_hash(text(8)) != Some(hash) {
                    Some(format!(
                        "event {seq} was altered: its content does not match its hash"
                    ))
                } else {
                    previous = hash;
                    None
                }
            };
            if let Some(reason) = reason {
                broken = Some(Broken {
                    seq: expected_seq.min(seq),
                    reason,
                });
                break;
            }
            if let Some(head) = expected.filter(|h| h.seq == seq) {
                seen_expected = Some(hex::encode(previous) == head.hash);
            }
            expected_seq += 1;
        }
        let last = expected_seq - 1;
        if broken.is_none()
            && let Some(head) = expected
        {
            broken = match seen_expected {
                Some(true) => None,
                Some(false) => Some(Broken {
                    seq: head.seq,
                    reason: format!("event {} differs from the recorded head", head.seq),
                }),
                None => Some(Broken {
                    seq: last + 1,
                    reason: format!(
                        "the journal ends at event {last} but a head at event {} was recorded: its tail was truncated",
                        head.seq
                    ),
                }),
            };
        }
        Ok(VerifyReport {
            events: last,
            head: Head {
                seq: last,
                hash: hex::encode(previous),
            },
            broken,
        })
    }
}
