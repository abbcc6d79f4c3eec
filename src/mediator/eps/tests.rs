use super::*;
use crate::protocol::eps::{Classification, Severity};
use serde_json::json;

fn scope() -> Scope<'static> {
    Scope {
        request_id: Some("req-1"),
        parent_id: Some("msg-1"),
        source: Some("cli"),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736"),
        action: Some("tail-logs"),
        target: Some("web-1"),
        transport: Some("ssh"),
        data: Map::new(),
    }
}

#[test]
fn a_timeout_matches_the_worked_example() {
    let eps = to_eps(
        &Failure::Timeout {
            timeout_ms: 30_000,
            killed: true,
        },
        scope(),
    );
    assert_eq!(eps.code(), code::TIMEOUT);
    assert_eq!(
        eps.error_payload.error_data.error.message,
        "Timeout exceeded"
    );
    assert_eq!(
        eps.reason(),
        "tail-logs on web-1 did not finish within 30s; its process group was killed"
    );
    assert_eq!(eps.message_metadata.priority, Severity::Critical);
    assert_eq!(eps.message_metadata.correlation_id, "req-1");
    assert_eq!(eps.error_payload.error_data.id.as_deref(), Some("msg-1"));
    assert_eq!(
        eps.observability.trace_id,
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(
        eps.routing.routing_tags,
        ["action:tail-logs", "target:web-1", "transport:ssh"]
    );
    let ctx = &eps.error_payload.error_context;
    assert_eq!(ctx.error_classification, Classification::SystemError);
    assert!(ctx.recoverable && ctx.retry_recommended);
    let data = &eps.error_payload.error_data.error.data;
    assert_eq!(data["timeout_ms"], 30_000);
    assert_eq!(data["killed"], "process group");
    let size = serde_json::to_vec(&eps.error_payload.error_data)
        .unwrap()
        .len() as u64;
    assert_eq!(eps.error_payload.size_bytes, size);
}

#[test]
fn a_plugin_failure_keeps_the_plugin_code_and_exit_status() {
    let error = PluginError {
        code: 1001,
        message: "quota exceeded".into(),
        details: json!({"quota": 5}),
    };
    let eps = to_eps(
        &Failure::PluginFailed {
            error,
            exit_code: 233,
        },
        scope(),
    );
    assert_eq!(eps.code(), code::PLUGIN_FAILURE);
    let data = &eps.error_payload.error_data.error.data;
    assert_eq!(data["plugin_error_code"], 1001);
    assert_eq!(data["plugin_error_message"], "quota exceeded");
    assert_eq!(data["exit_code"], 233);
    assert_eq!(data["node"], "web-1");
    assert_eq!(data["action"], "tail-logs");
}

#[test]
fn fingerprints_group_by_code_action_and_target() {
    let a = to_eps(
        &Failure::Timeout {
            timeout_ms: 1,
            killed: true,
        },
        scope(),
    );
    let b = to_eps(
        &Failure::Timeout {
            timeout_ms: 2,
            killed: false,
        },
        scope(),
    );
    let c = to_eps(&Failure::Cancelled { started: true }, scope());
    assert_eq!(
        a.observability.error_fingerprint,
        b.observability.error_fingerprint
    );
    assert_ne!(
        a.observability.error_fingerprint,
        c.observability.error_fingerprint
    );
    assert_ne!(a.observability.span_id, b.observability.span_id);
}

#[test]
fn refusals_come_from_the_policy_module_with_unknown_correlation() {
    let refusal = Refusal::UnknownAction("nope".into());
    let eps = to_eps(&Failure::Refused(refusal), Scope::default());
    assert_eq!(eps.code(), code::UNKNOWN_ACTION_OR_TARGET);
    assert_eq!(eps.routing.source_module, "LOM");
    assert_eq!(eps.routing.original_source_module, "unknown");
    assert_eq!(eps.message_metadata.correlation_id, "unknown");
    assert!(eps.reason().contains("unknown action `nope`"));
}

#[test]
fn transport_failures_map_to_their_codes() {
    let cases = [
        (
            TransportError::Connect {
                target: "a".into(),
                reason: "refused".into(),
            },
            code::NETWORK,
        ),
        (
            TransportError::Auth {
                target: "a".into(),
                tried: "publickey".into(),
                reason: "denied".into(),
            },
            code::AUTHENTICATION,
        ),
        (
            TransportError::HostKey {
                target: "a".into(),
                reason: "unknown".into(),
                fingerprint: "SHA256:x".into(),
            },
            code::HOST_KEY,
        ),
        (
            TransportError::ChecksumMismatch { target: "a".into() },
            code::BUNDLE_CHECKSUM_MISMATCH,
        ),
        (
            TransportError::Lost {
                target: "a".into(),
                reason: "eof".into(),
                stdout: b"{\"par".to_vec(),
            },
            code::NETWORK,
        ),
        (
            TransportError::Unavailable("ssh".into()),
            code::CONFIGURATION,
        ),
    ];
    for (error, expected) in cases {
        let eps = to_eps(&Failure::Transport(error.clone()), scope());
        assert_eq!(eps.code(), expected, "{error}");
    }
}

#[test]
fn ssm_failures_map_to_their_codes() {
    let target = || "db-1".to_owned();
    let reason = || "r".to_owned();
    let cases = [
        (
            TransportError::Throttled {
                target: target(),
                reason: reason(),
            },
            code::RATE_LIMITED,
        ),
        (
            TransportError::Denied {
                target: target(),
                reason: reason(),
            },
            code::AUTHORIZATION,
        ),
        (
            TransportError::CredentialsExpired {
                target: target(),
                reason: reason(),
            },
            code::CREDENTIALS_EXPIRED,
        ),
        (
            TransportError::UnknownTarget {
                target: target(),
                reason: reason(),
            },
            code::UNKNOWN_ACTION_OR_TARGET,
        ),
        (
            TransportError::Config {
                target: target(),
                reason: reason(),
            },
            code::CONFIGURATION,
        ),
        (
            TransportError::RemoteTimeout {
                target: target(),
                reason: reason(),
            },
            code::TIMEOUT,
        ),
    ];
    for (error, expected) in cases {
        let eps = to_eps(&Failure::Transport(error.clone()), scope());
        assert_eq!(eps.code(), expected, "{error}");
    }
}

#[test]
fn cut_output_is_too_large_and_keeps_its_start_as_evidence() {
    let error = TransportError::Truncated {
        target: "db-1".into(),
        reason: "SSM kept 24000 characters".into(),
        stdout: b"{\"payload\":".repeat(200),
    };
    let eps = to_eps(&Failure::Transport(error), scope());
    assert_eq!(eps.code(), code::MESSAGE_TOO_LARGE);
    let data = &eps.error_payload.error_data.error.data;
    assert_eq!(data["partial_stdout_bytes"], 2200);
    assert_eq!(
        data["partial_stdout"].as_str().unwrap().len(),
        EXCERPT,
        "bounded like any excerpt"
    );
    assert!(eps.reason().contains("SSM kept 24000 characters"));
}

#[test]
fn an_ssm_timeout_does_not_claim_the_process_was_killed() {
    let mut ssm = scope();
    ssm.transport = Some("ssm");
    let eps = to_eps(
        &Failure::Timeout {
            timeout_ms: 30_000,
            killed: true,
        },
        ssm.clone(),
    );
    assert_eq!(eps.code(), code::TIMEOUT);
    assert_eq!(
        eps.reason(),
        "tail-logs on web-1 did not finish within 30s; RUNE sent CancelCommand, but SSM does \
         not guarantee that the process stopped"
    );
    assert_eq!(
        eps.error_payload.error_data.error.data["killed"],
        "CancelCommand sent, not guaranteed"
    );
    let eps = to_eps(&Failure::Cancelled { started: true }, ssm);
    assert!(
        eps.reason().contains("SSM does not guarantee"),
        "{}",
        eps.reason()
    );
}

#[test]
fn a_secret_over_ssm_is_refused_by_policy() {
    let refusal = Refusal::SecretInCommandText {
        action: "rotate-key".into(),
        target: "db-1".into(),
        transport: "ssm".into(),
        params: "token".into(),
        instead: "ssh or local".into(),
    };
    let eps = to_eps(&Failure::Refused(refusal), Scope::default());
    assert_eq!(eps.code(), code::POLICY);
    assert!(
        eps.reason().contains("SSM stores the command text"),
        "{}",
        eps.reason()
    );
    assert!(eps.reason().contains("token"), "{}", eps.reason());
}
