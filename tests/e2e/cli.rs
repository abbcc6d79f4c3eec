//! The binary as a user runs it: exit codes, the three output formats,
//! refusals as EPS, dry runs, and the catalog and inventory listings.

use serde_json::Value;

use crate::support::{root, rune};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn rune_run(args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let catalog = root().join("tests/fixtures/catalog");
    let out = rune(home.path())
        .arg("--catalog")
        .arg(&catalog)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
}

#[test]
fn json_output_is_one_document_with_request_and_results() {
    let run = rune_run(&["run", "misbehave", "-p", "case=ok", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = json(&run.stdout);
    assert_eq!(
        doc["request"]["routing"]["event_type"],
        "ACTION_EXECUTE_REQUEST"
    );
    assert_eq!(doc["summary"]["success"], 1);
    let result = &doc["results"][0];
    assert_eq!(result["target"], "localhost");
    assert_eq!(result["status"], "success");
    assert_eq!(result["output"]["payload"]["output_data"]["fine"], true);
    assert_eq!(
        result["input"]["message_metadata"]["correlation_id"],
        doc["request"]["message_metadata"]["message_id"]
    );
    assert_eq!(doc["action"]["bundle_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_failed_target_exits_1_with_its_eps_error() {
    let run = rune_run(&["run", "misbehave", "-p", "case=not_json", "-o", "json"]);
    assert_eq!(run.code, 1);
    let doc = json(&run.stdout);
    assert_eq!(
        doc["results"][0]["error"]["error_payload"]["error_data"]["error"]["code"],
        -32700
    );
}

#[test]
fn ndjson_streams_one_event_per_line() {
    let run = rune_run(&[
        "run",
        "misbehave",
        "-p",
        "case=plugin_error",
        "-o",
        "ndjson",
    ]);
    assert_eq!(run.code, 1);
    let kinds: Vec<String> = run
        .stdout
        .lines()
        .map(|l| json(l)["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "request", "started", "status", "stderr", "finished", "summary"
        ]
    );
    let stderr_event = json(run.stdout.lines().nth(3).unwrap());
    assert_eq!(stderr_event["line"], "jq is required");
    assert_eq!(stderr_event["target"], "localhost");
}

#[rstest::rstest]
#[case::unknown_action(&["run", "nope"], -32100, "unknown action `nope`")]
#[case::unknown_target(&["run", "misbehave", "-p", "case=ok", "-t", "web-9"], -32100, "unknown target `web-9`")]
#[case::unknown_param(&["run", "misbehave", "-p", "case=ok", "-p", "colour=red"], -32200, "unknown parameter `colour`")]
#[case::missing_param(&["run", "misbehave"], -32201, "required parameter `case` is missing")]
#[case::bad_enum(&["run", "misbehave", "-p", "case=dance"], -32200, "not one of")]
#[case::malformed_param(&["run", "misbehave", "-p", "case"], -32200, "key=value")]
fn refusals_exit_2_with_an_eps_document(
    #[case] args: &[&str],
    #[case] code: i64,
    #[case] phrase: &str,
) {
    let mut args = args.to_vec();
    args.extend(["--output", "json"]);
    let run = rune_run(&args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(phrase), "{}", run.stderr);
    let eps = json(&run.stdout);
    assert_eq!(eps["error_payload"]["error_data"]["error"]["code"], code);
    assert_eq!(eps["routing"]["event_type"], "EPS_ERROR_RESPONSE");
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let run = rune_run(&[
        "run",
        "misbehave",
        "-p",
        "case=orphan",
        "-p",
        "token=hunter2",
        "--dry-run",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = json(&run.stdout);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["targets"][0]["transport"], "local");
    assert_eq!(
        doc["envelope"]["payload"]["input_parameters"]["token"],
        "[REDACTED]"
    );
    assert!(!run.stdout.contains("hunter2"));
}

#[test]
fn pretty_output_is_for_people() {
    let run = rune_run(&["run", "misbehave", "-p", "case=plugin_error"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("FAIL localhost (local) failed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("error -32010"), "{}", run.stdout);
    assert!(
        run.stderr.contains("[localhost] jq is required"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains('\x1b'), "NO_COLOR is respected");
}

#[test]
fn broken_manifests_are_reported_beside_the_valid_ones() {
    let home = tempfile::tempdir().unwrap();
    let catalog = tempfile::tempdir().unwrap();
    let source = root().join("tests/fixtures/catalog");
    for dir in ["misbehave", "lib"] {
        std::fs::create_dir_all(catalog.path().join(dir)).unwrap();
        for f in std::fs::read_dir(source.join(dir)).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), catalog.path().join(dir).join(f.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(catalog.path().join("broken")).unwrap();
    std::fs::write(
        catalog.path().join("broken/action.toml"),
        "name = \"broken\"\nrisk = 7\n",
    )
    .unwrap();
    let out = rune(home.path())
        .arg("--catalog")
        .arg(catalog.path())
        .args(["actions", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["actions"][0]["name"], "misbehave");
    assert!(
        doc["broken"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("broken/action.toml")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken manifest skipped"));
}

#[test]
fn targets_lists_the_inventory_with_localhost() {
    let home = tempfile::tempdir().unwrap();
    let inventory = home.path().join("inv.toml");
    std::fs::write(&inventory, "[[targets]]\nname = \"web-1\"\ntransport = \"ssh\"\nhost = \"10.0.1.11\"\ntags = { role = \"web\" }\n").unwrap();
    let out = rune(home.path())
        .arg("--inventory")
        .arg(&inventory)
        .args(["targets", "--json"])
        .output()
        .unwrap();
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["targets"][0]["name"], "localhost");
    assert_eq!(doc["targets"][1]["host"], "10.0.1.11");
    let bad = home.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[targets]]\nname = \"x\"\ntransport = \"ssh\"\nprot = 22\n",
    )
    .unwrap();
    let out = rune(home.path())
        .arg("--inventory")
        .arg(&bad)
        .arg("targets")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("prot"),
        "{stderr}"
    );
}

#[test]
fn high_risk_actions_need_yes_headless() {
    let home = tempfile::tempdir().unwrap();
    let catalog = tempfile::tempdir().unwrap();
    let dir = catalog.path().join("danger");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("run.sh"), "cat >/dev/null; echo '{\"message_metadata\":{\"message_id\":\"x\"},\"payload\":{\"result\":\"success\"}}'\n").unwrap();
    std::fs::write(
        dir.join("action.toml"),
        "name = \"danger\"\ntitle = \"D\"\ndescription = \"d\"\nversion = \"1\"\nowner = \"o\"\nrisk = \"high\"\ntimeout = \"5s\"\nentry = \"run.sh\"\n",
    )
    .unwrap();
    let base = || {
        let mut c = rune(home.path());
        c.arg("--catalog")
            .arg(catalog.path())
            .args(["run", "danger"]);
        c
    };
    let refused = base().output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    let confirmed = base().arg("--yes").output().unwrap();
    assert_eq!(
        confirmed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&confirmed.stderr)
    );
}

#[test]
fn verify_runs_after_success_with_the_parameters_it_declares() {
    let run = rune_run(&["run", "flaky", "-p", "case=ok", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = json(&run.stdout);
    let verify = &doc["verify"];
    assert_eq!(verify["action"]["name"], "misbehave");
    assert_eq!(verify["summary"]["success"], 1);
    assert_eq!(
        verify["request"]["message_metadata"]["parent_message_id"],
        doc["request"]["message_metadata"]["message_id"]
    );
    let params = &verify["results"][0]["input"]["payload"]["input_parameters"];
    assert_eq!(params["case"], "ok");
    assert!(
        params.get("extra").is_none(),
        "undeclared parameters stay out: {params}"
    );

    let failed = rune_run(&["run", "flaky", "-p", "case=plugin_error", "-o", "json"]);
    assert_eq!(failed.code, 1, "a failed verification fails the run");
    let doc = json(&failed.stdout);
    assert_eq!(doc["summary"]["success"], 1);
    assert_eq!(doc["verify"]["summary"]["failed"], 1);
}
