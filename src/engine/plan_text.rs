//! The plan as text for people: one rendering for `rune run --dry-run` and
//! the console's confirmation and dry-run views, made from the [`Plan`]
//! that `decide` returned, so what is shown is what would run. Parameters
//! come redacted from the plan; no front end redacts on its own.

use serde_json::Value;

use crate::policy::Plan;

/// Hex digits of the bundle's SHA-256 shown in text.
const BUNDLE_SHOWN: usize = 16;

/// The plan's lines. At most `targets_shown` targets are listed, then a
/// "+N more" line: a confirmation must keep its prompt on screen.
pub fn plan_lines(plan: &Plan, targets_shown: usize) -> Vec<String> {
    let action = &plan.action;
    let mut lines = vec![
        format!(
            "action   {} {} (risk {}, bundle {})",
            action.name,
            action.version,
            action.risk.as_str(),
            // Enough to tell bundles apart by eye; JSON carries all of it.
            action
                .bundle_sha256()
                .get(..BUNDLE_SHOWN)
                .unwrap_or_default()
        ),
        format!("targets  {}", plan.targets.len()),
    ];
    for t in plan.targets.iter().take(targets_shown) {
        lines.push(format!(
            "  {} via {} ({})",
            t.name,
            t.kind().as_str(),
            t.address()
        ));
    }
    if plan.targets.len() > targets_shown {
        lines.push(format!("  +{} more", plan.targets.len() - targets_shown));
    }
    let params = plan.redacted_params();
    if !params.is_empty() {
        lines.push("parameters".into());
        for (name, value) in &params {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            lines.push(format!("  {name} = {text}"));
        }
    }
    lines.push(format!(
        "timeout {} · concurrency {} · max errors {}",
        humantime::format_duration(plan.timeout),
        plan.concurrency,
        plan.max_errors.map_or("none".into(), |n| n.to_string())
    ));
    if let Some(verify) = &action.verify {
        lines.push(format!("then verify with {verify}"));
    }
    lines
}
