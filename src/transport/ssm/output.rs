//! The full output the SSM agent writes to S3 when the operator sets an
//! output bucket (`OutputS3BucketName`): GetCommandInvocation keeps only
//! 24,000 characters of stdout, the object keeps all of it. Reads one
//! object with `aws-sdk-s3` GetObject, with the same credentials, region
//! and timeouts as SSM, never more than the caller's byte budget. Knows
//! the agent's key layout; never parses what the object holds.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use super::SsmSettings;
use super::errors::describe;

/// The AWS-RunShellScript plugin's folder under each instance: the
/// agent's own naming (its step name with punctuation removed).
const PLUGIN_DIR: &str = "awsrunShellScript/0.awsrunShellScript";

/// An output bucket, reachable in one region.
pub(super) struct OutputStore {
    client: Client,
    bucket: String,
    prefix: Option<String>,
    /// A whole read, body included, ends within this.
    deadline: Duration,
}

/// What the stdout object held.
pub(super) enum Full {
    /// All of it, within the budget.
    Whole(Vec<u8>),
    /// More than the budget: its first bytes, and its size when S3 said it.
    TooLarge { head: Vec<u8>, size: Option<u64> },
}

impl OutputStore {
    /// The store for `region`, when an output bucket is configured. An
    /// output endpoint override (an S3 VPC endpoint, an emulator) is
    /// addressed path-style: `GET /bucket/key`.
    pub(super) fn new(
        base: &aws_config::SdkConfig,
        region: &str,
        settings: &SsmSettings,
    ) -> Option<Self> {
        let bucket = settings.output_bucket.clone()?;
        let mut config = aws_sdk_s3::config::Builder::from(base)
            .region(Region::new(region.to_owned()))
            .timeout_config(settings.timeouts())
            .retry_config(settings.retries());
        if let Some(endpoint) = &settings.output_endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Some(Self {
            client: Client::from_conf(config.build()),
            bucket,
            prefix: settings
                .output_prefix
                .clone()
                .map(|p| p.trim_matches('/').to_owned())
                .filter(|p| !p.is_empty()),
            deadline: settings.operation_timeout,
        })
    }

    /// The key the agent writes one instance's stdout to:
    /// `<prefix>/<CommandId>/<InstanceId>/awsrunShellScript/0.awsrunShellScript/stdout`.
    pub(super) fn stdout_key(&self, command_id: &str, instance: &str) -> String {
        let tail = format!("{command_id}/{instance}/{PLUGIN_DIR}/stdout");
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{tail}"),
            None => tail,
        }
    }

    /// `s3://bucket/key`, for messages.
    pub(super) fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Reads the stdout object, at most `budget` bytes of it. The error
    /// names the S3 failure (AccessDenied, NoSuchKey, a timeout …).
    pub(super) async fn stdout(&self, key: &str, budget: usize) -> Result<Full, String> {
        tokio::time::timeout(self.deadline, self.read(key, budget))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "S3 did not deliver it within {}s",
                    self.deadline.as_secs()
                ))
            })
    }

    async fn read(&self, key: &str, budget: usize) -> Result<Full, String> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failure(&e))?;
        let size = out.content_length().and_then(|n| u64::try_from(n).ok());
        let mut body = out.body;
        let mut head = Vec::new();
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| format!("reading the object failed: {}", describe(&e)))?
        {
            let room = budget.saturating_sub(head.len());
            if chunk.len() > room {
                // Past the budget: keep the start, leave the rest unread.
                head.extend_from_slice(&chunk[..room]);
                return Ok(Full::TooLarge { head, size });
            }
            head.extend_from_slice(&chunk);
        }
        Ok(Full::Whole(head))
    }
}

/// `AccessDenied: Access Denied`, or the SDK's account of a failure that
/// never reached S3.
fn failure<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let err = context.err();
            let code = err.code().unwrap_or("Unknown");
            match err.message() {
                Some(message) if !message.is_empty() => format!("S3 GetObject: {code}: {message}"),
                _ => format!("S3 GetObject: {code}"),
            }
        }
        other => format!("S3 GetObject failed: {}", describe(other)),
    }
}
