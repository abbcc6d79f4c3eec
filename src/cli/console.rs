//! `rune` with no subcommand: the console, on the same engine (catalog,
//! inventory, journal, transports, limits) as `rune run`.

use super::EXIT_OK;
use super::args::Cli;
use super::catalog_cmds::warn_broken;
use crate::config::config_dir;
use crate::tui::theme::Theme;

pub(super) async fn console(cli: &Cli) -> anyhow::Result<u8> {
    let engine = super::open_engine(cli, None)?;
    warn_broken(engine.catalog());
    let config = super::load_config()?;
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
        super::print::errln!("rune: warning: {warning}");
    }
    crate::tui::run(crate::tui::Options {
        engine,
        theme,
        export_dir: std::env::current_dir()?,
    })
    .await?;
    Ok(EXIT_OK)
}
