//! May this request run? Checks the action, targets, parameters, transport
//! allow-list, options and risk confirmation, then builds the RCS request.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::plan::{Operator, Plan};
use crate::catalog::{Catalog, ParamError, Risk, coerce, complete, redact};
use crate::inventory::{Inventory, SelectError, Selector, Target, select_targets};
use crate::protocol::bpcs::VERSION;
use crate::protocol::rcs::{RequestData, RequestMetadata, RequestPayload, Routing};
use crate::protocol::{Observability, Request, ids};
use crate::transport::TransportKind;

/// The routing tag that names the request's incident.
pub(super) const INCIDENT_TAG: &str = "incident:";

/// The most targets one request may run on at once.
pub const MAX_CONCURRENCY: usize = 1024;

/// Where a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Console,
    Cli,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Cli => "cli",
        }
    }
}

/// What the operator confirmed before asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Nothing: enough for `read`, and for `change` from the CLI (headless
    /// runs are scripted; `change` is their daily work).
    None,
    /// `--yes`, or the console's confirmation screen (Enter, or the action's
    /// name typed for `high`): needed for `high`, and for `change` from the console.
    Explicit,
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Explicit => "explicit",
        }
    }
}

/// Parameters as strings from a command line, or typed from a form.
#[derive(Debug, Clone)]
pub enum ParamInput {
    Assignments(Vec<(String, String)>),
    Typed(Map<String, Value>),
}

/// One request to run an action.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub action: String,
    pub selector: Selector,
    pub params: ParamInput,
    pub source: Source,
    pub operator: Operator,
    /// The incident to record under; `None` lets the engine choose (the most
    /// recent open one, else a new one).
    pub incident: Option<String>,
    /// Overrides the manifest's timeout.
    pub timeout: Option<Duration>,
    pub concurrency: usize,
    pub max_errors: Option<usize>,
    pub confirmation: Confirmation,
    /// Set for a verify run: the request it verifies.
    pub parent_message_id: Option<String>,
}

/// Why a request may not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("unknown action `{0}`; `rune actions` lists the catalog")]
    UnknownAction(String),
    #[error(transparent)]
    Targets(#[from] SelectError),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(
        "{action} may not run over {transport} (target {target}); its manifest allows: {allowed}"
    )]
    TransportNotAllowed {
        action: String,
        target: String,
        transport: String,
        allowed: String,
    },
    /// The transport keeps the command text, and a transport without stdin
    /// carries the envelope in it: a secret would be stored and shown.
    #[error(
        "{action} may not run over {transport} (target {target}) with the secret parameter(s) {params}: \
         {service} stores the command text, which would carry the envelope and its secret, \
         and shows it to anyone allowed to list commands; run it over {instead} instead",
        service = .transport.to_uppercase()
    )]
    SecretInCommandText {
        action: String,
        target: String,
        transport: String,
        params: String,
        /// The transports that keep no command text, as "ssh or local".
        instead: String,
    },
    #[error("{action} is a high-risk action; confirm it with --yes (or in the console)")]
    NeedsConfirmation { action: String },
    #[error("{action} changes its targets; the console runs it only from its confirmation screen")]
    NeedsAcknowledgement { action: String },
    #[error("{0}")]
    BadOption(String),
}

/// Checks `request` against the catalog and inventory and plans it.
pub fn decide(
    catalog: &Catalog,
    inventory: &Inventory,
    request: RunRequest,
) -> Result<Plan, Refusal> {
    let action = catalog
        .get(&request.action)
        .ok_or_else(|| Refusal::UnknownAction(request.action.clone()))?;
    if request.concurrency == 0 || request.concurrency > MAX_CONCURRENCY {
        return Err(Refusal::BadOption(format!(
            "--concurrency must be 1..={MAX_CONCURRENCY}"
        )));
    }
    let targets = select_targets(inventory, &request.selector)?;
    if let Some(target) = targets.iter().find(|t| !action.allows(t.kind())) {
        let allowed = action
            .transports
            .iter()
            .flatten()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Refusal::TransportNotAllowed {
            action: action.name.clone(),
            target: target.name.clone(),
            transport: target.kind().as_str().into(),
            allowed,
        });
    }
    let params = match &request.params {
        ParamInput::Assignments(list) => coerce(action, list)?,
        ParamInput::Typed(map) => complete(action, map.clone())?,
    };
    secrets_stay_out_of_command_text(action, &params, &targets)?;
    confirmed(action, &request)?;
    let timeout = request.timeout.unwrap_or(action.timeout);
    let incident = request.incident.as_deref().unwrap_or(UNCHOSEN_INCIDENT);
    let rcs = build_request(action, &params, &request, incident, &targets, timeout);
    Ok(Plan::new(
        rcs,
        Arc::clone(action),
        params,
        targets,
        timeout,
        request.concurrency,
        request.max_errors,
        request.source,
        request.operator,
        request.incident.unwrap_or_else(|| UNCHOSEN_INCIDENT.into()),
        request.confirmation,
    ))
}

/// What a plan says for its incident until the engine has chosen one
/// (a dry run never chooses: it touches no journal).
pub const UNCHOSEN_INCIDENT: &str = "(chosen when recorded)";

/// The risk gate. `high` needs an explicit confirmation from either front
/// end; `change` needs one from the console, where every run passes its
/// confirmation screen, so a request that skipped it (a re-run, say) is refused.
fn confirmed(action: &crate::catalog::Action, request: &RunRequest) -> Result<(), Refusal> {
    if request.confirmation == Confirmation::Explicit {
        return Ok(());
    }
    match (action.risk, request.source) {
        (Risk::High, _) => Err(Refusal::NeedsConfirmation {
            action: action.name.clone(),
        }),
        (Risk::Change, Source::Console) => Err(Refusal::NeedsAcknowledgement {
            action: action.name.clone(),
        }),
        _ => Ok(()),
    }
}

/// A transport without stdin (SSM) carries the envelope inside the command
/// text, which its service keeps and lists (and the SSM agent writes to the
/// instance's disk). A secret that has a value in this request must
/// therefore never go over a transport that stores command text. A secret
/// parameter that is declared but not given is harmless.
fn secrets_stay_out_of_command_text(
    action: &crate::catalog::Action,
    params: &Map<String, Value>,
    targets: &[Target],
) -> Result<(), Refusal> {
    let Some(target) = targets
        .iter()
        .find(|t| t.kind().capabilities().stores_command_text)
    else {
        return Ok(());
    };
    let secrets: Vec<&str> = action
        .params
        .iter()
        .filter(|p| p.secret && params.get(&p.name).is_some_and(|v| !v.is_null()))
        .map(|p| p.name.as_str())
        .collect();
    if secrets.is_empty() {
        return Ok(());
    }
    let instead: Vec<&str> = TransportKind::ALL
        .into_iter()
        .filter(|k| !k.capabilities().stores_command_text)
        .map(TransportKind::as_str)
        .collect();
    Err(Refusal::SecretInCommandText {
        action: action.name.clone(),
        target: target.name.clone(),
        transport: target.kind().as_str().into(),
        params: secrets.join(", "),
        instead: or_list(&instead),
    })
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn build_request(
    action: &crate::catalog::Action,
    params: &Map<String, Value>,
    request: &RunRequest,
    incident: &str,
    targets: &[Target],
    timeout: Duration,
) -> Request {
    let message_id = ids::message_id();
    let mut context = Map::new();
    context.insert("triggered_by".into(), request.source.as_str().into());
    context.insert("requested_by".into(), request.operator.id().into());
    context.insert("action".into(), action.name.clone().into());
    context.insert("incident_id".into(), incident.into());
    context.insert(
        "targets".into(),
        targets
            .iter()
            .map(|t| Value::from(t.name.clone()))
            .collect(),
    );
    let mut transports: Vec<TransportKind> = Vec::new();
    for target in targets {
        if !transports.contains(&target.kind()) {
            transports.push(target.kind());
        }
    }
    let mut routing_tags = vec![
        format!("action:{}", action.name),
        format!("risk:{}", action.risk.as_str()),
        format!("{INCIDENT_TAG}{incident}"),
    ];
    routing_tags.extend(
        transports
            .iter()
            .map(|k| format!("transport:{}", k.as_str())),
    );
    Request {
        message_metadata: RequestMetadata {
            version: VERSION.into(),
            message_id: message_id.clone(),
            correlation_id: message_id,
            parent_message_id: request.parent_message_id.clone(),
            created_at: ids::now(),
        },
        routing: Routing {
            event_type: "ACTION_EXECUTE_REQUEST".into(),
            event_category: "orchestration".into(),
            source_module: request.source.as_str().into(),
            target_module: "LMM".into(),
            routing_tags,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        },
        payload: RequestPayload::new(RequestData {
            input_parameters: redact(action, params),
            context,
        }),
        observability: Observability {
            trace_id: ids::trace_id(),
            span_id: ids::span_id(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::catalog::parse_manifest;

    const MANIFEST: &str = r#"
name = "rotate"
title = "Rotate"
description = "Rotates a key"
version = "1.0.0"
owner = "sre"
risk = "change"
timeout = "30s"
installed = "/usr/bin/true"

[params.token]
type = "string"
secret = true
"#;

    fn refusal(inventory: &str, token: Option<&str>) -> Result<(), Refusal> {
        let action = parse_manifest(Path::new("rotate/action.toml"), MANIFEST).unwrap();
        let inventory = Inventory::parse(inventory, Path::new("inv.toml")).unwrap();
        let mut params = Map::new();
        if let Some(token) = token {
            params.insert("token".into(), token.into());
        }
        secrets_stay_out_of_command_text(&action, &params, &inventory.targets)
    }

    const SSM: &str = "[[targets]]\nname = \"db-1\"\ntransport = \"ssm\"\ninstance_id = \"i-1\"";

    #[test]
    fn a_secret_is_refused_over_a_transport_that_stores_command_text() {
        let error = refusal(SSM, Some("hunter2")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "rotate may not run over ssm (target db-1) with the secret parameter(s) token: \
             SSM stores the command text, which would carry the envelope and its secret, \
             and shows it to anyone allowed to list commands; run it over ssh or local instead"
        );
    }

    #[test]
    fn an_absent_secret_or_a_transport_with_stdin_is_fine() {
        assert_eq!(refusal(SSM, None), Ok(()));
        let ssh = "[[targets]]\nname = \"w\"\ntransport = \"ssh\"";
        assert_eq!(refusal(ssh, Some("hunter2")), Ok(()));
    }

    #[test]
    fn alternatives_read_as_a_list() {
        assert_eq!(or_list(&[]), "");
        assert_eq!(or_list(&["ssh"]), "ssh");
        assert_eq!(or_list(&["ssh", "local"]), "ssh or local");
        assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
    }
}
