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
    /// `[ssm]`: defaults for the SSM transport; flags and variables win.
    #[serde(default)]
    pub ssm: SsmConfig,
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

impl SsmConfig {
    /// SSM settings from the environment, with this table filling the gaps.
    pub fn settings(&self) -> crate::transport::ssm::SsmSettings {
        let mut settings = crate::transport::ssm::SsmSettings::from_env();
        self.fill(&mut settings);
        settings
    }

    /// Sets what `settings` lacks from this table.
    pub fn fill(&self, settings: &mut crate::transport::ssm::SsmSettings) {
        let fill = |slot: &mut Option<String>, key: &Option<String>| {
            if slot.is_none() {
                *slot = key.clone().filter(|v| !v.is_empty());
            }
        };
        fill(&mut settings.endpoint, &self.endpoint);
        fill(&mut settings.output_bucket, &self.output_bucket);
        fill(&mut settings.output_prefix, &self.output_prefix);
        fill(&mut settings.output_endpoint, &self.output_endpoint);
    }
}

pub(super) fn load_config() -> anyhow::Result<Config> {
    let Some(dirs) = directories::ProjectDirs::from("", "", "rune") else {
        return Ok(Config::default());
    };
    let path = dirs.config_dir().join("config.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

pub(super) async fn console(cli: &Cli) -> anyhow::Result<u8> {
    let catalog = load_catalog(cli)?;
    warn_broken(&catalog);
    let inventory = load_inventory(cli)?;
    let config = load_config()?;
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
    let transports = transports.with_ssm(config.ssm.settings());
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
    })
    .await?;
    Ok(EXIT_OK)
}
