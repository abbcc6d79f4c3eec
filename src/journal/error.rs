//! Journal errors a caller can act on: locked, read-only, corrupt, too new,
//! tampered, unknown incident. Messages name the file and say the fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("journal {path} is locked by another rune process; wait for it or pass --journal FILE")]
    Locked { path: PathBuf },
    #[error("journal {path} is read-only: {detail}; fix its permissions or pass --journal FILE")]
    ReadOnly { path: PathBuf, detail: String },
    #[error(
        "journal {path} is not a valid journal ({detail}); keep it as evidence and start a new one with --journal FILE"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "journal {path} has schema version {found}, newer than this rune understands ({supported}); upgrade rune"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "journal {path}: the disk is full (SQLITE_FULL); free space on its file system or pass --journal FILE"
    )]
    Full { path: PathBuf },
    #[error("journal {path}: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("unknown incident `{0}`; `rune incident list` shows them")]
    UnknownIncident(String),
    #[error("incident `{0}` is closed; open a new one or pass another --incident")]
    IncidentClosed(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Classifies a SQLite failure on the journal at `path`.
    pub(crate) fn sqlite(path: &std::path::Path, error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        let detail = error.to_string();
        match error.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => Self::Locked { path },
            Some(C::ReadOnly | C::CannotOpen)
                if detail.contains("readonly") || detail.contains("read-only") =>
            {
                Self::ReadOnly { path, detail }
            }
            Some(C::PermissionDenied) => Self::ReadOnly { path, detail },
            Some(C::DatabaseCorrupt | C::NotADatabase) => Self::Corrupt { path, detail },
            Some(C::DiskFull) => Self::Full { path },
            _ => Self::Io { path, detail },
        }
    }
}

impl Error {
    /// Names the cause of a bare "disk I/O error": SQLite reports every failed
    /// write but a full disk as SQLITE_IOERR, so the journal and its WAL are
    /// probed for writing once it has failed. A file made immutable or
    /// read-only under a running writer then reads as `ReadOnly`.
    pub(crate) fn diagnosed(self) -> Self {
        let Self::Io { path, detail } = self else {
            return self;
        };
        for file in [path.clone(), sidecar(&path, "-wal")] {
            let probe = std::fs::OpenOptions::new().append(true).open(&file);
            match probe.map_err(|e| (e.raw_os_error(), e)) {
                // EPERM (immutable), EACCES, EROFS.
                Err((Some(1 | 13 | 30), e)) => {
                    return Self::ReadOnly {
                        path,
                        detail: format!("{}: {e}", file.display()),
                    };
                }
                Err((Some(28), _)) => return Self::Full { path },
                _ => {}
            }
        }
        Self::Io { path, detail }
    }
}

/// `path` with `suffix` appended to its file name (SQLite's -wal and -shm).
pub(super) fn sidecar(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
