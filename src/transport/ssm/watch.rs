//! One poll loop per command: ListCommandInvocations (every page) with
//! backoff, and each instance's status change handed to the execution
//! that waits for that instance. A fan-out of 50 instances then costs one
//! listing per poll, not 50 GetCommandInvocation calls. Never reads output
//! (the execution does that once its instance is over) and never cancels.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::CommandInvocationStatus;
use tokio::sync::mpsc;

use super::errors::{About, Verdict, judge};
use crate::transport::TransportError;

/// How long an instance may stay unlisted after SendCommand before RUNE
/// stops believing it will appear.
pub(super) const NOT_YET_LIMIT: Duration = Duration::from_secs(120);
/// Listings in a row that may fail transiently (after the SDK's own retries).
const MAX_POLL_FAILURES: u32 = 5;
/// ListCommandInvocations returns at most this many invocations a page.
const PAGE: i32 = 50;
/// Status changes one execution may have waiting; the terminal one is
/// always delivered (the loop waits for room), others may be dropped.
pub(super) const SEEN_QUEUE: usize = 16;

/// What the poll loop tells one execution.
#[derive(Debug)]
pub(super) enum Seen {
    /// The listing shows this status for the execution's instance.
    Status {
        status: CommandInvocationStatus,
        details: String,
    },
    /// Listing failed for good, or the instance never appeared.
    Failed(TransportError),
}

/// One execution the loop reports to.
pub(super) struct Watch {
    pub target: String,
    pub instance: String,
    pub seen_tx: mpsc::Sender<Seen>,
}

/// The command being watched, and how often to look.
pub(super) struct Command {
    pub client: Client,
    pub region: String,
    pub command_id: String,
    pub poll_initial: Duration,
    pub poll_max: Duration,
}

/// Polls until every watched instance reached a terminal status or its
/// execution stopped waiting (cancelled, timed out).
pub(super) async fn follow(command: Command, watches: Vec<Watch>) {
    let mut open: HashMap<String, (Watch, String)> = watches
        .into_iter()
        .map(|w| (w.instance.clone(), (w, String::new())))
        .collect();
    let sent = Instant::now();
    let mut delay = command.poll_initial;
    let mut failures = 0;
    while !open.is_empty() {
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(command.poll_max);
        open.retain(|_, (w, _)| !w.seen_tx.is_closed());
        let listed = match list(&command).await {
            Ok(listed) => {
                failures = 0;
                listed
            }
            Err(error) => {
                let Some((first, _)) = open.values().next() else {
                    return;
                };
                match judge(&error, about_of(&command, first)) {
                    Verdict::Transient(_) | Verdict::NotYet if failures < MAX_POLL_FAILURES => {
                        failures += 1;
                        delay = (delay * 2).min(command.poll_max);
                    }
                    _ => {
                        for (watch, _) in open.values() {
                            let error = judge(&error, about_of(&command, watch));
                            let error = error.into_error(about_of(&command, watch));
                            let _ = watch.seen_tx.send(Seen::Failed(error)).await;
                        }
                        return;
                    }
                }
                continue;
            }
        };
        for (instance, status, details) in listed {
            let Some((watch, last)) = open.get_mut(&instance) else {
                continue;
            };
            let over = is_over(&status);
            let now = format!("{}/{details}", status.as_str());
            if now != *last {
                *last = now;
                let seen = Seen::Status { status, details };
                if over {
                    let _ = watch.seen_tx.send(seen).await;
                } else {
                    // A busy execution may miss an intermediate status, never
                    // the last one, and never holds up the others.
                    let _ = watch.seen_tx.try_send(seen);
                }
            }
            if over {
                open.remove(&instance);
            }
        }
        if sent.elapsed() >= NOT_YET_LIMIT {
            // Still unlisted this long after SendCommand: it will not come.
            let lost: Vec<String> = open
                .iter()
                .filter(|(_, (_, last))| last.is_empty())
                .map(|(i, _)| i.clone())
                .collect();
            for instance in lost {
                if let Some((watch, _)) = open.remove(&instance) {
                    let about = about_of(&command, &watch);
                    let error = Verdict::NotYet.into_error(about);
                    let _ = watch.seen_tx.send(Seen::Failed(error)).await;
                }
            }
        }
    }
}

type Listed = Vec<(String, CommandInvocationStatus, String)>;

/// Every invocation of the command, all pages.
async fn list(
    command: &Command,
) -> Result<
    Listed,
    aws_sdk_ssm::error::SdkError<
        aws_sdk_ssm::operation::list_command_invocations::ListCommandInvocationsError,
        aws_sdk_ssm::config::http::HttpResponse,
    >,
> {
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = command
            .client
            .list_command_invocations()
            .command_id(&command.command_id)
            .max_results(PAGE)
            .set_next_token(token.take())
            .send()
            .await?;
        for inv in page.command_invocations() {
            if let (Some(instance), Some(status)) = (inv.instance_id(), inv.status()) {
                let details = inv.status_details().unwrap_or(status.as_str()).to_owned();
                listed.push((instance.to_owned(), status.clone(), details));
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(listed),
        }
    }
}

fn about_of<'a>(command: &'a Command, watch: &'a Watch) -> About<'a> {
    About {
        target: &watch.target,
        instance: &watch.instance,
        region: &command.region,
        operation: "ListCommandInvocations",
    }
}

/// Success, Failed, Cancelled and TimedOut end an invocation.
pub(super) fn is_over(status: &CommandInvocationStatus) -> bool {
    matches!(
        status,
        CommandInvocationStatus::Success
            | CommandInvocationStatus::Failed
            | CommandInvocationStatus::Cancelled
            | CommandInvocationStatus::TimedOut
    )
}
