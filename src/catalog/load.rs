//! Loading a catalog directory: every `*/action.toml` under it, each checked
//! on its own so one broken manifest never hides the others.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::error::CatalogError;
use super::manifest::{
    Action, ManifestFile, Param, ParamFile, ParamKind, ParamType, Plugin, parse_duration,
};
use super::params::check_value;
use super::trust;
use crate::transport::{Bundle, BundleFile};

/// The largest manifest read: anything bigger is a mistake, not a manifest.
const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

/// The loaded catalog: valid actions sorted by name, and the broken manifests.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub dir: PathBuf,
    pub actions: Vec<Arc<Action>>,
    pub broken: Vec<CatalogError>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&Arc<Action>> {
        self.actions.iter().find(|a| a.name == name)
    }
}

/// The bundled catalog: `actions/` of this source tree, else `../share/rune/actions` beside the binary.
pub fn default_dir() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("actions");
    if source.is_dir() {
        return source;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("../share/rune/actions")))
        .unwrap_or(source)
}

/// Loads every action under `dir`. Fails only when `dir` itself cannot be read.
pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
    let root = dir.canonicalize().map_err(|e| {
        CatalogError::new(dir, None, format!("cannot open the catalog directory: {e}"))
    })?;
    let entries = std::fs::read_dir(&root).map_err(|e| {
        CatalogError::new(
            &root,
            None,
            format!("cannot list the catalog directory: {e}"),
        )
    })?;
    let mut manifests: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("action.toml"))
        .filter(|p| p.is_file())
        .collect();
    manifests.sort();
    let mut catalog = Catalog {
        dir: root.clone(),
        ..Catalog::default()
    };
    for path in manifests {
        match load_one(&root, &path) {
            Ok(action) => catalog.actions.push(Arc::new(action)),
            Err(e) => catalog.broken.push(e),
        }
    }
    check_verify_names(&mut catalog);
    Ok(catalog)
}

/// A `verify` naming an action that does not exist breaks the naming action.
fn check_verify_names(catalog: &mut Catalog) {
    let names: HashSet<String> = catalog.actions.iter().map(|a| a.name.clone()).collect();
    let (ok, bad): (Vec<_>, Vec<_>) = catalog
        .actions
        .drain(..)
        .partition(|a| a.verify.as_ref().is_none_or(|v| names.contains(v)));
    catalog.actions = ok;
    for action in bad {
        let verify = action.verify.clone().unwrap_or_default();
        catalog.broken.push(CatalogError::new(
            &action.manifest_path,
            Some("verify"),
            format!("names the action {verify:?}, which is not in the catalog"),
        ));
    }
    catalog.broken.sort_by(|a, b| a.file.cmp(&b.file));
}

fn load_one(root: &Path, path: &Path) -> Result<Action, CatalogError> {
    let err = |msg: String| CatalogError::new(path, None, msg);
    let (meta, mut handle) = open_trusted(root, path).map_err(err)?;
    let size = meta.len();
    if size > MAX_MANIFEST_BYTES {
        return Err(err(format!(
            "is {size} bytes; a manifest may be at most {MAX_MANIFEST_BYTES}"
        )));
    }
    let mut bytes = Vec::new();
    handle
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| err(format!("is not UTF-8: {e}")))?;
    check_manifest(path, &text, |source, files| match source {
        Source::Installed(installed) => Ok(Plugin::Installed(installed.to_owned())),
        Source::Entry(entry) => bundle_of(root, path, entry, files),
    })
}

/// Parses and checks one manifest's text exactly as [`load`] does, but reads
/// no bundle files: an `entry` action gets an empty bundle. `path` names the
/// file in errors and its folder must match `name`. Exposed for the fuzz
/// targets and property tests, which must not touch the disk per input.
#[doc(hidden)]
pub fn parse_manifest(path: &Path, text: &str) -> Result<Action, CatalogError> {
    check_manifest(path, text, |source, _| match source {
        Source::Installed(installed) => Ok(Plugin::Installed(installed.to_owned())),
        Source::Entry(entry) => Bundle::build(entry.to_owned(), String::new(), Vec::new())
            .map(|b| Plugin::Bundle(Arc::new(b)))
            .map_err(|e| CatalogError::new(path, Some("files"), e.to_string())),
    })
}

/// Where an action's code comes from, as checked before any file is read.
enum Source<'a> {
    Entry(&'a str),
    Installed(&'a str),
}

/// Everything a manifest must satisfy that can be checked from its text;
/// `plugin` turns the checked source (and `files`) into the action's plugin.
fn check_manifest(
    path: &Path,
    text: &str,
    plugin: impl FnOnce(Source<'_>, &[String]) -> Result<Plugin, CatalogError>,
) -> Result<Action, CatalogError> {
    let err = |field: Option<&str>, msg: String| CatalogError::new(path, field, msg);
    let file: ManifestFile =
        toml::from_str(text).map_err(|e| err(None, e.to_string().trim_end().to_owned()))?;
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    check_name(&file.name, folder).map_err(|m| err(Some("name"), m))?;
    for (field, value) in [
        ("title", &file.title),
        ("version", &file.version),
        ("owner", &file.owner),
    ] {
        if value.trim().is_empty() {
            return Err(err(Some(field), "must not be empty".into()));
        }
    }
    let timeout = parse_duration(&file.timeout).map_err(|m| err(Some("timeout"), m))?;
    let plugin = plugin(source_of(path, &file)?, &file.files)?;
    let mut params = Vec::with_capacity(file.params.len());
    for (name, spec) in &file.params {
        let field = format!("params.{name}");
        params.push(param_of(name, spec).map_err(|m| err(Some(&field), m))?);
    }
    Ok(Action {
        name: file.name,
        title: file.title,
        description: file.description,
        version: file.version,
        owner: file.owner,
        tags: file.tags,
        risk: file.risk,
        timeout,
        transports: file.transports,
        verify: file.verify,
        params,
        plugin,
        manifest_path: path.to_path_buf(),
    })
}

fn check_name(name: &str, folder: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !valid {
        return Err(format!(
            "{name:?} must be 1-64 of a-z, 0-9 and '-', not starting with '-'"
        ));
    }
    if name != folder {
        return Err(format!("{name:?} must equal its folder name {folder:?}"));
    }
    Ok(())
}

fn source_of<'a>(manifest: &Path, file: &'a ManifestFile) -> Result<Source<'a>, CatalogError> {
    let err = |field: &str, msg: String| CatalogError::new(manifest, Some(field), msg);
    match (&file.entry, &file.installed) {
        (Some(_), Some(_)) => Err(err(
            "installed",
            "give either `entry` or `installed`, not both".into(),
        )),
        (None, None) => Err(err(
            "entry",
            "is required (or `installed` for a plugin already on the targets)".into(),
        )),
        (None, Some(path)) if !path.starts_with('/') => Err(err(
            "installed",
            format!("{path:?} must be an absolute path on the target"),
        )),
        (None, Some(_)) if !file.files.is_empty() => Err(err(
            "files",
            "cannot be pushed along with an installed plugin".into(),
        )),
        (None, Some(path)) => Ok(Source::Installed(path)),
        (Some(entry), None) => Ok(Source::Entry(entry)),
    }
}

/// Reads the entry and extra files into the action's bundle.
fn bundle_of(
    root: &Path,
    manifest: &Path,
    entry: &str,
    extra: &[String],
) -> Result<Plugin, CatalogError> {
    let err = |field: &str, msg: String| CatalogError::new(manifest, Some(field), msg);
    let action_dir = manifest.parent().unwrap_or(root);
    let entry_file = bundle_file(root, action_dir, entry).map_err(|m| err("entry", m))?;
    if !entry_file.executable && !entry.ends_with(".sh") {
        return Err(err(
            "entry",
            format!("{entry:?} is not executable and does not end in .sh"),
        ));
    }
    let mut files = vec![entry_file.clone()];
    for extra in extra {
        files.push(bundle_file(root, action_dir, extra).map_err(|m| err("files", m))?);
    }
    let workdir = action_dir
        .strip_prefix(root)
        .unwrap_or(Path::new(""))
        .display()
        .to_string();
    let bundle =
        Bundle::build(entry_file.path, workdir, files).map_err(|e| err("files", e.to_string()))?;
    Ok(Plugin::Bundle(Arc::new(bundle)))
}

/// Reads one file of a bundle, refusing paths that leave the catalog.
fn bundle_file(root: &Path, action_dir: &Path, relative: &str) -> Result<BundleFile, String> {
    use std::os::unix::fs::PermissionsExt;
    if relative.is_empty() || Path::new(relative).is_absolute() {
        return Err(format!(
            "{relative:?} must be a path relative to the action folder"
        ));
    }
    let full = action_dir
        .join(relative)
        .canonicalize()
        .map_err(|e| format!("{relative:?} cannot be opened: {e}"))?;
    let inside = full.strip_prefix(root).map_err(|_| {
        format!(
            "{relative:?} resolves to {} outside the catalog directory {}",
            full.display(),
            root.display()
        )
    })?;
    let (meta, mut handle) =
        open_trusted(root, &full).map_err(|m| format!("{relative:?} is refused: {m}"))?;
    if !meta.is_file() {
        return Err(format!("{relative:?} is not a regular file"));
    }
    let mut data = Vec::new();
    handle
        .read_to_end(&mut data)
        .map_err(|e| format!("{relative:?} cannot be read: {e}"))?;
    let path = inside
        .to_str()
        .ok_or_else(|| format!("{relative:?} is not a UTF-8 path"))?
        .to_owned();
    Ok(BundleFile {
        path,
        executable: meta.permissions().mode() & 0o111 != 0,
        data,
    })
}

/// Opens `path` (judged by its target when it is a symlink) after checking it
/// and the catalog folders above it with [`trust`]. The metadata comes from the
/// open handle, so the file judged is the file read.
fn open_trusted(root: &Path, path: &Path) -> Result<(std::fs::Metadata, std::fs::File), String> {
    let full = path
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    trust::check_folders(root, &full)?;
    // Opening a FIFO would block until someone writes to it: only regular files are opened.
    let kind =
        std::fs::metadata(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))?;
    if !kind.is_file() {
        return Err(format!("{} is not a regular file", full.display()));
    }
    let handle =
        std::fs::File::open(&full).map_err(|e| format!("cannot open {}: {e}", full.display()))?;
    let meta = handle
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", full.display()))?;
    trust::check_owner_and_mode(&full, &meta)?;
    Ok((meta, handle))
}

fn param_of(name: &str, spec: &ParamFile) -> Result<Param, String> {
    let name_ok = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        return Err("parameter names are a-z, 0-9 and '_', starting with a letter".into());
    }
    let misplaced =
        |field: &str, kind: &str| format!("`{field}` applies only to {kind} parameters");
    if spec.pattern.is_some() && spec.kind != ParamKind::String {
        return Err(misplaced("pattern", "string"));
    }
    if (spec.min.is_some() || spec.max.is_some()) && spec.kind != ParamKind::Integer {
        return Err(misplaced("min/max", "integer"));
    }
    if spec.values.is_some() && spec.kind != ParamKind::Enum {
        return Err(misplaced("values", "enum"));
    }
    let kind = match spec.kind {
        ParamKind::String => ParamType::String {
            pattern: spec.pattern.as_deref().map(compile).transpose()?,
        },
        ParamKind::Integer => {
            if let (Some(min), Some(max)) = (spec.min, spec.max)
                && min > max
            {
                return Err(format!("min {min} is greater than max {max}"));
            }
            ParamType::Integer {
                min: spec.min,
                max: spec.max,
            }
        }
        ParamKind::Boolean => ParamType::Boolean,
        ParamKind::Enum => match &spec.values {
            Some(values) if !values.is_empty() => ParamType::Enum {
                values: values.clone(),
            },
            _ => return Err("an enum needs a non-empty `values` list".into()),
        },
    };
    let mut param = Param {
        name: name.to_owned(),
        kind,
        required: spec.required,
        default: None,
        secret: spec.secret,
        description: spec.description.clone(),
    };
    if let Some(default) = &spec.default {
        let value = serde_json::to_value(default).unwrap_or(Value::Null);
        check_value(&param, &value).map_err(|e| format!("default: {e}"))?;
        param.default = Some(value);
    }
    Ok(param)
}

/// Patterns must match the whole value: `^(?:PATTERN)$`.
fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| format!("pattern {pattern:?} is not a valid regex: {e}"))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
