//! Opening a journal for review only (verify, export): read-only, never
//! migrated, and usable on a copy nobody may write, such as evidence handed
//! to an auditor or a file on read-only media.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::append::{BUSY_TIMEOUT, Journal, read_head};
use super::error::{Error, Result, sidecar};
use super::schema;

impl Journal {
    /// Opens an existing journal read-only: evidence is never migrated or
    /// otherwise written, and a read-only copy verifies.
    pub fn open_existing(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                detail: "no journal at this path".into(),
            });
        }
        let sql = |e| Error::sqlite(path, e);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        let version = match schema::version(&conn) {
            Ok(version) => version,
            // A WAL journal needs its -shm index, which a reader without write
            // access to the directory cannot create. With no -wal file every
            // committed event is in the main file, so reading it as immutable is exact.
            Err(e) if is_read_only(&e) && !sidecar(path, "-wal").exists() => {
                conn = Connection::open_with_flags(
                    immutable_uri(path),
                    flags | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(sql)?;
                schema::version(&conn).map_err(sql)?
            }
            Err(e) => return Err(sql(e)),
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        match version {
            version if version > schema::VERSION => {
                return Err(Error::TooNew {
                    path: path.to_path_buf(),
                    found: version,
                    supported: schema::VERSION,
                });
            }
            // Not ours: some other SQLite file, or an empty one.
            0 => {
                return Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    detail: "it holds no journal schema".into(),
                });
            }
            version if version < schema::READABLE_FROM => {
                return Err(Error::Invalid(format!(
                    "journal {} has schema version {version}; open it once for writing (e.g. `rune incident list`) to migrate it",
                    path.display()
                )));
            }
            _ => {}
        }
        let head = read_head(&conn, path)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            head,
            // SQLite's default; a read-only journal never writes anyway.
            sync_full: true,
        })
    }
}

fn is_read_only(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

/// A `file:` URI opening `path` as immutable (no locks, no -shm), its
/// bytes percent-encoded so that `?`, `#` and `%` in a name stay in the name.
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for &byte in absolute.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutable_uris_keep_odd_names_intact() {
        assert_eq!(
            immutable_uri(Path::new("/a b/j?#%.db")),
            "file:/a%20b/j%3F%23%25.db?immutable=1"
        );
    }
}
