//! Output bounds. Remote output is hostile: every buffer has a cap, and each
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
