//! JSON that is safe to show: serde_json's output with every character the
//! sanitizer would change (C1 controls, DEL, bidi controls, zero-width and
//! invisible format characters, U+2028/U+2029) written as a `\uXXXX` escape.
//!
//! JSON allows these characters raw, and serde_json writes them raw, so a
//! plugin's U+202E or U+009B would reach a terminal through `-o json` or an
//! export read with `cat`. Escaped, the text is still the same JSON value:
//! parsing it back gives the original string, so a hash computed over the
//! value (the export's manifest, the journal's canonical JSON) is unchanged.
//!
//! Pure: it formats into the writer it is given and does no other I/O. It
//! never changes a value; the canonical JSON that is hashed stays serde_json's.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter, Serializer};

use super::sanitize::needs_change;

/// Writes `value` as compact JSON with unsafe characters escaped.
pub fn to_writer<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut Serializer::with_formatter(
        writer,
        Escaping(CompactFormatter),
    ))
}

/// Writes `value` as indented JSON with unsafe characters escaped.
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    value.serialize(&mut Serializer::with_formatter(
        writer,
        Escaping(PrettyFormatter::new()),
    ))
}

/// Compact JSON with unsafe characters escaped, as a string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(bytes_to_string(out))
}

/// Indented JSON with unsafe characters escaped, as a string.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    to_writer_pretty(&mut out, value)?;
    Ok(bytes_to_string(out))
}

/// serde_json writes only UTF-8; the lossy path is never taken.
fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A formatter that escapes unsafe characters in strings and keys and
/// leaves everything else, layout included, to the formatter it wraps.
struct Escaping<F>(F);

/// Forwards formatter methods unchanged to the wrapped formatter: the
/// pretty formatter keeps indentation state in them.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(writer $(, $arg)*)
        }
    )*};
}

impl<F: Formatter> Formatter for Escaping<F> {
    forward! {
        write_null();
        write_bool(value: bool);
        write_i8(value: i8);
        write_i16(value: i16);
        write_i32(value: i32);
        write_i64(value: i64);
        write_i128(value: i128);
        write_u8(value: u8);
        write_u16(value: u16);
        write_u32(value: u32);
        write_u64(value: u64);
        write_u128(value: u128);
        write_f32(value: f32);
        write_f64(value: f64);
        write_number_str(value: &str);
        begin_string();
        end_string();
        write_char_escape(char_escape: CharEscape);
        write_byte_array(value: &[u8]);
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
        write_raw_fragment(fragment: &str);
    }

    /// serde_json hands over the runs of a string it would write raw (it
    /// has escaped `"`, `\` and C0 controls already); unsafe characters in
    /// them become `\uXXXX`. Every such character is in the BMP, so one
    /// escape each, never a surrogate pair.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if needs_change(c) {
                self.0.write_string_fragment(writer, &fragment[start..i])?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        self.0.write_string_fragment(writer, &fragment[start..])
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn unsafe_characters_are_escaped_in_values_and_keys() {
        let value = json!({"k\u{202e}": ["a\u{9b}2Jb", "del\u{7f}", "zw\u{200b}", "ls\u{2028}", "ok é 日本 🚀", "\u{1b}[0m"]});
        let text = to_string(&value).unwrap();
        assert_eq!(
            text,
            r#"{"k\u202e":["a\u009b2Jb","del\u007f","zw\u200b","ls\u2028","ok é 日本 🚀","\u001b[0m"]}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn layout_is_serde_jsons() {
        let value = json!({"a": [1, {"b": null}], "c": "d", "e": 1.5, "f": []});
        assert_eq!(
            to_string_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(
            to_string(&value).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
    }

    proptest! {
        #[test]
        fn any_string_reads_back_the_same_and_shows_nothing_unsafe(
            s in "[ -~\u{80}-\u{a0}\u{61c}\u{200b}-\u{200f}\u{2028}-\u{202e}\u{2060}-\u{2069}\u{feff}é日🚀]{0,32}"
        ) {
            let value = json!({"s": s, "list": [s.clone()]});
            for text in [to_string(&value).unwrap(), to_string_pretty(&value).unwrap()] {
                prop_assert!(!text.chars().any(|c| needs_change(c) && c != '\n'), "{}", text);
                prop_assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value.clone());
            }
        }
    }
}
