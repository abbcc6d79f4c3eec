//! BPCS: the envelope a plugin reads on stdin and the one it writes on stdout.
//!
//! Field names are the contract's (`message_metadata`, `payload`,
//! `input_parameters`, `context`, `observability`, `output_data`, `error`):
//! plugins written against BPCS must work unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The BPCS protocol version RUNE speaks.
pub const VERSION: &str = "1.0";

/// `message_metadata` of a BPCS envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageMetadata {
    /// `version`: always [`VERSION`] on what RUNE sends.
    pub version: String,
    /// `message_id`: a UUID (v7 from RUNE).
    pub message_id: String,
    /// `correlation_id`: the RCS request's message id, shared by every target.
    pub correlation_id: Option<String>,
    /// `created_at`: UTC RFC 3339 with milliseconds and `Z`.
    pub created_at: String,
}

/// `observability`: W3C-compatible trace and span ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observability {
    /// `trace_id`: 32 hex digits, shared by the request and all its executions.
    pub trace_id: String,
    /// `span_id`: 16 hex digits, one per execution.
    pub span_id: String,
}

/// `payload.context`: who asked for what, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// `node`: the target name.
    pub node: String,
    /// `triggered_by`: "console" or "cli".
    pub triggered_by: String,
    /// `requested_by`: the operator, `user@host`.
    pub requested_by: String,
    /// `action`: the action name.
    pub action: String,
    /// `incident_id`: the incident the execution is recorded under.
    pub incident_id: String,
    /// `transport`: "local", "ssh" or "ssm".
    pub transport: String,
}

/// `payload` of the input envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputPayload {
    /// `input_parameters`: typed JSON values, checked against the manifest.
    pub input_parameters: Map<String, Value>,
    /// `context`.
    pub context: Context,
}

/// The envelope RUNE writes to a plugin's stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BpcsInput {
    /// `message_metadata`.
    pub message_metadata: MessageMetadata,
    /// `payload`.
    pub payload: InputPayload,
    /// `observability`.
    pub observability: Observability,
}

/// `payload` of a successful output envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputPayload {
    /// `result`: "success" on success.
    pub result: String,
    /// `output_data`: the plugin's result; a missing one counts as `{}`.
    pub output_data: Value,
}

/// `error` of a failed output envelope. `code` need not equal the exit status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginError {
    /// `code`: any integer the plugin chose.
    pub code: i64,
    /// `message`.
    pub message: String,
    /// `details`: free-form; a missing one counts as `null`.
    pub details: Value,
}

/// A plugin's output envelope after validation, normalized: missing `error`
/// is null, missing `output_data` is `{}`. Extra metadata keys are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BpcsOutput {
    /// `message_metadata`, as the plugin wrote it.
    pub message_metadata: Map<String, Value>,
    /// `payload`: set on success, null on failure.
    pub payload: Option<OutputPayload>,
    /// `observability`, as the plugin wrote it (null when absent).
    pub observability: Value,
    /// `error`: set on failure, null on success.
    pub error: Option<PluginError>,
}

impl BpcsOutput {
    /// True when the plugin reported success.
    pub fn is_success(&self) -> bool {
        self.error.is_none() && self.payload.as_ref().is_some_and(|p| p.result == "success")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &str = include_str!("../../tests/fixtures/envelopes/bpcs-input.json");

    #[test]
    fn the_worked_input_example_round_trips() {
        let parsed: BpcsInput = serde_json::from_str(INPUT).unwrap();
        assert_eq!(parsed.payload.context.node, "web-1");
        assert_eq!(parsed.payload.input_parameters["lines"], 200);
        let again: Value = serde_json::to_value(&parsed).unwrap();
        let original: Value = serde_json::from_str(INPUT).unwrap();
        assert_eq!(again, original);
    }
}
