//! Every malformed-output case, produced by a real plugin process, ends in
//! its own EPS code; good outputs and reported failures pass through.

use rune::mediator::Status;
use rune::protocol::eps::code;

use crate::support::run_case;

#[rstest::rstest]
#[case::empty_stdout("empty", code::PARSE_ERROR, "empty_stdout")]
#[case::not_json("not_json", code::PARSE_ERROR, "not_json")]
#[case::two_objects("two_objects", code::PARSE_ERROR, "trailing_data")]
#[case::json_array("array", code::SCHEMA_VALIDATION, "not_an_object")]
#[case::invalid_utf8("invalid_utf8", code::PARSE_ERROR, "invalid_utf8")]
#[case::success_with_error("success_with_error", code::SCHEMA_VALIDATION, "success_with_error")]
#[case::failure_without_error(
    "failure_without_error",
    code::REQUIRED_FIELD_MISSING,
    "failure_without_error"
)]
#[case::exit_zero_with_error("exit0_error", code::SCHEMA_VALIDATION, "exit_zero_with_error")]
#[case::exit_nonzero_with_success(
    "exit3_success",
    code::SCHEMA_VALIDATION,
    "exit_nonzero_with_success"
)]
#[case::missing_ids("missing_ids", code::REQUIRED_FIELD_MISSING, "missing_field")]
#[case::oversize("oversize", code::MESSAGE_TOO_LARGE, "oversize")]
#[tokio::test]
async fn each_violation_ends_in_its_eps_code(
    #[case] case: &str,
    #[case] expected: i64,
    #[case] kind: &str,
) {
    let result = run_case(case, &[]).await;
    assert_eq!(result.status, Status::Failed);
    let eps = result.error.expect("an EPS error");
    assert_eq!(eps.code(), expected, "{}", eps.reason());
    assert_eq!(eps.error_payload.error_data.error.data["violation"], kind);
    assert!(
        eps.reason()
            .contains("misbehave on localhost broke the plugin contract"),
        "{}",
        eps.reason()
    );
    assert!(result.output.is_none());
}

#[tokio::test]
async fn a_good_output_is_a_success() {
    let result = run_case("ok", &[]).await;
    assert_eq!(result.status, Status::Success, "{:?}", result.error);
    assert_eq!(result.exit_code, Some(0));
    assert_eq!(
        result.output.unwrap().payload.unwrap().output_data["fine"],
        true
    );
}

#[tokio::test]
async fn pretty_printed_output_with_extra_keys_is_accepted() {
    let result = run_case("pretty", &[]).await;
    assert_eq!(result.status, Status::Success, "{:?}", result.error);
    assert_eq!(result.output.unwrap().message_metadata["extra"], 1);
}

#[tokio::test]
async fn a_reported_failure_is_eps_32010_with_stderr_evidence() {
    let result = run_case("plugin_error", &[]).await;
    let eps = result.error.unwrap();
    assert_eq!(eps.code(), code::PLUGIN_FAILURE);
    let data = &eps.error_payload.error_data.error.data;
    assert_eq!(data["plugin_error_code"], 2);
    assert_eq!(data["exit_code"], 2);
    assert_eq!(data["stderr_tail"][0], "jq is required");
    assert_eq!(result.stderr_tail, ["jq is required"]);
    assert_eq!(
        result.output.unwrap().error.unwrap().message,
        "dependency missing"
    );
}

#[tokio::test]
async fn plugin_code_and_exit_status_are_both_kept() {
    let result = run_case("big_code", &[]).await;
    let data = result.error.unwrap().error_payload.error_data.error.data;
    assert_eq!(
        (
            data["plugin_error_code"].as_i64(),
            data["exit_code"].as_i64()
        ),
        (Some(1001), Some(233))
    );
}

#[tokio::test]
async fn a_plugin_killed_by_a_signal_is_resource_exhausted() {
    crate::support::assert_killed_by_signal_9(&run_case("signal", &[]).await);
}
