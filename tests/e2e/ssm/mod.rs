//! The SSM transport through the real `aws-sdk-ssm` client against an SSM
//! emulator on loopback (tests/support/ssm_emulator.py) that really runs
//! the commands: every shipped action, batching, each fault the issue
//! lists, the secret refusal, discovery and the CLI.

mod cli;
mod fanout;
mod faults;
mod output;
mod runs;
mod secrets;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use rune::catalog::Catalog;
use rune::inventory::Inventory;
use rune::mediator::{ExecEvent, Mediator, Report, TargetResult};
use rune::policy::RunRequest;
use rune::transport::Transports;
use rune::transport::ssm::SsmSettings;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{root, run_with};

pub const REGION: &str = "eu-west-1";

/// A running emulator; stops (and kills what it runs) when dropped.
pub struct Emulator {
    child: Child,
    pub port: u16,
    pub state: tempfile::TempDir,
}

impl Emulator {
    /// Starts one with `config` (see the emulator's docstring) on a free port.
    pub fn start(config: Value) -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .arg(root().join("tests/support/ssm_emulator.py"))
            .arg("--state-dir")
            .arg(state.path())
            .arg("--config")
            .arg(config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the SSM emulator");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the emulator said {line:?}"));
        Self { child, port, state }
    }

    /// `count` online instances `i-0000000000000000N`, tagged `env=prod`.
    pub fn with_instances(count: usize, faults: Value) -> Self {
        Self::start(json!({
            "region": REGION,
            "instances": instances(count),
            "faults": faults,
        }))
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every call the emulator answered, in order.
    pub fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(self.state.path().join("calls.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn calls_of(&self, operation: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c["operation"] == operation)
            .collect()
    }

    /// Every file the emulator wrote (its log and the instances' directories).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.state.path(), &mut out);
        out
    }

    /// True when any file the emulator holds contains `needle`.
    pub fn disk_contains(&self, needle: &str) -> bool {
        self.files().iter().any(|f| {
            std::fs::read(f).is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
        })
    }

    /// A plain SDK client on the emulator, for looking at its state.
    pub fn client(&self) -> aws_sdk_ssm::Client {
        let config = aws_sdk_ssm::config::Builder::from(&sdk_config())
            .endpoint_url(self.endpoint())
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }

    /// Settings for the transport: fixed test credentials, this endpoint,
    /// short polls and timeouts so every failure is quick.
    pub fn settings(&self) -> SsmSettings {
        SsmSettings {
            endpoint: Some(self.endpoint()),
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(15),
            initial_backoff: Duration::from_millis(50),
            poll_initial: Duration::from_millis(50),
            poll_max: Duration::from_millis(400),
            // Wide enough that a loaded CI machine still batches a fan-out.
            batch_window: Duration::from_millis(150),
            aws: Some(sdk_config()),
            ..SsmSettings::default()
        }
    }

    pub fn mediator(&self, settings: SsmSettings) -> Mediator {
        Mediator::new(Transports::local_only().with_ssm(settings))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Closing stdin makes it kill the commands it runs and exit.
        drop(self.child.stdin.take());
        for _ in 0..50 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configuration an operator's AWS chain would give: fixed fake keys.
pub fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDRUNETEST",
            "rune-test-secret-key",
            None,
            None,
            "rune-tests",
        )))
        .behavior_version(BehaviorVersion::latest())
        .build()
}

pub fn instance_id(n: usize) -> String {
    format!("i-{n:017}")
}

pub fn instances(count: usize) -> Value {
    (1..=count)
        .map(|n| {
            json!({
                "id": instance_id(n),
                "computer_name": format!("ip-10-0-0-{n}.internal"),
                "tags": {"env": "prod"},
            })
        })
        .collect()
}

/// An inventory of `ssm-N` targets on the emulator's instances, plus
/// `ssm-ghost`, whose instance the emulator does not know.
pub fn inventory(count: usize) -> Inventory {
    let mut text = String::new();
    for n in 1..=count {
        text += &format!(
            "[[targets]]\nname = \"ssm-{n}\"\ntransport = \"ssm\"\ninstance_id = \"{}\"\nregion = \"{REGION}\"\ntags = {{ env = \"prod\" }}\n",
            instance_id(n)
        );
    }
    text += &format!(
        "[[targets]]\nname = \"ssm-ghost\"\ntransport = \"ssm\"\ninstance_id = \"i-0badbadbadbadbad0\"\nregion = \"{REGION}\"\n"
    );
    Inventory::parse(&text, Path::new("ssm.toml")).unwrap()
}

pub async fn run_on(
    mediator: Mediator,
    catalog: &Catalog,
    inventory: &Inventory,
    request: RunRequest,
) -> (Report, Vec<ExecEvent>) {
    run_with(
        catalog,
        inventory,
        request,
        mediator,
        CancellationToken::new(),
    )
    .await
}

/// A request for `action` on the first instance, `ssm-1`.
pub fn on_first(action: &str, params: &[(&str, &str)]) -> RunRequest {
    let mut req = crate::support::request(action, params);
    req.selector.names = vec!["ssm-1".into()];
    req
}

pub fn eps_code(result: &TargetResult) -> i64 {
    result.error.as_ref().map_or(0, |e| e.code())
}

pub fn reason(result: &TargetResult) -> String {
    result
        .error
        .as_ref()
        .map_or_else(String::new, |e| e.reason().to_owned())
}

pub fn data(result: &TargetResult) -> &serde_json::Map<String, Value> {
    &result
        .error
        .as_ref()
        .unwrap()
        .error_payload
        .error_data
        .error
        .data
}

/// The phases one execution reported, in order.
pub fn phases(events: &[ExecEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Status { phase, .. } => Some(phase.clone()),
            _ => None,
        })
        .collect()
}
