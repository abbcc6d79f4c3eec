//! `rune` with no subcommand: the console, on the same catalog, inventory,
//! journal and transports as the headless commands.

use serde::Deserialize;

use super::EXIT_OK;
use super::args::Cli;
use super::catalog_cmds::{load_catalog, load_inventory, warn_broken};
use super::journal_cmds::journal_path;
use crate::mediator::Mediator;
use crate::transport::Transports;
use crate::transport::ssh::SshSettings;
use crate::tui::theme::Theme;

/// `config.toml` in the platform config dir. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `dark` (default), `light`, `high-contrast`, `mono`, or any themes/NAME.toml.
    pub theme: Option<String>,
    /// Targets a console run runs at once, 1..=1024 [default: 16, as `rune run`].
    pub concurrency: Option<usize>,
}

impl Config {
    fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
        // Checked here so a bad value stops the console before it opens, not at the first run.
        if let Some(n) = config.concurrency
            && !(1..=crate::policy::MAX_CONCURRENCY).contains(&n)
        {
            return Err(format!(
                "concurrency must be 1..={}, not {n}",
                crate::policy::MAX_CONCURRENCY
            ));
        }
        Ok(config)
    }
}

fn load_config() -> anyhow::Result<Config> {
    let Some(dirs) = directories::ProjectDirs::from("", "", "rune") else {
        return Ok(Config::default());
    };
    let path = dirs.config_dir().join("config.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
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
    let themes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
    let (theme, warning) = Theme::load(&name, &themes);
    if let Some(warning) = warning {
        eprintln!("rune: warning: {warning}");
    }
    let (transports, warnings) = Transports::standard(SshSettings::from_env())
        .map_err(|e| anyhow::anyhow!("ssh config: {e}"))?;
    for warning in warnings {
        eprintln!("rune: warning: {warning}");
    }
    crate::tui::run(crate::tui::Options {
        catalog,
        inventory,
        journal: journal_path(cli)?,
        mediator: Mediator::new(transports),
        theme,
        export_dir: std::env::current_dir()?,
        concurrency,
    })
    .await?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn config_takes_a_concurrency_within_the_engines_bounds() {
        assert_eq!(
            Config::parse("concurrency = 50").unwrap().concurrency,
            Some(50)
        );
        assert_eq!(Config::parse("").unwrap().concurrency, None);
        let zero = Config::parse("concurrency = 0").unwrap_err();
        assert!(
            zero.contains("concurrency must be 1..=1024, not 0"),
            "{zero}"
        );
        assert!(Config::parse("concurrency = 5000").is_err());
        assert!(Config::parse("concurrency = \"all\"").is_err());
        assert!(Config::parse("colour = 1").is_err());
    }
}
