//! Private directories for local plugin runs. Each is `rune-XXXXXX` under
//! the temp root, mode 0700, and holds `.rune-lock`, locked (flock) for as
//! long as its run lives. A rune killed mid-run (SIGKILL, the OOM killer)
//! cannot remove its directory, and the bundle and whatever the plugin
//! wrote would stay in /tmp: the first local run of the next rune sweeps
//! the directories whose lock nobody holds.

use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

const PREFIX: &str = "rune-";
/// tempfile's default: `rune-` and six random characters.
const RANDOM_CHARS: usize = 6;
const LOCK: &str = ".rune-lock";
/// A directory this young may still be between its creation and its lock.
const SWEEP_MIN_AGE: Duration = Duration::from_secs(60);

/// One run's directory; removed (then unlocked) when dropped.
#[derive(Debug)]
pub(super) struct RunDir {
    dir: tempfile::TempDir,
    _lock: File,
}

impl RunDir {
    pub fn create(root: &Path) -> io::Result<Self> {
        let mut builder = tempfile::Builder::new();
        // Asked for explicitly: tempfile's default is 0777 less the umask,
        // and the bundle (and whatever the plugin writes there) stays private.
        builder
            .prefix(PREFIX)
            .rand_bytes(RANDOM_CHARS)
            .permissions(std::fs::Permissions::from_mode(0o700));
        let dir = builder.tempdir_in(root)?;
        let locked =
            File::create(dir.path().join(LOCK)).and_then(|lock| lock.lock().map(|()| lock));
        match locked {
            Ok(lock) => Ok(Self { dir, _lock: lock }),
            Err(e) => {
                // Without its lock the sweep would never remove it, and
                // TempDir's own removal opens the directory, which fails
                // when descriptors ran out (the likely cause here); unlink
                // and rmdir need no descriptor.
                let _ = std::fs::remove_file(dir.path().join(LOCK));
                let _ = std::fs::remove_dir(dir.path());
                Err(e)
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes every run directory under `root` that is this user's, at least
/// a minute old and whose lock nobody holds; returns how many. Best effort:
/// anything it cannot read or prove dead is left alone, and so is anything
/// not shaped like a run directory (another tool's `rune-…`, a symlink).
pub(super) fn sweep(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let euid = rustix::process::geteuid().as_raw();
    let now = SystemTime::now();
    entries
        .filter_map(Result::ok)
        .filter(|entry| is_run_dir_name(&entry.file_name().to_string_lossy()))
        .filter(|entry| {
            // symlink_metadata: a symlink named like a run dir is never followed.
            std::fs::symlink_metadata(entry.path()).is_ok_and(|meta| {
                meta.is_dir()
                    && meta.uid() == euid
                    && meta.mode() & 0o777 == 0o700
                    && meta
                        .modified()
                        .ok()
                        .and_then(|at| now.duration_since(at).ok())
                        .is_some_and(|age| age >= SWEEP_MIN_AGE)
            })
        })
        .filter(|entry| abandoned(&entry.path()))
        .filter(|entry| std::fs::remove_dir_all(entry.path()).is_ok())
        .count()
}

fn is_run_dir_name(name: &str) -> bool {
    name.strip_prefix(PREFIX).is_some_and(|random| {
        random.len() == RANDOM_CHARS && random.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// True when the directory has a lock file that this process can lock:
/// the rune that made it is gone. A lock that is held, or no lock file at
/// all (a directory still being made, or not ours), leaves it alone.
fn abandoned(dir: &Path) -> bool {
    let lock = dir.join(LOCK);
    let is_file = std::fs::symlink_metadata(&lock).is_ok_and(|m| m.is_file());
    is_file && File::open(&lock).is_ok_and(|file| file.try_lock().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes `path` a directory shaped like a run directory, with `files` in
    /// it, aged past the sweep's minimum; for tests.
    fn make_aged(path: &Path, files: &[&str]) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(path)?;
        for file in files {
            File::create(path.join(file))?;
        }
        let old = SystemTime::now() - 2 * SWEEP_MIN_AGE;
        File::open(path)?.set_modified(old)
    }

    #[test]
    fn only_abandoned_run_directories_are_swept() {
        let root = tempfile::tempdir().unwrap();
        let at = |name: &str| root.path().join(name);
        // A rune that died mid-run: lock file, nobody holds it.
        make_aged(&at("rune-dead01"), &[LOCK, "left-behind"]).unwrap();
        // A run still going in another rune: its lock is held.
        make_aged(&at("rune-live01"), &[LOCK]).unwrap();
        let held = File::open(at("rune-live01").join(LOCK)).unwrap();
        held.lock().unwrap();
        // No lock file: not provably ours, or still being made.
        make_aged(&at("rune-nolock"), &[]).unwrap();
        // Not shaped like a run directory.
        make_aged(&at("rune-bin"), &[LOCK]).unwrap();
        make_aged(&at("other-dir01"), &[LOCK]).unwrap();
        std::os::unix::fs::symlink(at("rune-dead01"), at("rune-link01")).unwrap();
        // Young: it may be between its creation and its lock.
        let young = RunDir::create(root.path()).unwrap();
        let young_path = young.path().to_path_buf();
        drop(young._lock);

        assert_eq!(sweep(root.path()), 1);
        assert!(!at("rune-dead01").exists());
        for kept in ["rune-live01", "rune-nolock", "rune-bin", "other-dir01"] {
            assert!(at(kept).is_dir(), "{kept} was removed");
        }
        assert!(at("rune-link01").symlink_metadata().is_ok());
        assert!(young_path.is_dir());
        drop(held);
        assert_eq!(sweep(root.path()), 1, "once unlocked, the live one goes");
    }

    #[test]
    fn a_run_directory_is_private_locked_and_removed_when_dropped() {
        let root = tempfile::tempdir().unwrap();
        let dir = RunDir::create(root.path()).unwrap();
        let path = dir.path().to_path_buf();
        assert!(is_run_dir_name(
            &path.file_name().unwrap().to_string_lossy()
        ));
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(!abandoned(&path), "its lock is held while it lives");
        drop(dir);
        assert!(!path.exists());
    }
}
