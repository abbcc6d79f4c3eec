//! The headless commands: clap definitions, the handlers, and the three
//! output formats. Thin: all decisions live in the engine. Everything they
//! print goes through [`print`]: sanitized text, escaped JSON.

mod args;
mod catalog_cmds;
mod console;
mod journal_cmds;
mod output;
mod print;
mod run;

pub use args::{Cli, Command, OutputFormat};

use std::process::ExitCode;

use args::RunArgs;

/// Exit status when every target succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit status when at least one target failed, timed out, or was skipped or cancelled.
pub const EXIT_FAILED: u8 = 1;
/// Exit status when the request was refused, or the catalog or inventory could not be read.
pub const EXIT_REFUSED: u8 = 2;
/// Exit status when stdout was closed under the command (`rune actions |
/// head -1`): 128 + SIGPIPE, what a shell reports for a coreutils command
/// the signal ended. RUNE ignores SIGPIPE (Rust's runtime does) and ends
/// here instead, after the command returned, so a run still finishes and is
/// journalled when its reader went away.
pub const EXIT_PIPE: u8 = 141;

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

/// The process's exit status for what [`dispatch`] returned, and the one
/// place its error is shown: quietly 141 when stdout was closed (whatever
/// error that caused), else the error, sanitized, and exit 2.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    if print::stdout_closed() {
        return ExitCode::from(EXIT_PIPE);
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            print::errln!("rune: {e:#}");
            ExitCode::from(EXIT_REFUSED)
        }
    }
}

/// `config.toml` from the platform config dir (the defaults when missing).
pub(crate) fn load_config() -> anyhow::Result<crate::config::Config> {
    match crate::config::config_dir() {
        Some(dir) => {
            crate::config::Config::load(&dir.join("config.toml")).map_err(|e| anyhow::anyhow!(e))
        }
        None => Ok(crate::config::Config::default()),
    }
}

/// The engine both `rune run` (with its flags) and the console (without)
/// run on: the same catalog, inventory, journal, config and transports.
pub(crate) fn open_engine(
    cli: &Cli,
    run: Option<&RunArgs>,
) -> anyhow::Result<crate::engine::Engine> {
    let mut ssh = cli.ssh_options();
    let mut ssm = crate::engine::SsmOptions::default();
    let mut limits = crate::engine::LimitOptions::default();
    let mut concurrency = None;
    if let Some(run) = run {
        ssh.accept_new_host_keys = run.accept_new_host_keys;
        ssh.prompt = run::interactive();
        ssm = run.aws.ssm_options(&run.ssm_output);
        limits = crate::engine::LimitOptions {
            stdout_bytes: Some(run.max_stdout),
            stderr_tail_bytes: Some(run.max_stderr),
            stream_lines: run.max_stderr_lines,
        };
        concurrency = run.concurrency;
    }
    let settings = crate::engine::Settings {
        catalog: catalog_cmds::load_catalog(cli)?,
        inventory: catalog_cmds::load_inventory(cli)?,
        journal: journal_cmds::journal_path(cli)?,
        config: load_config()?,
        ssh,
        ssm,
        limits,
        concurrency,
    };
    let (engine, warnings) = crate::engine::Engine::open(settings)?;
    for warning in warnings {
        print::errln!("rune: warning: {warning}");
    }
    Ok(engine)
}
