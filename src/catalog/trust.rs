//! Catalog trust, like OpenSSH's StrictModes: every file that goes into a
//! bundle (and every manifest) must be safe from other local users, because
//! whoever can change it can run code on every target the operator reaches.
//!
//! Judges metadata only; it never reads or runs a file.

use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Refuses `meta` (of `path`, already resolved through any symlink) when it is
/// writable by group or others, or owned by neither the operator nor root.
pub(crate) fn check_owner_and_mode(path: &Path, meta: &Metadata) -> Result<(), String> {
    let euid = rustix::process::geteuid().as_raw();
    check_with(path, meta.uid(), meta.permissions().mode(), euid)
}

fn check_with(path: &Path, uid: u32, mode: u32, euid: u32) -> Result<(), String> {
    let shown = path.display();
    const CONSEQUENCE: &str = "whoever can write it can run code on every target";
    if mode & 0o002 != 0 {
        return Err(format!(
            "{shown} is writable by others (mode {:04o}): {CONSEQUENCE}; fix with chmod go-w {shown}",
            mode & 0o7777
        ));
    }
    if mode & 0o020 != 0 {
        return Err(format!(
            "{shown} is writable by its group (mode {:04o}): {CONSEQUENCE}; fix with chmod go-w {shown}",
            mode & 0o7777
        ));
    }
    if uid != euid && uid != 0 {
        return Err(format!(
            "{shown} is owned by uid {uid}, not by you (uid {euid}) or root: {CONSEQUENCE}; \
             fix with chown {euid} {shown}"
        ));
    }
    Ok(())
}

/// Checks the folders from `root` (inclusive) down to the parent of `file`,
/// which must be canonical. A file outside `root` has only its own folder checked:
/// the folders above the catalog belong to the operator's machine, not to it.
pub(crate) fn check_folders(root: &Path, file: &Path) -> Result<(), String> {
    let Some(parent) = file.parent() else {
        return Ok(());
    };
    let folders: Vec<&Path> = if parent.starts_with(root) {
        parent
            .ancestors()
            .take_while(|dir| dir.starts_with(root))
            .collect()
    } else {
        vec![parent]
    };
    for dir in folders {
        let meta =
            std::fs::metadata(dir).map_err(|e| format!("{} cannot be read: {e}", dir.display()))?;
        check_owner_and_mode(dir, &meta)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_owners_are_judged_like_strict_modes() {
        let p = Path::new("/c/x/run.sh");
        assert!(check_with(p, 0, 0o100755, 0).is_ok());
        assert!(check_with(p, 1000, 0o100644, 1000).is_ok());
        assert!(check_with(p, 0, 0o100644, 1000).is_ok(), "root may own it");
        assert!(check_with(p, 0, 0o41755, 0).is_ok(), "sticky alone is fine");
        let e = check_with(p, 0, 0o100666, 0).unwrap_err();
        assert!(
            e.contains("/c/x/run.sh is writable by others (mode 0666)"),
            "{e}"
        );
        assert!(
            e.contains("can run code on every target; fix with chmod go-w"),
            "{e}"
        );
        let e = check_with(p, 0, 0o100664, 0).unwrap_err();
        assert!(e.contains("is writable by its group (mode 0664)"), "{e}");
        let e = check_with(p, 65534, 0o100644, 1000).unwrap_err();
        assert!(
            e.contains("is owned by uid 65534, not by you (uid 1000) or root"),
            "{e}"
        );
    }
}
