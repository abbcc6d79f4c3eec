//! The journal's canonical event encoding on arbitrary JSON bodies.
//! Property: decoding the canonical JSON of a body and encoding it again
//! gives the same bytes, so an event's hash is stable across encode → decode
//! → encode (what `rune journal verify` and export digests rely on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rune::journal::{EventBytes, GENESIS, canonical};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let body = canonical(&value);
    let decoded: Value = serde_json::from_str(&body).expect("canonical JSON parses");
    let again = canonical(&decoded);
    assert_eq!(again, body, "canonical form changed across decode");
    let seq = i64::try_from(data.len()).unwrap_or(i64::MAX);
    assert_eq!(
        event(seq, &again).hash(&GENESIS),
        event(seq, &body).hash(&GENESIS)
    );
    assert_eq!(event(seq, &again).encode(), event(seq, &body).encode());
});

fn event(seq: i64, body: &str) -> EventBytes<'_> {
    EventBytes {
        seq,
        at: "2026-11-24T03:12:45.118Z",
        incident_id: "inc",
        request_id: Some("req"),
        execution_id: None,
        kind: "result",
        body,
    }
}
