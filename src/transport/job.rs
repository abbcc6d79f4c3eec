//! One execution as a transport sees it ([`Job`]), what it reports while it
//! works ([`Progress`]) and when it ends ([`Finished`]), and the
//! [`Transport`] trait every way of reaching a host implements.
//!
//! A job is built by the mediator from the plan: it names its target and
//! address and says what to run, but carries no catalog or inventory types.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::address::Address;
use super::bundle::Bundle;
use super::error::TransportError;

/// What to run on the target, as a transport ships it.
#[derive(Debug, Clone)]
pub enum Program {
    /// Files pushed to the target for this execution and checked there.
    Bundle(Arc<Bundle>),
    /// An executable already installed on the target at this absolute path.
    Installed(String),
}

/// One execution, as a transport needs it.
pub struct Job {
    /// The target's name, for errors and notes.
    pub target: String,
    /// Where the target is; its variant matches the transport's kind.
    pub address: Address,
    pub program: Program,
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
