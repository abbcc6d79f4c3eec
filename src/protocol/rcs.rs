//! RCS: the request envelope RUNE builds once per execution request, before
//! any target runs. Its `message_id` becomes every BPCS input's
//! `correlation_id` and the `id` of every EPS error it causes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `message_metadata` of an RCS request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMetadata {
    /// `version`: "1.0".
    pub version: String,
    /// `message_id`: UUIDv7.
    pub message_id: String,
    /// `correlation_id`: the request correlates with itself.
    pub correlation_id: String,
    /// `parent_message_id`: the request this one follows (a verify run names its action's request).
    pub parent_message_id: Option<String>,
    /// `created_at`.
    pub created_at: String,
}

/// `routing` of an RCS request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    /// `event_type`: "ACTION_EXECUTE_REQUEST".
    pub event_type: String,
    /// `event_category`: "orchestration".
    pub event_category: String,
    /// `source_module`: "console" or "cli".
    pub source_module: String,
    /// `target_module`: "LMM".
    pub target_module: String,
    /// `routing_tags`: `action:NAME`, `risk:TIER`, `incident:ID`.
    pub routing_tags: Vec<String>,
    /// `timeout_ms`: per execution.
    pub timeout_ms: u64,
}

/// `payload.data` of an RCS request: what every target's input shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestData {
    /// `input_parameters` with secret values replaced by [`REDACTED`].
    pub input_parameters: Map<String, Value>,
    /// `context` without `node`: the request is not yet per target.
    pub context: Map<String, Value>,
}

/// `payload` of an RCS request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestPayload {
    /// `schema_version`: "bpcs_v1".
    pub schema_version: String,
    /// `content_type`: "application/json".
    pub content_type: String,
    /// `encoding`: "utf-8".
    pub encoding: String,
    /// `size_bytes`: length of the serialized `data`.
    pub size_bytes: u64,
    /// `checksum`: `sha256:` + hex of the serialized `data`.
    pub checksum: String,
    /// `data`.
    pub data: RequestData,
}

/// The RCS request envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// `message_metadata`.
    pub message_metadata: RequestMetadata,
    /// `routing`.
    pub routing: Routing,
    /// `payload`.
    pub payload: RequestPayload,
    /// `observability`.
    pub observability: super::Observability,
}

/// What a secret parameter's value becomes anywhere it could be recorded.
pub const REDACTED: &str = "[REDACTED]";

impl RequestPayload {
    /// Wraps `data`, computing `size_bytes` and `checksum` over its compact JSON.
    pub fn new(data: RequestData) -> Self {
        let bytes = serde_json::to_vec(&data).unwrap_or_default();
        Self {
            schema_version: "bpcs_v1".into(),
            content_type: "application/json".into(),
            encoding: "utf-8".into(),
            size_bytes: bytes.len() as u64,
            checksum: format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../tests/fixtures/envelopes/rcs-request.json");

    #[test]
    fn the_worked_example_parses_with_these_field_names() {
        let request: Request = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(request.routing.event_type, "ACTION_EXECUTE_REQUEST");
        assert_eq!(request.routing.timeout_ms, 30000);
        assert_eq!(request.payload.data.input_parameters["lines"], 200);
    }

    #[test]
    fn checksum_covers_the_serialized_data() {
        let mut params = Map::new();
        params.insert("unit".into(), Value::from("nginx"));
        let payload = RequestPayload::new(RequestData {
            input_parameters: params,
            context: Map::new(),
        });
        let bytes = serde_json::to_vec(&payload.data).unwrap();
        assert_eq!(payload.size_bytes, bytes.len() as u64);
        assert_eq!(
            payload.checksum,
            format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
        );
    }
}
