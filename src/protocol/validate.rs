//! The plugin-output validator: exactly one JSON object on stdout, with the
//! BPCS success or error shape and an exit status that agrees with it.
//!
//! Strict about what is ambiguous, liberal about what is not: extra metadata
//! keys, a missing `correlation_id`, a missing `error` on success or a missing
//! `output_data` are fine. Every violation has its own variant, EPS code and
//! plain reason, so a responder sees exactly what the plugin got wrong.

use serde_json::{Map, Value};

use super::bpcs::{BpcsOutput, OutputPayload, PluginError};
use super::eps::code;

/// A plugin output that broke the contract.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    #[error("stdout exceeded the {limit}-byte cap ({seen} bytes or more arrived)")]
    Oversize { limit: u64, seen: u64 },
    #[error("stdout is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("the plugin wrote nothing on stdout; it must print one JSON object")]
    Empty,
    #[error("stdout is not JSON: {detail}")]
    NotJson { detail: String },
    #[error("stdout holds more than one JSON value (extra data at line {line}, column {column})")]
    TrailingData { line: usize, column: usize },
    #[error("stdout holds a JSON {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("required field `{field}` is missing")]
    MissingField { field: &'static str },
    #[error("field `{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("message_metadata.version is {found:?}; RUNE speaks BPCS 1.x")]
    VersionMismatch { found: String },
    #[error("payload.result is \"success\" but `error` is set too")]
    SuccessWithError,
    #[error("the output is not a success and carries no `error` object")]
    FailureWithoutError,
    #[error("exit status 0 came with an error (code {plugin_code}); exit 0 must mean success")]
    ExitZeroWithError { plugin_code: i64 },
    #[error("exit status {exit} came with a success; a non-zero exit must carry an `error`")]
    ExitNonZeroWithSuccess { exit: i32 },
}

impl Violation {
    /// The EPS code this violation maps to.
    pub fn code(&self) -> i64 {
        match self {
            Self::Oversize { .. } => code::MESSAGE_TOO_LARGE,
            Self::InvalidUtf8 { .. }
            | Self::Empty
            | Self::NotJson { .. }
            | Self::TrailingData { .. } => code::PARSE_ERROR,
            Self::MissingField { .. } | Self::FailureWithoutError => code::REQUIRED_FIELD_MISSING,
            Self::VersionMismatch { .. } => code::VERSION_MISMATCH,
            Self::NotAnObject { .. }
            | Self::WrongType { .. }
            | Self::SuccessWithError
            | Self::ExitZeroWithError { .. }
            | Self::ExitNonZeroWithSuccess { .. } => code::SCHEMA_VALIDATION,
        }
    }

    /// A stable, machine-readable name for the violation.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Oversize { .. } => "oversize",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::Empty => "empty_stdout",
            Self::NotJson { .. } => "not_json",
            Self::TrailingData { .. } => "trailing_data",
            Self::NotAnObject { .. } => "not_an_object",
            Self::MissingField { .. } => "missing_field",
            Self::WrongType { .. } => "wrong_type",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::SuccessWithError => "success_with_error",
            Self::FailureWithoutError => "failure_without_error",
            Self::ExitZeroWithError { .. } => "exit_zero_with_error",
            Self::ExitNonZeroWithSuccess { .. } => "exit_nonzero_with_success",
        }
    }
}

/// What the transport captured of stdout: the kept bytes and how many arrived.
#[derive(Debug, Clone, Copy)]
pub struct Stdout<'a> {
    pub bytes: &'a [u8],
    /// Total bytes the plugin wrote; more than `limit` means the output was cut.
    pub total: u64,
    pub limit: u64,
}

/// A contract-conforming output: a success, or a failure the plugin reported.
pub type Validated = BpcsOutput;

/// Checks one plugin output against BPCS and the exit-status rules.
pub fn validate(stdout: Stdout<'_>, exit_code: i32) -> Result<Validated, Violation> {
    if stdout.total > stdout.limit || stdout.bytes.len() as u64 > stdout.limit {
        return Err(Violation::Oversize {
            limit: stdout.limit,
            seen: stdout.total,
        });
    }
    let text = std::str::from_utf8(stdout.bytes).map_err(|e| Violation::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let object = parse_single_object(text)?;
    let output = check_shape(object)?;
    match (exit_code, &output.error) {
        (0, Some(error)) => Err(Violation::ExitZeroWithError {
            plugin_code: error.code,
        }),
        (exit, None) if exit != 0 => Err(Violation::ExitNonZeroWithSuccess { exit }),
        _ => Ok(output),
    }
}

fn parse_single_object(text: &str) -> Result<Map<String, Value>, Violation> {
    if text.trim().is_empty() {
        return Err(Violation::Empty);
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = match stream.next() {
        Some(Ok(value)) => value,
        Some(Err(e)) => {
            return Err(Violation::NotJson {
                detail: e.to_string(),
            });
        }
        None => return Err(Violation::Empty),
    };
    let consumed = stream.byte_offset();
    if !text[consumed..].trim().is_empty() {
        let (line, column) = line_column(text, consumed + leading_ws(&text[consumed..]));
        return Err(Violation::TrailingData { line, column });
    }
    match first {
        Value::Object(map) => Ok(map),
        other => Err(Violation::NotAnObject {
            found: json_kind(&other),
        }),
    }
}

fn check_shape(mut object: Map<String, Value>) -> Result<BpcsOutput, Violation> {
    let metadata = match object.remove("message_metadata") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => {
            return Err(Violation::MissingField {
                field: "message_metadata",
            });
        }
        Some(_) => return Err(wrong("message_metadata", "an object")),
    };
    match metadata.get("message_id") {
        Some(Value::String(id)) if !id.is_empty() => {}
        None | Some(Value::Null) => {
            return Err(Violation::MissingField {
                field: "message_metadata.message_id",
            });
        }
        Some(_) => return Err(wrong("message_metadata.message_id", "a non-empty string")),
    }
    if let Some(version) = metadata.get("version") {
        let found = version
            .as_str()
            .map_or_else(|| version.to_string(), str::to_owned);
        if !(found == "1" || found.starts_with("1.")) {
            return Err(Violation::VersionMismatch { found });
        }
    }
    let error = match object.remove("error") {
        None | Some(Value::Null) => None,
        Some(Value::Object(e)) => Some(plugin_error(e)?),
        Some(_) => return Err(wrong("error", "an object or null")),
    };
    let payload = match object.remove("payload") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => Some(p),
        Some(_) => return Err(wrong("payload", "an object or null")),
    };
    let result = payload
        .as_ref()
        .and_then(|p| p.get("result"))
        .and_then(Value::as_str);
    let payload = match (&error, result) {
        (Some(_), Some("success")) => return Err(Violation::SuccessWithError),
        (None, Some("success")) => Some(success_payload(payload.unwrap_or_default())?),
        (None, _) => return Err(Violation::FailureWithoutError),
        // A failure's payload is null by contract; a non-success result that
        // comes with an error object is still an unambiguous failure.
        (Some(_), _) => None,
    };
    Ok(BpcsOutput {
        message_metadata: metadata,
        payload,
        observability: object.remove("observability").unwrap_or(Value::Null),
        error,
    })
}

fn success_payload(mut payload: Map<String, Value>) -> Result<OutputPayload, Violation> {
    let output_data = match payload.remove("output_data") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(data @ Value::Object(_)) => data,
        Some(_) => return Err(wrong("payload.output_data", "an object")),
    };
    Ok(OutputPayload {
        result: "success".into(),
        output_data,
    })
}

fn plugin_error(mut error: Map<String, Value>) -> Result<PluginError, Violation> {
    let code = match error.get("code") {
        None | Some(Value::Null) => {
            return Err(Violation::MissingField {
                field: "error.code",
            });
        }
        Some(v) => v
            .as_i64()
            .ok_or_else(|| wrong("error.code", "an integer"))?,
    };
    let message = match error.remove("message") {
        None | Some(Value::Null) => {
            return Err(Violation::MissingField {
                field: "error.message",
            });
        }
        Some(Value::String(s)) => s,
        Some(_) => return Err(wrong("error.message", "a string")),
    };
    let details = error.remove("details").unwrap_or(Value::Null);
    Ok(PluginError {
        code,
        message,
        details,
    })
}

fn wrong(field: &'static str, expected: &'static str) -> Violation {
    Violation::WrongType { field, expected }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
