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
    /// The stored text, not an [`EventKind`](super::EventKind): verify must
    /// hash whatever a row holds, a kind this build does not know included.
    pub kind: &'a str,
    /// Canonical JSON of the event body.
    pub body: &'a str,
}

impl EventBytes<'_> {
    /// The canonical encoding: one field per line, the body last.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 160);
        self.feed(|part| out.extend_from_slice(part));
        out
    }

    /// SHA-256(previous ‖ encode()), fed piece by piece: verify hashes a
    /// million of these, so no buffer is built.
    pub fn hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(previous);
        self.feed(|part| hasher.update(part));
        hasher.finalize().into()
    }

    /// Passes the encoding's pieces, in order, to `sink`.
    fn feed(&self, mut sink: impl FnMut(&[u8])) {
        use std::io::Write;
        let mut digits = [0u8; 24];
        let mut free = &mut digits[..];
        // An i64 takes at most 20 bytes: the write always fits.
        let _ = write!(free, "{}", self.seq);
        let len = 24 - free.len();
        sink(&digits[..len]);
        sink(b"\n");
        for field in [
            self.at,
            self.incident_id,
            self.request_id.unwrap_or("-"),
            self.execution_id.unwrap_or("-"),
            self.kind,
        ] {
            sink(field.as_bytes());
            sink(b"\n");
        }
        sink(self.body.as_bytes());
    }
}

/// Canonical JSON: keys sorted, no insignificant whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    // Writing to a Vec cannot fail, and serde_json writes only UTF-8.
    let _ = write_canonical(value, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Streams the canonical JSON of `value` to `out` (e.g. straight into a
/// hasher): no intermediate string, no allocation per key or scalar.
pub(crate) fn write_canonical<W: std::io::Write>(
    value: &Value,
    out: &mut W,
) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Byte order of the keys, as String's Ord compares.
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
    }
}

/// An `io::Write` that feeds SHA-256, so canonical bytes are hashed as they are written.
pub(crate) struct HashWriter(pub Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of the canonical JSON of `value`, in hex.
pub(crate) fn canonical_sha256(value: &Value) -> String {
    let mut hasher = HashWriter(Sha256::new());
    // Hashing cannot fail.
    let _ = write_canonical(value, &mut hasher);
    hex::encode(hasher.0.finalize())
}

/// Parses a stored hash; a malformed one never verifies.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let mut hash = [0; 32];
    hex::decode_to_slice(text, &mut hash).ok()?;
    Some(hash)
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
    fn the_hash_is_sha256_of_previous_and_encoding() {
        let event = event(r#"{"line":"x"}"#);
        let encoded = event.encode();
        assert_eq!(
            encoded,
            b"7\n2026-11-24T03:12:45.118Z\ninc\n-\nexec\nstderr\n{\"line\":\"x\"}"
        );
        let expected: [u8; 32] = Sha256::new()
            .chain_update([1; 32])
            .chain_update(&encoded)
            .finalize()
            .into();
        assert_eq!(event.hash(&[1; 32]), expected);
        assert_eq!(parse_hash(&hex::encode(expected)), Some(expected));
        assert_eq!(parse_hash("abc"), None);
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

    /// Found by the `chain` fuzz target: a number too big for u64 is read as
    /// the nearest f64 and written shortest; serde_json's default float
    /// parser read that text back as a neighbouring f64, so the canonical bytes
    /// (and with them the event hash and an export's digits) changed on decode.
    #[test]
    fn a_huge_number_keeps_its_canonical_form_across_decode() {
        let input = b"9999999899999000000004584946418820579326\n";
        let value: Value = serde_json::from_slice(input).unwrap();
        let body = canonical(&value);
        assert_eq!(body, "9.999999899999e+39");
        let decoded: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(canonical(&decoded), body);
        assert_eq!(
            event(&canonical(&decoded)).hash(&GENESIS),
            event(&body).hash(&GENESIS)
        );
    }

    /// The fix is serde_json's `float_roundtrip` feature. The test build gets it
    /// from a dev-dependency (jsonschema) anyway, which is why no proptest here
    /// could see the bug: this checks that the shipped binary asks for it too.
    #[test]
    fn the_shipped_build_parses_floats_exactly() {
        let manifest: toml::Table = toml::from_str(include_str!("../../Cargo.toml")).unwrap();
        let features = &manifest["dependencies"]["serde_json"]["features"];
        let features: Vec<&str> = features
            .as_array()
            .unwrap()
            .iter()
            .filter_map(toml::Value::as_str)
            .collect();
        assert!(features.contains(&"float_roundtrip"), "{features:?}");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Any finite float: plugins report loads, ratios and sizes as floats.
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
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
        // Hashing the stream is hashing the string.
        #[test]
        fn streamed_hash_equals_hash_of_the_string(value in arb_json()) {
            let text = canonical(&value);
            prop_assert_eq!(canonical_sha256(&value), hex::encode(Sha256::digest(text.as_bytes())));
        }

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
