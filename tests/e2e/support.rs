//! Shared helpers: fixture catalogs, running a plan through the mediator,
//! running the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rune::catalog::{self, Catalog};
use rune::inventory::{Inventory, Selector};
use rune::mediator::{ExecEvent, Mediator, Report, TargetResult};
use rune::policy::{Confirmation, Operator, ParamInput, RunRequest, Source, decide};
use rune::protocol::eps::code;
use rune::transport::Transports;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_catalog() -> Catalog {
    catalog::load(&root().join("tests/fixtures/catalog")).unwrap()
}

pub fn shipped_catalog() -> Catalog {
    catalog::load(&root().join("actions")).unwrap()
}

pub fn request(action: &str, params: &[(&str, &str)]) -> RunRequest {
    RunRequest {
        action: action.into(),
        selector: Selector::default(),
        params: ParamInput::Assignments(
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        source: Source::Cli,
        operator: Operator {
            user: "tester".into(),
            host: "ci".into(),
        },
        incident: Some("01937a40-0f00-7a00-b000-000000000001".into()),
        timeout: None,
        concurrency: 16,
        max_errors: None,
        confirmation: Confirmation::Explicit,
        parent_message_id: None,
    }
}

/// Runs `request` against `catalog` on the implicit localhost, collecting every event.
pub async fn run(
    catalog: &Catalog,
    inventory: &Inventory,
    request: RunRequest,
) -> (Report, Vec<ExecEvent>) {
    run_with(
        catalog,
        inventory,
        request,
        Mediator::new(Transports::local_only()),
        CancellationToken::new(),
    )
    .await
}

pub async fn run_with(
    catalog: &Catalog,
    inventory: &Inventory,
    request: RunRequest,
    mediator: Mediator,
    cancel: CancellationToken,
) -> (Report, Vec<ExecEvent>) {
    let plan = Arc::new(decide(catalog, inventory, request).unwrap());
    let (tx, mut rx) = mpsc::channel(256);
    let collect = async {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    };
    tokio::join!(mediator.run(plan, tx, cancel), collect)
}

pub async fn run_case(case: &str, extra: &[(&str, &str)]) -> TargetResult {
    let mut params = vec![("case", case)];
    params.extend_from_slice(extra);
    let (report, _) = run(
        &fixture_catalog(),
        &Inventory::default(),
        request("misbehave", &params),
    )
    .await;
    report.results.into_iter().next().unwrap()
}

/// The `rune` binary with a clean environment: no user inventory, logs in a
/// temp dir. Local plugins get their private directories under `home` too:
/// a test that SIGKILLs rune mid-run leaves nothing behind in /tmp.
pub fn rune(home: &Path) -> std::process::Command {
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rune"));
    cmd.env_remove("RUNE_CATALOG")
        .env_remove("RUNE_INVENTORY")
        .env("TMPDIR", tmp)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1");
    cmd
}

/// True while a process whose command line contains `marker` exists.
pub fn process_exists(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
}

pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 5 s");
}

/// A plugin that died of SIGKILL, as every transport must report it: -32400
/// naming the signal, and a stderr holding nothing the plugin did not write
/// (it wrote nothing; no shell's "Killed").
pub fn assert_killed_by_signal_9(result: &TargetResult) {
    let eps = result.error.as_ref().expect("an EPS error");
    assert_eq!(eps.code(), code::RESOURCE_EXHAUSTED, "{}", eps.reason());
    assert!(eps.reason().contains("signal 9"), "{}", eps.reason());
    assert_eq!(result.stderr_tail, Vec::<String>::new());
}

/// OSC 52 (clipboard), CSI (colour), a bidi override and an 8-bit CSI, as a
/// TOML basic string spells them.
pub const HOSTILE_TOML: &str =
    r"T\u001b]52;c;ZXZpbA==\u0007 \u001b[31mred\u001b[0m \u202eevil \u009b2Jx";
/// A catalog with one action, `hostile`: a hostile title, and a plugin whose
/// output holds a raw U+202E and U+009B (sent escaped, as JSON allows).
pub fn hostile_catalog() -> tempfile::TempDir {
    let catalog = tempfile::tempdir().unwrap();
    let dir = catalog.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("run.sh"),
        r#"cat >/dev/null; printf '{"message_metadata":{"message_id":"x"},"payload":{"result":"success","output_data":{"s":"a\\u202eb\\u009bc"}}}'"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("action.toml"),
        format!(
            "name = \"hostile\"\ntitle = \"{HOSTILE_TOML}\"\ndescription = \"d\"\nversion = \"1\"\n\
             owner = \"o\"\nrisk = \"read\"\ntimeout = \"5s\"\nentry = \"run.sh\"\n"
        ),
    )
    .unwrap();
    catalog
}
