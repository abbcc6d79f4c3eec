//! Time-ordered message ids (UUIDv7), W3C trace-context ids and the UTC
//! timestamps every envelope carries.

use std::time::SystemTime;

use uuid::Uuid;

/// A new message id: a UUIDv7, so ids sort by creation time.
pub fn message_id() -> String {
    Uuid::now_v7().to_string()
}

/// A W3C trace-context `trace-id`: 32 lower-case hex digits, never all zero.
pub fn trace_id() -> String {
    nonzero_hex(Uuid::new_v4().as_bytes())
}

/// A W3C trace-context `parent-id` (span id): 16 lower-case hex digits, never all zero.
pub fn span_id() -> String {
    nonzero_hex(&Uuid::new_v4().as_bytes()[..8])
}

fn nonzero_hex(bytes: &[u8]) -> String {
    let text = hex::encode(bytes);
    // v4 UUIDs carry fixed version bits, so all-zero cannot happen; the check
    // keeps the W3C rule explicit should the source of randomness change.
    if text.bytes().all(|b| b == b'0') {
        return format!("{}1", &text[..text.len() - 1]);
    }
    text
}

/// UTC RFC 3339 with milliseconds and `Z`, e.g. `2026-11-24T03:12:45.118Z`.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The current time as [`timestamp`] formats it.
pub fn now() -> String {
    timestamp(SystemTime::now())
}

/// True when `s` is a UUID in its hyphenated form (any version).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && Uuid::parse_str(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_v7_and_time_ordered() {
        let a = message_id();
        let b = message_id();
        assert!(is_uuid(&a));
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn trace_and_span_ids_have_w3c_shape() {
        let t = trace_id();
        let s = span_id();
        assert_eq!(t.len(), 32);
        assert_eq!(s.len(), 16);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(s.bytes().any(|b| b != b'0'));
    }

    #[test]
    fn timestamps_are_utc_millis_z() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_365_118);
        assert_eq!(timestamp(at), "2026-11-18T11:12:45.118Z");
    }
}
