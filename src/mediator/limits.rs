//! Output bounds, and the bound on parameters copied into a plugin's
//! environment. Remote output is hostile: every buffer has a cap, and each
//! cap's reason is written beside it.

/// Caps applied to every execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Stdout bytes kept; a plugin writing more fails with -32103.
    pub stdout_bytes: u64,
    /// Stderr bytes kept as evidence, newest lines first to survive.
    pub stderr_tail_bytes: usize,
    /// One stderr line is cut here, so a newline-free stream stays bounded.
    pub line_bytes: usize,
    /// Stderr lines streamed as events (and so journalled) per execution;
    /// later lines are only counted and kept in the tail.
    pub stream_lines: u64,
}

/// 4 MiB: far above any sane result envelope, far below memory trouble at 50 targets.
pub const STDOUT_BYTES: u64 = 4 * 1024 * 1024;
/// 1 MiB of stderr tail per target: the end of a log is where the failure is.
pub const STDERR_TAIL_BYTES: usize = 1024 * 1024;
/// 8 KiB per line: longer lines are cut and marked, the rest of the line is counted.
pub const LINE_BYTES: usize = 8 * 1024;

/// 10,000 lines streamed per execution: a runbook's progress output fits, while
/// a flood (1 GiB of short lines is ~20 million) can neither grow the journal
/// by millions of rows nor slow the plugin to the journal's pace.
pub const STREAM_LINES: u64 = 10_000;

/// 16 KiB per `RUNE_PARAM_*` value. Linux refuses any one environment string
/// over 128 KiB (MAX_ARG_STRLEN) with E2BIG, so a larger value made the
/// local spawn fail; over SSH every export is part of the one `sh -c`
/// argument, under the same bound. The envelope on stdin has no such limit
/// and always carries every parameter: a larger value is left out of the
/// environment only (a note names it), and the plugin reads it from there.
pub const PARAM_ENV_BYTES: usize = 16 * 1024;

/// 64 KiB for all `RUNE_PARAM_*` values together, measured shell-quoted: with
/// the prelude and body around them, SSH's single `sh -c` argument stays well
/// under Linux's 128 KiB per argument.
pub const PARAM_ENV_TOTAL_BYTES: usize = 64 * 1024;

/// `env` with the values past [`PARAM_ENV_BYTES`] (or past
/// [`PARAM_ENV_TOTAL_BYTES`] together) left out, and a note naming each one
/// left out.
pub fn bound_param_env(env: Vec<(String, String)>) -> (Vec<(String, String)>, Vec<String>) {
    let mut total = 0;
    let mut notes = Vec::new();
    let mut kept = Vec::with_capacity(env.len());
    for (name, value) in env {
        // As single-quoted for the SSH command: each `'` becomes `'\''`.
        let quoted = value.len() + 3 * value.matches('\'').count();
        let limit = if quoted > PARAM_ENV_BYTES {
            Some(format!("{} KiB per value", PARAM_ENV_BYTES / 1024))
        } else if total + quoted > PARAM_ENV_TOTAL_BYTES {
            Some(format!(
                "{} KiB for all values",
                PARAM_ENV_TOTAL_BYTES / 1024
            ))
        } else {
            None
        };
        match limit {
            Some(limit) => notes.push(format!(
                "parameter {} ({} bytes) is not in ${name}: environment copies are \
                 limited to {limit}; the plugin reads it from the envelope on stdin",
                name.strip_prefix("RUNE_PARAM_")
                    .unwrap_or(&name)
                    .to_ascii_lowercase(),
                value.len()
            )),
            None => {
                total += quoted;
                kept.push((name, value));
            }
        }
    }
    (kept, notes)
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            stdout_bytes: STDOUT_BYTES,
            stderr_tail_bytes: STDERR_TAIL_BYTES,
            line_bytes: LINE_BYTES,
            stream_lines: STREAM_LINES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversize_environment_copies_are_left_out_and_named() {
        let env = vec![
            ("RUNE_PARAM_SMALL".to_owned(), "x".repeat(10)),
            ("RUNE_PARAM_BIG".to_owned(), "y".repeat(PARAM_ENV_BYTES + 1)),
            (
                "RUNE_PARAM_QUOTES".to_owned(),
                "'".repeat(PARAM_ENV_BYTES / 2),
            ),
        ];
        let (kept, notes) = bound_param_env(env);
        let names: Vec<_> = kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["RUNE_PARAM_SMALL"]);
        assert!(notes[0].starts_with("parameter big (16385 bytes) is not in $RUNE_PARAM_BIG"));
        assert!(notes[1].starts_with("parameter quotes "));
    }

    #[test]
    fn the_total_is_bounded_too() {
        let env: Vec<_> = (0..5)
            .map(|i| (format!("RUNE_PARAM_P{i}"), "z".repeat(PARAM_ENV_BYTES)))
            .collect();
        let (kept, notes) = bound_param_env(env);
        assert_eq!(kept.len(), 4);
        assert!(notes[0].contains("64 KiB for all values"), "{notes:?}");
    }
}
