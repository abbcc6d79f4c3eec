//! Manifest parsing, then parameter coercion against the parsed action.
//! Input: manifest text, then optionally a NUL byte and `key=value` lines.
//! Properties: never panics; every error names the manifest file; coerced
//! values satisfy their parameter, every required one is present, and a
//! redacted copy keeps no secret value.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use rune::catalog::{self, ParamError};

fuzz_target!(|data: &[u8]| {
    let (text, params) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let path = manifest_path(text);
    let action = match catalog::parse_manifest(&path, text) {
        Ok(action) => action,
        Err(error) => {
            assert_eq!(error.file, path);
            assert!(error.to_string().starts_with(&*path.to_string_lossy()));
            return;
        }
    };
    let raw: Vec<String> = String::from_utf8_lossy(params)
        .lines()
        .map(str::to_owned)
        .collect();
    let assignments = match catalog::parse_assignments(&raw) {
        Ok(assignments) => assignments,
        Err(ParamError::Malformed(_) | ParamError::Duplicate(_)) => return,
        Err(other) => panic!("parse_assignments returned {other:?}"),
    };
    let values = match catalog::coerce(&action, &assignments) {
        Ok(values) => values,
        Err(error) => {
            assert!(error.param().is_some(), "{error:?}");
            return;
        }
    };
    for (name, value) in &values {
        let param = action
            .param(name)
            .expect("coerce returns declared parameters only");
        assert_eq!(catalog::check_value(param, value), Ok(()));
    }
    for param in action.params.iter().filter(|p| p.required) {
        assert!(values.contains_key(&param.name), "{} missing", param.name);
    }
    let redacted = catalog::redact(&action, &values);
    for param in action.params.iter().filter(|p| p.secret) {
        if let Some(value) = redacted.get(&param.name) {
            assert_eq!(value, "[REDACTED]");
        }
    }
});

/// A path whose folder is the manifest's own `name`, so the folder check can
/// pass and the fuzzer reaches the checks after it.
fn manifest_path(text: &str) -> PathBuf {
    let name = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|table| table.get("name")?.as_str().map(str::to_owned))
        .filter(|name| !name.is_empty() && !name.contains(['/', '\0']) && name != "..")
        .unwrap_or_else(|| "fuzz".into());
    PathBuf::from("catalog").join(name).join("action.toml")
}
