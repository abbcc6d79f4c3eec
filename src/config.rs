//! `config.toml` in the platform config dir: the settings both front ends
//! read (the console's theme, concurrency, stream limits, SSM defaults), and
//! the reading rules it shares with theme files. Plain data: the engine turns
//! it into transports and limits; nothing here reaches a target. Both files
//! are small and hand-written; anything else in them (too big, not UTF-8,
//! malformed, unknown or mistyped keys) is reported with the file, the line
//! and the field, never a panic.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// 64 KiB: a config or theme is a few lines; anything near this is not one.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// `config.toml` in the platform config dir. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `dark` (default), `light`, `high-contrast`, `mono`, or any themes/NAME.toml.
    pub theme: Option<String>,
    /// `[ssm]`: defaults for the SSM transport (console and `rune run`);
    /// flags and variables win.
    #[serde(default)]
    pub ssm: SsmConfig,
    /// Targets a run runs at once, 1..=1024, in the console and for `rune run`
    /// without `--concurrency` [default: 16].
    pub concurrency: Option<usize>,
    /// Stderr lines streamed (and journalled) per execution, for the console
    /// and `rune run` without `--max-stderr-lines` [default: 10,000]; later
    /// lines are counted and kept in the tail.
    pub max_stderr_lines: Option<u64>,
}

/// `[ssm]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmConfig {
    /// Like `--ssm-endpoint`.
    pub endpoint: Option<String>,
    /// Like `--ssm-output-bucket`: `OutputS3BucketName`.
    pub output_bucket: Option<String>,
    /// Like `--ssm-output-prefix`: `OutputS3KeyPrefix`.
    pub output_prefix: Option<String>,
    /// Like `--ssm-output-endpoint`: the S3 endpoint output is read from.
    pub output_endpoint: Option<String>,
}

/// Where RUNE's own files live: `config.toml`, `themes/`, `inventory.toml`.
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "rune").map(|d| d.config_dir().to_path_buf())
}

impl Config {
    /// Reads `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Self, String> {
        let Some(text) = read_small(path)? else {
            return Ok(Self::default());
        };
        let config: Self = toml::from_str(&text).map_err(|e| describe(path, &text, &e))?;
        // Checked here so a bad value stops the console before it opens, not at the first run.
        if let Some(n) = config.concurrency
            && !(1..=crate::policy::MAX_CONCURRENCY).contains(&n)
        {
            return Err(format!(
                "{}: concurrency must be 1..={}, not {n}",
                path.display(),
                crate::policy::MAX_CONCURRENCY
            ));
        }
        Ok(config)
    }
}

/// Reads a small UTF-8 file: `None` when it does not exist; an error naming
/// the file (and the line of the first bad byte) when it is too big or not UTF-8.
pub fn read_small(path: &Path) -> Result<Option<String>, String> {
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{}: is {size} bytes; at most {MAX_FILE_BYTES} are read",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        format!("{}:{line}: is not UTF-8", path.display())
    })
}

/// A TOML error as `FILE:LINE:COLUMN: message (field `KEY`)`.
pub fn describe(path: &Path, text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    let Some(at) = error.span().map(|s| s.start.min(text.len())) else {
        return format!("{}: {message}", path.display());
    };
    let (line, column) = position(text, at);
    let field = field_at(text, line)
        .filter(|f| !message.contains(&format!("`{f}`")))
        .map(|f| format!(" (field `{f}`)"))
        .unwrap_or_default();
    format!("{}:{line}:{column}: {message}{field}", path.display())
}

/// 1-based line and column of byte `at`.
pub fn position(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The key assigned on `line` (1-based), if that line is `key = …`.
fn field_at(text: &str, line: usize) -> Option<String> {
    let (key, _) = text.lines().nth(line - 1)?.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(bytes: &[u8]) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, bytes).unwrap();
        Config::load(&path)
    }

    #[rstest::rstest]
    #[case::wrong_type(
        b"\n\ntheme = 5\n",
        "config.toml:3:9: invalid type: integer `5`, expected a string (field `theme`)"
    )]
    #[case::unknown_field(
        b"theme = \"dark\"\ncolour = \"red\"\n",
        "config.toml:2:1: unknown field `colour`, expected one of `theme`"
    )]
    #[case::malformed(b"theme = \"dark\n", "config.toml:1:")]
    #[case::not_utf8(b"# ok\ntheme = \"\xff\"\n", "config.toml:2: is not UTF-8")]
    fn bad_configs_name_file_line_and_field(#[case] bytes: &[u8], #[case] expected: &str) {
        let error = load(bytes).unwrap_err();
        assert!(error.contains(expected), "{error}");
    }

    #[test]
    fn config_takes_a_concurrency_within_the_engines_bounds() {
        assert_eq!(load(b"concurrency = 50").unwrap().concurrency, Some(50));
        assert_eq!(load(b"").unwrap().concurrency, None);
        let zero = load(b"concurrency = 0").unwrap_err();
        assert!(
            zero.contains("concurrency must be 1..=1024, not 0"),
            "{zero}"
        );
        assert!(load(b"concurrency = 5000").is_err());
        assert!(load(b"concurrency = \"all\"").is_err());
    }

    #[test]
    fn config_takes_a_stream_line_cap() {
        assert_eq!(
            load(b"max_stderr_lines = 1000000")
                .unwrap()
                .max_stderr_lines,
            Some(1_000_000)
        );
        assert!(load(b"max_stderr_lines = -1").is_err());
    }

    #[test]
    fn a_missing_config_is_the_defaults_and_a_huge_one_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load(&path).unwrap().theme, None);
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let error = Config::load(&path).unwrap_err();
        assert!(error.contains("at most 65536 are read"), "{error}");
    }
}
