//! Verification: after an action succeeds, the action its manifest names in
//! `verify` runs on the same targets with the parameters it declares, under
//! the same incident, as a child of the first request.

use serde_json::Map;

use super::decide::{ParamInput, RunRequest};
use super::plan::Plan;
use crate::catalog::Catalog;
use crate::inventory::Selector;

/// The verify request for `plan` on the targets where it `succeeded`, or
/// `None` when the action names no verify action or nothing succeeded.
/// Parameters the verify action does not declare are left out (restart's
/// `wait` means nothing to service-status).
pub fn verify_request(plan: &Plan, catalog: &Catalog, succeeded: &[String]) -> Option<RunRequest> {
    let name = plan.action.verify.as_ref()?;
    let verify = catalog.get(name)?;
    if succeeded.is_empty() {
        return None;
    }
    let params: Map<String, serde_json::Value> = plan
        .params()
        .iter()
        .filter(|(k, _)| verify.param(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(RunRequest {
        action: name.clone(),
        selector: Selector {
            names: succeeded.to_vec(),
            tags: Vec::new(),
        },
        params: ParamInput::Typed(params),
        source: plan.source,
        operator: plan.operator.clone(),
        incident: Some(plan.incident_id.clone()),
        timeout: None,
        concurrency: plan.concurrency,
        max_errors: None,
        // The confirmation of the run it verifies, whose plan named this
        // verify step: no more. A verify action riskier than what the
        // operator confirmed is refused by the same gate as any run.
        confirmation: plan.confirmation,
        parent_message_id: Some(plan.request.message_metadata.message_id.clone()),
    })
}
