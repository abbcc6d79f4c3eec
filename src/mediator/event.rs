//! What the mediator reports while it runs: the typed messages that flow
//! to the journal writer, and from it to the console or CLI.

use serde::{Deserialize, Serialize};

use crate::protocol::{BpcsInput, BpcsOutput, EpsError};

/// One execution: the `message_id` of the BPCS input sent to that target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecId(pub String);

impl std::fmt::Display for ExecId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How one target's execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Success,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }
}

/// Everything known about one target's execution once it is over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetResult {
    pub exec_id: ExecId,
    pub target: String,
    pub transport: String,
    pub status: Status,
    pub started_at: Option<String>,
    pub finished_at: String,
    pub duration_ms: u64,
    /// The plugin's exit status, when it ran to an end.
    pub exit_code: Option<i32>,
    /// "bundle" or "installed", when the plugin ran.
    pub mode: Option<String>,
    /// The BPCS input sent, secrets redacted.
    pub input: BpcsInput,
    /// The validated BPCS output: a success, or the failure the plugin reported.
    pub output: Option<BpcsOutput>,
    /// The EPS error, for every status but success.
    pub error: Option<EpsError>,
    /// The newest stderr lines, sanitized.
    pub stderr_tail: Vec<String>,
    pub stderr_lines: u64,
    pub stderr_bytes: u64,
    /// Things the transport asked to record (an accepted host key …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A step of a running request.
#[derive(Debug, Clone)]
pub enum ExecEvent {
    /// A target got its turn and its plugin is being started.
    Started {
        exec: ExecId,
        target: String,
        at: String,
        /// The BPCS input sent, secrets redacted.
        input: Box<BpcsInput>,
    },
    /// One sanitized, bounded stderr line.
    Stderr { exec: ExecId, line: String },
    /// The transport reached a new phase.
    Status { exec: ExecId, phase: String },
    /// The target is done, one way or another.
    Finished {
        exec: ExecId,
        result: Box<TargetResult>,
    },
}

impl ExecEvent {
    pub fn exec(&self) -> &ExecId {
        match self {
            Self::Started { exec, .. }
            | Self::Stderr { exec, .. }
            | Self::Status { exec, .. }
            | Self::Finished { exec, .. } => exec,
        }
    }
}
