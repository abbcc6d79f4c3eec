//! What can go wrong while moving bytes, and while reading a target's
//! address. Variants say what happened; the mediator (`mediator::eps`)
//! alone decides which EPS code a [`TransportError`] becomes.

/// A transport failure, before or during an execution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// This build or configuration has no transport of that kind.
    #[error("no {0} transport is available in this build or configuration")]
    Unavailable(String),
    /// The plugin could not be started (missing interpreter, bad entry …).
    #[error("cannot start the plugin: {0}")]
    Spawn(String),
    /// Local I/O around the plugin failed (temp dir, pipes).
    #[error("local I/O failed: {0}")]
    Io(String),
    /// The target could not be reached: DNS, refused, unreachable, no banner.
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// The target refused every authentication method tried.
    #[error("authentication to {target} failed (tried: {tried}): {reason}")]
    Auth {
        target: String,
        tried: String,
        reason: String,
    },
    /// The host key is unknown, changed or revoked.
    #[error("host key of {target} refused: {reason} (fingerprint {fingerprint})")]
    HostKey {
        target: String,
        reason: String,
        fingerprint: String,
    },
    /// The bundle that arrived does not hash to what was sent.
    #[error("the bundle on {target} does not match its SHA-256")]
    ChecksumMismatch { target: String },
    /// The connection broke mid-run; what arrived so far is kept.
    #[error("connection to {target} lost: {reason}")]
    Lost {
        target: String,
        reason: String,
        stdout: Vec<u8>,
    },
    /// The remote service throttled or refused for lack of resources.
    #[error("{target} is throttling requests: {reason}")]
    Throttled { target: String, reason: String },
    /// The remote service refused the caller's rights.
    #[error("not authorized on {target}: {reason}")]
    Denied { target: String, reason: String },
    /// The caller's credentials were valid once and have expired.
    #[error("credentials for {target} have expired: {reason}")]
    CredentialsExpired { target: String, reason: String },
    /// The remote service does not know the target (an SSM instance id it
    /// cannot reach, for instance).
    #[error("{target} is unknown to the remote service: {reason}")]
    UnknownTarget { target: String, reason: String },
    /// The transport's settings cannot work (no region, a refused endpoint …).
    #[error("{target}: {reason}")]
    Config { target: String, reason: String },
    /// The remote side ended the execution on its own deadline.
    #[error("{target} timed out on the remote side: {reason}")]
    RemoteTimeout { target: String, reason: String },
    /// The remote service never started the plugin: it stopped the fan-out
    /// because more executions failed than `--max-errors` allows.
    #[error("{target} was not started: {reason}")]
    NotStarted { target: String, reason: String },
    /// The remote service kept only the start of the output; what it kept
    /// is here, and nothing after it can be trusted to be complete.
    #[error("the output of {target} was truncated: {reason}")]
    Truncated {
        target: String,
        reason: String,
        stdout: Vec<u8>,
    },
}

impl From<std::io::Error> for TransportError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

/// Inventory fields that do not make an address of the target's kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AddressError {
    /// A field of the wrong type, or unknown to the kind: toml's error,
    /// placed at the field, for the inventory to show with its line.
    #[error(transparent)]
    Field(#[from] toml::de::Error),
    /// Fields that parse but do not make an address (one missing, one that
    /// belongs to another kind); the inventory names the target.
    #[error("{0}")]
    Invalid(String),
}
