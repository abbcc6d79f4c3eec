//! The one place that turns a failure into an EPS envelope: its code, title,
//! reason, severity, recoverability and advice. Transports and policy only
//! say what happened; this file decides what it means.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalog::ParamError;
use crate::inventory::SelectError;
use crate::policy::Refusal;
use crate::protocol::bpcs::PluginError;
use crate::protocol::eps::{
    ErrorContext, ErrorData, ErrorMetadata, ErrorObservability, ErrorPayload, ErrorRouting,
    HealthImpact, RpcError, SystemImpact, classify, code,
};
use crate::protocol::validate::Violation;
use crate::protocol::{EpsError, ids};
use crate::transport::TransportError;

/// A code for RUNE's own use in the protocol range, beside -32010: the
/// operator cancelled the execution (Ctrl-C, or `c` in the console).
pub const CANCELLED: i64 = -32011;

/// Everything that can end an execution, or a request, without success.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The plugin's output broke the BPCS contract.
    Violation {
        violation: Violation,
        exit_code: i32,
        stdout_excerpt: String,
    },
    /// The plugin reported failure in a valid error envelope.
    PluginFailed { error: PluginError, exit_code: i32 },
    /// The plugin was killed by a signal RUNE did not send.
    Signal { signal: i32 },
    /// The execution ran past its timeout; its process tree was killed.
    Timeout { timeout_ms: u64, killed: bool },
    /// The operator cancelled it.
    Cancelled { started: bool },
    /// It never started: the error threshold was reached first.
    Skipped { reason: String },
    /// The transport could not do its part.
    Transport(TransportError),
    /// Policy refused the whole request.
    Refused(Refusal),
    /// The journal could not record before the run: nothing runs.
    Journal(String),
    /// The journal stopped recording during the run: nothing more starts.
    JournalLost(String),
}

/// Where a failure happened, for routing and correlation.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    /// The RCS request's `message_id`, when a request was built.
    pub request_id: Option<&'a str>,
    /// The failed message: the BPCS input, or the request itself.
    pub parent_id: Option<&'a str>,
    /// "console" or "cli".
    pub source: Option<&'a str>,
    pub trace_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
    pub transport: Option<&'a str>,
    /// Extra entries for `error_data.error.data` (stderr tail, counts …).
    pub data: Map<String, Value>,
}

/// Builds the EPS envelope for `failure`.
pub fn to_eps(failure: &Failure, scope: Scope<'_>) -> EpsError {
    let (code, reason, mut data) = describe(failure, &scope);
    data.extend(scope.data.clone());
    build(code, &reason, data, failure, &scope)
}

fn describe(failure: &Failure, scope: &Scope<'_>) -> (i64, String, Map<String, Value>) {
    let who = format!(
        "{} on {}",
        scope.action.unwrap_or("the action"),
        scope.target.unwrap_or("the target")
    );
    let mut data = Map::new();
    let (code, reason) = match failure {
        Failure::Violation {
            violation,
            exit_code,
            stdout_excerpt,
        } => {
            data.insert("violation".into(), violation.kind().into());
            data.insert("exit_code".into(), (*exit_code).into());
            data.insert("stdout_excerpt".into(), stdout_excerpt.clone().into());
            (
                violation.code(),
                format!("{who} broke the plugin contract: {violation}"),
            )
        }
        Failure::PluginFailed { error, exit_code } => {
            data.insert("plugin_error_code".into(), error.code.into());
            data.insert("plugin_error_message".into(), error.message.clone().into());
            data.insert("plugin_error_details".into(), error.details.clone());
            data.insert("exit_code".into(), (*exit_code).into());
            (
                code::PLUGIN_FAILURE,
                format!(
                    "{who} failed: {} (code {}, exit {exit_code})",
                    error.message, error.code
                ),
            )
        }
        Failure::Signal { signal } => {
            data.insert("signal".into(), (*signal).into());
            (
                code::RESOURCE_EXHAUSTED,
                format!(
                    "{who} was killed by signal {signal} (out of memory, or killed on the host)"
                ),
            )
        }
        Failure::Timeout { timeout_ms, killed } => {
            data.insert("timeout_ms".into(), (*timeout_ms).into());
            let secs = *timeout_ms as f64 / 1000.0;
            // SSM can only be asked to stop a command; saying it was killed would be a lie.
            let end = if scope.transport == Some("ssm") {
                data.insert("killed".into(), "CancelCommand sent, not guaranteed".into());
                SSM_STOP
            } else {
                if *killed {
                    data.insert("killed".into(), "process group".into());
                }
                "its process group was killed"
            };
            (
                code::TIMEOUT,
                format!("{who} did not finish within {secs}s; {end}"),
            )
        }
        Failure::Cancelled { started } => {
            let how = match (*started, scope.transport == Some("ssm")) {
                (false, _) => "was cancelled before it started".to_owned(),
                (true, true) => format!("was cancelled; {SSM_STOP}"),
                (true, false) => "was cancelled; its process group was killed".to_owned(),
            };
            (CANCELLED, format!("{who} {how}"))
        }
        Failure::Skipped { reason } => (code::POLICY, format!("{who} was not started: {reason}")),
        Failure::Transport(error) => transport_code(error, &mut data),
        Failure::Refused(refusal) => (refusal_code(refusal), refusal.to_string()),
        Failure::Journal(reason) => (
            code::DATABASE,
            format!("the journal cannot record, so nothing runs: {reason}"),
        ),
        Failure::JournalLost(reason) => (
            code::DATABASE,
            format!(
                "the journal stopped recording during the run, so no further target was started \
                 (what ran before is recorded): {reason}"
            ),
        ),
    };
    (code, reason, data)
}

fn transport_code(error: &TransportError, data: &mut Map<String, Value>) -> (i64, String) {
    let code = match error {
        TransportError::Unavailable(_) | TransportError::Spawn(_) => code::CONFIGURATION,
        TransportError::Io(_) => code::RESOURCE_EXHAUSTED,
        TransportError::Connect { .. } => code::NETWORK,
        TransportError::Auth { tried, .. } => {
            data.insert("methods_tried".into(), tried.clone().into());
            code::AUTHENTICATION
        }
        TransportError::HostKey { fingerprint, .. } => {
            data.insert("fingerprint".into(), fingerprint.clone().into());
            code::HOST_KEY
        }
        TransportError::ChecksumMismatch { .. } => code::BUNDLE_CHECKSUM_MISMATCH,
        TransportError::Lost { stdout, .. } => {
            let partial =
                crate::protocol::sanitize::sanitize_bytes(&stdout[..stdout.len().min(EXCERPT)]);
            data.insert("partial_stdout".into(), partial.into());
            code::NETWORK
        }
        TransportError::Throttled { .. } => code::RATE_LIMITED,
        TransportError::Denied { .. } => code::AUTHORIZATION,
        TransportError::CredentialsExpired { .. } => code::CREDENTIALS_EXPIRED,
        TransportError::UnknownTarget { .. } => code::UNKNOWN_ACTION_OR_TARGET,
        TransportError::Config { .. } => code::CONFIGURATION,
        TransportError::RemoteTimeout { .. } => code::TIMEOUT,
        // The mediator reports these as skipped (`Failure::Skipped`); the
        // same code keeps any other path to here consistent.
        TransportError::NotStarted { .. } => code::POLICY,
        TransportError::Truncated { stdout, .. } => {
            // The partial output is evidence: keep it, bounded like any excerpt.
            let partial =
                crate::protocol::sanitize::sanitize_bytes(&stdout[..stdout.len().min(EXCERPT)]);
            data.insert("partial_stdout".into(), partial.into());
            data.insert("partial_stdout_bytes".into(), stdout.len().into());
            code::MESSAGE_TOO_LARGE
        }
    };
    (code, error.to_string())
}

fn refusal_code(refusal: &Refusal) -> i64 {
    match refusal {
        Refusal::UnknownAction(_)
        | Refusal::Targets(
            SelectError::Unknown(_) | SelectError::NoneMatch(_) | SelectError::NoneSelected,
        ) => code::UNKNOWN_ACTION_OR_TARGET,
        Refusal::Targets(SelectError::BadPattern(..) | SelectError::BadTag(_))
        | Refusal::BadOption(_) => code::SCHEMA_VALIDATION,
        Refusal::Param(ParamError::Missing { .. }) => code::REQUIRED_FIELD_MISSING,
        Refusal::Param(_) => code::SCHEMA_VALIDATION,
        Refusal::TransportNotAllowed { .. }
        | Refusal::SecretInCommandText { .. }
        | Refusal::NeedsConfirmation { .. }
        | Refusal::NeedsAcknowledgement { .. } => code::POLICY,
    }
}

/// What a timeout or cancel over SSM did: RUNE can only ask the agent to stop.
const SSM_STOP: &str =
    "RUNE sent CancelCommand, but SSM does not guarantee that the process stopped";

/// Bytes of stdout kept in an error as evidence.
pub const EXCERPT: usize = 1024;

/// The JSON-RPC `message`: a short title per code.
pub fn title(code: i64) -> &'static str {
    match code {
        code::PARSE_ERROR => "Parse error",
        code::PLUGIN_FAILURE => "Plugin reported failure",
        CANCELLED => "Cancelled by operator",
        code::UNKNOWN_ACTION_OR_TARGET => "Unknown action or target",
        code::MESSAGE_TOO_LARGE => "Message too large",
        code::RATE_LIMITED => "Rate limited",
        code::VERSION_MISMATCH => "Protocol version mismatch",
        code::SCHEMA_VALIDATION => "Schema validation failed",
        code::REQUIRED_FIELD_MISSING => "Required field missing",
        code::BUNDLE_CHECKSUM_MISMATCH => "Bundle checksum mismatch",
        code::AUTHENTICATION => "Authentication failed",
        code::AUTHORIZATION => "Authorization failed",
        code::HOST_KEY => "Host key verification failed",
        code::CREDENTIALS_EXPIRED => "Credentials expired",
        code::RESOURCE_EXHAUSTED => "Resource exhausted",
        code::TIMEOUT => "Timeout exceeded",
        code::SERVICE_UNAVAILABLE => "Service unavailable",
        code::CONFIGURATION => "Configuration error",
        code::DATABASE => "Database error",
        code::NETWORK => "Network error",
        code::POLICY => "Operation not permitted by policy",
        _ => "Error",
    }
}

/// Recoverable, retry, escalate, impact and advice for a failure.
fn advice(
    code: i64,
    failure: &Failure,
) -> (bool, bool, bool, SystemImpact, HealthImpact, Vec<String>) {
    let s = |items: &[&str]| items.iter().map(|i| (*i).to_owned()).collect::<Vec<_>>();
    match (code, failure) {
        (code::TIMEOUT, _) => (
            true,
            true,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&["retry with a longer --timeout", "check the host's load"]),
        ),
        (CANCELLED, _) => (
            true,
            true,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&["re-run when ready"]),
        ),
        (code::PLUGIN_FAILURE, _) => (
            true,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&[
                "read the plugin's message and stderr",
                "fix the cause on the host, then re-run",
            ]),
        ),
        (code::NETWORK | code::SERVICE_UNAVAILABLE | code::RATE_LIMITED, _) => (
            true,
            true,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::Degraded,
            s(&["check that the host is up and reachable", "retry"]),
        ),
        (code::HOST_KEY, _) => (
            false,
            false,
            true,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&[
                "verify the host key out of band",
                "a changed key may mean the host was replaced or attacked",
            ]),
        ),
        (code::AUTHENTICATION | code::AUTHORIZATION | code::CREDENTIALS_EXPIRED, _) => (
            true,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&[
                "check the user, keys and agent for this target",
                "for SSM targets: the AWS profile, role and its ssm:* permissions",
            ]),
        ),
        (code::MESSAGE_TOO_LARGE, Failure::Transport(TransportError::Truncated { .. })) => (
            true,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&[
                "set --ssm-output-bucket: the SSM agent then also writes the full output to S3",
                "or run the action over ssh, which has no such cap",
            ]),
        ),
        (code::UNKNOWN_ACTION_OR_TARGET, Failure::Transport(_)) => (
            true,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&[
                "check the instance id and region in the inventory",
                "check that the instance's SSM agent is online (rune targets discover --ssm)",
            ]),
        ),
        (code::DATABASE, _) => (
            false,
            false,
            true,
            SystemImpact::Module,
            HealthImpact::Critical,
            s(&["check the journal file's disk, permissions and locks"]),
        ),
        (code::CONFIGURATION, _) => (
            true,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::Degraded,
            s(&["check the catalog, inventory and transport configuration"]),
        ),
        (code::RESOURCE_EXHAUSTED, _) => (
            true,
            true,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::Degraded,
            s(&["check memory and disk on the host"]),
        ),
        (_, Failure::Refused(_)) => (
            true,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&["correct the request and send it again"]),
        ),
        (_, Failure::Skipped { .. }) => (
            true,
            true,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::None,
            s(&["fix the failed targets, then re-run on the skipped ones"]),
        ),
        _ => (
            false,
            false,
            false,
            SystemImpact::SingleRequest,
            HealthImpact::Degraded,
            s(&["the plugin broke the output contract: report it to the action's owner"]),
        ),
    }
}

fn build(
    code: i64,
    reason: &str,
    mut data: Map<String, Value>,
    failure: &Failure,
    scope: &Scope<'_>,
) -> EpsError {
    let now = ids::now();
    data.insert("reason".into(), reason.into());
    data.insert("timestamp".into(), now.clone().into());
    for (key, value) in [
        ("action", scope.action),
        ("target", scope.target),
        ("node", scope.target),
    ] {
        if let Some(v) = value {
            data.entry(key).or_insert_with(|| v.into());
        }
    }
    let error_data = ErrorData {
        jsonrpc: "2.0".into(),
        error: RpcError {
            code,
            message: title(code).into(),
            data,
        },
        id: scope.parent_id.or(scope.request_id).map(str::to_owned),
    };
    let (classification, severity) = classify(code);
    let (recoverable, retry, escalate, impact, health, actions) = advice(code, failure);
    let size = serde_json::to_vec(&error_data)
        .map(|v| v.len() as u64)
        .unwrap_or(0);
    let fingerprint_input = format!(
        "{code}|{}|{}",
        scope.action.unwrap_or(""),
        scope.target.unwrap_or("")
    );
    let mut routing_tags = Vec::new();
    for (prefix, value) in [
        ("action", scope.action),
        ("target", scope.target),
        ("transport", scope.transport),
    ] {
        if let Some(v) = value {
            routing_tags.push(format!("{prefix}:{v}"));
        }
    }
    let source_module = if matches!(failure, Failure::Refused(_)) {
        "LOM"
    } else {
        "LMM"
    };
    EpsError {
        message_metadata: ErrorMetadata {
            version: "1.0".into(),
            message_id: ids::message_id(),
            correlation_id: scope.request_id.unwrap_or("unknown").into(),
            parent_message_id: scope.parent_id.map(str::to_owned),
            created_at: now,
            priority: severity,
        },
        routing: ErrorRouting {
            event_type: "EPS_ERROR_RESPONSE".into(),
            event_category: "error_handling".into(),
            source_module: source_module.into(),
            original_source_module: scope.source.unwrap_or("unknown").into(),
            routing_tags,
        },
        error_payload: ErrorPayload {
            schema_version: "1.0".into(),
            content_type: "application/json".into(),
            size_bytes: size,
            error_data,
            error_context: ErrorContext {
                error_classification: classification,
                severity,
                recoverable,
                retry_recommended: retry,
                recovery_actions: actions,
                system_impact: impact,
                escalation_required: escalate,
                module_health_impact: health,
            },
        },
        observability: ErrorObservability {
            trace_id: scope.trace_id.map_or_else(ids::trace_id, str::to_owned),
            span_id: ids::span_id(),
            error_fingerprint: format!(
                "sha256:{}",
                hex::encode(Sha256::digest(fingerprint_input.as_bytes()))
            ),
        },
    }
}

#[cfg(test)]
mod tests;
