//! One `[[targets]]` table to one [`Target`] and back. The inventory reads
//! `name`, `transport` and `tags` itself and hands every other field to the
//! transport's address parser ([`Address::parse`]), so a new transport's
//! fields need no change here; writing flattens the address back into the
//! same table. Works on toml's spanned raw tables so every error toml
//! reports points at its line, as a plain `toml::from_str` would.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::de::{DeserializeSeed, Deserializer as _, IntoDeserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::file::Target;
use crate::transport::{Address, AddressError, TransportKind};

/// The fields the inventory reads itself; the other known ones are addresses'.
const OWN: [&str; 3] = ["name", "transport", "tags"];

/// Every field a target may have, in the order the file format documents
/// them (and an "unknown field" error lists them): `name`, `transport`,
/// each kind's address fields, `tags`.
static KNOWN: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut known = vec!["name", "transport"];
    known.extend(TransportKind::ALL.iter().flat_map(|k| k.fields()));
    known.push("tags");
    known
});

/// What the inventory reads itself. Named `Target` so that a row of the
/// wrong shape reads "expected struct Target", as it always has.
#[derive(Deserialize)]
#[serde(rename = "Target")]
struct Own {
    name: String,
    transport: TransportKind,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// Why a row is not a target.
#[derive(Debug)]
pub(super) enum RowError {
    /// toml's error, placed at its field: shown with the file's line.
    Toml(toml::de::Error),
    /// The fields parse but make no address; the target has this name.
    Address { name: String, message: String },
}

impl From<toml::de::Error> for RowError {
    fn from(error: toml::de::Error) -> Self {
        Self::Toml(error)
    }
}

/// The rows of the document's `targets` array; any other top-level key is refused.
pub(super) fn rows(
    doc: Spanned<DeTable<'_>>,
) -> Result<Vec<Spanned<DeValue<'_>>>, toml::de::Error> {
    let mut doc = doc.into_inner();
    let targets = doc.remove("targets");
    refuse_unknown(&doc, &["targets"])?;
    let Some(targets) = targets else {
        return Ok(Vec::new());
    };
    let span = targets.span();
    match targets.into_inner() {
        DeValue::Array(rows) => Ok(rows.into_iter().collect()),
        other => Err(refusal(Spanned::new(span, other), "a sequence")),
    }
}

/// Reads one row into a target.
pub(super) fn read(row: Spanned<DeValue<'_>>) -> Result<Target, RowError> {
    let span = row.span();
    let table = match row.into_inner() {
        DeValue::Table(table) => table,
        other => return Err(refusal(Spanned::new(span, other), "struct Target").into()),
    };
    refuse_unknown(&table, KNOWN.as_slice())?;
    let (own, fields): (DeTable<'_>, DeTable<'_>) = table
        .into_iter()
        .partition(|(key, _)| OWN.contains(&key.get_ref().as_ref()));
    let own =
        Own::deserialize(Spanned::new(span.clone(), DeValue::Table(own)).into_deserializer())?;
    let address =
        Address::parse(own.transport, Spanned::new(span, fields)).map_err(|e| match e {
            AddressError::Field(error) => RowError::Toml(error),
            AddressError::Invalid(message) => RowError::Address {
                name: own.name.clone(),
                message,
            },
        })?;
    Ok(Target {
        name: own.name,
        address,
        tags: own.tags,
    })
}

/// A target as the file writes it: one flat table, the address's fields
/// between `transport` and `tags` (`rune targets --json` prints the same).
impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            name: &'a str,
            transport: TransportKind,
            #[serde(flatten)]
            address: &'a Address,
            tags: &'a BTreeMap<String, String>,
        }
        Flat {
            name: &self.name,
            transport: self.kind(),
            address: &self.address,
            tags: &self.tags,
        }
        .serialize(serializer)
    }
}

/// Refuses the first key of `table` not in `known`, with toml's "unknown
/// field" error placed at the key.
fn refuse_unknown(
    table: &DeTable<'_>,
    known: &'static [&'static str],
) -> Result<(), toml::de::Error> {
    let Some(key) = table
        .keys()
        .find(|key| !known.contains(&key.get_ref().as_ref()))
    else {
        return Ok(());
    };
    let key = Spanned::new(key.span(), DeValue::String(key.get_ref().clone()));
    let error = match Unknown(known).deserialize(key.into_deserializer()) {
        Err(error) => error,
        Ok(()) => serde::de::Error::custom("unknown field"),
    };
    Err(error)
}

/// toml's "invalid type: …, expected {expected}" for a value of the wrong
/// type, placed at the value. `Expected` accepts nothing, so this always fails.
fn refusal(value: Spanned<DeValue<'_>>, expected: &'static str) -> toml::de::Error {
    match value
        .into_deserializer()
        .deserialize_any(Expected(expected))
    {
        Err(error) => error,
        Ok(()) => serde::de::Error::custom(format!("expected {expected}")),
    }
}

/// A visitor that takes no value at all: every value is of the wrong type.
struct Expected(&'static str);

impl Visitor<'_> for Expected {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A key that is always refused as unknown; toml places the error at it.
struct Unknown(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Unknown {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for Unknown {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a known field")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<(), E> {
        Err(E::unknown_field(key, self.0))
    }
}
