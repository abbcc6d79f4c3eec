//! `rune` with no subcommand: the console, on the same catalog, inventory,
//! journal and transports as the headless commands.

use super::EXIT_OK;
use super::args::Cli;
use super::catalog_cmds::{load_catalog, load_inventory, warn_broken};
use super::journal_cmds::journal_path;
use crate::mediator::Mediator;
use crate::transport::Transports;
use crate::tui::config::{Config, config_dir};
use crate::tui::theme::Theme;

/// `config.toml` from the platform config dir (the defaults when missing).
pub(super) fn load_config() -> anyhow::Result<Config> {
    match config_dir() {
        Some(dir) => Config::load(&dir.join("config.toml")).map_err(|e| anyhow::anyhow!(e)),
        None => Ok(Config::default()),
    }
}

pub(super) async fn console(cli: &Cli) -> anyhow::Result<u8> {
    let catalog = load_catalog(cli)?;
    warn_broken(&catalog);
    let inventory = load_inventory(cli)?;
    let config = load_config()?;
    let concurrency = config.concurrency.unwrap_or(crate::tui::app::CONCURRENCY);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let name = if no_color {
        "mono".to_owned()
    } else {
        cli.theme
            .clone()
            .or(config.theme)
            .unwrap_or_else(|| "dark".into())
    };
    // The operator's themes/NAME.toml wins over a shipped one of that name.
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
    let themes = config_dir()
        .map(|d| d.join("themes"))
        .filter(|d| d.join(format!("{name}.toml")).is_file())
        .unwrap_or(shipped);
    let (theme, warning) = Theme::load(&name, &themes);
    if let Some(warning) = warning {
        eprintln!("rune: warning: {warning}");
    }
    let (transports, warnings) =
        Transports::standard(cli.ssh_settings()).map_err(|e| anyhow::anyhow!("ssh config: {e}"))?;
    let transports = transports.with_ssm(config.ssm.settings());
    for warning in warnings {
        eprintln!("rune: warning: {warning}");
    }
    let mut mediator = Mediator::new(transports);
    if let Some(lines) = config.max_stderr_lines {
        mediator.limits.stream_lines = lines;
    }
    crate::tui::run(crate::tui::Options {
        catalog,
        inventory,
        journal: journal_path(cli)?,
        mediator,
        theme,
        export_dir: std::env::current_dir()?,
        concurrency,
    })
    .await?;
    Ok(EXIT_OK)
}
