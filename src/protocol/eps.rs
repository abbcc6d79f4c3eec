//! EPS: the normalized platform error. Its `error_data` is a whole JSON-RPC
//! 2.0 error response; the code's range gives classification and severity.
//! Which failure gets which code is decided in `mediator::eps`, not here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// EPS error codes, as the design lists them.
pub mod code {
    /// Parse error: not JSON, not UTF-8, empty, or more than one value.
    pub const PARSE_ERROR: i64 = -32700;
    /// A plugin reported failure in a valid error envelope.
    pub const PLUGIN_FAILURE: i64 = -32010;
    /// Unknown action or target.
    pub const UNKNOWN_ACTION_OR_TARGET: i64 = -32100;
    /// Message too large (stdout over the cap, truncated SSM output).
    pub const MESSAGE_TOO_LARGE: i64 = -32103;
    /// Rate limited.
    pub const RATE_LIMITED: i64 = -32104;
    /// Protocol version mismatch.
    pub const VERSION_MISMATCH: i64 = -32105;
    /// Schema validation.
    pub const SCHEMA_VALIDATION: i64 = -32200;
    /// Required field missing.
    pub const REQUIRED_FIELD_MISSING: i64 = -32201;
    /// Bundle checksum mismatch on the target.
    pub const BUNDLE_CHECKSUM_MISMATCH: i64 = -32205;
    /// Authentication.
    pub const AUTHENTICATION: i64 = -32300;
    /// Authorization.
    pub const AUTHORIZATION: i64 = -32301;
    /// Host-key verification.
    pub const HOST_KEY: i64 = -32302;
    /// Credentials expired.
    pub const CREDENTIALS_EXPIRED: i64 = -32305;
    /// Resource exhausted.
    pub const RESOURCE_EXHAUSTED: i64 = -32400;
    /// Timeout.
    pub const TIMEOUT: i64 = -32401;
    /// Service unavailable.
    pub const SERVICE_UNAVAILABLE: i64 = -32402;
    /// Configuration.
    pub const CONFIGURATION: i64 = -32403;
    /// Database (the journal).
    pub const DATABASE: i64 = -32404;
    /// Network.
    pub const NETWORK: i64 = -32405;
    /// Operation not permitted by policy.
    pub const POLICY: i64 = -32504;
}

/// `priority` and `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

/// `error_classification`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    ValidationError,
    CommunicationError,
    SecurityError,
    SystemError,
    BusinessError,
    ProtocolError,
}

/// `system_impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemImpact {
    SingleRequest,
    Module,
    MultipleModules,
    SystemWide,
}

/// `module_health_impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthImpact {
    None,
    Degraded,
    Critical,
    Failed,
}

/// The classification and severity a code's range gives: -32000s protocol
/// (medium), -32100s communication (high), -32200s validation (medium),
/// -32300s security (high), -32400s system (critical), -32500s business
/// (medium). -32700 is JSON-RPC's parse error: protocol.
pub fn classify(code: i64) -> (Classification, Severity) {
    match code {
        -32199..=-32100 => (Classification::CommunicationError, Severity::High),
        -32299..=-32200 => (Classification::ValidationError, Severity::Medium),
        -32399..=-32300 => (Classification::SecurityError, Severity::High),
        -32499..=-32400 => (Classification::SystemError, Severity::Critical),
        -32599..=-32500 => (Classification::BusinessError, Severity::Medium),
        _ => (Classification::ProtocolError, Severity::Medium),
    }
}

/// `message_metadata` of an EPS envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMetadata {
    pub version: String,
    pub message_id: String,
    /// `correlation_id`: the request's id, or "unknown".
    pub correlation_id: String,
    /// `parent_message_id`: the BPCS input or RCS request that failed.
    pub parent_message_id: Option<String>,
    pub created_at: String,
    pub priority: Severity,
}

/// `routing` of an EPS envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRouting {
    /// "EPS_ERROR_RESPONSE".
    pub event_type: String,
    /// "error_handling".
    pub event_category: String,
    /// The module that produced the error: "LMM" or "LOM".
    pub source_module: String,
    /// "console", "cli" or "unknown".
    pub original_source_module: String,
    pub routing_tags: Vec<String>,
}

/// `error_data.error`: the JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    /// Always holds `reason` and `timestamp`, plus what the failure adds.
    pub data: Map<String, Value>,
}

/// `error_data`: a whole JSON-RPC 2.0 error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    /// "2.0".
    pub jsonrpc: String,
    pub error: RpcError,
    /// The failed request's `message_id`.
    pub id: Option<String>,
}

/// `error_context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorContext {
    pub error_classification: Classification,
    pub severity: Severity,
    pub recoverable: bool,
    pub retry_recommended: bool,
    pub recovery_actions: Vec<String>,
    pub system_impact: SystemImpact,
    pub escalation_required: bool,
    pub module_health_impact: HealthImpact,
}

/// `error_payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorPayload {
    /// "1.0".
    pub schema_version: String,
    /// "application/json".
    pub content_type: String,
    /// Length of the serialized `error_data`.
    pub size_bytes: u64,
    pub error_data: ErrorData,
    pub error_context: ErrorContext,
}

/// `observability` of an EPS envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObservability {
    /// The request's trace id, kept.
    pub trace_id: String,
    /// A new span id.
    pub span_id: String,
    /// `sha256:` + hex of code, action and target: stable for grouping.
    pub error_fingerprint: String,
}

/// The EPS envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpsError {
    pub message_metadata: ErrorMetadata,
    pub routing: ErrorRouting,
    pub error_payload: ErrorPayload,
    pub observability: ErrorObservability,
}

impl EpsError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        self.error_payload.error_data.error.code
    }

    /// The plain reason (`error_data.error.data.reason`).
    pub fn reason(&self) -> &str {
        self.error_payload
            .error_data
            .error
            .data
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../tests/fixtures/envelopes/eps-timeout.json");

    #[test]
    fn the_worked_timeout_example_parses() {
        let eps: EpsError = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(eps.code(), code::TIMEOUT);
        assert_eq!(eps.message_metadata.priority, Severity::Critical);
        assert_eq!(
            eps.error_payload.error_context.error_classification,
            Classification::SystemError
        );
        let again = serde_json::to_value(&eps).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(EXAMPLE).unwrap());
    }

    #[test]
    fn ranges_give_classification_and_severity() {
        use Classification as C;
        use Severity as S;
        let cases = [
            (code::PARSE_ERROR, C::ProtocolError, S::Medium),
            (code::PLUGIN_FAILURE, C::ProtocolError, S::Medium),
            (
                code::UNKNOWN_ACTION_OR_TARGET,
                C::CommunicationError,
                S::High,
            ),
            (code::SCHEMA_VALIDATION, C::ValidationError, S::Medium),
            (code::HOST_KEY, C::SecurityError, S::High),
            (code::TIMEOUT, C::SystemError, S::Critical),
            (code::POLICY, C::BusinessError, S::Medium),
        ];
        for (code, class, severity) in cases {
            assert_eq!(classify(code), (class, severity), "code {code}");
        }
    }
}
