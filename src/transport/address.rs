//! Where a target is, in the terms of the transport that reaches it: one
//! [`Address`] variant per kind, each transport's own struct in its folder.
//!
//! Reads an address from the inventory's flat `[[targets]]` fields (the
//! inventory hands over the fields and keeps `name`, `transport` and `tags`)
//! and writes it back in that flat shape, so the file format stays one table
//! per target whatever the transport. Never reads a file itself.

use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::AddressError;
use super::kind::TransportKind;
use super::ssh::SshAddress;
use super::ssm::SsmAddress;

/// A target's address fields as the inventory file has them, with the place
/// of each in the file so an error can point at it.
pub type Fields<'i> = Spanned<DeTable<'i>>;

/// Where a target is and, by its variant, which transport reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Local,
    Ssh(SshAddress),
    Ssm(SsmAddress),
}

impl Address {
    pub fn kind(&self) -> TransportKind {
        match self {
            Self::Local => TransportKind::Local,
            Self::Ssh(_) => TransportKind::Ssh,
            Self::Ssm(_) => TransportKind::Ssm,
        }
    }

    /// Where the target is, for people: "local", `host[:port]`, the
    /// instance id. `name` is the target's, which some addresses default to.
    pub fn label(&self, name: &str) -> String {
        match self {
            Self::Local => "local".into(),
            Self::Ssh(ssh) => ssh.label(name),
            Self::Ssm(ssm) => ssm.instance_id.clone(),
        }
    }

    /// Reads a `kind` address from `fields`. A field that belongs to another
    /// kind is refused by name, so a target never silently loses part of
    /// its address to a wrong `transport`.
    pub fn parse(kind: TransportKind, fields: Fields<'_>) -> Result<Self, AddressError> {
        for key in fields.get_ref().keys() {
            if let Some(owner) = TransportKind::owning(key.get_ref())
                && owner != kind
            {
                return Err(AddressError::Invalid(format!(
                    "`{}` applies only to {owner} targets",
                    key.get_ref()
                )));
            }
        }
        match kind {
            TransportKind::Local => deserialize::<NoFields>(fields).map(|_| Self::Local),
            TransportKind::Ssh => SshAddress::parse(fields).map(Self::Ssh),
            TransportKind::Ssm => SsmAddress::parse(fields).map(Self::Ssm),
        }
    }
}

/// The address as the inventory writes it: a map of its fields, absent
/// ones left out, for the target to flatten into its own table.
impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Local => serializer.serialize_map(Some(0))?.end(),
            Self::Ssh(ssh) => ssh.serialize(serializer),
            Self::Ssm(ssm) => ssm.serialize(serializer),
        }
    }
}

/// A local address has no fields; anything else is an unknown field.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// Deserializes `fields` with toml's own errors, each placed at the field
/// it is about (the caller gives them the file's text to show the line).
pub(super) fn deserialize<T: DeserializeOwned>(fields: Fields<'_>) -> Result<T, AddressError> {
    let span = fields.span();
    let value = Spanned::new(span, DeValue::Table(fields.into_inner()));
    Ok(T::deserialize(value.into_deserializer())?)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Parses the first `[[targets]]` table of `text` as a `kind` address,
    /// minus the fields the inventory keeps for itself.
    pub(crate) fn parse(kind: TransportKind, text: &str) -> Result<Address, String> {
        let doc = DeTable::parse(text).unwrap().into_inner();
        let mut table = doc.get("t").unwrap().get_ref().as_table().unwrap().clone();
        table.remove("name");
        let fields = Spanned::new(0..text.len(), table);
        Address::parse(kind, fields).map_err(|e| match e {
            AddressError::Field(mut e) => {
                e.set_input(Some(text));
                e.to_string()
            }
            other => other.to_string(),
        })
    }

    #[test]
    fn a_field_of_another_kind_names_its_owner() {
        let error = parse(TransportKind::Ssh, "t = { instance_id = \"i-1\" }").unwrap_err();
        assert_eq!(error, "`instance_id` applies only to ssm targets");
        let error = parse(TransportKind::Local, "t = { port = 22 }").unwrap_err();
        assert_eq!(error, "`port` applies only to ssh targets");
        let error = parse(TransportKind::Local, "t = { region = \"x\" }").unwrap_err();
        assert_eq!(error, "`region` applies only to ssm targets");
    }

    #[test]
    fn a_local_address_takes_no_fields_and_reads_local() {
        let local = parse(TransportKind::Local, "t = { name = \"x\" }").unwrap();
        assert_eq!(local, Address::Local);
        assert_eq!(
            (local.kind(), local.label("x")),
            (TransportKind::Local, "local".into())
        );
        let error = parse(TransportKind::Local, "t = { colour = 1 }").unwrap_err();
        assert!(error.contains("unknown field `colour`"), "{error}");
    }

    #[test]
    fn addresses_serialize_as_their_flat_fields() {
        let ssh = parse(TransportKind::Ssh, "t = { host = \"h\", port = 2 }").unwrap();
        let json = serde_json::to_value(&ssh).unwrap();
        assert_eq!(json, serde_json::json!({"host": "h", "port": 2}));
        let local = serde_json::to_value(Address::Local).unwrap();
        assert_eq!(local, serde_json::json!({}));
    }
}
