//! ECS conformance of the NDJSON export: every field RUNE writes outside
//! `rune.*` is in ECS's field catalogue with a value of its ECS type, and a
//! field without a value is left out, never null. The catalogue entries are
//! vendored from ECS 8.17's `generated/ecs/ecs_flat.yml` into
//! `tests/fixtures/ecs/ecs_flat.yml`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Home, export, incident};
use crate::support::root;

/// One ECS field as `ecs_flat.yml` declares it.
#[derive(Debug, Default)]
struct Field {
    kind: String,
    array: bool,
    allowed: Vec<String>,
}

/// Reads the vendored entries: the subset of YAML `ecs_flat.yml` uses for
/// them (a top-level key per field, `type`, `normalize`, `allowed_values`).
fn catalogue() -> BTreeMap<String, Field> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/ecs/ecs_flat.yml")).unwrap();
    let mut fields = BTreeMap::new();
    let mut current: Option<(String, Field)> = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(name) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
            fields.extend(current.take());
            current = Some((name.trim_matches('\'').to_owned(), Field::default()));
            continue;
        }
        let (_, field) = current.as_mut().expect("an entry before its keys");
        if let Some(kind) = line.strip_prefix("  type: ") {
            field.kind = kind.to_owned();
        } else if line == "  - array" {
            field.array = true;
        } else if let Some(value) = line.strip_prefix("  - name: ") {
            field.allowed.push(value.to_owned());
        }
    }
    fields.extend(current);
    fields
}

/// The leaves of `value` as dotted names (`event.sequence`), arrays kept whole.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (name, v) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&path, v, out);
            }
        }
        leaf => out.push((prefix.to_owned(), leaf.clone())),
    }
}

/// Whether one value is of ECS type `kind` as JSON carries it.
fn of_type(kind: &str, value: &Value) -> bool {
    match kind {
        "keyword" | "constant_keyword" | "wildcard" | "text" | "match_only_text" => {
            value.is_string()
        }
        "date" => value
            .as_str()
            .is_some_and(|s| s.len() >= 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z')),
        "long" => value.is_i64(),
        other => panic!("no check for ECS type {other}"),
    }
}

/// Every way `value` at `name` breaks `field`.
fn violations(name: &str, value: &Value, field: &Field) -> Vec<String> {
    let values: Vec<&Value> = match (value, field.array) {
        (Value::Array(items), true) => items.iter().collect(),
        (_, true) => return vec![format!("{name} is normalized to an array: {value}")],
        (Value::Array(_), false) => return vec![format!("{name} is not an array: {value}")],
        (scalar, false) => vec![scalar],
    };
    let mut found = Vec::new();
    for v in values {
        if !of_type(&field.kind, v) {
            found.push(format!("{name} is {}, not {v}", field.kind));
        }
        if !field.allowed.is_empty()
            && !v
                .as_str()
                .is_some_and(|s| field.allowed.iter().any(|a| a == s))
        {
            found.push(format!("{name}: {v} is not an allowed value"));
        }
    }
    found
}

#[test]
fn every_field_outside_rune_is_an_ecs_field_of_its_type() {
    let catalogue = catalogue();
    assert_eq!(catalogue["error.code"].kind, "keyword");
    assert!(catalogue["event.type"].array);
    let home = Home::new();
    let id = incident(&home);
    let text = export(&home, &id, "ndjson");
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let mut leaves = Vec::new();
        flatten("", &line, &mut leaves);
        for (name, value) in leaves.iter().filter(|(n, _)| !n.starts_with("rune.")) {
            seen.insert(name.clone());
            match catalogue.get(name) {
                None => problems.push(format!("{name} is not in ECS")),
                Some(_) if value.is_null() => problems.push(format!("{name} is null: {line}")),
                Some(field) => problems.extend(violations(name, value, field)),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The incident has lines with each field, and lines without the optional
    // ones (an incident note has no target, trace or error): left out.
    let all: Vec<String> = catalogue.keys().cloned().collect();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), all);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let note = lines
        .iter()
        .find(|l| l["event"]["action"] == "note")
        .unwrap();
    for absent in ["trace", "span", "host", "error"] {
        assert!(note.get(absent).is_none(), "{absent} in {note}");
    }
    let error = lines
        .iter()
        .find(|l| l["event"]["action"] == "error")
        .unwrap();
    assert_eq!(error["error"]["code"], "-32010");
}
