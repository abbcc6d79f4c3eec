//! Opening the journal file and appending chained events to it.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::Value;

use super::chain::{EventBytes, GENESIS, canonical, parse_hash};
use super::error::{Error, Result};
use super::kind::EventKind;
use super::schema;
use crate::protocol::ids;

/// How long a writer waits for another writer's transaction before
/// reporting the journal as locked.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pause between attempts to switch a new journal to WAL mode while
/// another rune is switching it: the switch takes a few milliseconds.
const WAL_RETRY: Duration = Duration::from_millis(5);

/// The default journal: `journal.db` in the platform data dir.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "rune").map(|d| d.data_dir().join("journal.db"))
}

/// One event to append.
pub(crate) struct NewEvent<'a> {
    pub incident_id: &'a str,
    pub request_id: Option<&'a str>,
    pub execution_id: Option<&'a str>,
    pub kind: EventKind,
    pub body: Value,
}

/// The journal, open for reading and appending.
pub struct Journal {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// Sequence and hash of the last committed event.
    pub(super) head: (i64, [u8; 32]),
    /// Whether the connection is at `synchronous = FULL` now.
    pub(super) sync_full: bool,
}

impl Journal {
    /// Opens (creating when missing) the journal at `path`: directory 0700,
    /// files 0600, WAL mode, migrations applied. Executions left without an
    /// end by a process that died get an `interrupted` event.
    pub fn open(path: &Path) -> Result<Self> {
        let mut journal = Self::open_inner(path)?;
        journal.recover_interrupted()?;
        Ok(journal)
    }

    fn open_inner(path: &Path) -> Result<Self> {
        let io = |e: std::io::Error| match e.raw_os_error() {
            Some(28) => Error::Full {
                path: path.to_path_buf(),
            },
            // EPERM as well as EACCES and EROFS: an immutable (chattr +i) file refuses even root.
            Some(1 | 13 | 30) => Error::ReadOnly {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
            _ => Error::Io {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        // Created 0600 here so SQLite (which copies the mode to -wal and -shm) never widens it.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let sql = |e| Error::sqlite(path, e);
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let version = schema::version(&conn).map_err(sql)?;
        if version > schema::VERSION {
            return Err(Error::TooNew {
                path: path.to_path_buf(),
                found: version,
                supported: schema::VERSION,
            });
        }
        enter_wal(&conn).map_err(sql)?;
        // Per connection: a commit reaches the disk before it returns, unless
        // a caller asks for a lazy one (see `write_with`).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        if version < schema::VERSION {
            // Read again under the lock: another rune may have migrated since.
            let found = schema::migrate(&mut conn).map_err(sql)?;
            if found > schema::VERSION {
                return Err(Error::TooNew {
                    path: path.to_path_buf(),
                    found,
                    supported: schema::VERSION,
                });
            }
        }
        let head = read_head(&conn, path)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            head,
            sync_full: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last committed event's sequence and hash (hex); `(0, zeros)` when empty.
    pub fn head(&self) -> (i64, String) {
        (self.head.0, hex::encode(self.head.1))
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> Error {
        Error::sqlite(&self.path, e)
    }

    /// Runs `f` in one transaction; the chain head moves only if it commits.
    ///
    /// The transaction is IMMEDIATE and re-reads the head inside it: another
    /// rune process may have appended since this one last wrote, and a head
    /// cached across transactions would fork the chain (or collide on `seq`).
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &mut Chain) -> Result<T>,
    ) -> Result<T> {
        self.write_with(true, f)
    }

    /// `write`, durable or not. A lazy commit (`durable = false`) may stay in
    /// the OS cache until the next durable one: in WAL mode a later FULL
    /// commit syncs the log up to and including it, so order is kept and only
    /// a power loss before that sync can drop it; a process crash never does.
    /// For events whose visibility gates nothing but their own commit
    /// (started, status, stderr): one fsync per request and per batch of
    /// results, not per event batch.
    pub(crate) fn write_with<T>(
        &mut self,
        durable: bool,
        f: impl FnOnce(&Transaction<'_>, &mut Chain) -> Result<T>,
    ) -> Result<T> {
        self.write_once(durable, f).map_err(Error::diagnosed)
    }

    fn write_once<T>(
        &mut self,
        durable: bool,
        f: impl FnOnce(&Transaction<'_>, &mut Chain) -> Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        if self.sync_full != durable {
            let level = if durable { "FULL" } else { "NORMAL" };
            self.conn
                .pragma_update(None, "synchronous", level)
                .map_err(|e| Error::sqlite(&path, e))?;
            self.sync_full = durable;
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| Error::sqlite(&path, e))?;
        let mut chain = Chain {
            head: read_head(&tx, &path)?,
            path: path.clone(),
        };
        let value = f(&tx, &mut chain)?;
        tx.commit().map_err(|e| Error::sqlite(&path, e))?;
        self.head = chain.head;
        Ok(value)
    }
}

/// Puts the journal in WAL mode (a no-op once it is: the mode is kept in
/// the file). When several runes open a new journal at once, SQLite refuses
/// the switch with SQLITE_BUSY to all but one, at once and without calling
/// the busy handler, so it is retried here as that handler would, within
/// the same [`BUSY_TIMEOUT`].
fn enter_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(WAL_RETRY);
            }
            other => return other,
        }
    }
}

/// The last committed event's sequence and hash; `(0, GENESIS)` when empty.
pub(super) fn read_head(conn: &Connection, path: &Path) -> Result<(i64, [u8; 32])> {
    let head = conn
        .prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        .and_then(|mut stmt| {
            stmt.query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .optional()
        })
        .map_err(|e| Error::sqlite(path, e))?;
    match head {
        None => Ok((0, GENESIS)),
        Some((seq, hash)) => {
            parse_hash(&hash)
                .map(|hash| (seq, hash))
                .ok_or_else(|| Error::Corrupt {
                    path: path.to_path_buf(),
                    detail: format!("event {seq} has a malformed hash"),
                })
        }
    }
}

/// The chain head inside one transaction.
pub(crate) struct Chain {
    head: (i64, [u8; 32]),
    path: PathBuf,
}

impl Chain {
    pub fn err(&self, e: rusqlite::Error) -> Error {
        Error::sqlite(&self.path, e)
    }

    /// Appends one event, hashing it onto the chain; returns its sequence.
    pub fn append(&mut self, tx: &Transaction<'_>, event: NewEvent<'_>) -> Result<i64> {
        if let EventKind::Unknown(text) = &event.kind {
            return Err(Error::Invalid(format!(
                "an event of unknown kind `{text}` cannot be appended; only readers meet unknown kinds"
            )));
        }
        let seq = self.head.0 + 1;
        let at = ids::now();
        let body = canonical(&event.body);
        let bytes = EventBytes {
            seq,
            at: &at,
            incident_id: event.incident_id,
            request_id: event.request_id,
            execution_id: event.execution_id,
            kind: event.kind.as_str(),
            body: &body,
        };
        let hash = bytes.hash(&self.head.1);
        tx.prepare_cached(
            "INSERT INTO events (seq, at, incident_id, request_id, execution_id, kind, body, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                seq,
                at,
                event.incident_id,
                event.request_id,
                event.execution_id,
                event.kind.as_str(),
                body,
                hex::encode(self.head.1),
                hex::encode(hash)
            ])
        })
        .map_err(|e| Error::sqlite(&self.path, e))?;
        self.head = (seq, hash);
        Ok(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(journal: &Journal) -> i64 {
        journal
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_lazy_commit_skips_the_sync_and_the_next_durable_one_restores_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&dir.path().join("j.db")).unwrap();
        assert_eq!(synchronous(&journal), 2, "FULL by default");
        journal.write_with(false, |_, _| Ok(())).unwrap();
        assert_eq!(synchronous(&journal), 1, "NORMAL for a lazy commit");
        journal.write(|_, _| Ok(())).unwrap();
        assert_eq!(synchronous(&journal), 2, "FULL again for a durable one");
    }

    #[test]
    fn an_unknown_kind_is_never_appended() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&dir.path().join("j.db")).unwrap();
        let err = journal
            .write(|tx, chain| {
                chain.append(
                    tx,
                    NewEvent {
                        incident_id: "i",
                        request_id: None,
                        execution_id: None,
                        kind: EventKind::from("Note"),
                        body: serde_json::json!({}),
                    },
                )
            })
            .unwrap_err();
        assert!(err.to_string().contains("unknown kind `Note`"), "{err}");
        assert_eq!(journal.head().0, 0);
    }
}
