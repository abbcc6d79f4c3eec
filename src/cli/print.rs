//! The one way the headless commands write to the terminal. Text goes
//! through the sanitizer on its way out, whatever it holds (names from files
//! and arguments, TOML error snippets, target text), so no handler has to
//! remember which of its pieces are untrusted. JSON documents are written
//! whole through [`crate::protocol::safe_json`].
//!
//! A closed stdout (`rune actions | head -1`) is an error for the writer that
//! met it, and is remembered: [`super::exit_code`] then ends the process
//! quietly with 141, as a coreutils command killed by SIGPIPE would. Writes
//! to stderr are best effort: there is nowhere left to report their failure.
//!
//! Never decides what to print, and never prints anything it was not handed.
//! The crate denies `print!`-style macros (`lib.rs`): this module is the only
//! code that holds stdout or stderr.

use std::fmt::Arguments;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::protocol::sanitize::sanitize_text;

/// Set once a write to stdout met a closed pipe.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout was found closed: the command's output has no reader.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Notes a closed pipe on the way through; the error itself is returned.
fn note<T>(result: io::Result<T>) -> io::Result<T> {
    if let Err(e) = &result
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
    result
}

/// Stdout as a writer, for bytes already safe to show (an export, whose
/// Markdown is sanitized and whose JSON is escaped): records a closed pipe.
pub struct Stdout(io::Stdout);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        note(self.0.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        note(self.0.flush())
    }
}

pub fn stdout() -> Stdout {
    Stdout(io::stdout())
}

/// One or more lines of text on stdout, sanitized (newlines kept).
pub fn out(args: Arguments<'_>) -> io::Result<()> {
    let mut text = sanitize_text(&args.to_string());
    text.push('\n');
    let mut out = stdout();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A line on stdout that starts with a status mark in colour `colour` (an
/// SGR parameter such as `"32"`, compiled in, never from input); the rest of
/// the line is sanitized like any other text.
pub fn out_marked(colour: Option<&'static str>, mark: &str, rest: Arguments<'_>) -> io::Result<()> {
    let mark = sanitize_text(mark);
    let mark = match colour {
        Some(sgr) => format!("\x1b[{sgr}m{mark}\x1b[0m"),
        None => mark,
    };
    let mut text = mark;
    text += &sanitize_text(&rest.to_string());
    text.push('\n');
    let mut out = stdout();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// How a JSON document is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line: NDJSON events, machine-read documents.
    Line,
    /// Indented, for a person reading `--json`.
    Pretty,
}

/// One JSON document and a newline on stdout, in one write (stdout is line
/// buffered: token by token would be a syscall per line).
pub fn out_json(value: &impl Serialize, layout: Layout) -> anyhow::Result<()> {
    let mut text = match layout {
        Layout::Line => crate::protocol::safe_json::to_string(value)?,
        Layout::Pretty => crate::protocol::safe_json::to_string_pretty(value)?,
    };
    text.push('\n');
    let mut out = stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One or more lines of text on stderr, sanitized; a failed write is dropped.
pub fn err(args: Arguments<'_>) {
    let mut text = sanitize_text(&args.to_string());
    text.push('\n');
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// `println!` for the commands: sanitized, and an `io::Result` to pass on.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::print::out(format_args!($($arg)*))
    };
}

/// `eprintln!` for the commands: sanitized, best effort.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::print::err(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_remembered_and_other_errors_are_not() {
        let other = note::<()>(Err(io::Error::other("disk full")));
        assert!(other.is_err());
        assert!(!stdout_closed());
        let closed = note::<()>(Err(io::ErrorKind::BrokenPipe.into()));
        assert!(closed.is_err());
        assert!(stdout_closed());
        STDOUT_CLOSED.store(false, Ordering::Relaxed);
    }
}
