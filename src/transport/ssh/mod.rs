//! The SSH transport on russh: one pooled connection per target, one exec
//! channel per execution carrying the bundle and the envelope behind a short
//! POSIX-sh prelude, host keys checked against known_hosts, keys from the
//! agent and identity files. Moves bytes and exit statuses; never JSON.

mod address;
mod auth;
mod banner;
mod config;
mod exec;
pub mod known_hosts;
mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

pub use address::{FIELDS, SshAddress};
pub use config::{Config as SshConfig, Endpoint};
use session::Pool;

use super::{Address, Capabilities, Finished, Job, Progress, Transport, TransportError};

/// An exec channel carries stdin, streams stderr as it comes, and a cancel
/// kills the plugin's whole session from a second channel.
pub const CAPABILITIES: Capabilities = Capabilities {
    stores_command_text: false,
    streams_stderr: true,
    kills_process_tree: true,
};

/// OpenSSH has no default connect timeout; a responder cannot wait minutes
/// for a dead host, so RUNE bounds TCP connect plus handshake by default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A server sends its identification line as soon as it accepts; one that
/// accepts and stays silent (a tarpit, a hung sshd, the wrong service) is
/// given up this long after the TCP connection opened, within ConnectTimeout.
pub const BANNER_TIMEOUT: Duration = Duration::from_secs(5);
/// Keepalive interval when ssh_config sets no ServerAliveInterval.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// A pooled connection unused this long is closed and opened anew on demand.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(300);

/// How the SSH transport finds keys, trust and config.
#[derive(Clone)]
pub struct SshSettings {
    /// known_hosts files read, in order.
    pub known_hosts: Vec<PathBuf>,
    /// Where keys accepted with `--accept-new-host-keys` are written.
    pub rune_known_hosts: PathBuf,
    pub accept_new_host_keys: bool,
    /// ssh_config file; `None` reads `~/.ssh/config`.
    pub config_path: Option<PathBuf>,
    /// TCP connect, banner and key exchange of one hop (OpenSSH's
    /// ConnectTimeout), for hosts whose ssh_config block sets no ConnectTimeout.
    pub connect_timeout: Duration,
    /// From the TCP connection opening to the server's `SSH-` line.
    pub banner_timeout: Duration,
    pub idle_expiry: Duration,
    /// ssh-agent socket (`SSH_AUTH_SOCK`).
    pub agent: Option<PathBuf>,
    /// Passphrase for encrypted identity files (`RUNE_SSH_PASSPHRASE`).
    pub passphrase: Option<String>,
    /// Ask on the terminal for a passphrase when none is configured.
    pub prompt: bool,
    /// User when neither inventory nor config names one.
    pub default_user: String,
}

// By hand: a passphrase must never reach a log through Debug.
impl std::fmt::Debug for SshSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSettings")
            .field("known_hosts", &self.known_hosts)
            .field("accept_new_host_keys", &self.accept_new_host_keys)
            .field("agent", &self.agent)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

impl SshSettings {
    /// The operator's defaults: `~/.ssh/known_hosts`, RUNE's own known_hosts
    /// in its data dir, `SSH_AUTH_SOCK`, `RUNE_SSH_PASSPHRASE`, `$USER`.
    pub fn from_env() -> Self {
        let home = directories::BaseDirs::new()
            .map(|d| d.home_dir().to_path_buf())
            .unwrap_or_default();
        let rune_known_hosts = directories::ProjectDirs::from("", "", "rune")
            .map(|d| d.data_dir().join("known_hosts"))
            .unwrap_or_else(|| home.join(".rune_known_hosts"));
        Self {
            known_hosts: vec![home.join(".ssh/known_hosts"), rune_known_hosts.clone()],
            rune_known_hosts,
            accept_new_host_keys: false,
            config_path: None,
            connect_timeout: CONNECT_TIMEOUT,
            banner_timeout: BANNER_TIMEOUT,
            idle_expiry: IDLE_EXPIRY,
            agent: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            passphrase: std::env::var("RUNE_SSH_PASSPHRASE").ok(),
            prompt: false,
            default_user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        }
    }
}

/// Runs plugins over SSH.
pub struct Ssh {
    settings: Arc<SshSettings>,
    config: SshConfig,
    pool: Pool,
}

impl Ssh {
    /// Reads the ssh_config once; its warnings are returned for the operator.
    pub fn new(settings: SshSettings) -> Result<(Self, Vec<String>), String> {
        let config = SshConfig::load(settings.config_path.as_deref())?;
        let warnings = config.warnings.clone();
        Ok((
            Self {
                settings: Arc::new(settings),
                config,
                pool: Pool::default(),
            },
            warnings,
        ))
    }

    async fn run(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> Result<Finished, TransportError> {
        let Address::Ssh(address) = &job.address else {
            return Err(TransportError::Config {
                target: job.target.clone(),
                reason: format!("a {} target cannot run over ssh", job.address.kind()),
            });
        };
        let endpoint = self
            .config
            .resolve(&job.target, address, &self.settings.default_user)
            .map_err(|e| TransportError::Connect {
                target: job.target.clone(),
                reason: e,
            })?;
        let _ = progress.send(Progress::Phase("connecting".into())).await;
        let (conn, notes) = tokio::select! {
            conn = self.pool.get(&endpoint, &self.settings) => conn?,
            () = job.cancel.cancelled() => return Err(TransportError::Io("cancelled while connecting".into())),
        };
        for note in notes {
            let _ = progress.send(Progress::Note(note)).await;
        }
        exec::run(&conn, job, progress).await
    }
}

impl Transport for Ssh {
    fn exec(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> BoxFuture<'_, Result<Finished, TransportError>> {
        Box::pin(self.run(job, progress))
    }
}
