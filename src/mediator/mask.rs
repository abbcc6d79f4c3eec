//! Masking the request's secret values in what comes back from a target, the
//! way CI systems mask registered secrets in logs. A plugin may echo a secret
//! parameter (in `output_data`, on stderr, in its error message); the
//! mediator masks every stderr line, the stderr tail, the validated output and
//! the EPS error before any event leaves it, so the journal, the console, the
//! CLI and every export only ever see [`MASK`].
//!
//! Owns the patterns and the replacement; never decides what is secret (the
//! plan does) and never touches the input envelope (already redacted).

use std::borrow::Cow;
use std::fmt::Write as _;

use aho_corasick::{AhoCorasick, MatchKind};
use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD};
use serde_json::{Map, Value};

use crate::protocol::EpsError;
use crate::protocol::bpcs::BpcsOutput;

/// What a secret (or an encoded form of it) becomes. Distinct from the
/// inputs' `[REDACTED]`, so a reader can tell "RUNE never recorded this
/// input" from "the target echoed a secret and RUNE hid it".
pub const MASK: &str = "[MASKED]";

/// Shorter values are not masked: masking "1" or "ab" would blank out
/// ordinary text everywhere and tell a reader the secret besides.
pub const MIN_SECRET_CHARS: usize = 4;

/// The secret values of one request, in every form a plugin might print.
#[derive(Debug, Default)]
pub struct Masker {
    /// `None` when there is nothing to mask: the common case costs nothing.
    patterns: Option<AhoCorasick>,
    /// How many secret values were too short to mask; said in a note.
    short: usize,
}

impl Masker {
    /// Builds the patterns for `secrets`, each in its raw and encoded forms.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Self {
        let mut forms: Vec<String> = Vec::new();
        let mut short = 0;
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.is_empty() {
                continue;
            }
            if secret.chars().count() < MIN_SECRET_CHARS {
                short += 1;
                continue;
            }
            forms.extend(encodings(secret));
        }
        forms.sort();
        forms.dedup();
        // Leftmost-longest: where one form contains another (a padded and an
        // unpadded base64), the whole of the longer one is masked.
        let patterns = (!forms.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&forms)
                    .ok()
            })
            .flatten();
        Self { patterns, short }
    }

    /// True when some value is masked.
    pub fn is_active(&self) -> bool {
        self.patterns.is_some()
    }

    /// The note a result carries when a secret was too short to mask.
    pub fn note(&self) -> Option<String> {
        (self.short > 0).then(|| {
            format!(
                "{} secret value(s) shorter than {MIN_SECRET_CHARS} characters were not masked in what the target returned",
                self.short
            )
        })
    }

    /// `bytes` with every secret form replaced by [`MASK`].
    pub fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.patterns {
            Some(ac) if ac.is_match(bytes) => {
                let mut out = Vec::with_capacity(bytes.len());
                ac.replace_all_with_bytes(bytes, &mut out, |_, _, dst| {
                    dst.extend_from_slice(MASK.as_bytes());
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(bytes),
        }
    }

    /// `text` with every secret form replaced by [`MASK`].
    pub fn mask_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.patterns {
            Some(ac) if ac.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                ac.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(MASK);
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Masks a string in place.
    pub fn mask_string(&self, text: &mut String) {
        if let Cow::Owned(masked) = self.mask_str(text) {
            *text = masked;
        }
    }

    /// Masks every string and object key in `value`.
    pub fn mask_value(&self, value: &mut Value) {
        if !self.is_active() {
            return;
        }
        match value {
            Value::String(s) => self.mask_string(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_value(v)),
            Value::Object(map) => self.mask_map(map),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Masks every key and value of a free-form object.
    pub fn mask_map(&self, map: &mut Map<String, Value>) {
        if !self.is_active() {
            return;
        }
        let taken = std::mem::take(map);
        for (key, mut value) in taken {
            self.mask_value(&mut value);
            map.insert(self.mask_str(&key).into_owned(), value);
        }
    }

    /// Masks what a plugin wrote. `result` and `code` are checked shapes,
    /// not free text, and stay as they are.
    pub fn mask_output(&self, output: &mut BpcsOutput) {
        self.mask_map(&mut output.message_metadata);
        self.mask_value(&mut output.observability);
        if let Some(payload) = &mut output.payload {
            self.mask_value(&mut payload.output_data);
        }
        if let Some(error) = &mut output.error {
            self.mask_string(&mut error.message);
            self.mask_value(&mut error.details);
        }
    }

    /// Masks the free text of an EPS error: its message and `data` carry the
    /// plugin's message, stdout excerpt and stderr tail. The rest is RUNE's
    /// own (ids, names, classification) and stays typed.
    pub fn mask_eps(&self, eps: &mut EpsError) {
        if !self.is_active() {
            return;
        }
        let error_data = &mut eps.error_payload.error_data;
        self.mask_string(&mut error_data.error.message);
        self.mask_map(&mut error_data.error.data);
        // `size_bytes` is the serialized `error_data`'s length: keep it true.
        if let Ok(bytes) = serde_json::to_vec(&*error_data) {
            eps.error_payload.size_bytes = bytes.len() as u64;
        }
    }
}

/// The forms a secret is printed in: raw, JSON-escaped, base64 (standard and
/// url-safe, padded or not), percent-encoded (upper and lower hex, and with
/// `+` for space as forms do), and hex (lower and upper).
pub fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut forms = vec![secret.to_owned()];
    if let Ok(quoted) = serde_json::to_string(secret) {
        forms.push(quoted[1..quoted.len() - 1].to_owned());
    }
    for encoding in [&BASE64, &BASE64_NOPAD, &BASE64URL, &BASE64URL_NOPAD] {
        forms.push(encoding.encode(bytes));
    }
    let percent = percent_encode(bytes);
    forms.push(lower_escapes(&percent));
    forms.push(percent.replace("%20", "+"));
    forms.push(percent);
    forms.push(hex::encode(bytes));
    forms.push(hex::encode_upper(bytes));
    forms
}

/// RFC 3986 percent-encoding: everything but the unreserved characters.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-encoding with lower-case hex digits (`%2f`), which some encoders emit.
fn lower_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut left = 0;
    for c in percent.chars() {
        if c == '%' {
            left = 2;
            out.push(c);
        } else if left > 0 {
            left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
