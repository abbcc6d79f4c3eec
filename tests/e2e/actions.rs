//! Contract tests of the shipped actions: each runs through the mediator on
//! localhost, and its validated output has the documented shape.

use std::path::Path;

use rune::inventory::Inventory;
use rune::mediator::{Status, TargetResult};
use rune::protocol::eps::code;
use serde_json::Value;

use crate::support::{request, run, shipped_catalog};

async fn shipped(action: &str, params: &[(&str, &str)]) -> TargetResult {
    let (report, _) = run(
        &shipped_catalog(),
        &Inventory::default(),
        request(action, params),
    )
    .await;
    report.results.into_iter().next().unwrap()
}

fn data(result: &TargetResult) -> &Value {
    assert_eq!(
        result.status,
        Status::Success,
        "{:?}\nstderr: {:?}",
        result.error,
        result.stderr_tail
    );
    &result
        .output
        .as_ref()
        .unwrap()
        .payload
        .as_ref()
        .unwrap()
        .output_data
}

/// The plugin's own error code, for an execution that failed with -32010.
fn plugin_code(result: &TargetResult) -> i64 {
    let eps = result.error.as_ref().expect("an error");
    assert_eq!(eps.code(), code::PLUGIN_FAILURE, "{}", eps.reason());
    eps.error_payload.error_data.error.data["plugin_error_code"]
        .as_i64()
        .unwrap()
}

#[test]
fn the_shipped_catalog_loads_whole() {
    let catalog = shipped_catalog();
    assert!(catalog.broken.is_empty(), "{:?}", catalog.broken);
    let names: Vec<_> = catalog.actions.iter().map(|a| a.name.as_str()).collect();
    for expected in [
        "cert-expiry",
        "check-port",
        "disk-usage",
        "host-facts",
        "noop",
        "process-top",
        "restart-service",
        "service-status",
        "tail-logs",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let restart = catalog.get("restart-service").unwrap();
    assert_eq!(restart.risk, rune::catalog::Risk::High);
    assert_eq!(restart.verify.as_deref(), Some("service-status"));
}

#[tokio::test]
async fn noop_echoes_and_fails_on_demand() {
    let ok = shipped("noop", &[("message", "hello \"world\" ✓")]).await;
    let d = data(&ok);
    assert_eq!(d["input_parameters"]["message"], "hello \"world\" ✓");
    assert_eq!(d["context"]["node"], "localhost");
    let echoed = &ok.output.as_ref().unwrap().message_metadata;
    assert_eq!(
        echoed["message_id"],
        ok.input.message_metadata.message_id.as_str()
    );
    let failed = shipped("noop", &[("fail", "true")]).await;
    assert_eq!(plugin_code(&failed), 3);
    assert_eq!(failed.exit_code, Some(3));
}

#[tokio::test]
async fn host_facts_reports_this_host() {
    let result = shipped("host-facts", &[]).await;
    let d = data(&result);
    let hostname = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    assert_eq!(d["hostname"], hostname.as_str());
    assert!(d["cpu_count"].as_u64().unwrap() >= 1);
    assert!(d["memory"]["total_kb"].as_u64().unwrap() > 0);
    assert!(d["uptime_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(d["root_disk"]["mount"], "/");
}

#[tokio::test]
async fn disk_usage_ranks_the_largest_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big"), vec![b'x'; 300_000]).unwrap();
    std::fs::write(dir.path().join("small"), b"x").unwrap();
    let path = dir.path().to_str().unwrap();
    let result = shipped("disk-usage", &[("path", path), ("top", "1")]).await;
    let d = data(&result);
    assert_eq!(d["largest"].as_array().unwrap().len(), 1);
    assert!(
        d["largest"][0]["path"].as_str().unwrap().ends_with("/big"),
        "{d}"
    );
    let missing = shipped("disk-usage", &[("path", "/nonexistent/rune")]).await;
    assert_eq!(plugin_code(&missing), 1);
}

#[tokio::test]
async fn tail_logs_returns_the_last_lines_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&log, text).unwrap();
    let result = shipped(
        "tail-logs",
        &[("path", log.to_str().unwrap()), ("lines", "3")],
    )
    .await;
    let d = data(&result);
    assert_eq!(
        d["lines"],
        serde_json::json!(["line 48", "line 49", "line 50"])
    );
    assert_eq!(d["source"], "file");
    let neither = shipped("tail-logs", &[]).await;
    assert_eq!(plugin_code(&neither), 1);
}

#[tokio::test]
async fn check_port_tells_open_from_closed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port().to_string();
    let result = shipped("check-port", &[("host", "127.0.0.1"), ("port", &open)]).await;
    assert_eq!(data(&result)["open"], true);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let result = shipped("check-port", &[("host", "127.0.0.1"), ("port", &closed)]).await;
    let d = data(&result);
    assert_eq!(
        (d["open"].as_bool(), d["reason"].as_str()),
        (Some(false), Some("refused"))
    );
}

#[tokio::test]
async fn cert_expiry_reads_a_pem_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
        ])
        .args(["-subj", "/CN=rune.test", "-keyout"])
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let result = shipped("cert-expiry", &[("path", cert.to_str().unwrap())]).await;
    let d = data(&result);
    let days = d["days_left"].as_i64().unwrap();
    assert!((29..=30).contains(&days), "{d}");
    assert!(d["subject"].as_str().unwrap().contains("rune.test"));
    assert_eq!(d["expired"], false);
}

#[tokio::test]
async fn process_top_lists_processes_by_memory() {
    let result = shipped("process-top", &[("by", "memory"), ("count", "3")]).await;
    let d = data(&result);
    let processes = d["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 3);
    let rss: Vec<u64> = processes
        .iter()
        .map(|p| p["rss_kb"].as_u64().unwrap())
        .collect();
    assert!(
        rss.windows(2).all(|w| w[0] >= w[1]),
        "sorted by memory: {rss:?}"
    );
}

/// Without systemd (CI, containers) both systemd actions end in a clean
/// code-2 error; with it, service-status reports a unit's state.
#[tokio::test]
async fn systemd_actions_report_state_or_a_clean_dependency_error() {
    let status = shipped(
        "service-status",
        &[
            ("unit", "rune-test-absent.service"),
            ("require_active", "false"),
        ],
    )
    .await;
    let mut restart_req = request("restart-service", &[("unit", "rune-test-absent.service")]);
    restart_req.timeout = Some(std::time::Duration::from_secs(30));
    let (report, _) = run(&shipped_catalog(), &Inventory::default(), restart_req).await;
    let restart = &report.results[0];
    if Path::new("/run/systemd/system").exists() {
        assert_eq!(data(&status)["unit"], "rune-test-absent.service");
        assert!(
            restart.error.is_some(),
            "restarting a unit that does not exist must fail"
        );
    } else {
        assert_eq!(plugin_code(&status), 2);
        assert_eq!(plugin_code(restart), 2);
        let message = &status
            .error
            .as_ref()
            .unwrap()
            .error_payload
            .error_data
            .error
            .data["plugin_error_message"];
        assert!(message.as_str().unwrap().contains("systemd"), "{message}");
    }
}
