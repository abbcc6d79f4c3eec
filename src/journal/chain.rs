//! The hash chain: every event's hash is SHA-256(previous hash ‖ canonical
//! event bytes). Canonical JSON sorts object keys and drops whitespace, so
//! the bytes of an event are the same however it was decoded and re-encoded.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The "previous hash" of the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// One event as the chain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBytes<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub incident_id: &'a str,
    pub request_id: Option<&'a str>,
    pub execution_id: Option<&'a str>,
    pub kind: &'a str,
    /// Canonical JSON of the event body.
    pub body: &'a str,
}

impl EventBytes<'_> {
    /// The canonical encoding: one field per line, the body last.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 160);
        for field in [
            self.seq.to_string().as_str(),
            self.at,
            self.incident_id,
            self.request_id.unwrap_or("-"),
            self.execution_id.unwrap_or("-"),
            self.kind,
        ] {
            out.extend_from_slice(field.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(self.body.as_bytes());
        out
    }

    /// SHA-256(previous ‖ encode()).
    pub fn hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(previous);
        hasher.update(self.encode());
        hasher.finalize().into()
    }
}

/// Canonical JSON: keys sorted, no insignificant whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Parses a stored hash; a malformed one never verifies.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn event(body: &str) -> EventBytes<'_> {
        EventBytes {
            seq: 7,
            at: "2026-11-24T03:12:45.118Z",
            incident_id: "inc",
            request_id: None,
            execution_id: Some("exec"),
            kind: "stderr",
            body,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"d": [3, {"z": 0, "y": "é\n"}], "c": null}});
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":null,"d":[3,{"y":"é\n","z":0}]},"b":1}"#
        );
    }

    #[test]
    fn every_field_changes_the_hash() {
        let body = r#"{"line":"x"}"#;
        let base = event(body).hash(&GENESIS);
        let mut other = event(body);
        other.seq = 8;
        assert_ne!(other.hash(&GENESIS), base);
        let mut other = event(body);
        other.execution_id = None;
        assert_ne!(other.hash(&GENESIS), base);
        assert_ne!(event(r#"{"line":"y"}"#).hash(&GENESIS), base);
        assert_ne!(event(body).hash(&[1; 32]), base);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                // Keys in random order: canonical form must not depend on it.
                prop::collection::vec(("\\PC{0,6}", inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // An event's hash survives decode and re-encode of its body.
        #[test]
        fn hash_is_stable_across_encode_and_decode(value in arb_json()) {
            let body = canonical(&value);
            let decoded: Value = serde_json::from_str(&body).unwrap();
            let again = canonical(&decoded);
            prop_assert_eq!(&again, &body);
            prop_assert_eq!(event(&again).hash(&GENESIS), event(&body).hash(&GENESIS));
        }
    }
}
