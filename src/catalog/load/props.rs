//! Properties of manifest parsing and parameter coercion, mirroring the
//! `manifest` fuzz target (fuzz/fuzz_targets/manifest.rs) so CI exercises
//! them: any text ends in an action or an error naming the file and the line
//! or field, and a valid generated manifest round-trips every field and
//! coerces its parameters to the typed values it declares.

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use proptest::string::string_regex;
use serde_json::{Map, Value};

use super::*;
use crate::catalog::{ParamError, Risk, coerce, parse_assignments, redact};
use crate::transport::TransportKind;

/// String patterns a manifest may declare, with a generator of values that match.
const PATTERNS: &[(&str, &str)] = &[
    ("[a-z]+", "[a-z]{1,8}"),
    ("[0-9a-f]{4,8}", "[0-9a-f]{4,8}"),
    ("v[0-9]+\\.[0-9]+", "v[0-9]{1,3}\\.[0-9]{1,3}"),
];

#[derive(Debug, Clone)]
enum Kind {
    Str(Option<&'static str>),
    Int(Option<i64>, Option<i64>),
    Bool,
    Enum(Vec<String>),
}

/// One generated parameter: its declaration, and a default and a given value
/// that both satisfy it.
#[derive(Debug, Clone)]
struct GenParam {
    kind: Kind,
    required: bool,
    secret: bool,
    description: String,
    default: Option<Value>,
    given: Option<Value>,
}

fn text_param() -> impl Strategy<Value = (Kind, Value, Value)> {
    let free =
        ("\\PC{0,12}", "\\PC{0,12}").prop_map(|(a, b)| (Kind::Str(None), a.into(), b.into()));
    let patterned = proptest::sample::select(PATTERNS).prop_flat_map(|(pattern, values)| {
        let values = || string_regex(values).unwrap();
        (Just(Kind::Str(Some(pattern))), values(), values())
            .prop_map(|(k, a, b)| (k, a.into(), b.into()))
    });
    let enums = proptest::collection::btree_set("[a-z]{1,6}", 1..4).prop_flat_map(|set| {
        let values: Vec<String> = set.into_iter().collect();
        let pick = proptest::sample::select(values.clone());
        (Just(Kind::Enum(values)), pick.clone(), pick).prop_map(|(k, a, b)| (k, a.into(), b.into()))
    });
    prop_oneof![free, patterned, enums]
}

fn typed_param() -> impl Strategy<Value = (Kind, Value, Value)> {
    let ints = (any::<i64>(), any::<i64>(), any::<(bool, bool)>()).prop_flat_map(|(a, b, has)| {
        let (lo, hi) = (a.min(b), a.max(b));
        let kind = Kind::Int(has.0.then_some(lo), has.1.then_some(hi));
        (Just(kind), lo..=hi, lo..=hi).prop_map(|(k, x, y)| (k, x.into(), y.into()))
    });
    let bools = any::<(bool, bool)>().prop_map(|(a, b)| (Kind::Bool, a.into(), b.into()));
    prop_oneof![ints, bools]
}

prop_compose! {
    fn gen_param()(
        (kind, default, given) in prop_oneof![text_param(), typed_param()],
        (required, secret, has_default, has_given) in any::<(bool, bool, bool, bool)>(),
        description in "\\PC{0,20}",
    ) -> GenParam {
        GenParam {
            kind, required, secret, description,
            default: has_default.then_some(default),
            given: has_given.then_some(given),
        }
    }
}

/// A valid manifest's fields, and the parameters it declares.
#[derive(Debug, Clone)]
struct GenManifest {
    name: String,
    title: String,
    description: String,
    owner: String,
    tags: Vec<String>,
    risk: Risk,
    timeout_s: u64,
    installed: Option<String>,
    transports: Option<Vec<TransportKind>>,
    params: Vec<(String, GenParam)>,
}

prop_compose! {
    fn gen_manifest()(
        name in "[a-z0-9][a-z0-9-]{0,20}",
        title in "[A-Za-z]\\PC{0,20}",
        description in "\\PC{0,40}",
        owner in "[a-z][a-z-]{0,10}",
        tags in proptest::collection::vec("[a-z]{1,8}", 0..4),
        risk in proptest::sample::select(vec![Risk::Read, Risk::Change, Risk::High]),
        timeout_s in 1u64..=86_400,
        installed in proptest::option::of("/opt/[a-z]{1,8}"),
        transports in proptest::option::of(proptest::sample::subsequence(
            vec![TransportKind::Local, TransportKind::Ssh, TransportKind::Ssm], 0..=3)),
        params in proptest::collection::btree_map("[a-z][a-z0-9_]{0,10}", gen_param(), 0..6),
    ) -> GenManifest {
        GenManifest {
            name, title, description, owner, tags, risk, timeout_s, installed, transports,
            params: params.into_iter().collect(),
        }
    }
}

fn toml_of(value: &Value) -> toml::Value {
    match value {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => toml::Value::Integer(n.as_i64().unwrap_or_default()),
        other => toml::Value::String(other.as_str().unwrap_or_default().to_owned()),
    }
}

/// Writes the manifest as TOML; `toml` does the quoting, so any title or
/// description survives.
fn render(m: &GenManifest) -> String {
    let mut file = toml::Table::new();
    let mut put = |key: &str, value: toml::Value| file.insert(key.into(), value);
    put("name", m.name.clone().into());
    put("title", m.title.clone().into());
    put("description", m.description.clone().into());
    put("version", "1.0.0".into());
    put("owner", m.owner.clone().into());
    put("tags", m.tags.clone().into());
    put("risk", m.risk.as_str().into());
    put("timeout", format!("{}s", m.timeout_s).into());
    match &m.installed {
        Some(path) => put("installed", path.clone().into()),
        None => put("entry", "run.sh".into()),
    };
    if let Some(list) = &m.transports {
        put(
            "transports",
            list.iter().map(|t| t.as_str()).collect::<Vec<_>>().into(),
        );
    }
    let mut params = toml::Table::new();
    for (name, p) in &m.params {
        let mut spec = toml::Table::new();
        let kind = match &p.kind {
            Kind::Str(pattern) => {
                if let Some(pattern) = pattern {
                    spec.insert("pattern".into(), (*pattern).into());
                }
                "string"
            }
            Kind::Int(min, max) => {
                for (key, bound) in [("min", min), ("max", max)] {
                    if let Some(bound) = bound {
                        spec.insert(key.into(), (*bound).into());
                    }
                }
                "integer"
            }
            Kind::Bool => "boolean",
            Kind::Enum(values) => {
                spec.insert("values".into(), values.clone().into());
                "enum"
            }
        };
        spec.insert("type".into(), kind.into());
        spec.insert("required".into(), p.required.into());
        spec.insert("secret".into(), p.secret.into());
        spec.insert("description".into(), p.description.clone().into());
        if let Some(default) = &p.default {
            spec.insert("default".into(), toml_of(default));
        }
        params.insert(name.clone(), spec.into());
    }
    file.insert("params".into(), params.into());
    toml::to_string(&file).unwrap()
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Str(None) => "string".into(),
        Kind::Str(Some(p)) => format!("string matching {p}"),
        Kind::Int(min, max) => ParamType::Integer {
            min: *min,
            max: *max,
        }
        .describe(),
        Kind::Bool => "boolean (true|false)".into(),
        Kind::Enum(values) => format!("one of {}", values.join("|")),
    }
}

/// What an operator types for a value: the string itself, an integer with
/// stray spaces, or one of the spellings of a boolean.
fn typed_text(value: &Value, salt: bool) -> String {
    match value {
        Value::Bool(b) => match (b, salt) {
            (true, true) => "yes".into(),
            (false, true) => " OFF".into(),
            (b, false) => b.to_string(),
        },
        Value::Number(n) if salt => format!(" {n} "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn path_for(name: &str) -> PathBuf {
    Path::new("/catalog").join(name).join("action.toml")
}

/// An error names the file, and the field or the TOML line it is about.
fn names_file_and_place(error: &CatalogError, path: &Path) -> Result<(), TestCaseError> {
    prop_assert_eq!(&error.file, path);
    let shown = error.to_string();
    prop_assert!(shown.starts_with(&*path.to_string_lossy()), "{shown}");
    prop_assert!(error.field.is_some() || shown.contains("line "), "{shown}");
    Ok(())
}

/// A valid manifest with some characters replaced, cut, or repeated.
fn damaged_manifest() -> impl Strategy<Value = (String, String)> {
    let edits = proptest::collection::vec(
        (any::<prop::sample::Index>(), "\\PC{0,3}|[\"=\\[\\]\n]"),
        1..4,
    );
    (gen_manifest(), edits, any::<prop::sample::Index>()).prop_map(|(m, edits, cut)| {
        let mut text: Vec<char> = render(&m).chars().collect();
        for (at, insert) in edits {
            let at = at.index(text.len() + 1);
            let end = (at + 1).min(text.len());
            text.splice(at..end, insert.chars());
        }
        let keep = cut.index(text.len() + 1).max(text.len() * 3 / 4);
        text.truncate(keep);
        (m.name, text.into_iter().collect())
    })
}

proptest! {
    #[test]
    fn any_manifest_text_never_panics_and_errors_name_file_and_place(
        (name, text) in prop_oneof![("fuzz".prop_map(String::from), any::<String>()), damaged_manifest()],
    ) {
        let path = path_for(&name);
        if let Err(error) = parse_manifest(&path, &text) {
            names_file_and_place(&error, &path)?;
        }
    }

    #[test]
    fn a_generated_manifest_round_trips_its_fields(m in gen_manifest()) {
        let path = path_for(&m.name);
        let text = render(&m);
        let action = parse_manifest(&path, &text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&action.name, &m.name);
        prop_assert_eq!(&action.title, &m.title);
        prop_assert_eq!(&action.description, &m.description);
        prop_assert_eq!(&action.owner, &m.owner);
        prop_assert_eq!(&action.tags, &m.tags);
        prop_assert_eq!(action.risk, m.risk);
        prop_assert_eq!(action.timeout, Duration::from_secs(m.timeout_s));
        prop_assert_eq!(&action.transports, &m.transports);
        prop_assert_eq!(&action.manifest_path, &path);
        match (&action.plugin, &m.installed) {
            (Plugin::Installed(got), Some(want)) => prop_assert_eq!(got, want),
            (Plugin::Bundle(bundle), None) => prop_assert_eq!(&bundle.entry, "run.sh"),
            (got, want) => prop_assert!(false, "plugin {got:?} for installed {want:?}"),
        }
        prop_assert_eq!(action.params.len(), m.params.len());
        for (param, (name, want)) in action.params.iter().zip(&m.params) {
            prop_assert_eq!(&param.name, name);
            prop_assert_eq!(param.kind.describe(), describe(&want.kind));
            prop_assert_eq!(param.required, want.required);
            prop_assert_eq!(param.secret, want.secret);
            prop_assert_eq!(&param.description, &want.description);
            prop_assert_eq!(&param.default, &want.default);
        }
    }

    #[test]
    fn generated_values_coerce_to_their_types_with_defaults(m in gen_manifest(), salt in any::<bool>()) {
        let path = path_for(&m.name);
        let action = parse_manifest(&path, &render(&m)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let raw: Vec<String> = m.params.iter()
            .filter_map(|(name, p)| Some(format!("{name}={}", typed_text(p.given.as_ref()?, salt))))
            .collect();
        let assignments = parse_assignments(&raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let missing = m.params.iter()
            .find(|(_, p)| p.required && p.given.is_none() && p.default.is_none());
        match (coerce(&action, &assignments), missing) {
            (Err(ParamError::Missing { name, .. }), Some((want, _))) => prop_assert_eq!(&name, want),
            (Ok(values), None) => {
                let want: Map<String, Value> = m.params.iter()
                    .filter_map(|(name, p)| Some((name.clone(), p.given.clone().or(p.default.clone())?)))
                    .collect();
                prop_assert_eq!(&values, &want);
                for (name, value) in redact(&action, &values) {
                    let secret = m.params.iter().any(|(n, p)| *n == name && p.secret);
                    prop_assert_eq!(secret, value == crate::protocol::rcs::REDACTED);
                }
            }
            (got, missing) => prop_assert!(false, "{got:?} with missing {missing:?}"),
        }
    }

    #[test]
    fn any_assignments_never_panic_and_what_passes_is_checked(
        m in gen_manifest(),
        raw in proptest::collection::vec("[a-z][a-z0-9_]{0,3}=\\PC{0,8}|\\PC{0,12}", 0..6),
    ) {
        let action = parse_manifest(&path_for(&m.name), &render(&m))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(assignments) = parse_assignments(&raw) else { return Ok(()) };
        match coerce(&action, &assignments) {
            Ok(values) => {
                for (name, value) in &values {
                    let param = action.param(name).ok_or_else(|| TestCaseError::fail(name.clone()))?;
                    prop_assert_eq!(check_value(param, value), Ok(()));
                }
                for param in action.params.iter().filter(|p| p.required) {
                    prop_assert!(values.contains_key(&param.name));
                }
            }
            Err(error) => prop_assert!(error.param().is_some(), "{error:?}"),
        }
    }
}
