use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::*;
use crate::catalog::{ParamError, coerce, parse_assignments};

const GOOD: &str = r#"
name = "restart"
title = "Restart a unit"
description = "Restarts it"
version = "1.2.0"
owner = "sre-core"
tags = ["service"]
risk = "high"
timeout = "60s"
entry = "run.sh"
files = ["../lib/x.sh"]
transports = ["local", "ssh"]

[params.unit]
type = "string"
required = true
pattern = "[a-z.]+"

[params.wait]
type = "integer"
min = 5
max = 120
default = 30

[params.mode]
type = "enum"
values = ["soft", "hard"]
default = "soft"

[params.force]
type = "boolean"
default = false

[params.token]
type = "string"
secret = true
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/x.sh"), "f() { :; }").unwrap();
        Self { dir }
    }

    fn action(&self, name: &str, manifest: &str) -> &Self {
        let folder = self.dir.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("action.toml"), manifest).unwrap();
        std::fs::write(folder.join("run.sh"), "#!/bin/sh\necho").unwrap();
        std::fs::set_permissions(
            folder.join("run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        self
    }

    fn load(&self) -> Catalog {
        load(self.dir.path()).unwrap()
    }
}

#[test]
fn a_good_manifest_loads_with_typed_params_and_a_bundle() {
    let f = Fixture::new();
    let catalog = f.action("restart", GOOD).load();
    assert!(catalog.broken.is_empty(), "{:?}", catalog.broken);
    let action = catalog.get("restart").unwrap();
    assert_eq!(action.timeout, std::time::Duration::from_secs(60));
    let names: Vec<_> = action.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["unit", "wait", "mode", "force", "token"],
        "manifest order is kept"
    );
    let Plugin::Bundle(bundle) = &action.plugin else {
        panic!("expected a bundle")
    };
    assert_eq!(bundle.entry, "restart/run.sh");
    assert_eq!(bundle.workdir, "restart");
    let paths: Vec<_> = bundle.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["lib/x.sh", "restart/run.sh"]);
    assert_eq!(action.bundle_sha256().len(), 64);
}

#[test]
fn one_broken_manifest_does_not_hide_the_others() {
    let f = Fixture::new();
    f.action("restart", GOOD).action(
        "typo",
        &GOOD
            .replace("name = \"restart\"", "name = \"typo\"")
            .replace("timeout", "timout"),
    );
    let catalog = f.load();
    assert_eq!(catalog.actions.len(), 1);
    assert_eq!(catalog.broken.len(), 1);
    let message = catalog.broken[0].to_string();
    assert!(message.contains("typo/action.toml"), "{message}");
    assert!(message.contains("timout"), "{message}");
}

#[rstest::rstest]
#[case::bad_risk("risk = \"high\"", "risk = \"hgh\"", None, "hgh")]
#[case::upper_case_unit("timeout = \"60s\"", "timeout = \"5M\"", Some("timeout"), "lower-case")]
#[case::bare_number("timeout = \"60s\"", "timeout = \"30\"", Some("timeout"), "lower-case")]
#[case::escaping_file(
    "files = [\"../lib/x.sh\"]",
    "files = [\"../../etc/passwd\"]",
    Some("files"),
    ""
)]
#[case::missing_entry(
    "entry = \"run.sh\"",
    "entry = \"nope.sh\"",
    Some("entry"),
    "cannot be opened"
)]
#[case::bad_pattern(
    "pattern = \"[a-z.]+\"",
    "pattern = \"[a-z\"",
    Some("params.unit"),
    "not a valid regex"
)]
#[case::min_above_max("min = 5", "min = 500", Some("params.wait"), "greater than max")]
#[case::bad_default(
    "default = 30",
    "default = 3",
    Some("params.wait"),
    "below the minimum"
)]
#[case::default_not_in_enum(
    "default = \"soft\"",
    "default = \"medium\"",
    Some("params.mode"),
    "not one of"
)]
#[case::pattern_on_integer(
    "min = 5",
    "min = 5\npattern = \"x\"",
    Some("params.wait"),
    "only to string"
)]
#[case::wrong_type_for_tags("tags = [\"service\"]", "tags = \"service\"", None, "tags")]
#[case::name_not_folder("name = \"restart\"", "name = \"other\"", Some("name"), "folder")]
#[case::unknown_transport(
    "transports = [\"local\", \"ssh\"]",
    "transports = [\"telnet\"]",
    None,
    "telnet"
)]
#[case::verify_unknown(
    "risk = \"high\"",
    "risk = \"high\"\nverify = \"ghost\"",
    Some("verify"),
    "ghost"
)]
fn bad_manifests_name_file_field_and_expectation(
    #[case] from: &str,
    #[case] to: &str,
    #[case] field: Option<&str>,
    #[case] phrase: &str,
) {
    let f = Fixture::new();
    let catalog = f.action("restart", &GOOD.replacen(from, to, 1)).load();
    assert!(catalog.actions.is_empty(), "should be broken");
    let error = &catalog.broken[0];
    assert!(error.file.ends_with("restart/action.toml"));
    assert_eq!(error.field.as_deref(), field, "{error}");
    assert!(
        error.to_string().contains(phrase),
        "{error} lacks {phrase:?}"
    );
}

#[test]
fn a_path_escaping_through_a_symlink_is_refused() {
    let f = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.sh"), "rm -rf /").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("evil.sh"),
        f.dir.path().join("lib/evil.sh"),
    )
    .unwrap();
    let catalog = f
        .action("restart", &GOOD.replace("../lib/x.sh", "../lib/evil.sh"))
        .load();
    assert!(
        catalog.broken[0]
            .to_string()
            .contains("outside the catalog"),
        "{}",
        catalog.broken[0]
    );
}

fn restart() -> Arc<Action> {
    let f = Fixture::new();
    f.action("restart", GOOD)
        .load()
        .get("restart")
        .unwrap()
        .clone()
}

fn coerce_args(args: &[&str]) -> Result<serde_json::Map<String, Value>, ParamError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    coerce(&restart(), &parse_assignments(&args)?)
}

#[test]
fn assignments_become_typed_values_with_defaults() {
    let params = coerce_args(&["unit=nginx.service", "wait=45", "force=yes"]).unwrap();
    assert_eq!(
        Value::Object(params),
        json!({"unit": "nginx.service", "wait": 45, "mode": "soft", "force": true})
    );
}

#[rstest::rstest]
#[case::unknown(&["unit=a", "colour=red"], "unknown parameter `colour`")]
#[case::missing(&["wait=10"], "required parameter `unit` is missing")]
#[case::not_integer(&["unit=a", "wait=ten"], "\"ten\" is not an integer")]
#[case::too_big(&["unit=a", "wait=500"], "above the maximum 120")]
#[case::pattern(&["unit=A B"], "does not match [a-z.]+")]
#[case::enum_value(&["unit=a", "mode=violent"], "not one of soft|hard")]
#[case::boolean(&["unit=a", "force=maybe"], "not a boolean")]
#[case::malformed(&["unit"], "not of the form key=value")]
#[case::duplicate(&["unit=a", "unit=b"], "given twice")]
fn bad_parameters_are_refused_with_the_reason(#[case] args: &[&str], #[case] phrase: &str) {
    let error = coerce_args(args).unwrap_err().to_string();
    assert!(error.contains(phrase), "{error}");
}

#[test]
fn a_secret_value_never_appears_in_an_error_or_a_redacted_copy() {
    let f = Fixture::new();
    let manifest = GOOD.replace("secret = true", "secret = true\npattern = \"[0-9]+\"");
    let action = f
        .action("restart", &manifest)
        .load()
        .get("restart")
        .unwrap()
        .clone();
    let args = parse_assignments(&["unit=a".into(), "token=hunter2".into()]).unwrap();
    let error = coerce(&action, &args).unwrap_err().to_string();
    assert!(!error.contains("hunter2"), "{error}");
    let args = parse_assignments(&["unit=a".into(), "token=1234".into()]).unwrap();
    let params = coerce(&action, &args).unwrap();
    let redacted = crate::catalog::redact(&action, &params);
    assert_eq!(redacted["token"], "[REDACTED]");
    assert_eq!(params["token"], "1234");
}

#[test]
fn search_ranks_name_matches_first() {
    let f = Fixture::new();
    for name in ["restart-service", "tail-logs", "service-status"] {
        f.action(
            name,
            &GOOD.replace("name = \"restart\"", &format!("name = \"{name}\"")),
        );
    }
    let catalog = f.load();
    let hits = crate::catalog::search(&catalog.actions, "rest");
    assert_eq!(catalog.actions[hits[0].index].name, "restart-service");
    assert_eq!(hits[0].name_indices, vec![0, 1, 2, 3]);
    let all = crate::catalog::search(&catalog.actions, "");
    assert_eq!(all.len(), 3);
}

#[rstest::rstest]
#[case::plugin_0666("restart/run.sh", 0o666, Some("is writable by others"))]
#[case::library_0646("lib/x.sh", 0o646, Some("is writable by others"))]
#[case::manifest_0664("restart/action.toml", 0o664, Some("is writable by its group"))]
#[case::action_folder_0777("restart", 0o777, Some("is writable by others"))]
#[case::library_folder_0775("lib", 0o775, Some("is writable by its group"))]
#[case::sticky_folder_1777("restart", 0o1777, Some("is writable by others"))]
#[case::plugin_0755("restart/run.sh", 0o755, None)]
#[case::manifest_0644("restart/action.toml", 0o644, None)]
#[case::folder_0755("restart", 0o755, None)]
#[case::folder_0700("lib", 0o700, None)]
fn writable_catalog_files_are_refused_like_strict_modes(
    #[case] relative: &str,
    #[case] mode: u32,
    #[case] phrase: Option<&str>,
) {
    let f = Fixture::new();
    f.action("restart", GOOD);
    let path = f.dir.path().join(relative);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    let catalog = f.load();
    match phrase {
        None => assert!(catalog.broken.is_empty(), "{:?}", catalog.broken),
        Some(phrase) => {
            assert!(catalog.actions.is_empty(), "should be refused");
            let error = catalog.broken[0].to_string();
            let shown = path.canonicalize().unwrap().display().to_string();
            assert!(error.contains(&format!("{shown} {phrase}")), "{error}");
            assert!(
                error.contains("whoever can write it can run code on every target"),
                "{error}"
            );
            assert!(error.contains("fix with chmod go-w"), "{error}");
            assert!(catalog.broken[0].file.ends_with("restart/action.toml"));
        }
    }
}

#[test]
fn a_symlinked_plugin_is_judged_by_its_target() {
    let f = Fixture::new();
    f.action("restart", GOOD);
    let real = f.dir.path().join("lib/real.sh");
    std::fs::write(&real, "#!/bin/sh\necho").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o777)).unwrap();
    let link = f.dir.path().join("restart/run.sh");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("../lib/real.sh", &link).unwrap();
    // The link itself is 0777 on Linux; only the target's mode counts.
    let catalog = f.load();
    let error = catalog.broken[0].to_string();
    assert!(
        error.contains("lib/real.sh is writable by others"),
        "{error}"
    );
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(f.load().broken.is_empty());
}

#[test]
fn files_owned_by_another_user_are_refused() {
    let euid = rustix::process::geteuid().as_raw();
    if euid != 0 {
        // Only root may give a file away; the unit test of trust.rs covers the rule.
        return;
    }
    let f = Fixture::new();
    f.action("restart", GOOD);
    let plugin = f.dir.path().join("restart/run.sh");
    std::os::unix::fs::chown(&plugin, Some(65534), None).unwrap();
    let catalog = f.load();
    let error = catalog.broken[0].to_string();
    assert!(
        error.contains("run.sh is owned by uid 65534, not by you (uid 0) or root"),
        "{error}"
    );
    std::os::unix::fs::chown(&plugin, Some(0), None).unwrap();
    std::os::unix::fs::chown(f.dir.path().join("lib"), Some(65534), None).unwrap();
    let error = f.load().broken[0].to_string();
    assert!(error.contains("lib is owned by uid 65534"), "{error}");
}
