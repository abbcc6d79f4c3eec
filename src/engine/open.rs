//! Building the engine: the catalog, the inventory and the journal path the
//! front end loaded, `config.toml`, and the command line's overrides become
//! one mediator with its transports and limits. The console and `rune run`
//! both come through here, so they run by the same rules: a flag wins over
//! `config.toml`, which wins over the built-in default.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::{Error, Result};
use crate::catalog::Catalog;
use crate::config::{Config, SsmConfig};
use crate::inventory::Inventory;
use crate::journal::Journal;
use crate::mediator::{Limits, Mediator};
use crate::transport::{Transports, ssh, ssm};

/// Targets a run runs at once unless a flag or `config.toml` says otherwise.
pub const CONCURRENCY: usize = 16;

/// Everything the engine is built from.
pub struct Settings {
    pub catalog: Catalog,
    pub inventory: Inventory,
    /// The incident journal (SQLite); opened per run, created when missing.
    pub journal: PathBuf,
    /// `config.toml` (the defaults when it is missing).
    pub config: Config,
    pub ssh: SshOptions,
    pub ssm: SsmOptions,
    pub limits: LimitOptions,
    /// `--concurrency`: wins over `config.toml`'s.
    pub concurrency: Option<usize>,
}

/// How SSH targets are reached, beyond `~/.ssh/config` and the environment.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// TCP connect, banner and key exchange of one hop, for hosts whose
    /// ssh_config sets no ConnectTimeout.
    pub connect_timeout: Duration,
    /// From the TCP connection opening to the server's identification line.
    pub banner_timeout: Duration,
    /// Trust and save the key of a host never seen before (`--accept-new-host-keys`).
    pub accept_new_host_keys: bool,
    /// Ask on the terminal for a key's passphrase when none is configured.
    pub prompt: bool,
}

impl Default for SshOptions {
    fn default() -> Self {
        let defaults = ssh::SshSettings::from_env();
        Self {
            connect_timeout: defaults.connect_timeout,
            banner_timeout: defaults.banner_timeout,
            accept_new_host_keys: false,
            prompt: false,
        }
    }
}

/// How SSM targets reach AWS: each `Some` wins over the environment
/// (`RUNE_SSM_*`), which wins over `config.toml`'s `[ssm]`.
#[derive(Debug, Clone, Default)]
pub struct SsmOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub output_bucket: Option<String>,
    pub output_prefix: Option<String>,
    pub output_endpoint: Option<String>,
}

impl SsmOptions {
    /// The transport's settings: these, else the environment, else `config`.
    pub(super) fn settings(&self, config: &SsmConfig) -> ssm::SsmSettings {
        let mut settings = ssm::SsmSettings::from_env();
        let pick = |flag: &Option<String>, env: &Option<String>, file: &Option<String>| {
            [flag, env, file]
                .into_iter()
                .flatten()
                .find(|v| !v.is_empty())
                .cloned()
        };
        settings.profile = self.profile.clone().filter(|v| !v.is_empty());
        settings.region = self.region.clone().filter(|v| !v.is_empty());
        settings.endpoint = pick(&self.endpoint, &settings.endpoint, &config.endpoint);
        settings.output_bucket = pick(
            &self.output_bucket,
            &settings.output_bucket,
            &config.output_bucket,
        );
        settings.output_prefix = pick(
            &self.output_prefix,
            &settings.output_prefix,
            &config.output_prefix,
        );
        settings.output_endpoint = pick(
            &self.output_endpoint,
            &settings.output_endpoint,
            &config.output_endpoint,
        );
        settings
    }
}

/// Output limits from the command line; `None` takes `config.toml`'s or the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitOptions {
    pub stdout_bytes: Option<u64>,
    pub stderr_tail_bytes: Option<usize>,
    pub stream_lines: Option<u64>,
}

/// The engine. Cheap to clone: every run shares its catalog, inventory and
/// transports (and their connection pools).
#[derive(Clone)]
pub struct Engine {
    pub(super) catalog: Arc<Catalog>,
    pub(super) inventory: Arc<Inventory>,
    pub(super) journal: Arc<Path>,
    pub(super) mediator: Mediator,
    concurrency: usize,
    /// What the open-file limit allows at once; every plan is capped to it.
    pub(super) max_concurrency: usize,
}

impl Engine {
    /// Builds the transports and the mediator. The ssh_config's warnings
    /// come back for the operator. Reads no AWS configuration (SSM is lazy)
    /// and touches no journal: a dry run never creates one.
    pub fn open(settings: Settings) -> Result<(Self, Vec<String>)> {
        let mut ssh = ssh::SshSettings::from_env();
        ssh.connect_timeout = settings.ssh.connect_timeout;
        ssh.banner_timeout = settings.ssh.banner_timeout;
        ssh.accept_new_host_keys = settings.ssh.accept_new_host_keys;
        ssh.prompt = settings.ssh.prompt;
        let (transports, warnings) = Transports::standard(ssh).map_err(Error::SshConfig)?;
        let transports = transports.with_ssm(settings.ssm.settings(&settings.config.ssm));
        let defaults = Limits::default();
        let mut mediator = Mediator::new(transports);
        mediator.limits = Limits {
            stdout_bytes: settings
                .limits
                .stdout_bytes
                .unwrap_or(defaults.stdout_bytes),
            stderr_tail_bytes: settings
                .limits
                .stderr_tail_bytes
                .unwrap_or(defaults.stderr_tail_bytes),
            stream_lines: settings
                .limits
                .stream_lines
                .or(settings.config.max_stderr_lines)
                .unwrap_or(defaults.stream_lines),
            ..defaults
        };
        let max_concurrency = super::fd_budget::raise_and_budget();
        let mut warnings = warnings;
        let asked = settings
            .concurrency
            .or(settings.config.concurrency)
            .unwrap_or(CONCURRENCY);
        if asked > max_concurrency {
            warnings.push(capped_note(asked, max_concurrency));
        }
        let concurrency = asked.min(max_concurrency);
        let engine = Self {
            catalog: Arc::new(settings.catalog),
            inventory: Arc::new(settings.inventory),
            journal: Arc::from(settings.journal.as_path()),
            mediator,
            concurrency,
            max_concurrency,
        };
        Ok((engine, warnings))
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub fn inventory(&self) -> &Arc<Inventory> {
        &self.inventory
    }

    pub fn journal_path(&self) -> &Path {
        &self.journal
    }

    /// Targets a run runs at once unless its request says otherwise.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Targets the open-file limit lets run at once (see `fd_budget`).
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// Opens (creating) the journal once: a front end that must not start
    /// without a journal (the console) checks before it changes the screen.
    pub fn check_journal(&self) -> Result<()> {
        Journal::open(&self.journal)?;
        Ok(())
    }
}

/// What the operator is told when the open-file limit caps concurrency.
pub fn capped_note(asked: usize, max: usize) -> String {
    format!(
        "concurrency {asked} capped to {max}: the open-file limit (ulimit -n) allows no more \
         targets at once; raise the hard limit to run more"
    )
}
