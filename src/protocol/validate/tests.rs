use proptest::prelude::*;
use rstest::rstest;

use super::*;

const SUCCESS: &str = include_str!("../../../tests/fixtures/envelopes/bpcs-output-success.json");
const FAILURE: &str = include_str!("../../../tests/fixtures/envelopes/bpcs-output-error.json");
const LIMIT: u64 = 4 * 1024 * 1024;

fn check(stdout: &str, exit: i32) -> Result<Validated, Violation> {
    let bytes = stdout.as_bytes();
    validate(
        Stdout {
            bytes,
            total: bytes.len() as u64,
            limit: LIMIT,
        },
        exit,
    )
}

fn code_of(stdout: &str, exit: i32) -> i64 {
    check(stdout, exit).unwrap_err().code()
}

#[test]
fn worked_success_example_is_accepted() {
    let out = check(SUCCESS, 0).unwrap();
    assert!(out.is_success());
    assert_eq!(out.payload.unwrap().output_data["lines_returned"], 2);
}

#[test]
fn worked_failure_example_is_a_plugin_failure_not_a_violation() {
    let out = check(FAILURE, 2).unwrap();
    assert!(!out.is_success());
    let error = out.error.unwrap();
    assert_eq!(error.code, 2);
    assert_eq!(error.details["dependency"], "journalctl");
}

#[test]
fn compact_output_with_minimal_fields_is_accepted() {
    let out = check(
        r#" {"message_metadata":{"message_id":"x"},"payload":{"result":"success"}} "#,
        0,
    )
    .unwrap();
    assert_eq!(out.payload.unwrap().output_data, serde_json::json!({}));
    assert!(out.error.is_none());
}

#[test]
fn error_code_need_not_equal_exit_status() {
    let out = r#"{"message_metadata":{"message_id":"x"},"payload":null,
                 "error":{"code":1001,"message":"quota","details":null}}"#;
    assert_eq!(check(out, 233).unwrap().error.unwrap().code, 1001);
}

#[test]
fn non_success_result_with_error_is_a_plugin_failure() {
    let out = r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"failed"},
                 "error":{"code":3,"message":"no"}}"#;
    let validated = check(out, 3).unwrap();
    assert!(validated.payload.is_none());
    assert_eq!(validated.error.unwrap().details, Value::Null);
}

#[rstest]
#[case::empty_stdout("", 0, code::PARSE_ERROR, "empty_stdout")]
#[case::only_whitespace(" \n\t ", 0, code::PARSE_ERROR, "empty_stdout")]
#[case::not_json("hello world", 0, code::PARSE_ERROR, "not_json")]
#[case::truncated_json(r#"{"message_metadata":"#, 0, code::PARSE_ERROR, "not_json")]
#[case::two_objects(
    r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"success"}} {}"#,
    0,
    code::PARSE_ERROR,
    "trailing_data"
)]
#[case::text_after_object(
    r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"success"}} done"#,
    0,
    code::PARSE_ERROR,
    "trailing_data"
)]
#[case::json_array("[1,2]", 0, code::SCHEMA_VALIDATION, "not_an_object")]
#[case::json_string(r#""ok""#, 0, code::SCHEMA_VALIDATION, "not_an_object")]
#[case::success_with_error(
    r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"success"},
        "error":{"code":2,"message":"m"}}"#,
    0,
    code::SCHEMA_VALIDATION,
    "success_with_error"
)]
#[case::failure_without_error(
    r#"{"message_metadata":{"message_id":"x"},"payload":null}"#,
    1,
    code::REQUIRED_FIELD_MISSING,
    "failure_without_error"
)]
#[case::non_success_result_without_error(
    r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"failed"}}"#,
    1,
    code::REQUIRED_FIELD_MISSING,
    "failure_without_error"
)]
#[case::exit_zero_with_error(
    r#"{"message_metadata":{"message_id":"x"},"payload":null,"error":{"code":2,"message":"m"}}"#,
    0,
    code::SCHEMA_VALIDATION,
    "exit_zero_with_error"
)]
#[case::exit_nonzero_with_success(
    r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"success"}}"#,
    3,
    code::SCHEMA_VALIDATION,
    "exit_nonzero_with_success"
)]
#[case::missing_metadata(
    r#"{"payload":{"result":"success"}}"#,
    0,
    code::REQUIRED_FIELD_MISSING,
    "missing_field"
)]
#[case::missing_message_id(
    r#"{"message_metadata":{"version":"1.0"},"payload":{"result":"success"}}"#,
    0,
    code::REQUIRED_FIELD_MISSING,
    "missing_field"
)]
#[case::numeric_message_id(
    r#"{"message_metadata":{"message_id":7},"payload":{"result":"success"}}"#,
    0,
    code::SCHEMA_VALIDATION,
    "wrong_type"
)]
#[case::version_two(
    r#"{"message_metadata":{"message_id":"x","version":"2.0"},"payload":{"result":"success"}}"#,
    0,
    code::VERSION_MISMATCH,
    "version_mismatch"
)]
#[case::error_without_code(
    r#"{"message_metadata":{"message_id":"x"},"payload":null,"error":{"message":"m"}}"#,
    1,
    code::REQUIRED_FIELD_MISSING,
    "missing_field"
)]
#[case::error_code_not_integer(
    r#"{"message_metadata":{"message_id":"x"},"payload":null,"error":{"code":"E2","message":"m"}}"#,
    1,
    code::SCHEMA_VALIDATION,
    "wrong_type"
)]
#[case::output_data_array(
    r#"{"message_metadata":{"message_id":"x"},"payload":{"result":"success","output_data":[1]}}"#,
    0,
    code::SCHEMA_VALIDATION,
    "wrong_type"
)]
fn each_violation_has_its_code(
    #[case] stdout: &str,
    #[case] exit: i32,
    #[case] expected_code: i64,
    #[case] kind: &str,
) {
    let violation = check(stdout, exit).unwrap_err();
    assert_eq!(violation.kind(), kind, "{violation}");
    assert_eq!(violation.code(), expected_code, "{violation}");
    assert!(!violation.to_string().is_empty());
}

#[test]
fn invalid_utf8_is_a_parse_error_naming_the_offset() {
    let bytes = b"{\"a\":\"\xff\"}";
    let v = validate(
        Stdout {
            bytes,
            total: 9,
            limit: LIMIT,
        },
        0,
    )
    .unwrap_err();
    assert_eq!(v, Violation::InvalidUtf8 { offset: 6 });
    assert_eq!(v.code(), code::PARSE_ERROR);
}

#[test]
fn oversize_is_message_too_large_even_when_the_kept_prefix_parses() {
    let bytes = SUCCESS.as_bytes();
    let v = validate(
        Stdout {
            bytes,
            total: LIMIT + 1,
            limit: LIMIT,
        },
        0,
    )
    .unwrap_err();
    assert_eq!(v.code(), code::MESSAGE_TOO_LARGE);
    assert!(v.to_string().contains("cap"));
}

#[test]
fn trailing_data_names_its_position() {
    let v = check("{\"message_metadata\":{\"message_id\":\"x\"}}\n\n  {}", 0).unwrap_err();
    assert_eq!(v, Violation::TrailingData { line: 3, column: 3 });
}

#[test]
fn deeply_nested_output_is_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(code_of(&deep, 0), code::PARSE_ERROR);
}

proptest! {
    // Whatever bytes a plugin writes, the validator answers without panicking,
    // and anything it accepts is a consistent success or failure.
    #[test]
    fn never_panics_and_accepts_only_consistent_shapes(bytes in proptest::collection::vec(any::<u8>(), 0..256), exit in -1i32..5) {
        let total = bytes.len() as u64;
        if let Ok(out) = validate(Stdout { bytes: &bytes, total, limit: LIMIT }, exit) {
            prop_assert_eq!(out.is_success(), exit == 0);
        }
    }

    #[test]
    fn any_success_object_with_extra_keys_is_accepted(key in "[a-z]{1,8}", n in any::<i64>()) {
        let out = serde_json::json!({
            "message_metadata": {"message_id": "m", key.clone(): n},
            "payload": {"result": "success", "output_data": {key.clone(): n}},
        });
        let text = serde_json::to_string_pretty(&out).unwrap();
        let validated = check(&text, 0).unwrap();
        prop_assert_eq!(&validated.message_metadata[&key], &Value::from(n));
    }
}
