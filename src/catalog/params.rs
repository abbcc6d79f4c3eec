//! Parameters: `-p key=value` strings become typed JSON values, checked
//! against the manifest; defaults fill what is missing; unknown names are
//! refused. Secret values are redacted for anything that records them.

use serde_json::{Map, Value};

use super::error::ParamError;
use super::manifest::{Action, Param, ParamType};
use crate::protocol::rcs::REDACTED;

/// Splits `key=value` assignments at the first `=`; a key given twice is refused.
pub fn parse_assignments(raw: &[String]) -> Result<Vec<(String, String)>, ParamError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(raw.len());
    for item in raw {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| ParamError::Malformed(item.clone()))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(ParamError::Malformed(item.clone()));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(ParamError::Duplicate(key.to_owned()));
        }
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// Turns string assignments into the action's typed `input_parameters`.
pub fn coerce(
    action: &Action,
    assignments: &[(String, String)],
) -> Result<Map<String, Value>, ParamError> {
    let mut given = Map::new();
    for (key, text) in assignments {
        let param = action.param(key).ok_or_else(|| ParamError::Unknown {
            name: key.clone(),
            action: action.name.clone(),
            known: known_names(action),
        })?;
        let value = parse_text(param, text)?;
        given.insert(key.clone(), value);
    }
    complete(action, given)
}

/// Checks typed values (from a form or an API) and fills defaults.
pub fn complete(
    action: &Action,
    mut given: Map<String, Value>,
) -> Result<Map<String, Value>, ParamError> {
    if let Some(unknown) = given.keys().find(|k| action.param(k).is_none()) {
        return Err(ParamError::Unknown {
            name: unknown.clone(),
            action: action.name.clone(),
            known: known_names(action),
        });
    }
    let mut out = Map::new();
    for param in &action.params {
        match given.remove(&param.name).or_else(|| param.default.clone()) {
            Some(value) => {
                check_value(param, &value).map_err(|reason| ParamError::Invalid {
                    name: param.name.clone(),
                    reason,
                })?;
                out.insert(param.name.clone(), value);
            }
            None if param.required => {
                return Err(ParamError::Missing {
                    name: param.name.clone(),
                    expected: param.kind.describe(),
                });
            }
            None => {}
        }
    }
    Ok(out)
}

fn known_names(action: &Action) -> String {
    if action.params.is_empty() {
        return "no parameters".into();
    }
    action
        .params
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses one typed value from the text an operator typed.
pub fn parse_text(param: &Param, text: &str) -> Result<Value, ParamError> {
    let invalid = |reason: String| ParamError::Invalid {
        name: param.name.clone(),
        reason,
    };
    let value = match &param.kind {
        ParamType::String { .. } | ParamType::Enum { .. } => Value::String(text.to_owned()),
        ParamType::Integer { .. } => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid(format!("{} is not an integer", shown(param, text))))?,
        ParamType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Value::Bool(true),
            "false" | "no" | "0" | "off" => Value::Bool(false),
            _ => {
                return Err(invalid(format!(
                    "{} is not a boolean (true|false)",
                    shown(param, text)
                )));
            }
        },
    };
    check_value(param, &value).map_err(invalid)?;
    Ok(value)
}

/// Checks a typed value against the parameter's type and constraint.
pub fn check_value(param: &Param, value: &Value) -> Result<(), String> {
    let text = shown(param, &value.to_string());
    match (&param.kind, value) {
        (ParamType::String { pattern }, Value::String(s)) => match pattern {
            Some(re) if !re.is_match(s) => Err(format!(
                "{text} does not match {}",
                super::manifest::source_of(re)
            )),
            _ => Ok(()),
        },
        (ParamType::Integer { min, max }, Value::Number(n)) => {
            let n = n
                .as_i64()
                .ok_or_else(|| format!("{text} is not a 64-bit integer"))?;
            match (min, max) {
                (Some(lo), _) if n < *lo => Err(format!("{n} is below the minimum {lo}")),
                (_, Some(hi)) if n > *hi => Err(format!("{n} is above the maximum {hi}")),
                _ => Ok(()),
            }
        }
        (ParamType::Boolean, Value::Bool(_)) => Ok(()),
        (ParamType::Enum { values }, Value::String(s)) if values.contains(s) => Ok(()),
        (ParamType::Enum { values }, _) => {
            Err(format!("{text} is not one of {}", values.join("|")))
        }
        (kind, _) => Err(format!("{text} is not a {}", kind.name())),
    }
}

/// A value as an error message may show it: never a secret's.
fn shown(param: &Param, text: &str) -> String {
    if param.secret {
        "the secret value".into()
    } else {
        format!("{text:?}")
    }
}

/// The parameters with every secret value replaced by the redaction marker.
pub fn redact(action: &Action, params: &Map<String, Value>) -> Map<String, Value> {
    params
        .iter()
        .map(|(k, v)| {
            let secret = action.param(k).is_some_and(|p| p.secret);
            (
                k.clone(),
                if secret {
                    Value::from(REDACTED)
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}
