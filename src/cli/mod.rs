//! The headless commands: clap definitions, the handlers, and the three
//! output formats. Thin: all decisions live in the engine.

mod args;
mod catalog_cmds;
mod console;
mod journal_cmds;
mod output;
mod run;

pub use args::{Cli, Command, OutputFormat};

use std::process::ExitCode;

/// Exit status when every target succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit status when at least one target failed, timed out, or was skipped or cancelled.
pub const EXIT_FAILED: u8 = 1;
/// Exit status when the request was refused, or the catalog or inventory could not be read.
pub const EXIT_REFUSED: u8 = 2;

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let code = match &cli.command {
        Some(Command::Run(run)) => run::run(&cli, run).await?,
        Some(Command::Actions(cmd)) => catalog_cmds::actions(&cli, cmd)?,
        Some(Command::Targets(cmd)) => catalog_cmds::targets(&cli, cmd)?,
        Some(Command::Incident(cmd)) => journal_cmds::incident(&cli, cmd)?,
        Some(Command::Note(cmd)) => journal_cmds::note(&cli, cmd)?,
        Some(Command::Journal(cmd)) => journal_cmds::journal_cmd(&cli, cmd)?,
        Some(Command::Export(cmd)) => journal_cmds::export_cmd(&cli, cmd)?,
        None => console::console(&cli).await?,
    };
    Ok(ExitCode::from(code))
}
