//! Transports move bytes to a target and back and report how the process
//! ended. They never parse JSON and never choose an EPS code: the mediator
//! does both. One trait, one implementation per way of reaching a host.

mod error;
pub mod local;
pub mod ssh;
pub mod ssm;

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use error::TransportError;

use crate::catalog::{Plugin, TransportKind};
use crate::inventory::Target;

/// One execution, as a transport needs it.
pub struct Job {
    pub target: Target,
    pub plugin: Plugin,
    /// Exactly the envelope bytes; the plugin sees them, then EOF.
    pub stdin: Vec<u8>,
    /// `RUNE_PARAM_*` for non-secret parameters; secrets never go here.
    pub env: Vec<(String, String)>,
    /// Stdout bytes kept. A transport that can stops the plugin once more
    /// arrived (the verdict is -32103 whatever follows); `stdout_total` then
    /// says how much arrived by then.
    pub stdout_limit: u64,
    /// The execution's timeout: remote transports arm a deadline of their own from it.
    pub timeout: std::time::Duration,
    /// Cancelled on timeout or operator cancel: kill the process tree and return.
    pub cancel: CancellationToken,
    /// The request's fan-out policy, for a transport that paces itself.
    pub fanout: Fanout,
}

/// What a transport that paces itself ([`Transport::paces_itself`]) needs
/// to apply the request's policy on the remote side. Other transports ignore it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Fanout {
    /// The request's `message_id`: only executions of one request share a remote fan-out.
    pub request: String,
    /// `--concurrency`: executions of the request running at once.
    pub concurrency: usize,
    /// `--max-errors`: start no new execution once more than this many failed.
    pub max_errors: Option<usize>,
    /// How many executions of the request go to this transport.
    pub executions: usize,
}

/// What a transport reports while it works.
#[derive(Debug)]
pub enum Progress {
    /// A chunk of the plugin's stderr, as raw bytes.
    Stderr(Vec<u8>),
    /// The transport reached a new phase (`connecting`, `running`, an SSM status …).
    Phase(String),
    /// Something worth recording, such as a newly accepted host key.
    Note(String),
    /// The plugin is now running on the target. Only a transport that paces
    /// itself sends it: the mediator starts the execution's timeout then,
    /// not while the remote side keeps it waiting for its turn.
    Running,
}

/// How the plugin process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// The transport could not learn the status (e.g. the channel closed without one).
    Unknown,
}

/// What came back from one execution.
#[derive(Debug)]
pub struct Finished {
    pub exit: Exit,
    /// The first `stdout_limit` bytes of stdout.
    pub stdout: Vec<u8>,
    /// All stdout bytes that arrived, kept or not.
    pub stdout_total: u64,
    /// True when the transport killed the process tree because of `cancel`.
    pub killed: bool,
    /// "bundle" or "installed": which way the plugin ran.
    pub mode: &'static str,
}

/// A way of reaching targets.
pub trait Transport: Send + Sync {
    /// Runs `job`, streaming stderr and phases on `progress`. Must return
    /// promptly once `job.cancel` fires, after killing the process tree.
    fn exec(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> BoxFuture<'_, Result<Finished, TransportError>>;

    /// True when the remote service applies `--concurrency` and
    /// `--max-errors` itself (SSM's MaxConcurrency and MaxErrors): the
    /// mediator then hands over every execution of a request at once,
    /// without its semaphore or its max-errors check, arms each timeout
    /// on [`Progress::Running`], and still judges every result.
    fn paces_itself(&self) -> bool {
        false
    }
}

/// The transports available to a mediator, by kind.
#[derive(Clone, Default)]
pub struct Transports {
    pub local: Option<Arc<dyn Transport>>,
    pub ssh: Option<Arc<dyn Transport>>,
    pub ssm: Option<Arc<dyn Transport>>,
}

impl Transports {
    /// The local transport alone.
    pub fn local_only() -> Self {
        Self {
            local: Some(Arc::new(local::Local::default())),
            ssh: None,
            ssm: None,
        }
    }

    /// Local, SSH, and SSM with the environment's settings. The
    /// ssh_config's warnings come back for the operator. SSM reads no AWS
    /// configuration until an SSM target runs.
    pub fn standard(ssh: ssh::SshSettings) -> Result<(Self, Vec<String>), String> {
        let (ssh, warnings) = ssh::Ssh::new(ssh)?;
        Ok((
            Self {
                ssh: Some(Arc::new(ssh)),
                ssm: Some(Arc::new(ssm::Ssm::new(ssm::SsmSettings::from_env()))),
                ..Self::local_only()
            },
            warnings,
        ))
    }

    /// The same transports with SSM built from `settings` (still lazy).
    pub fn with_ssm(self, settings: ssm::SsmSettings) -> Self {
        Self {
            ssm: Some(Arc::new(ssm::Ssm::new(settings))),
            ..self
        }
    }

    pub fn get(&self, kind: TransportKind) -> Option<Arc<dyn Transport>> {
        match kind {
            TransportKind::Local => self.local.clone(),
            TransportKind::Ssh => self.ssh.clone(),
            TransportKind::Ssm => self.ssm.clone(),
        }
    }
}
