//! SSM from the command line, as an operator meets it: credentials from the
//! environment, a missing credential, laziness for local runs, and
//! `rune targets discover --ssm` writing an inventory that then works.

use std::time::{Duration, Instant};

use rune::protocol::eps::code;
use rune::transport::Address;
use serde_json::{Value, json};

use super::{Emulator, REGION, instance_id, instances};
use crate::support::rune;

/// The environment a new operator has: keys in AWS_* variables, nothing else.
fn aws_env(cmd: &mut std::process::Command, home: &std::path::Path, endpoint: &str) {
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDRUNETEST")
        .env("AWS_SECRET_ACCESS_KEY", "rune-test-secret-key")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("RUNE_SSM_ENDPOINT", endpoint);
}

#[test]
fn a_new_user_runs_host_facts_on_an_ssm_target_from_the_cli() {
    let emulator = Emulator::with_instances(1, json!({}));
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inventory.toml");
    std::fs::write(
        &inv,
        format!(
            "[[targets]]\nname = \"{0}\"\ntransport = \"ssm\"\ninstance_id = \"{0}\"\n",
            instance_id(1)
        ),
    )
    .unwrap();
    let mut cmd = rune(home.path());
    aws_env(&mut cmd, home.path(), &emulator.endpoint());
    let out = cmd
        .arg("--inventory")
        .arg(&inv)
        .args(["run", "host-facts", "-t", &instance_id(1), "-o", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let result = &doc["results"][0];
    assert_eq!(result["transport"], "ssm");
    assert!(result["output"]["payload"]["output_data"]["hostname"].is_string());
    let sends = emulator.calls_of("SendCommand");
    assert_eq!(sends.len(), 1);
    assert_eq!(
        sends[0]["signed"], true,
        "signed with the keys from the environment"
    );
}

#[test]
fn without_credentials_an_ssm_run_fails_with_an_authentication_error() {
    let emulator = Emulator::with_instances(1, json!({}));
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inventory.toml");
    std::fs::write(
        &inv,
        format!(
            "[[targets]]\nname = \"db\"\ntransport = \"ssm\"\ninstance_id = \"{}\"\n",
            instance_id(1)
        ),
    )
    .unwrap();
    let mut cmd = rune(home.path());
    aws_env(&mut cmd, home.path(), &emulator.endpoint());
    let clock = Instant::now();
    let out = cmd
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("--inventory")
        .arg(&inv)
        .args(["run", "noop", "-t", "db", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = &doc["results"][0]["error"]["error_payload"]["error_data"]["error"];
    assert_eq!(error["code"], code::AUTHENTICATION);
    assert!(
        error["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("no usable AWS credentials"),
        "{error}"
    );
    assert!(
        emulator.calls_of("SendCommand").is_empty(),
        "nothing unsigned was sent"
    );
    assert!(
        clock.elapsed() < Duration::from_secs(30),
        "took {:?}",
        clock.elapsed()
    );
}

/// A FIFO opened for writing blocks until someone opens it for reading:
/// a thread blocked on it proves nobody read the AWS config files.
#[test]
fn local_runs_never_read_aws_configuration() {
    let home = tempfile::tempdir().unwrap();
    let fifos = [
        home.path().join("aws-config"),
        home.path().join("aws-credentials"),
    ];
    for fifo in &fifos {
        let status = std::process::Command::new("mkfifo")
            .arg(fifo)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let watchers: Vec<_> = fifos
        .iter()
        .map(|fifo| {
            let fifo = fifo.clone();
            std::thread::spawn(move || drop(std::fs::OpenOptions::new().write(true).open(fifo)))
        })
        .collect();
    let out = rune(home.path())
        .env("AWS_CONFIG_FILE", &fifos[0])
        .env("AWS_SHARED_CREDENTIALS_FILE", &fifos[1])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["run", "noop", "--aws-profile", "nowhere", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (watcher, fifo) in watchers.into_iter().zip(&fifos) {
        assert!(!watcher.is_finished(), "{} was opened", fifo.display());
        // Unblock the watcher.
        drop(std::fs::File::open(fifo));
        watcher.join().unwrap();
    }
}

#[test]
fn discovery_pages_through_instances_and_appends_to_the_inventory() {
    let mut all = instances(5).as_array().unwrap().clone();
    all.push(json!({"id": "i-0stage00000000001", "tags": {"env": "stage"}}));
    let emulator = Emulator::start(json!({"region": REGION, "instances": all, "page_size": 2}));
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inventory.toml");
    let kept = format!(
        "# written by hand\n[[targets]]\nname = \"{}\"\ntransport = \"ssh\"\nhost = \"10.9.9.9\"\n",
        instance_id(2)
    );
    std::fs::write(&inv, &kept).unwrap();
    let mut cmd = rune(home.path());
    aws_env(&mut cmd, home.path(), &emulator.endpoint());
    // The SDK's own service endpoint variable works as well as RUNE's.
    cmd.env_remove("RUNE_SSM_ENDPOINT")
        .env("AWS_ENDPOINT_URL_SSM", emulator.endpoint());
    let out = cmd
        .args([
            "targets", "discover", "--ssm", "--tag", "env=prod", "--json", "--write",
        ])
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, (1..=5).map(instance_id).collect::<Vec<_>>());
    assert_eq!(doc["written"]["skipped"], json!([instance_id(2)]));
    let pages = emulator.calls_of("DescribeInstanceInformation");
    assert_eq!(pages.len(), 3, "five instances, two per page");
    assert_eq!(
        pages[0]["request"]["Filters"],
        json!([{"Key": "tag:env", "Values": ["prod"]}])
    );

    let text = std::fs::read_to_string(&inv).unwrap();
    assert!(
        text.starts_with(&kept),
        "the existing entry is untouched:\n{text}"
    );
    let inventory = rune::inventory::load(&inv).unwrap();
    let Address::Ssh(ssh) = &inventory.get(&instance_id(2)).unwrap().address else {
        panic!("the existing ssh entry is kept");
    };
    assert_eq!(ssh.host.as_deref(), Some("10.9.9.9"));
    let found = inventory.get(&instance_id(3)).unwrap();
    let Address::Ssm(address) = &found.address else {
        panic!("a discovered instance is an ssm target");
    };
    assert_eq!(address.region.as_deref(), Some(REGION));
    assert_eq!(found.tags["env"], "prod");

    // The written inventory works unchanged.
    let mut cmd = rune(home.path());
    aws_env(&mut cmd, home.path(), &emulator.endpoint());
    let out = cmd
        .arg("--inventory")
        .arg(&inv)
        .args(["run", "noop", "-t", &instance_id(4), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_toml_names_the_output_bucket_and_cut_stdout_comes_from_s3() {
    let emulator = Emulator::with_instances(1, json!({}));
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/rune");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[ssm]\noutput_bucket = \"rune-output\"\noutput_prefix = \"from-config\"\noutput_endpoint = \"{}\"\n",
            emulator.endpoint()
        ),
    )
    .unwrap();
    let inv = home.path().join("inventory.toml");
    std::fs::write(
        &inv,
        format!(
            "[[targets]]\nname = \"db-1\"\ntransport = \"ssm\"\ninstance_id = \"{}\"\n",
            instance_id(1)
        ),
    )
    .unwrap();
    let mut cmd = rune(home.path());
    aws_env(&mut cmd, home.path(), &emulator.endpoint());
    let out = cmd
        .arg("--catalog")
        .arg(crate::support::root().join("tests/fixtures/catalog"))
        .arg("--inventory")
        .arg(&inv)
        .args([
            "run",
            "misbehave",
            "-t",
            "db-1",
            "-p",
            "case=big",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let blob = &doc["results"][0]["output"]["payload"]["output_data"]["blob"];
    assert_eq!(blob.as_str().unwrap().len(), 100_000);
    let gets = emulator.calls_of("GetObject");
    assert_eq!(gets.len(), 1);
    assert!(
        gets[0]["request"]["Key"]
            .as_str()
            .unwrap()
            .starts_with("from-config/")
    );
}
