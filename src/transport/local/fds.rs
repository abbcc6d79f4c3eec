//! Descriptor hygiene for local plugins: before exec, every descriptor above
//! stderr is marked close-on-exec, so a plugin gets stdin, stdout, stderr and
//! nothing rune inherited (a pipe, a socket, a lock file of its caller).
//!
//! It runs in the forked child between fork and exec, where only
//! async-signal-safe work is allowed: no allocation, no locks. rustix makes
//! raw system calls, and the directory is read into a stack buffer.

use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;

use rustix::fs::{Mode, OFlags, RawDir, open};
use rustix::io::{Errno, FdFlags, fcntl_setfd};

/// The first descriptor a plugin must not inherit: 0, 1 and 2 are its stdio.
const FIRST_PRIVATE_FD: i32 = 3;

/// Marks every open descriptor from 3 up close-on-exec, as listed by
/// `/proc/self/fd`. Marking (not closing) keeps std's own exec-error pipe
/// working, and changes no directory entry while it is read.
pub(super) fn close_inherited_on_exec() -> std::io::Result<()> {
    let dir = open(
        c"/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)?;
    // 4 KiB holds ~170 entries per getdents call; RawDir calls again as
    // needed, so the number of descriptors is not bounded by it.
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = RawDir::new(&dir, &mut buf);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(std::io::Error::from)?;
        let Some(fd) = parse_fd(entry.file_name().to_bytes()) else {
            continue; // "." and ".."
        };
        if fd < FIRST_PRIVATE_FD {
            continue;
        }
        // SAFETY: the descriptor is listed as open in this single-threaded
        // child and only borrowed for one fcntl; the directory's own
        // descriptor is already close-on-exec, so marking it again is harmless.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        match fcntl_setfd(fd, FdFlags::CLOEXEC) {
            // Closed since it was listed (only our own directory fd can be).
            Ok(()) | Err(Errno::BADF) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The decimal number a `/proc/self/fd` entry is named by, without allocating.
fn parse_fd(name: &[u8]) -> Option<i32> {
    if name.is_empty() {
        return None;
    }
    name.iter().try_fold(0i32, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(i32::from(b - b'0')))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::parse_fd;

    #[test]
    fn entry_names_parse_as_descriptors_or_not_at_all() {
        assert_eq!(parse_fd(b"251"), Some(251));
        assert_eq!(parse_fd(b"0"), Some(0));
        assert_eq!(parse_fd(b"."), None);
        assert_eq!(parse_fd(b".."), None);
        assert_eq!(parse_fd(b""), None);
        assert_eq!(parse_fd(b"99999999999"), None);
    }
}
