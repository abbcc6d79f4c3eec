//! Coalesces executions of one request on different instances into a
//! single SendCommand: the same bundle, parameters and timeout in the same
//! region, arriving within a short window, go out together (at most 50
//! instance ids and a size budget per call). A fan-out then costs one call
//! and one copy of the bundle, not one per target; each instance still
//! gets its own envelope. The request's `--concurrency` and `--max-errors`
//! become the command's MaxConcurrency and MaxErrors, so AWS paces the
//! fan-out. Starts the command's poll loop; never reads output.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ssm::Client;
use tokio::sync::{mpsc, oneshot};

use super::errors::{About, Verdict, judge};
use super::script::{self, Common};
use super::watch::{self, SEEN_QUEUE, Seen, Watch};
use crate::transport::{Fanout, Program, TransportError};

/// SendCommand takes at most this many instance ids.
pub(super) const MAX_INSTANCES: usize = 50;

/// Command text a batch may grow to before it is sent. SSM refuses
/// documents past its size limit (MaxDocumentSizeExceeded); this keeps a
/// batch well inside it. A single execution is always sent, whatever its size.
const BUDGET: usize = 48 * 1024;

/// What must be equal for executions to share one command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub region: String,
    /// The bundle's SHA-256, entry and workdir, or the installed path.
    pub plugin: String,
    pub env: Vec<(String, String)>,
    pub timeout_secs: u64,
    /// Only executions of one request share a command: its MaxErrors must
    /// count that request's failures alone.
    pub fanout: Fanout,
}

/// How a batch is sent; equal for every member of one key.
#[derive(Clone)]
pub(super) struct Spec {
    pub client: Client,
    pub region: String,
    /// `executionTimeout`: the agent stops the script after this many seconds.
    pub execution_timeout: u64,
    /// The action's timeout, which the delivery timeout is made from.
    pub timeout_secs: u64,
    pub fanout: Fanout,
    pub output_bucket: Option<String>,
    pub output_prefix: Option<String>,
    pub poll_initial: Duration,
    pub poll_max: Duration,
}

/// Once SendCommand accepted it: the command id, the nonce of its status
/// lines, and where the command's poll loop reports this instance.
pub(super) type Sent = Result<(String, Arc<Common>, mpsc::Receiver<Seen>), TransportError>;

/// SendCommand's delivery `TimeoutSeconds` may not be lower than this …
const MIN_DELIVERY_TIMEOUT: u64 = 30;
/// … nor higher than this (30 days).
const MAX_DELIVERY_TIMEOUT: u64 = 2_592_000;

/// The share of `--concurrency` one command of `members` instances gets:
/// a request's commands together run at most `--concurrency` instances at
/// once (each command at least one).
pub(super) fn max_concurrency(fanout: &Fanout, members: usize) -> usize {
    let all = fanout.executions.max(members).max(1);
    (fanout.concurrency.max(1) * members / all).clamp(1, members.max(1))
}

/// `TimeoutSeconds`: long enough for every wave MaxConcurrency makes to
/// get its turn, so pacing alone never makes an instance DeliveryTimedOut.
pub(super) fn delivery_timeout(timeout_secs: u64, members: usize, concurrency: usize) -> i32 {
    let waves = members.div_ceil(concurrency.max(1)) as u64;
    let secs = timeout_secs
        .saturating_mul(waves)
        .clamp(MIN_DELIVERY_TIMEOUT, MAX_DELIVERY_TIMEOUT);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// One execution waiting for its command.
pub(super) struct Member {
    pub target: String,
    pub instance: String,
    pub envelope: Vec<u8>,
    pub reply: oneshot::Sender<Sent>,
}

struct Batch {
    id: u64,
    spec: Spec,
    common: Arc<Common>,
    members: Vec<(u64, Member)>,
    bytes: usize,
}

/// Open batches by key.
pub(super) struct Dispatcher {
    open: Mutex<HashMap<Key, Batch>>,
    next: AtomicU64,
    window: Duration,
}

impl Dispatcher {
    pub(super) fn new(window: Duration) -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            window,
        }
    }

    /// Queues `member` and returns its ticket. The batch goes out when its
    /// window ends, or at once when it is full.
    pub(super) fn enqueue(
        self: &Arc<Self>,
        key: Key,
        spec: Spec,
        common: impl FnOnce() -> std::io::Result<Common>,
        member: Member,
    ) -> Result<u64, TransportError> {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let size = script::member_len(&member.instance, &member.envelope);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let fits = open.get(&key).is_some_and(|b| {
            b.members.len() < MAX_INSTANCES
                && b.bytes + size <= BUDGET
                && !b.members.iter().any(|(_, m)| m.instance == member.instance)
        });
        if !fits {
            if let Some(full) = open.remove(&key) {
                spawn_send(full);
            }
            let common = Arc::new(common().map_err(|e| TransportError::Io(e.to_string()))?);
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let bytes = common.base_len();
            open.insert(
                key.clone(),
                Batch {
                    id,
                    spec,
                    common,
                    members: Vec::new(),
                    bytes,
                },
            );
            let this = Arc::clone(self);
            let timer_key = key.clone();
            tokio::spawn(async move {
                tokio::time::sleep(this.window).await;
                let mut open = this.open.lock().unwrap_or_else(|e| e.into_inner());
                if open.get(&timer_key).is_some_and(|b| b.id == id)
                    && let Some(batch) = open.remove(&timer_key)
                {
                    spawn_send(batch);
                }
            });
        }
        let Some(batch) = open.get_mut(&key) else {
            return Err(TransportError::Io("the SSM batch vanished".into()));
        };
        batch.bytes += size;
        batch.members.push((ticket, member));
        if batch.members.len() >= MAX_INSTANCES
            && let Some(full) = open.remove(&key)
        {
            spawn_send(full);
        }
        Ok(ticket)
    }

    /// Takes a member back out of a batch that has not been sent yet.
    /// False means it is already on its way.
    pub(super) fn withdraw(&self, key: &Key, ticket: u64) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let Some(batch) = open.get_mut(key) else {
            return false;
        };
        let before = batch.members.len();
        batch.members.retain(|(t, _)| *t != ticket);
        let withdrawn = batch.members.len() < before;
        if batch.members.is_empty() {
            open.remove(key);
        }
        withdrawn
    }
}

fn spawn_send(batch: Batch) {
    let members = batch.members.into_iter().map(|(_, m)| m).collect();
    tokio::spawn(send(batch.spec, batch.common, members));
}

/// Sends one command for `members` and answers each of them. When SSM
/// refuses an instance id the whole call fails without saying which one,
/// so the members are then sent one by one to find out.
async fn send(spec: Spec, common: Arc<Common>, members: Vec<Member>) {
    if members.is_empty() {
        return;
    }
    let list: Vec<(&str, &[u8])> = members
        .iter()
        .map(|m| (m.instance.as_str(), m.envelope.as_slice()))
        .collect();
    let commands = script::commands(&common, &list);
    let comment = match &common.program {
        Program::Bundle(b) => format!("RUNE bundle sha256:{}", &b.sha256[..16]),
        Program::Installed(_) => "RUNE installed plugin".to_owned(),
    };
    let concurrency = max_concurrency(&spec.fanout, members.len());
    // No --max-errors: AWS must never stop the fan-out on its own.
    let max_errors = spec
        .fanout
        .max_errors
        .map_or_else(|| "100%".to_owned(), |n| n.to_string());
    let result = spec
        .client
        .send_command()
        .document_name("AWS-RunShellScript")
        .set_instance_ids(Some(members.iter().map(|m| m.instance.clone()).collect()))
        .parameters("commands", commands)
        .parameters("executionTimeout", vec![spec.execution_timeout.to_string()])
        .timeout_seconds(delivery_timeout(
            spec.timeout_secs,
            members.len(),
            concurrency,
        ))
        .max_concurrency(concurrency.to_string())
        .max_errors(max_errors)
        .comment(comment)
        .set_output_s3_bucket_name(spec.output_bucket.clone())
        .set_output_s3_key_prefix(spec.output_prefix.clone())
        .send()
        .await;
    let error = match result {
        Ok(out) => {
            let id = out
                .command()
                .and_then(|c| c.command_id())
                .map(str::to_owned);
            let Some(id) = id else {
                for member in members {
                    let _ = member.reply.send(Err(TransportError::Config {
                        target: member.target.clone(),
                        reason: "SSM accepted SendCommand but returned no CommandId".into(),
                    }));
                }
                return;
            };
            let mut watches = Vec::with_capacity(members.len());
            for member in members {
                let (seen_tx, seen_rx) = mpsc::channel(SEEN_QUEUE);
                watches.push(Watch {
                    target: member.target.clone(),
                    instance: member.instance.clone(),
                    seen_tx,
                });
                let _ = member
                    .reply
                    .send(Ok((id.clone(), Arc::clone(&common), seen_rx)));
            }
            let command = watch::Command {
                client: spec.client.clone(),
                region: spec.region.clone(),
                command_id: id,
                poll_initial: spec.poll_initial,
                poll_max: spec.poll_max,
            };
            tokio::spawn(watch::follow(command, watches));
            return;
        }
        Err(error) => error,
    };
    fn about<'a>(m: &'a Member, region: &'a str) -> About<'a> {
        About {
            target: &m.target,
            instance: &m.instance,
            region,
            operation: "SendCommand",
        }
    }
    let split = members.len() > 1
        && matches!(
            judge(&error, about(&members[0], &spec.region)),
            Verdict::Fatal(TransportError::UnknownTarget { .. })
        );
    if split {
        let alone = members
            .into_iter()
            .map(|m| Box::pin(send(spec.clone(), Arc::clone(&common), vec![m])));
        futures::future::join_all(alone).await;
        return;
    }
    for member in members {
        let about = about(&member, &spec.region);
        let answer = judge(&error, about).into_error(about);
        let _ = member.reply.send(Err(answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fanout(concurrency: usize, executions: usize) -> Fanout {
        Fanout {
            request: "r".into(),
            concurrency,
            max_errors: None,
            executions,
        }
    }

    #[test]
    fn the_commands_of_a_request_share_its_concurrency() {
        // 120 targets at --concurrency 60: commands of 50, 50 and 20.
        let shares: Vec<usize> = [50, 50, 20]
            .iter()
            .map(|&n| max_concurrency(&fanout(60, 120), n))
            .collect();
        assert_eq!(shares, vec![25, 25, 10]);
        assert_eq!(
            max_concurrency(&fanout(16, 5), 5),
            5,
            "never above the command"
        );
        assert_eq!(max_concurrency(&fanout(2, 120), 20), 1, "never below one");
        assert_eq!(max_concurrency(&fanout(0, 0), 1), 1);
    }

    #[test]
    fn delivery_waits_for_every_wave() {
        assert_eq!(delivery_timeout(4, 3, 1), 30, "SSM's minimum");
        assert_eq!(delivery_timeout(60, 50, 10), 300, "five waves of 60 s");
        assert_eq!(delivery_timeout(u64::MAX, 50, 1), 2_592_000);
    }
}
