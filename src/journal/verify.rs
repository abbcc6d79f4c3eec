//! Verifying the chain: recompute every hash from the first event and name
//! the first sequence number that does not hold. Catches edited, deleted and
//! reordered rows; a truncated tail shows against a head hash recorded
//! earlier (every export carries one). Then the rows outside the chain
//! (`incidents`, `executions`) are checked against it (`rows.rs`).

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
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| format!("{seq:?} is not a sequence number"))?;
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
        // A head at event 0 is the empty chain: its hash is GENESIS.
        let mut seen_expected = expected
            .filter(|h| h.seq == 0)
            .map(|h| h.hash == hex::encode(GENESIS));
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
        // Only a sound chain can vouch for the rows copied from it.
        if broken.is_none() {
            broken = self.verify_rows()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Severity;

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.db")).unwrap();
        (dir, journal)
    }

    #[test]
    fn a_head_parses_from_seq_colon_hash() {
        let hash = "AB".repeat(32);
        let head: Head = format!("7:{hash}").parse().unwrap();
        assert_eq!(head.seq, 7);
        assert_eq!(head.hash, hash.to_ascii_lowercase());
        assert!("7".parse::<Head>().is_err());
        assert!("x:00".parse::<Head>().is_err());
        assert!(format!("-1:{hash}").parse::<Head>().is_err());
        assert!(format!("7:{}", "0".repeat(63)).parse::<Head>().is_err());
    }

    #[test]
    fn an_empty_journal_verifies_against_the_genesis_head_only() {
        let (_dir, journal) = journal();
        let genesis = Head {
            seq: 0,
            hash: hex::encode(GENESIS),
        };
        let report = journal.verify(Some(&genesis)).unwrap();
        assert_eq!((report.events, report.broken), (0, None));
        let other = Head {
            seq: 0,
            hash: "1".repeat(64),
        };
        let broken = journal.verify(Some(&other)).unwrap().broken.unwrap();
        assert_eq!(broken.seq, 0);
        assert_eq!(broken.reason, "event 0 differs from the recorded head");
    }

    #[test]
    fn two_handles_on_one_file_extend_one_chain() {
        let (dir, mut first) = journal();
        let id = first
            .open_incident("shared", Severity::Low, None, "a@h")
            .unwrap()
            .id;
        let mut second = Journal::open(&dir.path().join("j.db")).unwrap();
        // Each handle appends after the other has: a head cached in one
        // handle would reuse a sequence number or fork the chain.
        for i in 0..3 {
            assert_eq!(
                first.add_note(&id, &format!("a{i}"), "a@h").unwrap(),
                2 + 2 * i
            );
            assert_eq!(
                second.add_note(&id, &format!("b{i}"), "b@h").unwrap(),
                3 + 2 * i
            );
        }
        let report = second.verify(None).unwrap();
        assert_eq!((report.events, report.broken), (7, None));
        assert_eq!((first.head().0, second.head().0), (6, 7));
    }
}
