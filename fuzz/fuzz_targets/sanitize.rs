//! The terminal sanitizer on arbitrary bytes and text.
//! Properties: no ESC, no C0 control other than `\n` (text mode only) and
//! `\t`, no DEL, no C1 control (U+0080–U+009F) and no bidi override
//! (U+202A–U+202E, U+2066–U+2069) survives; sanitizing is idempotent; and
//! `is_clean` says exactly whether a line would change.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rune::protocol::sanitize::{is_clean, sanitize_bytes, sanitize_line, sanitize_text};

fuzz_target!(|data: &[u8]| {
    check(&sanitize_bytes(data), false);
    if let Ok(input) = std::str::from_utf8(data) {
        let line = sanitize_line(input);
        check(&line, false);
        assert_eq!(is_clean(input), line == input);
        check(&sanitize_text(input), true);
    }
});

fn check(out: &str, text: bool) {
    if let Some(bad) = out.chars().find(|&c| survives_wrongly(c, text)) {
        panic!("{bad:?} survived in {out:?}");
    }
    if text {
        assert_eq!(sanitize_text(out), out);
    } else {
        assert!(is_clean(out), "{out:?}");
        assert_eq!(sanitize_line(out), out);
    }
}

fn survives_wrongly(c: char, text: bool) -> bool {
    match c {
        '\n' => !text,
        '\t' => false,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}
