//! Coalesces executions of one command on different instances into a
//! single SendCommand: the same bundle, parameters and timeout in the same
//! region, arriving within a short window, go out together (at most 50
//! instance ids and a size budget per call). A fan-out then costs one call
//! and one copy of the bundle, not one per target; each instance still
//! gets its own envelope. Never polls, never reads output.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ssm::Client;
use tokio::sync::oneshot;

use super::errors::{About, Verdict, judge};
use super::script::{self, Common};
use crate::transport::TransportError;

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
}

/// How a batch is sent; equal for every member of one key.
#[derive(Clone)]
pub(super) struct Spec {
    pub client: Client,
    pub region: String,
    /// `executionTimeout`: the agent stops the script after this many seconds.
    pub execution_timeout: u64,
    /// `TimeoutSeconds`: how long the command may wait for its instance.
    pub delivery_timeout: i32,
    pub output_bucket: Option<String>,
    pub output_prefix: Option<String>,
}

/// The command id once SendCommand accepted it, and the nonce of its status lines.
pub(super) type Sent = Result<(String, Arc<Common>), TransportError>;

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
    let comment = match &common.plugin {
        crate::catalog::Plugin::Bundle(b) => format!("RUNE bundle sha256:{}", &b.sha256[..16]),
        crate::catalog::Plugin::Installed(_) => "RUNE installed plugin".to_owned(),
    };
    let result = spec
        .client
        .send_command()
        .document_name("AWS-RunShellScript")
        .set_instance_ids(Some(members.iter().map(|m| m.instance.clone()).collect()))
        .parameters("commands", commands)
        .parameters("executionTimeout", vec![spec.execution_timeout.to_string()])
        .timeout_seconds(spec.delivery_timeout)
        // RUNE already bounds concurrency and applies --max-errors itself.
        .max_concurrency("100%")
        .max_errors("100%")
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
            for member in members {
                let answer = match &id {
                    Some(id) => Ok((id.clone(), Arc::clone(&common))),
                    None => Err(TransportError::Config {
                        target: member.target.clone(),
                        reason: "SSM accepted SendCommand but returned no CommandId".into(),
                    }),
                };
                let _ = member.reply.send(answer);
            }
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
