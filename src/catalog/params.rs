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

/// Checks a typed value against the parameter's type and constraint. Every
/// message names the value through [`shown`], so none can carry a secret's.
pub fn check_value(param: &Param, value: &Value) -> Result<(), String> {
    let text = shown_value(param, value);
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
                (Some(lo), _) if n < *lo => Err(format!("{text} is below the minimum {lo}")),
                (_, Some(hi)) if n > *hi => Err(format!("{text} is above the maximum {hi}")),
                _ => Ok(()),
            }
        }
        (ParamType::Boolean, Value::Bool(_)) => Ok(()),
        (ParamType::Enum { values }, Value::String(s)) if values.contains(s) => Ok(()),
        (ParamType::Enum { values }, _) => {
            Err(format!("{text} is not one of {}", values.join("|")))
        }
        (kind, _) => {
            let article = if kind.name().starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            Err(format!("{text} is not {article} {}", kind.name()))
        }
    }
}

/// A value as an error message may show it: never a secret's.
fn shown(param: &Param, text: &str) -> String {
    if param.secret {
        SECRET_SHOWN.into()
    } else {
        format!("{text:?}")
    }
}

/// A typed value as a message shows it: a string quoted, a number as
/// written, a secret never.
fn shown_value(param: &Param, value: &Value) -> String {
    match value {
        Value::String(s) => shown(param, s),
        _ if param.secret => SECRET_SHOWN.into(),
        other => other.to_string(),
    }
}

/// What a message says in place of a secret parameter's value.
const SECRET_SHOWN: &str = "the secret value";

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secret(kind: ParamType) -> Param {
        Param {
            name: "pin".into(),
            kind,
            required: true,
            default: None,
            secret: true,
            description: String::new(),
        }
    }

    fn integer() -> ParamType {
        ParamType::Integer {
            min: Some(10),
            max: Some(100),
        }
    }

    /// Every way a value can be refused, from text (`-p`, the console's
    /// form) and as a typed value (an API): the message says what rule was
    /// broken and shows "the secret value", never the value.
    #[rstest::rstest]
    #[case::above_max(integer(), "987654321", "the secret value is above the maximum 100")]
    #[case::below_min(integer(), "3", "the secret value is below the minimum 10")]
    #[case::not_integer(integer(), "98765x4321", "the secret value is not an integer")]
    #[case::not_boolean(
        ParamType::Boolean,
        "98765",
        "the secret value is not a boolean (true|false)"
    )]
    #[case::enum_value(ParamType::Enum { values: vec!["a".into(), "b".into()] }, "98765", "the secret value is not one of a|b")]
    #[case::pattern(ParamType::String { pattern: Some(regex::Regex::new("^(?:[a-z]+)$").unwrap()) }, "98765", "the secret value does not match [a-z]+")]
    fn a_secret_value_is_never_in_a_message(
        #[case] kind: ParamType,
        #[case] text: &str,
        #[case] want: &str,
    ) {
        let param = secret(kind);
        let error = parse_text(&param, text).unwrap_err().to_string();
        assert_eq!(error, format!("parameter `pin`: {want}"));
    }

    #[rstest::rstest]
    #[case::wrong_type(integer(), json!("98765"), "the secret value is not an integer")]
    #[case::not_i64(integer(), json!(18446744073709551615_u64), "the secret value is not a 64-bit integer")]
    #[case::float(integer(), json!(98765.5), "the secret value is not a 64-bit integer")]
    #[case::above_max(integer(), json!(987654321), "the secret value is above the maximum 100")]
    #[case::number_for_string(ParamType::String { pattern: None }, json!(98765), "the secret value is not a string")]
    fn a_secret_typed_value_is_never_in_a_message(
        #[case] kind: ParamType,
        #[case] value: Value,
        #[case] want: &str,
    ) {
        assert_eq!(check_value(&secret(kind), &value), Err(want.to_owned()));
    }

    #[test]
    fn other_values_are_shown() {
        let mut param = secret(integer());
        param.secret = false;
        assert_eq!(
            check_value(&param, &json!(500)),
            Err("500 is above the maximum 100".into())
        );
        assert_eq!(
            parse_text(&param, "ten").unwrap_err().to_string(),
            "parameter `pin`: \"ten\" is not an integer"
        );
    }
}
