//! The SSH transport against a real OpenSSH sshd on loopback: every shipped
//! action, each authentication and trust failure, lost connections,
//! timeouts with no remote leftovers, caps, fan-out and jump hosts.

mod banner;
mod failures;
mod params;
mod runs;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use rune::catalog::Catalog;
use rune::inventory::Inventory;
use rune::mediator::{Mediator, Report, TargetResult};
use rune::policy::RunRequest;
use rune::transport::Transports;
use rune::transport::ssh::SshSettings;
use tokio_util::sync::CancellationToken;

use crate::sshd::{FarmOptions, SshdFarm};
use crate::support::run_with;

/// Each farm gets its own 127.0.N.0/24; the harness's self-tests use 250+.
static NEXT_OCTET: AtomicU8 = AtomicU8::new(10);

/// A farm plus an operator home that trusts it: ~/.ssh/config names the key,
/// ~/.ssh/known_hosts holds the host keys.
pub struct Env {
    pub farm: SshdFarm,
    pub home: tempfile::TempDir,
    pub inventory: Inventory,
}

impl Env {
    pub fn start(hosts: usize) -> Self {
        let base_octet = NEXT_OCTET.fetch_add(hosts.div_ceil(254) as u8, Ordering::SeqCst);
        let farm = SshdFarm::start(FarmOptions {
            hosts,
            base_octet,
            ..FarmOptions::default()
        });
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::copy(farm.known_hosts(), ssh.join("known_hosts")).unwrap();
        std::fs::write(
            ssh.join("config"),
            format!("Host *\n    IdentityFile {}\n", farm.client_key().display()),
        )
        .unwrap();
        let inventory = Inventory::parse(&farm.inventory_toml(), Path::new("farm.toml")).unwrap();
        Self {
            farm,
            home,
            inventory,
        }
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.home.path().join(".ssh")
    }

    /// Settings as `SshSettings::from_env` would make them for this home.
    pub fn settings(&self) -> SshSettings {
        SshSettings {
            known_hosts: vec![
                self.ssh_dir().join("known_hosts"),
                self.home.path().join("rune_known_hosts"),
            ],
            rune_known_hosts: self.home.path().join("rune_known_hosts"),
            accept_new_host_keys: false,
            config_path: Some(self.ssh_dir().join("config")),
            connect_timeout: Duration::from_secs(5),
            banner_timeout: Duration::from_secs(5),
            idle_expiry: Duration::from_secs(60),
            agent: None,
            passphrase: None,
            prompt: false,
            default_user: self.farm.user(),
        }
    }

    pub fn mediator(&self, settings: SshSettings) -> Mediator {
        Mediator::new(Transports::standard(settings).unwrap().0)
    }

    pub fn first(&self) -> String {
        "ssh-1".into()
    }
}

pub async fn run_on(
    env: &Env,
    mediator: Mediator,
    catalog: &Catalog,
    request: RunRequest,
) -> Report {
    run_with(
        catalog,
        &env.inventory,
        request,
        mediator,
        CancellationToken::new(),
    )
    .await
    .0
}

pub fn eps_code(result: &TargetResult) -> i64 {
    result.error.as_ref().map_or(0, |e| e.code())
}

pub fn reason(result: &TargetResult) -> String {
    result
        .error
        .as_ref()
        .map_or_else(String::new, |e| e.reason().to_owned())
}
