//! The AWS SSM transport on `aws-sdk-ssm`: Run Command with the
//! AWS-RunShellScript document. The command text carries the bundle and the
//! envelope (SSM has no stdin). SSM paces itself: executions of one request
//! are coalesced into SendCommands of up to 50 instances whose
//! MaxConcurrency and MaxErrors carry the request's `--concurrency` and
//! `--max-errors`, so AWS does the fan-out. One poll loop per command
//! (ListCommandInvocations) reports each instance's status changes as
//! phases; each execution reads its own output once it is over, from S3
//! when SSM cut it and an output bucket is set. Credentials and region come
//! from the standard AWS chain, loaded lazily: nothing here touches AWS
//! configuration until an SSM target runs.
//! Moves bytes and exit statuses; never parses plugin JSON, never picks EPS codes.

mod address;
mod batch;
mod discover;
mod errors;
mod invocation;
mod output;
mod script;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::Region;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use futures::future::BoxFuture;
use tokio::sync::{OnceCell, mpsc, oneshot};

pub use address::{FIELDS, SsmAddress};
pub use discover::{Instance, discover};
pub use invocation::{STDERR_CAP, STDOUT_CAP};

use super::{Address, Capabilities, Finished, Job, Program, Progress, Transport, TransportError};
use batch::{Dispatcher, Key, Member, Spec};
use errors::About;

/// Seconds the agent's `executionTimeout` allows beyond the action's
/// timeout, so RUNE's own timeout (and its CancelCommand) normally comes
/// first and the agent's deadline is the backstop if RUNE vanished.
const REMOTE_GRACE: u64 = 15;
/// The agent accepts an `executionTimeout` of at most two days.
const MAX_EXECUTION_TIMEOUT: u64 = 172_800;
/// How long a cancelled execution waits to learn the id of a command
/// already on its way, so it can cancel it.
const SEND_GRACE: Duration = Duration::from_secs(4);

/// SSM has no stdin, so the envelope rides in the command text the service
/// keeps; output is read once the command is over; a cancel is a
/// CancelCommand the agent may not honour.
pub const CAPABILITIES: Capabilities = Capabilities {
    stores_command_text: true,
    streams_stderr: false,
    kills_process_tree: false,
};

/// How RUNE reaches SSM. Everything is optional: the AWS chain fills the gaps.
#[derive(Debug, Clone)]
pub struct SsmSettings {
    /// A profile of `~/.aws/config` (`--aws-profile`); `AWS_PROFILE` otherwise.
    pub profile: Option<String>,
    /// Region for targets without their own `region` (`--aws-region`).
    pub region: Option<String>,
    /// Endpoint override (`--ssm-endpoint`, `RUNE_SSM_ENDPOINT`): a VPC
    /// endpoint, or an emulator. Plain `http://` only to loopback.
    pub endpoint: Option<String>,
    /// `OutputS3BucketName` (`--ssm-output-bucket`): the agent also writes
    /// the full output there, and RUNE reads stdout back when SSM cut it.
    pub output_bucket: Option<String>,
    /// `OutputS3KeyPrefix` (`--ssm-output-prefix`).
    pub output_prefix: Option<String>,
    /// S3 endpoint override for reading output (`--ssm-output-endpoint`):
    /// an S3 VPC endpoint, or an emulator; addressed path-style. Plain
    /// `http://` only to loopback.
    pub output_endpoint: Option<String>,
    /// TCP connect timeout of each call.
    pub connect_timeout: Duration,
    /// One HTTP attempt; a silent endpoint fails after this.
    pub attempt_timeout: Duration,
    /// One call, retries included.
    pub operation_timeout: Duration,
    /// Attempts per call (throttling and transient failures are retried).
    pub max_attempts: u32,
    /// First retry backoff; it grows exponentially with jitter.
    pub initial_backoff: Duration,
    /// First and longest wait between status polls.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// How long the first execution of a batch waits for others to join it.
    pub batch_window: Duration,
    /// An AWS configuration already loaded, used instead of reading the
    /// chain (an embedding program that has one; tests with fixed credentials).
    pub aws: Option<aws_config::SdkConfig>,
}

impl Default for SsmSettings {
    fn default() -> Self {
        Self {
            profile: None,
            region: None,
            endpoint: None,
            output_bucket: None,
            output_prefix: None,
            output_endpoint: None,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(60),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            poll_initial: Duration::from_millis(500),
            poll_max: Duration::from_secs(5),
            batch_window: Duration::from_millis(25),
            aws: None,
        }
    }
}

impl SsmSettings {
    /// Defaults plus `RUNE_SSM_ENDPOINT`, `RUNE_SSM_OUTPUT_BUCKET`,
    /// `RUNE_SSM_OUTPUT_PREFIX` and `RUNE_SSM_OUTPUT_ENDPOINT`.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            endpoint: var("RUNE_SSM_ENDPOINT"),
            output_bucket: var("RUNE_SSM_OUTPUT_BUCKET"),
            output_prefix: var("RUNE_SSM_OUTPUT_PREFIX"),
            output_endpoint: var("RUNE_SSM_OUTPUT_ENDPOINT"),
            ..Self::default()
        }
    }

    /// RUNE's timeouts for every AWS call.
    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }

    /// Standard retries with RUNE's attempts and first backoff.
    fn retries(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
    }

    /// The AWS configuration to use: the one given, or the chain read now.
    async fn load(&self) -> aws_config::SdkConfig {
        if let Some(config) = &self.aws {
            return config.clone();
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        loader.load().await
    }

    /// A client for `region` with RUNE's timeouts, retries and endpoint.
    fn client(&self, base: &aws_config::SdkConfig, region: &str) -> Client {
        let mut config = aws_sdk_ssm::config::Builder::from(base)
            .region(Region::new(region.to_owned()))
            .timeout_config(self.timeouts())
            .retry_config(self.retries());
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Client::from_conf(config.build())
    }
}

/// Refuses an endpoint override that would send signed requests, command
/// text and output in clear text over a network.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("the endpoint {url:?} must start with https://"));
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "the endpoint {url:?} is plain http to a non-loopback host; use https://"
        ))
    }
}

/// What one region needs.
#[derive(Clone)]
struct Regional {
    client: Client,
    output: Option<Arc<output::OutputStore>>,
}

/// Runs plugins through SSM Run Command.
pub struct Ssm {
    settings: SsmSettings,
    /// The AWS chain, read on first use only.
    base: OnceCell<aws_config::SdkConfig>,
    /// Per region: the SSM client and, with an output bucket, the S3 reader.
    clients: Mutex<HashMap<String, Regional>>,
    batches: Arc<Dispatcher>,
}

impl Ssm {
    /// Cheap: reads nothing until the first execution.
    pub fn new(settings: SsmSettings) -> Self {
        let batches = Arc::new(Dispatcher::new(settings.batch_window));
        Self {
            settings,
            base: OnceCell::new(),
            clients: Mutex::new(HashMap::new()),
            batches,
        }
    }

    /// The client for the target `name`'s region: its own (`region`),
    /// `--aws-region`, or the chain's.
    async fn client_for(
        &self,
        name: &str,
        region: Option<&str>,
    ) -> Result<(Regional, String), TransportError> {
        let config = |reason: String| TransportError::Config {
            target: name.to_owned(),
            reason,
        };
        if let Some(endpoint) = &self.settings.endpoint {
            check_endpoint(endpoint).map_err(&config)?;
        }
        if let Some(endpoint) = &self.settings.output_endpoint {
            check_endpoint(endpoint).map_err(&config)?;
        }
        let base = self.base.get_or_init(|| self.settings.load()).await;
        let region = region
            .map(str::to_owned)
            .or_else(|| self.settings.region.clone())
            .or_else(|| base.region().map(|r| r.to_string()))
            .ok_or_else(|| {
                config(
                    "no AWS region: set `region` on the target, --aws-region, AWS_REGION or a \
                     profile's region"
                        .into(),
                )
            })?;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let regional = clients
            .entry(region.clone())
            .or_insert_with(|| Regional {
                client: self.settings.client(base, &region),
                output: output::OutputStore::new(base, &region, &self.settings).map(Arc::new),
            })
            .clone();
        Ok((regional, region))
    }

    async fn run(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> Result<Finished, TransportError> {
        let Address::Ssm(address) = &job.address else {
            return Err(TransportError::Config {
                target: job.target.clone(),
                reason: format!("a {} target cannot run over ssm", job.address.kind()),
            });
        };
        let instance = address.instance_id.clone();
        let _ = progress.send(Progress::Phase("sending".into())).await;
        let (Regional { client, output }, region) = self
            .client_for(&job.target, address.region.as_deref())
            .await?;
        if let Some(endpoint) = &self.settings.endpoint {
            let note = format!("SSM endpoint override in use: {endpoint}");
            let _ = progress.send(Progress::Note(note)).await;
        }
        let timeout_secs = job.timeout.as_secs() + u64::from(job.timeout.subsec_nanos() > 0);
        let (plugin_id, mode) = match &job.program {
            Program::Bundle(b) => (
                format!("bundle:{}:{}:{}", b.sha256, b.entry, b.workdir),
                "bundle",
            ),
            Program::Installed(path) => (format!("installed:{path}"), "installed"),
        };
        let key = Key {
            region: region.clone(),
            plugin: plugin_id,
            env: job.env.clone(),
            timeout_secs,
            fanout: job.fanout.clone(),
        };
        let spec = Spec {
            client: client.clone(),
            region: region.clone(),
            execution_timeout: (timeout_secs + REMOTE_GRACE).clamp(1, MAX_EXECUTION_TIMEOUT),
            timeout_secs,
            fanout: job.fanout.clone(),
            output_bucket: self.settings.output_bucket.clone(),
            output_prefix: self.settings.output_prefix.clone(),
            poll_initial: self.settings.poll_initial,
            poll_max: self.settings.poll_max,
        };
        let (reply, mut answer) = oneshot::channel();
        let (program, env) = (job.program.clone(), job.env.clone());
        let ticket = self.batches.enqueue(
            key.clone(),
            spec,
            move || script::Common::new(program, env),
            Member {
                target: job.target.clone(),
                instance: instance.clone(),
                envelope: job.stdin,
                reply,
            },
        )?;
        let lost = |_| TransportError::Io("the SSM send task ended without an answer".into());
        let (command_id, common, seen_rx) = tokio::select! {
            sent = &mut answer => sent.map_err(lost)??,
            () = job.cancel.cancelled() => {
                if self.batches.withdraw(&key, ticket) {
                    return Err(TransportError::Io("cancelled before the command was sent".into()));
                }
                // Already on its way: learn its id so it can be cancelled.
                match tokio::time::timeout(SEND_GRACE, answer).await {
                    Ok(Ok(Ok(sent))) => sent,
                    _ => return Err(TransportError::Io("cancelled while the command was being sent".into())),
                }
            }
        };
        let note = format!("SSM command {command_id} on {instance} in {region}");
        let _ = progress.send(Progress::Note(note)).await;
        let invocation = invocation::Invocation {
            client: &client,
            command_id: &command_id,
            about: About {
                target: &job.target,
                instance: &instance,
                region: &region,
                operation: "GetCommandInvocation",
            },
            nonce: &common.nonce,
            mode,
            stdout_limit: job.stdout_limit,
            poll_initial: self.settings.poll_initial,
            poll_max: self.settings.poll_max,
            output: output.as_deref(),
            cancel: &job.cancel,
            progress: &progress,
        };
        invocation.follow(seen_rx).await
    }
}

impl Transport for Ssm {
    fn exec(
        &self,
        job: Job,
        progress: mpsc::Sender<Progress>,
    ) -> BoxFuture<'_, Result<Finished, TransportError>> {
        Box::pin(self.run(job, progress))
    }

    /// MaxConcurrency and MaxErrors on each SendCommand do the pacing.
    fn paces_itself(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_endpoints_are_for_loopback_only() {
        for ok in [
            "https://ssm.eu-west-1.amazonaws.com",
            "http://127.0.0.1:4566",
            "http://localhost:8080/",
            "http://[::1]:9000",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.5:80", "ftp://x", "http://example.com"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
