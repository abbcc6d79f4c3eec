//! The `rune` binary: parse arguments, set up file logging, hand off to the CLI.
//! It prints nothing itself: `rune::cli` owns the terminal.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = rune::cli::Cli::parse();
    let _log_guard = init_logging();
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(rune::cli::dispatch(cli)),
        Err(e) => Err(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    // Errors and a closed stdout are reported by the CLI's printer, sanitized.
    rune::cli::exit_code(result)
}

/// Log lines queued for the writer thread before new ones are dropped.
const LOG_QUEUE_LINES: usize = 4096;

/// Logs go to a file in the platform state dir, never to stdout (which may
/// carry JSON) nor to the terminal. `RUNE_LOG` sets the filter. The log names
/// targets, actions and operators: it is created 0600 in a 0700 directory,
/// and an existing one is made so, whatever the umask.
fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let dirs = directories::ProjectDirs::from("", "", "rune")?;
    let dir = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    if std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .is_err()
    {
        return None;
    }
    let private = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join("rune.log"))
        .ok()?;
    if private(&dir, 0o700).is_err() || private(&dir.join("rune.log"), 0o600).is_err() {
        return None;
    }
    // The default queue holds 128,000 lines and is allocated and touched up
    // front: ~1,000 page faults, a third of a one-shot `rune run`'s start.
    // RUNE logs little (the journal is the record); past this, lines drop.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUNE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
    Some(guard)
}
