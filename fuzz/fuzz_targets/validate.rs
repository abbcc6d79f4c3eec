//! The plugin-output validator on arbitrary stdout, judged with each kind of
//! exit status and once as output that was cut at the cap.
//! Properties: never panics; every violation maps to one of the validator's
//! EPS codes; an accepted output is a success exactly when the exit status is
//! 0, and re-validating its own serialization gives it back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rune::protocol::validate::{Stdout, validate};

fuzz_target!(|bytes: &[u8]| {
    let kept = bytes.len() as u64;
    let cut = Stdout {
        bytes,
        total: kept + 1,
        limit: kept,
    };
    assert_eq!(validate(cut, 0).map_err(|v| v.kind()), Err("oversize"));
    for exit in [0, 1, 233, -1] {
        check(bytes, exit);
    }
});

fn check(bytes: &[u8], exit: i32) {
    let whole = Stdout {
        bytes,
        total: bytes.len() as u64,
        limit: bytes.len() as u64,
    };
    let out = match validate(whole, exit) {
        Ok(out) => out,
        Err(violation) => {
            assert!(
                [-32700, -32200, -32201, -32105].contains(&violation.code()),
                "{violation:?}"
            );
            assert!(!violation.kind().is_empty() && !violation.to_string().is_empty());
            return;
        }
    };
    assert_eq!(out.is_success(), exit == 0, "{out:?}");
    assert_eq!(out.payload.is_some(), out.error.is_none(), "{out:?}");
    let text = serde_json::to_vec(&out).expect("a validated output serializes");
    let again = Stdout {
        bytes: &text,
        total: text.len() as u64,
        limit: text.len() as u64,
    };
    let again = validate(again, exit).expect("a validated output validates again");
    assert_eq!(again, out);
}
