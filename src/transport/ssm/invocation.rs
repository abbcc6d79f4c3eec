//! One execution's life after its command is sent: poll GetCommandInvocation
//! with backoff, report each status change as a phase, read the output once
//! the invocation is over, and ask SSM to cancel on a timeout or cancel.
//! SSM returns output only at the end, so "streaming" here is status polling.

use std::time::{Duration, Instant};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
use aws_sdk_ssm::types::CommandInvocationStatus;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::errors::{About, Verdict, describe, judge};
use super::script::{self, Printed, TRUNCATED_SUFFIX};
use crate::transport::{Exit, Finished, Progress, TransportError};

/// GetCommandInvocation returns at most this many characters of stdout …
pub const STDOUT_CAP: usize = 24_000;
/// … and of stderr.
pub const STDERR_CAP: usize = 8_000;

/// How long an invocation may stay unlisted after SendCommand before RUNE
/// stops believing it will appear.
const NOT_YET_LIMIT: Duration = Duration::from_secs(120);
/// Polls in a row that may fail transiently (after the SDK's own retries).
const MAX_POLL_FAILURES: u32 = 5;
/// CancelCommand must answer within this, inside the mediator's kill grace.
const CANCEL_CALL: Duration = Duration::from_secs(5);

/// What one execution polls.
pub(super) struct Invocation<'a> {
    pub client: &'a Client,
    pub command_id: &'a str,
    pub about: About<'a>,
    pub nonce: &'a str,
    pub mode: &'static str,
    pub stdout_limit: u64,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    pub cancel: &'a CancellationToken,
    pub progress: &'a mpsc::Sender<Progress>,
}

impl Invocation<'_> {
    /// Polls until the invocation is over, then reads what it printed.
    pub(super) async fn follow(&self) -> Result<Finished, TransportError> {
        let mut delay = self.poll_initial;
        let mut last_phase = String::new();
        let sent = Instant::now();
        let mut failures = 0;
        let out = loop {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.cancel.cancelled() => return Ok(self.stop().await),
            }
            let call = self
                .client
                .get_command_invocation()
                .command_id(self.command_id)
                .instance_id(self.about.instance)
                .send();
            let result = tokio::select! {
                result = call => result,
                () = self.cancel.cancelled() => return Ok(self.stop().await),
            };
            let about = About {
                operation: "GetCommandInvocation",
                ..self.about
            };
            match result {
                Ok(out) => {
                    failures = 0;
                    let phase = phase(&out);
                    if phase != last_phase {
                        let _ = self.progress.send(Progress::Phase(phase.clone())).await;
                        last_phase = phase;
                    }
                    if is_over(out.status()) {
                        break out;
                    }
                    delay = (delay * 3 / 2).min(self.poll_max);
                }
                Err(error) => match judge(&error, about) {
                    Verdict::NotYet if sent.elapsed() < NOT_YET_LIMIT => {
                        delay = (delay * 3 / 2).min(self.poll_max);
                    }
                    Verdict::Transient(_) if failures < MAX_POLL_FAILURES => {
                        failures += 1;
                        delay = (delay * 2).min(self.poll_max);
                    }
                    verdict => return Err(verdict.into_error(about)),
                },
            }
        };
        self.read(&out).await
    }

    /// Asks SSM to stop this instance's invocation. SSM only forwards the
    /// request to the agent; it cannot confirm the process is gone.
    async fn stop(&self) -> Finished {
        let call = self
            .client
            .cancel_command()
            .command_id(self.command_id)
            .instance_ids(self.about.instance)
            .send();
        let (id, instance) = (self.command_id, self.about.instance);
        let note = match tokio::time::timeout(CANCEL_CALL, call).await {
            Ok(Ok(_)) => format!(
                "CancelCommand sent for SSM command {id} on {instance}; SSM does not guarantee \
                 that the process stopped"
            ),
            Ok(Err(e)) => format!(
                "CancelCommand for SSM command {id} on {instance} failed ({}); the command may \
                 still be running",
                describe(&e)
            ),
            Err(_) => format!(
                "CancelCommand for SSM command {id} on {instance} did not answer within {}s; \
                 the command may still be running",
                CANCEL_CALL.as_secs()
            ),
        };
        let _ = self.progress.send(Progress::Note(note)).await;
        Finished {
            exit: Exit::Unknown,
            stdout: Vec::new(),
            stdout_total: 0,
            killed: true,
            mode: self.mode,
        }
    }

    /// Turns a finished invocation into bytes and a status, or an error.
    async fn read(&self, out: &GetCommandInvocationOutput) -> Result<Finished, TransportError> {
        let target = self.about.target.to_owned();
        let instance = self.about.instance;
        let stderr = out.standard_error_content().unwrap_or("");
        let stderr_cut = stderr.ends_with(TRUNCATED_SUFFIX) || stderr.len() >= STDERR_CAP;
        let stderr =
            script::strip_agent_note(stderr.strip_suffix(TRUNCATED_SUFFIX).unwrap_or(stderr));
        if !stderr.is_empty() {
            let _ = self
                .progress
                .send(Progress::Stderr(stderr.as_bytes().to_vec()))
                .await;
        }
        if stderr_cut {
            let note = format!("SSM returned only the first {STDERR_CAP} characters of stderr");
            let _ = self.progress.send(Progress::Note(note)).await;
        }
        let status = out.status().map_or("", |s| s.as_str());
        let details = out.status_details().unwrap_or(status);
        let said = format!("status {status}, {details}");
        match details {
            "DeliveryTimedOut" | "Undeliverable" => {
                return Err(TransportError::Connect {
                    target,
                    reason: format!(
                        "SSM could not deliver the command to {instance} ({said}): the instance \
                         is stopped or offline, or its agent is not running"
                    ),
                });
            }
            "ExecutionTimedOut" => {
                return Err(TransportError::RemoteTimeout {
                    target,
                    reason: format!(
                        "the SSM agent stopped the command at its executionTimeout ({said})"
                    ),
                });
            }
            "InvalidPlatform" => {
                return Err(TransportError::Config {
                    target,
                    reason: format!(
                        "{instance} is not a Linux instance; AWS-RunShellScript needs one ({said})"
                    ),
                });
            }
            "AccessDenied" => {
                return Err(TransportError::Denied {
                    target,
                    reason: format!(
                        "the SSM agent on {instance} was not allowed to run it ({said})"
                    ),
                });
            }
            _ => {}
        }
        if matches!(
            out.status(),
            Some(CommandInvocationStatus::Cancelled | CommandInvocationStatus::TimedOut)
        ) || details == "Terminated"
        {
            return Err(TransportError::Lost {
                target,
                reason: format!(
                    "SSM ended the invocation on {instance} before RUNE asked it to ({said})"
                ),
                stdout: Vec::new(),
            });
        }
        let text = out.standard_output_content().unwrap_or("");
        match script::parse(text, self.nonce) {
            Printed::BadSum => Err(TransportError::ChecksumMismatch { target }),
            Printed::Failed(why) => Err(TransportError::Spawn(format!("on {target}: {why}"))),
            Printed::Silent => Err(TransportError::Spawn(format!(
                "on {target}: the SSM command printed no RUNE status line ({said}, response code \
                 {}); stderr: {}",
                out.response_code(),
                stderr.lines().next().unwrap_or("(empty)")
            ))),
            Printed::Ran {
                stdout,
                exit: Some(code),
            } => {
                let total = stdout.len() as u64;
                let mut stdout = stdout;
                stdout.truncate(usize::try_from(self.stdout_limit).unwrap_or(usize::MAX));
                Ok(Finished {
                    exit: Exit::Code(code),
                    stdout,
                    stdout_total: total,
                    killed: false,
                    mode: self.mode,
                })
            }
            Printed::Ran { stdout, exit: None } if cut(text) => {
                let mut reason = format!(
                    "GetCommandInvocation returns at most {STDOUT_CAP} characters of stdout and \
                     cut this one; the first {} bytes are kept",
                    stdout.len()
                );
                match out.standard_output_url().filter(|u| !u.is_empty()) {
                    Some(url) => reason += &format!("; the full output is at {url}"),
                    None => reason += "; set --ssm-output-bucket to keep full output in S3",
                }
                Err(TransportError::Truncated {
                    target,
                    reason,
                    stdout,
                })
            }
            Printed::Ran { stdout, exit: None } => Err(TransportError::Lost {
                target,
                reason: format!(
                    "the script on {instance} ended before the plugin's exit status was printed ({said})"
                ),
                stdout,
            }),
        }
    }
}

/// The agent cut stdout: its marker is there, or the text is at the cap.
fn cut(text: &str) -> bool {
    text.ends_with(TRUNCATED_SUFFIX) || text.len() >= STDOUT_CAP
}

fn is_over(status: Option<&CommandInvocationStatus>) -> bool {
    matches!(
        status,
        Some(
            CommandInvocationStatus::Success
                | CommandInvocationStatus::Failed
                | CommandInvocationStatus::Cancelled
                | CommandInvocationStatus::TimedOut
        )
    )
}

/// `InProgress`, or `TimedOut (DeliveryTimedOut)` when the details say more.
fn phase(out: &GetCommandInvocationOutput) -> String {
    let status = out.status().map_or("Unknown", |s| s.as_str());
    match out.status_details() {
        Some(details) if !details.is_empty() && details != status => {
            format!("{status} ({details})")
        }
        _ => status.to_owned(),
    }
}
