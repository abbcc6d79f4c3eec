//! A plugin bundle: the entry and its extra files as one deterministic tar
//! archive, laid out as the catalog lays them out, and the SHA-256 of exactly
//! those bytes. The same bytes are what a transport unpacks and what a
//! target checks, so the journal can say which version ran. The catalog
//! builds one per action; it lives here because its bytes are the wire format.

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// The most a bundle may weigh: it travels on every execution's stdin.
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;

/// One file of a bundle, at its catalog-relative path (`noop/run.sh`, `lib/rune.sh`).
#[derive(Debug, Clone)]
pub struct BundleFile {
    pub path: String,
    pub executable: bool,
    pub data: Vec<u8>,
}

/// The files an action pushes to a target, as an archive and its hash.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Catalog-relative path of the entry inside the archive.
    pub entry: String,
    /// Catalog-relative folder of the action: the plugin's working directory.
    pub workdir: String,
    /// A ustar archive with fixed owners and times, files sorted by path.
    pub archive: Arc<[u8]>,
    /// Lower-case hex SHA-256 of `archive`.
    pub sha256: String,
    pub files: Vec<BundleFile>,
}

impl Bundle {
    /// Builds the archive of `files` (any order) and hashes it.
    pub fn build(
        entry: String,
        workdir: String,
        mut files: Vec<BundleFile>,
    ) -> std::io::Result<Self> {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        for file in &files {
            let mut header = tar::Header::new_ustar();
            header.set_size(file.data.len() as u64);
            header.set_mode(if file.executable { 0o755 } else { 0o644 });
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, &file.path, file.data.as_slice())?;
        }
        let archive = builder.into_inner()?;
        if archive.len() > MAX_BUNDLE_BYTES {
            return Err(std::io::Error::other(format!(
                "the bundle is {} bytes; at most {MAX_BUNDLE_BYTES} may travel with each execution",
                archive.len()
            )));
        }
        let sha256 = hex::encode(Sha256::digest(&archive));
        Ok(Self {
            entry,
            workdir,
            archive: archive.into(),
            sha256,
            files,
        })
    }

    /// Writes the bundle's files under `root`, keeping the layout and exec bits.
    pub fn unpack(&self, root: &std::path::Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for file in &self.files {
            let path = root.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &file.data)?;
            let mode = if file.executable { 0o700 } else { 0o600 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, data: &str) -> BundleFile {
        BundleFile {
            path: path.into(),
            executable: path.ends_with("run.sh"),
            data: data.into(),
        }
    }

    #[test]
    fn the_hash_is_stable_and_independent_of_file_order() {
        let a = Bundle::build(
            "x/run.sh".into(),
            "x".into(),
            vec![file("x/run.sh", "echo"), file("lib/r.sh", "f")],
        )
        .unwrap();
        let b = Bundle::build(
            "x/run.sh".into(),
            "x".into(),
            vec![file("lib/r.sh", "f"), file("x/run.sh", "echo")],
        )
        .unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.sha256.len(), 64);
        let c = Bundle::build(
            "x/run.sh".into(),
            "x".into(),
            vec![file("x/run.sh", "echo!"), file("lib/r.sh", "f")],
        )
        .unwrap();
        assert_ne!(a.sha256, c.sha256, "a changed byte changes the hash");
    }

    #[test]
    fn the_archive_unpacks_with_tar_to_the_same_files() {
        let bundle = Bundle::build(
            "x/run.sh".into(),
            "x".into(),
            vec![file("x/run.sh", "echo hi"), file("lib/r.sh", "f")],
        )
        .unwrap();
        let mut archive = tar::Archive::new(&bundle.archive[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            seen.push((
                entry.path().unwrap().display().to_string(),
                entry.header().mode().unwrap(),
            ));
        }
        assert_eq!(
            seen,
            vec![
                ("lib/r.sh".to_string(), 0o644),
                ("x/run.sh".to_string(), 0o755)
            ]
        );
    }
}
