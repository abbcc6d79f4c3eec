//! One execution's life after its command is sent: follow the status
//! changes the command's poll loop (`watch`) reports for this instance,
//! pass each on as a phase, read the output once with GetCommandInvocation
//! when the invocation is over, and ask SSM to cancel on a timeout or
//! cancel. SSM returns output only at the end, so "streaming" is status.

use std::time::Duration;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
use aws_sdk_ssm::types::CommandInvocationStatus;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::errors::{About, Verdict, describe, judge};
use super::output::{Full, OutputStore};
use super::script::{self, Printed, TRUNCATED_SUFFIX};
use super::watch::{Seen, is_over};
use crate::transport::{Exit, Finished, Progress, TransportError};

/// GetCommandInvocation returns at most this many characters of stdout …
pub const STDOUT_CAP: usize = 24_000;
/// … and of stderr.
pub const STDERR_CAP: usize = 8_000;

/// Reads of a finished invocation that may fail transiently or find it
/// not yet recorded (after the SDK's own retries).
const MAX_READ_FAILURES: u32 = 5;
/// CancelCommand must answer within this, inside the mediator's kill grace.
const CANCEL_CALL: Duration = Duration::from_secs(5);

/// What one execution follows.
pub(super) struct Invocation<'a> {
    pub client: &'a Client,
    pub command_id: &'a str,
    pub about: About<'a>,
    pub nonce: &'a str,
    pub mode: &'static str,
    pub stdout_limit: u64,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// Where the agent also wrote the full output, when a bucket is set.
    pub output: Option<&'a OutputStore>,
    pub cancel: &'a CancellationToken,
    pub progress: &'a mpsc::Sender<Progress>,
}

impl Invocation<'_> {
    /// Waits until the invocation is over, then reads what it printed.
    pub(super) async fn follow(
        &self,
        mut seen_rx: mpsc::Receiver<Seen>,
    ) -> Result<Finished, TransportError> {
        let mut running = false;
        let details = loop {
            let seen = tokio::select! {
                seen = seen_rx.recv() => seen,
                () = self.cancel.cancelled() => return Ok(self.stop().await),
            };
            let (status, details) = match seen {
                Some(Seen::Status { status, details }) => (status, details),
                Some(Seen::Failed(error)) => return Err(error),
                None => {
                    return Err(TransportError::Io(
                        "the SSM poll loop ended without a final status".into(),
                    ));
                }
            };
            let _ = self
                .progress
                .send(Progress::Phase(phase(status.as_str(), &details)))
                .await;
            if !running && status == CommandInvocationStatus::InProgress {
                // The mediator's timeout starts now, not while AWS queued it.
                running = true;
                let _ = self.progress.send(Progress::Running).await;
            }
            if is_over(&status) {
                break details;
            }
        };
        if details == "Terminated" {
            return Err(TransportError::NotStarted {
                target: self.about.target.to_owned(),
                reason: format!(
                    "SSM stopped command {} before it reached {}: more invocations failed than \
                     --max-errors allows (MaxErrors; status Terminated)",
                    self.command_id, self.about.instance
                ),
            });
        }
        let out = self.fetch().await?;
        self.read(&out).await
    }

    /// GetCommandInvocation once the listing says the invocation is over.
    async fn fetch(&self) -> Result<GetCommandInvocationOutput, TransportError> {
        let about = About {
            operation: "GetCommandInvocation",
            ..self.about
        };
        let mut delay = self.poll_initial;
        let mut failures = 0;
        loop {
            let call = self
                .client
                .get_command_invocation()
                .command_id(self.command_id)
                .instance_id(self.about.instance)
                .send();
            let result = tokio::select! {
                result = call => result,
                () = self.cancel.cancelled() => {
                    return Err(TransportError::Io("cancelled while reading the output".into()));
                }
            };
            match result {
                Ok(out) if is_over_opt(out.status()) => return Ok(out),
                // The listing ran ahead of the record: read again shortly.
                Ok(_) if failures < MAX_READ_FAILURES => failures += 1,
                Ok(out) => return Ok(out),
                Err(error) => match judge(&error, about) {
                    Verdict::NotYet | Verdict::Transient(_) if failures < MAX_READ_FAILURES => {
                        failures += 1;
                    }
                    verdict => return Err(verdict.into_error(about)),
                },
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.poll_max);
        }
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
                exit: Some(exit),
            } => Ok(self.finished(stdout, exit)),
            Printed::Ran { stdout, exit: None } if cut(text) => self.cut(stdout, out).await,
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

impl Invocation<'_> {
    /// A plugin that ran to its end; stdout beyond the limit is counted, not kept.
    fn finished(&self, mut stdout: Vec<u8>, exit: Exit) -> Finished {
        let total = stdout.len() as u64;
        stdout.truncate(usize::try_from(self.stdout_limit).unwrap_or(usize::MAX));
        Finished {
            exit,
            stdout,
            stdout_total: total,
            killed: false,
            mode: self.mode,
        }
    }

    /// SSM cut stdout at its cap. With an output bucket the full stdout
    /// is read from S3 instead (within the stdout limit); without one, or
    /// when S3 fails, the result is the cut output as `Truncated`.
    async fn cut(
        &self,
        inline: Vec<u8>,
        out: &GetCommandInvocationOutput,
    ) -> Result<Finished, TransportError> {
        let target = self.about.target.to_owned();
        let said = format!(
            "GetCommandInvocation returns at most {STDOUT_CAP} characters of stdout and cut this one"
        );
        let Some(store) = self.output else {
            let mut reason = format!("{said}; the first {} bytes are kept", inline.len());
            match out.standard_output_url().filter(|u| !u.is_empty()) {
                Some(url) => reason += &format!("; the full output is at {url}"),
                None => reason += "; set --ssm-output-bucket to read full output from S3",
            }
            return Err(TransportError::Truncated {
                target,
                reason,
                stdout: inline,
            });
        };
        let key = store.stdout_key(self.command_id, self.about.instance);
        let url = store.url(&key);
        let limit = usize::try_from(self.stdout_limit).unwrap_or(usize::MAX);
        // The object also holds the script's status lines around the plugin's stdout.
        let budget = limit.saturating_add(script::FRAME_BYTES);
        let (head, why) = match store.stdout(&key, budget).await {
            Ok(Full::Whole(bytes)) => {
                match script::parse(&String::from_utf8_lossy(&bytes), self.nonce) {
                    Printed::Ran {
                        stdout,
                        exit: Some(exit),
                    } => return Ok(self.finished(stdout, exit)),
                    _ => (
                        inline,
                        format!("the full stdout at {url} has no exit status line"),
                    ),
                }
            }
            Ok(Full::TooLarge { head, size }) => {
                let head = match script::parse(&String::from_utf8_lossy(&head), self.nonce) {
                    Printed::Ran { mut stdout, .. } => {
                        stdout.truncate(limit);
                        stdout
                    }
                    _ => inline,
                };
                let size = size.map_or_else(|| "more".to_owned(), |n| n.to_string());
                (
                    head,
                    format!(
                        "the full stdout at {url} is {size} bytes, past the {limit}-byte stdout cap"
                    ),
                )
            }
            Err(failure) => (
                inline,
                format!("reading the full stdout from {url} failed ({failure})"),
            ),
        };
        Err(TransportError::Truncated {
            target,
            reason: format!("{said}; {why}; the first {} bytes are kept", head.len()),
            stdout: head,
        })
    }
}

/// The agent cut stdout: its marker is there, or the text is at the cap.
fn cut(text: &str) -> bool {
    text.ends_with(TRUNCATED_SUFFIX) || text.len() >= STDOUT_CAP
}

fn is_over_opt(status: Option<&CommandInvocationStatus>) -> bool {
    status.is_some_and(is_over)
}

/// `InProgress`, or `TimedOut (DeliveryTimedOut)` when the details say more.
fn phase(status: &str, details: &str) -> String {
    if details.is_empty() || details == status {
        status.to_owned()
    } else {
        format!("{status} ({details})")
    }
}
