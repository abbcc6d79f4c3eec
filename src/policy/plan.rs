//! The plan: everything the mediator needs to run one request, and the
//! per-target BPCS envelope built from it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::decide::{Confirmation, INCIDENT_TAG, Source};
use crate::catalog::{Action, redact};
use crate::inventory::Target;
use crate::protocol::bpcs::{
    BpcsInput, Context, InputPayload, MessageMetadata, Observability, VERSION,
};
use crate::protocol::rcs::RequestPayload;
use crate::protocol::{Request, ids};

/// Who runs the request: the OS user and host, as `user@host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub user: String,
    pub host: String,
}

impl Operator {
    /// The operator of this process, from `$USER` and the kernel's node name.
    pub fn current() -> Self {
        let uid = rustix::process::getuid().as_raw();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| passwd_name(uid))
            .unwrap_or_else(|| format!("uid{uid}"));
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        Self { user, host }
    }

    pub fn id(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// The login name of `uid` from /etc/passwd, when the environment has none.
fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

/// A request that policy allowed, ready for the mediator.
pub struct Plan {
    pub request: Request,
    pub action: Arc<Action>,
    /// The real values, secrets included: only envelopes may carry them.
    params: Map<String, Value>,
    pub targets: Vec<Target>,
    pub timeout: Duration,
    pub concurrency: usize,
    /// No new target starts once more than this many have failed.
    pub max_errors: Option<usize>,
    pub source: Source,
    pub operator: Operator,
    pub incident_id: String,
    /// What the operator confirmed; a verify follow-up inherits it.
    pub confirmation: Confirmation,
}

// Written by hand so a Debug print can never show a secret value.
impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("action", &self.action.name)
            .field("params", &self.redacted_params())
            .field(
                "targets",
                &self.targets.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("max_errors", &self.max_errors)
            .finish_non_exhaustive()
    }
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        request: Request,
        action: Arc<Action>,
        params: Map<String, Value>,
        targets: Vec<Target>,
        timeout: Duration,
        concurrency: usize,
        max_errors: Option<usize>,
        source: Source,
        operator: Operator,
        incident_id: String,
        confirmation: Confirmation,
    ) -> Self {
        Self {
            request,
            action,
            params,
            targets,
            timeout,
            concurrency,
            max_errors,
            source,
            operator,
            incident_id,
            confirmation,
        }
    }

    /// Records the plan under `incident`, in the plan and in its RCS request
    /// (context, routing tag, payload checksum). The engine decides before it
    /// chooses the incident, so a refused request never opens one.
    pub fn assign_incident(&mut self, incident: &str) {
        self.incident_id = incident.to_owned();
        let mut data = self.request.payload.data.clone();
        data.context
            .insert("incident_id".into(), incident.to_owned().into());
        self.request.payload = RequestPayload::new(data);
        for tag in &mut self.request.routing.routing_tags {
            if tag.starts_with(INCIDENT_TAG) {
                *tag = format!("{INCIDENT_TAG}{incident}");
            }
        }
    }

    /// True for a verify follow-up: a child of the request it verifies.
    pub fn is_verify(&self) -> bool {
        self.request.message_metadata.parent_message_id.is_some()
    }

    /// The real parameter values, secrets included: for envelopes only.
    pub(super) fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The values of the secret parameters, as text: what the mediator masks
    /// in everything a target returns. Only the values, never their names'
    /// pairing with the other parameters, leave the plan.
    pub fn secret_values(&self) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| self.action.param(k).is_some_and(|p| p.secret))
            .map(|(_, v)| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    /// The parameters as they may be recorded or shown.
    pub fn redacted_params(&self) -> Map<String, Value> {
        redact(&self.action, &self.params)
    }

    /// The BPCS input for one target as it is recorded: secrets redacted.
    /// [`Plan::with_real_params`] makes the copy that goes on stdin.
    pub fn envelope(&self, target: &Target, message_id: &str, span_id: &str) -> BpcsInput {
        BpcsInput {
            message_metadata: MessageMetadata {
                version: VERSION.into(),
                message_id: message_id.into(),
                correlation_id: Some(self.request.message_metadata.message_id.clone()),
                created_at: ids::now(),
            },
            payload: InputPayload {
                input_parameters: self.redacted_params(),
                context: Context {
                    node: target.name.clone(),
                    triggered_by: self.source.as_str().into(),
                    requested_by: self.operator.id(),
                    action: self.action.name.clone(),
                    incident_id: self.incident_id.clone(),
                    transport: target.kind().as_str().into(),
                },
            },
            observability: Observability {
                trace_id: self.request.observability.trace_id.clone(),
                span_id: span_id.into(),
            },
        }
    }

    /// `input` (as recorded, redacted) with the real values: what goes on stdin.
    pub fn with_real_params(&self, input: &BpcsInput) -> BpcsInput {
        let mut envelope = input.clone();
        envelope.payload.input_parameters = self.params.clone();
        envelope
    }

    /// `RUNE_PARAM_<NAME>` for each non-secret parameter.
    pub fn param_env(&self) -> Vec<(String, String)> {
        self.params
            .iter()
            .filter(|(k, _)| self.action.param(k).is_some_and(|p| !p.secret))
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (format!("RUNE_PARAM_{}", k.to_ascii_uppercase()), text)
            })
            .collect()
    }
}
