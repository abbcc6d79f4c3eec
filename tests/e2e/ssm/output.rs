//! Full stdout from S3: with an output bucket, stdout that SSM cut at
//! 24,000 characters is read back with the real `aws-sdk-s3` GetObject
//! (path style, on the emulator's S3), still bounded by the stdout cap;
//! when S3 refuses or lacks the object, the cut result stays, with -32103
//! and a reason that names the S3 failure.

use rune::mediator::Status;
use rune::protocol::eps::code;
use serde_json::{Value, json};

use super::{Emulator, data, eps_code, inventory, on_first, reason, run_on};
use crate::support::fixture_catalog;

const BUCKET: &str = "rune-output";

fn big_on_first() -> rune::policy::RunRequest {
    on_first("misbehave", &[("case", "big")])
}

/// Settings with the output bucket, a prefix, and S3 on the emulator.
fn with_bucket(emulator: &Emulator) -> rune::transport::ssm::SsmSettings {
    let mut settings = emulator.settings();
    settings.output_bucket = Some(BUCKET.into());
    settings.output_prefix = Some("incidents/rune".into());
    settings.output_endpoint = Some(emulator.endpoint());
    settings
}

fn get_objects(emulator: &Emulator) -> Vec<Value> {
    emulator.calls_of("GetObject")
}

#[tokio::test]
async fn cut_stdout_is_read_in_full_from_the_output_bucket() {
    let emulator = Emulator::with_instances(1, json!({}));
    let (report, _) = run_on(
        emulator.mediator(with_bucket(&emulator)),
        &fixture_catalog(),
        &inventory(1),
        big_on_first(),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(result.status, Status::Success, "{}", reason(result));
    let out = &result.output.as_ref().unwrap().payload.as_ref().unwrap();
    let blob = out.output_data["blob"].as_str().unwrap();
    assert_eq!(blob.len(), 100_000, "every byte, past SSM's 24,000");
    assert_eq!(out.output_data["end"], true);
    let send = &emulator.calls_of("SendCommand")[0]["request"];
    assert_eq!(send["OutputS3BucketName"], BUCKET);
    assert_eq!(send["OutputS3KeyPrefix"], "incidents/rune");
    let gets = get_objects(&emulator);
    assert_eq!(gets.len(), 1, "{gets:?}");
    let key = gets[0]["request"]["Key"].as_str().unwrap();
    assert!(key.starts_with("incidents/rune/"), "{key}");
    assert!(
        key.ends_with(&format!(
            "/{}/awsrunShellScript/0.awsrunShellScript/stdout",
            super::instance_id(1)
        )),
        "{key}"
    );
    assert_eq!(gets[0]["request"]["Bucket"], BUCKET);
    assert_eq!(gets[0]["signed"], true, "SigV4, like every AWS call");
}

#[tokio::test]
async fn output_that_fits_inline_never_touches_s3() {
    let emulator = Emulator::with_instances(1, json!({}));
    let req = on_first("misbehave", &[("case", "ok")]);
    let (report, _) = run_on(
        emulator.mediator(with_bucket(&emulator)),
        &fixture_catalog(),
        &inventory(1),
        req,
    )
    .await;
    assert_eq!(
        report.results[0].status,
        Status::Success,
        "{}",
        reason(&report.results[0])
    );
    assert!(get_objects(&emulator).is_empty());
}

#[tokio::test]
async fn full_stdout_past_the_cap_is_too_large() {
    let emulator = Emulator::with_instances(1, json!({}));
    let mut mediator = emulator.mediator(with_bucket(&emulator));
    mediator.limits.stdout_bytes = 50_000;
    let (report, _) = run_on(mediator, &fixture_catalog(), &inventory(1), big_on_first()).await;
    let result = &report.results[0];
    assert_eq!(
        eps_code(result),
        code::MESSAGE_TOO_LARGE,
        "{}",
        reason(result)
    );
    assert!(
        reason(result).contains("past the 50000-byte stdout cap"),
        "{}",
        reason(result)
    );
    assert!(reason(result).contains("s3://rune-output/incidents/rune/"));
    assert_eq!(data(result)["partial_stdout_bytes"], 50_000);
}

#[tokio::test]
async fn access_denied_on_s3_keeps_the_cut_output_and_says_why() {
    let emulator = Emulator::with_instances(1, json!({"s3": "AccessDenied"}));
    let (report, _) = run_on(
        emulator.mediator(with_bucket(&emulator)),
        &fixture_catalog(),
        &inventory(1),
        big_on_first(),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(
        eps_code(result),
        code::MESSAGE_TOO_LARGE,
        "{}",
        reason(result)
    );
    let why = reason(result);
    assert!(why.contains("24000 characters of stdout"), "{why}");
    assert!(why.contains("S3 GetObject: AccessDenied"), "{why}");
    let kept = data(result)["partial_stdout_bytes"].as_u64().unwrap();
    assert!((23_000..24_000).contains(&kept), "{kept}");
    assert_eq!(
        get_objects(&emulator).len(),
        1,
        "AccessDenied is not retried"
    );
}

#[tokio::test]
async fn a_missing_object_keeps_the_cut_output_and_says_why() {
    let emulator = Emulator::with_instances(1, json!({"s3": "NoSuchKey"}));
    let (report, _) = run_on(
        emulator.mediator(with_bucket(&emulator)),
        &fixture_catalog(),
        &inventory(1),
        big_on_first(),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(
        eps_code(result),
        code::MESSAGE_TOO_LARGE,
        "{}",
        reason(result)
    );
    assert!(
        reason(result).contains("S3 GetObject: NoSuchKey"),
        "{}",
        reason(result)
    );
}

#[tokio::test]
async fn without_a_bucket_the_cut_output_points_at_the_setting() {
    let emulator = Emulator::with_instances(1, json!({}));
    let (report, _) = run_on(
        emulator.mediator(emulator.settings()),
        &fixture_catalog(),
        &inventory(1),
        big_on_first(),
    )
    .await;
    let result = &report.results[0];
    assert_eq!(eps_code(result), code::MESSAGE_TOO_LARGE);
    assert!(
        reason(result).contains("set --ssm-output-bucket"),
        "{}",
        reason(result)
    );
    assert!(get_objects(&emulator).is_empty());
}
