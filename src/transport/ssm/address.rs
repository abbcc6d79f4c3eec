//! An SSM target's address: the managed instance id (`i-…` or `mi-…`) and,
//! optionally, its region. Without one the region comes from
//! `--aws-region` or the AWS chain when the transport runs, never from here.

use serde::{Deserialize, Serialize};

use crate::transport::address::{Fields, deserialize};
use crate::transport::error::AddressError;

/// The inventory fields an SSM address takes, in the order the file documents them.
pub const FIELDS: &[&str] = &["instance_id", "region"];

/// How the inventory says to reach an SSM managed instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SsmAddress {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The fields as written: a missing `instance_id` gets RUNE's own message
/// rather than serde's "missing field".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

impl SsmAddress {
    /// Reads the SSM fields of one inventory target.
    pub fn parse(fields: Fields<'_>) -> Result<Self, AddressError> {
        let written: Written = deserialize(fields)?;
        let Some(instance_id) = written.instance_id else {
            return Err(AddressError::Invalid(
                "an ssm target needs `instance_id`".into(),
            ));
        };
        Ok(Self {
            instance_id,
            region: written.region,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::address::tests::parse;
    use crate::transport::{Address, TransportKind};

    fn ssm(text: &str) -> Result<SsmAddress, String> {
        match parse(TransportKind::Ssm, text)? {
            Address::Ssm(ssm) => Ok(ssm),
            other => Err(format!("not ssm: {other:?}")),
        }
    }

    #[test]
    fn the_instance_id_is_the_label_and_region_is_optional() {
        let full = ssm("t = { instance_id = \"i-0abc\", region = \"eu-west-1\" }").unwrap();
        assert_eq!(full.region.as_deref(), Some("eu-west-1"));
        assert_eq!(Address::Ssm(full).label("db-1"), "i-0abc");
        let bare = ssm("t = { instance_id = \"mi-1\" }").unwrap();
        assert_eq!(bare.region, None);
        let json = serde_json::to_value(Address::Ssm(bare)).unwrap();
        assert_eq!(json, serde_json::json!({"instance_id": "mi-1"}));
    }

    #[rstest::rstest]
    #[case::missing_id("t = { region = \"eu-west-1\" }", &["an ssm target needs `instance_id`"])]
    #[case::id_type("t = {\n\n instance_id = 7 }", &["line 3", "expected a string"])]
    #[case::foreign("t = { instance_id = \"i-1\", user = \"ops\" }", &["`user` applies only to ssh targets"])]
    fn bad_fields_name_the_field(#[case] text: &str, #[case] phrases: &[&str]) {
        let error = ssm(text).unwrap_err();
        for phrase in phrases {
            assert!(error.contains(phrase), "{error} lacks {phrase:?}");
        }
    }
}
