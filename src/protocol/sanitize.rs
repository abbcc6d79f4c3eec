//! Making untrusted text safe to draw: plugin stderr lines, output fields and
//! target-supplied names come from hosts that may be compromised, and must
//! not be able to drive the operator's terminal (escape sequences, clipboard
//! writes, title changes), hide or overprint text (CR, backspace), or reorder
//! and conceal what a reviewer reads (bidi controls, zero-width characters).
//!
//! Pure and std-only: nothing here does I/O, truncates, or measures width.
//!
//! What is done to each kind of character:
//! - Escape sequences are removed whole: CSI, OSC, DCS/SOS/PM/APC strings and
//!   two- or three-character escapes, in both the 7-bit (`ESC [`) and the
//!   8-bit (U+009B) forms. An unterminated sequence runs to the end of the
//!   input and is dropped; one cut short by a character that cannot continue
//!   it is dropped and that character handled on its own; an ESC that starts
//!   no sequence is shown as `^[`.
//! - Other C0 controls and DEL are shown in caret notation (`^G`, `^M`,
//!   `^?`), so overprinting tricks become visible instead of effective.
//! - TAB becomes one space: ratatui has no tab stops and renders tabs badly.
//! - Other C1 controls, bidi controls (U+061C, U+200E, U+200F,
//!   U+202A–U+202E, U+2066–U+2069), zero-width and invisible format
//!   characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+FFF9–U+FFFB) and
//!   U+2028/U+2029 are shown as Rust-style escapes such as `\u{85}` or
//!   `\u{202e}` (lower-case hex, no leading zeros), so a reviewer can see
//!   that something was there.
//!
//! Every replacement is printable ASCII that passes unchanged, so sanitizing
//! is idempotent.

use std::fmt::Write as _;

/// Makes one line of untrusted text safe to draw: escape sequences are
/// removed, C0 controls (including `'\n'`) and DEL become caret notation,
/// TAB becomes one space, and C1, bidi and invisible format characters become
/// `\u{…}` escapes. Everything else, including CJK and emoji, is unchanged.
pub fn sanitize_line(input: &str) -> String {
    if is_clean(input) {
        return input.to_owned();
    }
    run(input, Mode::Line)
}

/// Same, from raw bytes (invalid UTF-8 becomes U+FFFD first).
pub fn sanitize_bytes(input: &[u8]) -> String {
    sanitize_line(&String::from_utf8_lossy(input))
}

/// Multi-line variant: like [`sanitize_line`] but keeps `'\n'` (and `"\r\n"`
/// becomes `"\n"`; a lone `'\r'` is still shown as `^M`).
pub fn sanitize_text(input: &str) -> String {
    if input.chars().all(|c| c == '\n' || !needs_change(c)) {
        return input.to_owned();
    }
    run(input, Mode::Text)
}

/// True when `s` needs no change by [`sanitize_line`] (fast path check, used
/// to skip allocation).
pub fn is_clean(s: &str) -> bool {
    // Printable ASCII is the common case and one byte compare per char.
    s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(needs_change)
}

/// True for a character [`sanitize_line`] changes: C0 controls, DEL, C1
/// controls, and the bidi, zero-width and invisible format characters below.
/// JSON output escapes the same set (`protocol::safe_json`).
pub fn needs_change(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c) || is_invisible(c)
}

/// Characters that reorder, hide or split text without being drawn. The list
/// is deliberately exact; tags and variation selectors are left alone.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Line,
    Text,
}

/// Where the parser is inside a (possibly partial) escape sequence.
#[derive(Clone, Copy)]
enum State {
    Ground,
    Esc,
    /// After ESC and one or more intermediates (0x20–0x2F), e.g. `ESC (`.
    EscIntermediate,
    Csi,
    /// Inside an OSC (`osc`, which BEL also ends) or DCS/SOS/PM/APC string.
    Str {
        osc: bool,
    },
    /// An ESC inside a string: ST if a `\` follows, else a new escape.
    StrEsc,
}

fn run(input: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(input.len());
    let mut state = State::Ground;
    // A CR is held back one char so "\r\n" can collapse to "\n" in text mode.
    let mut pending_cr = false;
    for c in input.chars() {
        // A char that aborts a sequence is handled again from the new state;
        // each char passes through at most three states, so this stays linear.
        loop {
            match state {
                State::Ground => {
                    if pending_cr {
                        pending_cr = false;
                        if c == '\n' {
                            out.push('\n');
                            break;
                        }
                        out.push_str("^M");
                    }
                    state = ground(c, mode, &mut out, &mut pending_cr);
                }
                State::Esc => match c {
                    '[' => state = State::Csi,
                    ']' => state = State::Str { osc: true },
                    'P' | 'X' | '^' | '_' => state = State::Str { osc: false },
                    ' '..='/' => state = State::EscIntermediate,
                    '0'..='~' => state = State::Ground,
                    _ => {
                        out.push_str("^[");
                        state = State::Ground;
                        continue;
                    }
                },
                State::EscIntermediate => match c {
                    ' '..='/' => {}
                    '0'..='~' => state = State::Ground,
                    _ => {
                        state = State::Ground;
                        continue;
                    }
                },
                State::Csi => match c {
                    ' '..='?' => {}
                    '@'..='~' => state = State::Ground,
                    _ => {
                        state = State::Ground;
                        continue;
                    }
                },
                State::Str { osc } => match c {
                    '\u{7}' if osc => state = State::Ground,
                    '\u{9c}' => state = State::Ground,
                    '\u{1b}' => state = State::StrEsc,
                    _ => {}
                },
                State::StrEsc => {
                    if c == '\\' {
                        state = State::Ground;
                    } else {
                        state = State::Esc;
                        continue;
                    }
                }
            }
            break;
        }
    }
    // Whatever sequence is still open at the end is dropped with its ESC.
    if pending_cr {
        out.push_str("^M");
    }
    out
}

/// Handles one char outside any sequence and returns the next state.
fn ground(c: char, mode: Mode, out: &mut String, pending_cr: &mut bool) -> State {
    match c {
        '\u{1b}' => return State::Esc,
        '\u{9b}' => return State::Csi,
        '\u{9d}' => return State::Str { osc: true },
        '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => return State::Str { osc: false },
        '\n' if mode == Mode::Text => out.push('\n'),
        '\r' if mode == Mode::Text => *pending_cr = true,
        '\t' => out.push(' '),
        '\0'..='\u{1f}' => {
            out.push('^');
            out.push(char::from(c as u8 + 0x40));
        }
        '\u{7f}' => out.push_str("^?"),
        _ if needs_change(c) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        _ => out.push(c),
    }
    State::Ground
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, &str)] = &[
            ("colour CSI", "\x1b[31mred\x1b[0m", "red"),
            ("OSC 52 clipboard", "\x1b]52;c;ZXZpbA==\x07after", "after"),
            ("title with ST", "\x1b]0;pwned\x1b\\x", "x"),
            ("8-bit CSI", "a\u{9b}2Jb", "ab"),
            ("8-bit OSC with 8-bit ST", "\u{9d}0;t\u{9c}ok", "ok"),
            ("BEL", "ding\x07", "ding^G"),
            ("backspace overprint", "abc\x08\x08\x08xyz", "abc^H^H^Hxyz"),
            ("CR overprint", "safe\rEVIL", "safe^MEVIL"),
            ("NUL", "a\0b", "a^@b"),
            ("DEL", "a\x7fb", "a^?b"),
            ("newline in a line", "a\nb", "a^Jb"),
            ("tab", "a\tb", "a b"),
            ("RLO", "abc\u{202e}fed", "abc\\u{202e}fed"),
            ("zero-width space", "pay\u{200b}pal", "pay\\u{200b}pal"),
            ("BOM", "\u{feff}x", "\\u{feff}x"),
            ("lone C1 NEL", "a\u{85}b", "a\\u{85}b"),
            ("unterminated OSC", "keep\x1b]0;never ends", "keep"),
            ("unterminated CSI", "keep\x1b[12;3", "keep"),
            ("lone ESC at end", "end\x1b", "end"),
            ("DCS string", "a\x1bP1$r0m\x1b\\b", "ab"),
            ("8-bit APC", "a\u{9f}hidden\x1b\\b", "ab"),
            ("charset ESC ( B", "a\x1b(Bb", "ab"),
            ("ESC c reset", "\x1bcx", "x"),
            ("ESC 7", "\x1b7x", "x"),
            ("ESC before non-ASCII", "\x1bé", "^[é"),
            ("ESC ESC [", "\x1b\x1b[1mx", "^[x"),
            ("CSI aborted by control", "\x1b[3\x07x", "^Gx"),
            ("string ended by new escape", "\x1b]0;t\x1b[1mx", "x"),
            ("BEL does not end DCS", "\x1bPa\x07b\x1b\\c", "c"),
            ("mixed UTF-8", "日本語 ✓ 🚀", "日本語 ✓ 🚀"),
            ("backslash-u text", "\\u{202e}", "\\u{202e}"),
        ];
        for (name, input, want) in cases {
            assert_eq!(sanitize_line(input), *want, "case {name}");
        }
    }

    #[test]
    fn bytes_and_text() {
        assert_eq!(sanitize_bytes(b"ok\xff\x1b[2J!"), "ok\u{fffd}!");
        assert_eq!(sanitize_bytes(b"\x9b2J"), "\u{fffd}2J");
        assert_eq!(sanitize_text("a\r\nb\nc\rd\r"), "a\nb\nc^Md^M");
        assert_eq!(sanitize_text("a\r\r\n\x1b[0m\tb"), "a^M\n b");
        assert_eq!(sanitize_text("x\u{202e}\ny"), "x\\u{202e}\ny");
        assert_eq!(sanitize_text("plain\ntext"), "plain\ntext");
    }

    fn forbidden(c: char) -> bool {
        c < ' '
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
            || ('\u{200b}'..='\u{200f}').contains(&c)
            || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
    }

    /// Printable text interleaved with the pieces attackers use.
    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[ -~]{0,6}",
            "[日本語✓🚀é]{0,3}",
            Just("\x1b".to_owned()),
            Just("\x1b[".to_owned()),
            Just("\x1b]".to_owned()),
            Just("\x1b\\".to_owned()),
            Just("\r\n".to_owned()),
            "[\u{0}-\u{1f}\u{7f}]",
            "[\u{80}-\u{9f}]",
            "[\u{61c}\u{200b}-\u{200f}\u{2028}-\u{202e}\u{2060}-\u{2069}\u{feff}\u{fff9}-\u{fffb}]",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    fn check_line(out: &str) -> Result<(), TestCaseError> {
        prop_assert!(!out.chars().any(forbidden), "{out:?}");
        prop_assert!(is_clean(out));
        prop_assert_eq!(sanitize_line(out), out);
        Ok(())
    }

    fn check_text(out: &str) -> Result<(), TestCaseError> {
        prop_assert!(!out.chars().any(|c| c != '\n' && forbidden(c)), "{out:?}");
        prop_assert!(out.split('\n').all(is_clean));
        prop_assert_eq!(sanitize_text(out), out);
        Ok(())
    }

    proptest! {
        #[test]
        fn any_string_line(s in any::<String>()) {
            check_line(&sanitize_line(&s))?;
        }

        #[test]
        fn any_string_text(s in any::<String>()) {
            check_text(&sanitize_text(&s))?;
        }

        #[test]
        fn any_bytes(b in any::<Vec<u8>>()) {
            check_line(&sanitize_bytes(&b))?;
        }

        #[test]
        fn hostile_line(s in hostile()) {
            check_line(&sanitize_line(&s))?;
        }

        #[test]
        fn hostile_text(s in hostile()) {
            check_text(&sanitize_text(&s))?;
        }

        #[test]
        fn clean_input_unchanged(
            s in "[ -~\u{a0}-\u{5ff}\u{3040}-\u{30ff}\u{4e00}-\u{9fff}\u{1f300}-\u{1f64f}]{0,64}"
        ) {
            prop_assert!(is_clean(&s));
            // The slow path must agree with the fast path it is skipped for.
            prop_assert_eq!(run(&s, Mode::Line), s.clone());
            prop_assert_eq!(sanitize_line(&s), s.clone());
            prop_assert_eq!(sanitize_text(&s), s);
        }

        #[test]
        fn is_clean_means_unchanged(s in hostile()) {
            prop_assert_eq!(is_clean(&s), run(&s, Mode::Line) == s);
        }
    }
}
