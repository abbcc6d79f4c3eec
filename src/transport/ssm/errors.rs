//! What a failed SSM call means: the one place that reads AWS error codes
//! and SDK failure kinds and turns them into a [`TransportError`] variant,
//! plus whether a poll may simply try again. It never picks an EPS code
//! (the mediator does) and never retries anything itself.

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::transport::TransportError;

/// Who the failed call was about, for messages that name it.
#[derive(Clone, Copy)]
pub(super) struct About<'a> {
    /// The inventory name of the target.
    pub target: &'a str,
    pub instance: &'a str,
    pub region: &'a str,
    /// The SSM operation, e.g. "SendCommand".
    pub operation: &'static str,
}

/// What one failed call means for whoever made it.
#[derive(Debug)]
pub(super) enum Verdict {
    /// `InvocationDoesNotExist`: normal right after SendCommand, before the
    /// service has recorded the invocation.
    NotYet,
    /// Throttling, a server-side hiccup or a network timeout: the SDK has
    /// already retried; a poller may wait longer and try again.
    Transient(TransportError),
    /// Trying again cannot help.
    Fatal(TransportError),
}

impl Verdict {
    /// The error to report when the caller will not try again.
    pub(super) fn into_error(self, about: About<'_>) -> TransportError {
        match self {
            Self::NotYet => TransportError::Lost {
                target: about.target.into(),
                reason: format!(
                    "SSM never listed the invocation of {} ({})",
                    about.instance, about.operation
                ),
                stdout: Vec::new(),
            },
            Self::Transient(e) | Self::Fatal(e) => e,
        }
    }
}

/// Classifies a failed call.
pub(super) fn judge<E, R>(error: &SdkError<E, R>, about: About<'_>) -> Verdict
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    let target = about.target.to_owned();
    match error {
        SdkError::ServiceError(context) => {
            let err = context.err();
            by_code(
                err.code().unwrap_or("Unknown"),
                err.message().unwrap_or(""),
                about,
            )
        }
        SdkError::TimeoutError(_) => Verdict::Transient(TransportError::Connect {
            target,
            reason: format!(
                "SSM in {} did not answer {} in time",
                about.region, about.operation
            ),
        }),
        SdkError::DispatchFailure(failure) => {
            let text = describe(error);
            // Identity resolution fails before anything is sent; the SDK
            // reports it as a dispatch failure whose text names credentials.
            let lower = text.to_ascii_lowercase();
            if lower.contains("credential") && lower.contains("expired") {
                return Verdict::Fatal(TransportError::CredentialsExpired {
                    target,
                    reason: format!("renew the AWS session (aws sso login …): {text}"),
                });
            }
            if lower.contains("credential") {
                return Verdict::Fatal(TransportError::Auth {
                    target,
                    tried: "the AWS credential chain".into(),
                    reason: format!("no usable AWS credentials: {text}"),
                });
            }
            let error = TransportError::Connect {
                target,
                reason: format!("cannot reach SSM in {}: {text}", about.region),
            };
            if failure.is_timeout() || failure.is_io() {
                Verdict::Transient(error)
            } else {
                Verdict::Fatal(error)
            }
        }
        SdkError::ResponseError(_) => Verdict::Transient(TransportError::Connect {
            target,
            reason: format!(
                "SSM's answer to {} could not be read: {}",
                about.operation,
                describe(error)
            ),
        }),
        _ => Verdict::Fatal(TransportError::Config {
            target,
            reason: format!(
                "cannot build the {} request: {}",
                about.operation,
                describe(error)
            ),
        }),
    }
}

/// An error and its sources as one line of text, for people: the SDK's
/// own detailed form appends a Debug dump that no operator should read.
pub(super) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts
        .join(": ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Classifies an AWS error code, as the service spells it.
pub(super) fn by_code(code: &str, message: &str, about: About<'_>) -> Verdict {
    let target = about.target.to_owned();
    let said = if message.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {message}")
    };
    match code {
        "InvocationDoesNotExist" => Verdict::NotYet,
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => Verdict::Transient(TransportError::Throttled {
            target,
            reason: format!("SSM throttled {} ({said})", about.operation),
        }),
        "InternalServerError" | "InternalFailure" | "ServiceUnavailable" => {
            Verdict::Transient(TransportError::Connect {
                target,
                reason: format!("SSM failed {} on its side ({said})", about.operation),
            })
        }
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            Verdict::Fatal(TransportError::Denied {
                target,
                reason: format!(
                    "the AWS identity may not call ssm:{} on {} ({said})",
                    about.operation, about.instance
                ),
            })
        }
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => {
            Verdict::Fatal(TransportError::CredentialsExpired {
                target,
                reason: format!("renew the AWS session ({said})"),
            })
        }
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => Verdict::Fatal(TransportError::Auth {
            target,
            tried: "the AWS credential chain".into(),
            reason: said,
        }),
        "InvalidInstanceId" => Verdict::Fatal(TransportError::UnknownTarget {
            target,
            reason: format!(
                "SSM in {} has no reachable managed instance {} (not registered, agent not \
                 running, or wrong region) ({said})",
                about.region, about.instance
            ),
        }),
        "MaxDocumentSizeExceeded" => Verdict::Fatal(TransportError::Config {
            target,
            reason: format!(
                "the command (bundle and envelope) is larger than SSM accepts; make the \
                 bundle smaller or install the plugin on the instances ({said})"
            ),
        }),
        _ => Verdict::Fatal(TransportError::Config {
            target,
            reason: format!("SSM refused {}: {said}", about.operation),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about() -> About<'static> {
        About {
            target: "db-1",
            instance: "i-0123456789abcdef0",
            region: "eu-west-1",
            operation: "SendCommand",
        }
    }

    #[test]
    fn codes_become_the_variants_the_mediator_maps() {
        assert!(matches!(
            by_code("InvocationDoesNotExist", "", about()),
            Verdict::NotYet
        ));
        assert!(matches!(
            by_code("ThrottlingException", "Rate exceeded", about()),
            Verdict::Transient(TransportError::Throttled { .. })
        ));
        assert!(matches!(
            by_code("AccessDeniedException", "no", about()),
            Verdict::Fatal(TransportError::Denied { .. })
        ));
        assert!(matches!(
            by_code("ExpiredTokenException", "", about()),
            Verdict::Fatal(TransportError::CredentialsExpired { .. })
        ));
        assert!(matches!(
            by_code("UnrecognizedClientException", "", about()),
            Verdict::Fatal(TransportError::Auth { .. })
        ));
        let Verdict::Fatal(TransportError::UnknownTarget { reason, .. }) = by_code(
            "InvalidInstanceId",
            "Instances not in a valid state",
            about(),
        ) else {
            panic!("InvalidInstanceId must name an unknown target");
        };
        assert!(reason.contains("i-0123456789abcdef0") && reason.contains("eu-west-1"));
    }
}
