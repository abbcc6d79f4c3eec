//! Host-key trust for the SSH transport: decides whether a server's host key
//! is trusted, unknown, changed or revoked according to OpenSSH
//! `known_hosts` files, and records keys the operator has accepted.
//!
//! This module owns reading and appending those files and nothing else: it
//! does no network I/O and never prompts. The caller turns a [`Verdict`] into
//! a connection decision (and an error message carrying [`fingerprint`]).
//!
//! We do not use `russh::keys::known_hosts`: it silently ignores `@revoked`
//! and `@cert-authority` markers and knows no wildcards or negations, so a
//! revoked key could be trusted and `*.example.com` lines would be missed.
//!
//! Format (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"), as implemented here:
//! - `[@marker] hostnames keytype base64-key [comment]`; blank lines and `#`
//!   comments are skipped, and so are malformed lines (too few fields, bad
//!   base64, an unparsable key blob, a key type field that disagrees with the
//!   blob, an unknown marker): one bad line must not lock the operator out.
//! - Hostnames are comma-separated patterns with `*` and `?` wildcards; a
//!   leading `!` negates, and a matching negation rejects the whole line.
//!   Patterns are matched, case-insensitively like OpenSSH, against the lookup
//!   name: `host` for port 22, `[host]:port` otherwise.
//! - Hashed names `|1|base64(salt)|base64(HMAC-SHA1(salt, lookup name))`.
//! - `@revoked` lines refuse their key for every host they match (`*` too).
//! - `@cert-authority` lines are skipped: RUNE verifies plain host keys only,
//!   so a CA line can neither trust nor refuse a key, nor make a host "known".
//!
//! Keys are compared by algorithm and key data; comments never matter.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{HashAlg, PublicKey, ssh_key};
use sha1::Sha1;

/// What the known_hosts files say about one host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A matching host line holds this exact key.
    Trusted { file: PathBuf, line: usize },
    /// No line for this host holds a key of this algorithm. `other_algorithms`
    /// lists algorithms known for the host (so the error can say "known as
    /// ssh-rsa only"), in file order, without duplicates.
    Unknown { other_algorithms: Vec<String> },
    /// A line for this host holds a different key of the same algorithm:
    /// possible attack, always refuse.
    Changed { file: PathBuf, line: usize },
    /// An `@revoked` line matching this host (or `*`) lists this key: always
    /// refuse, even if also trusted elsewhere.
    Revoked { file: PathBuf, line: usize },
}

/// Why known_hosts could not be consulted or updated.
#[derive(Debug, thiserror::Error)]
pub enum KnownHostsError {
    /// The file exists but could not be read (permissions, a directory …).
    #[error("cannot read known_hosts file {}: {cause}", file.display())]
    Read { file: PathBuf, cause: io::Error },
    /// The file or its directory could not be created or appended to.
    #[error("cannot write known_hosts file {}: {cause}", file.display())]
    Write { file: PathBuf, cause: io::Error },
    /// The host name would be read back as a pattern, marker or comment
    /// (e.g. `*`, `a,b`, `#x`), so recording it could trust other hosts.
    #[error("refusing to record host {host:?} in {}: not a plain host name", file.display())]
    InvalidHost { file: PathBuf, host: String },
    /// The key could not be written in OpenSSH format.
    #[error("cannot encode the host key for {}: {cause}", file.display())]
    EncodeKey {
        file: PathBuf,
        cause: ssh_key::Error,
    },
}

/// Checks `key` for `host`:`port` against every file in order (missing files
/// are skipped; unreadable ones are an error naming the file).
///
/// Precedence, following OpenSSH: Revoked > Trusted > Changed > Unknown.
/// Revocation always wins. Otherwise a line holding this exact key wins over a
/// different same-algorithm key on another line or in another file, because a
/// host may legitimately be listed with several keys (rotation, aliases).
/// The line reported is the first one of the winning kind.
pub fn check(
    files: &[PathBuf],
    host: &str,
    port: u16,
    key: &PublicKey,
) -> Result<Verdict, KnownHostsError> {
    let name = lookup_name(host, port);
    let algorithm = key.algorithm();
    let mut trusted = None;
    let mut changed = None;
    let mut other_algorithms: Vec<String> = Vec::new();

    for file in files {
        let Some(text) = read_if_present(file)? else {
            continue;
        };
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            // A non-UTF-8 line cannot be a valid entry; skip it like any
            // other malformed line instead of rejecting the whole file.
            let Ok(line) = std::str::from_utf8(raw) else {
                continue;
            };
            let Some(entry) = parse_line(line) else {
                continue;
            };
            if !hosts_match(entry.hosts, &name) {
                continue;
            }
            let here = (file.clone(), index + 1);
            let same_key = entry.key.key_data() == key.key_data();
            if entry.revoked {
                if same_key {
                    // Nothing can outrank a revocation, so stop here.
                    let (file, line) = here;
                    return Ok(Verdict::Revoked { file, line });
                }
            } else if same_key {
                trusted.get_or_insert(here);
            } else if entry.key.algorithm() == algorithm {
                changed.get_or_insert(here);
            } else {
                let other = entry.key.algorithm().as_str().to_owned();
                if !other_algorithms.contains(&other) {
                    other_algorithms.push(other);
                }
            }
        }
    }

    Ok(match (trusted, changed) {
        (Some((file, line)), _) => Verdict::Trusted { file, line },
        (None, Some((file, line))) => Verdict::Changed { file, line },
        (None, None) => Verdict::Unknown { other_algorithms },
    })
}

/// Appends a trust line for host:port (`host` when port == 22, else
/// `[host]:port`), creating the file 0600 and its directory 0700 if missing;
/// never rewrites existing lines.
///
/// The host is written lower-cased and in clear (not hashed), as OpenSSH does
/// with `HashKnownHosts no`; the line carries no comment.
pub fn append(file: &Path, host: &str, port: u16, key: &PublicKey) -> Result<(), KnownHostsError> {
    if !is_plain_host(host) {
        return Err(KnownHostsError::InvalidHost {
            file: file.to_owned(),
            host: host.to_owned(),
        });
    }
    // Drop the comment: a server-supplied comment is not ours to record, and
    // keeps the line exactly "name type base64".
    let bare = PublicKey::new(key.key_data().clone(), "");
    let encoded = bare
        .to_openssh()
        .map_err(|cause| KnownHostsError::EncodeKey {
            file: file.to_owned(),
            cause,
        })?;
    let entry = format!("{} {}\n", lookup_name(host, port), encoded.trim_end());
    let write_err = |cause| KnownHostsError::Write {
        file: file.to_owned(),
        cause,
    };

    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(write_err)?;
    }
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only applies when the file is created; an existing file keeps the
        // mode the operator gave it.
        options.mode(0o600);
    }
    let mut handle = options.open(file).map_err(write_err)?;

    // If the last line lacks its newline, ours would be glued onto it and
    // both lines would become garbage.
    let mut last = [0u8; 1];
    let needs_newline = handle.seek(SeekFrom::End(-1)).is_ok()
        && handle.read_exact(&mut last).is_ok()
        && last[0] != b'\n';
    let line = if needs_newline {
        format!("\n{entry}")
    } else {
        entry
    };
    // One write on an O_APPEND handle, so a concurrent appender cannot
    // interleave inside our line.
    handle.write_all(line.as_bytes()).map_err(write_err)?;
    handle.sync_all().map_err(write_err)
}

/// "SHA256:<base64 without padding>", the way `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// One usable known_hosts line.
struct Entry<'a> {
    revoked: bool,
    hosts: &'a str,
    key: PublicKey,
}

/// Parses a line, or returns `None` for anything that is not a usable entry.
fn parse_line(line: &str) -> Option<Entry<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_ascii_whitespace();
    let mut hosts = fields.next()?;
    let mut revoked = false;
    if hosts.starts_with('@') {
        match hosts {
            "@revoked" => revoked = true,
            // `@cert-authority` is deliberately unsupported (see module doc);
            // unknown markers are skipped like OpenSSH does.
            _ => return None,
        }
        hosts = fields.next()?;
    }
    let key_type = fields.next()?;
    let blob = BASE64.decode(fields.next()?.as_bytes()).ok()?;
    let key = PublicKey::from_bytes(&blob).ok()?;
    // OpenSSH rejects a line whose type field disagrees with the blob.
    if key.algorithm().as_str() != key_type {
        return None;
    }
    Some(Entry {
        revoked,
        hosts,
        key,
    })
}

/// The name OpenSSH looks up (and hashes): lower-cased host, bracketed with
/// the port unless it is 22.
fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// True if the comma-separated `field` matches `name`: some pattern matches
/// and no negated pattern does.
fn hosts_match(field: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in field.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if pattern_matches(negated, name) {
                return false;
            }
        } else if pattern_matches(pattern, name) {
            matched = true;
        }
    }
    matched
}

fn pattern_matches(pattern: &str, name: &str) -> bool {
    if pattern.is_empty() {
        // "a,,b" must not match an empty host name.
        return false;
    }
    if let Some(hashed) = pattern.strip_prefix("|1|") {
        return hashed_matches(hashed, name);
    }
    glob_match(pattern.to_ascii_lowercase().as_bytes(), name.as_bytes())
}

/// `salt|hash` (both base64) from a `|1|salt|hash` pattern.
fn hashed_matches(salt_and_hash: &str, name: &str) -> bool {
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    // Constant-time comparison; also rejects hashes of the wrong length.
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH `match_pattern`: `*` is any run of bytes, `?` exactly one.
/// Iterative with single backtracking, so hostile patterns cost at most
/// O(pattern × name) and cannot overflow the stack.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Position after the last `*` and the name position it is trying.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(n) {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
            }
            Some(&q) if q == b'?' || q == c => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and retry.
                Some((after, from)) => {
                    star = Some((after, from + 1));
                    p = after;
                    n = from + 1;
                }
                None => return false,
            },
        }
    }
    pattern.iter().skip(p).all(|&c| c == b'*')
}

/// A host name that reads back as exactly itself: no pattern, list, marker,
/// comment or whitespace characters.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && !host.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, ',' | '*' | '?' | '!' | '[' | ']' | '|' | '#' | '@')
        })
}

/// The file's bytes, or `None` if it does not exist.
fn read_if_present(file: &Path) -> Result<Option<Vec<u8>>, KnownHostsError> {
    match fs::read(file) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(cause) => Err(KnownHostsError::Read {
            file: file.to_owned(),
            cause,
        }),
    }
}

/// Creates `dir` (and missing parents) 0700; an existing directory is left
/// as the operator set it.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests;
