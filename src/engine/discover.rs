//! Finding targets: SSM's managed instances (DescribeInstanceInformation),
//! turned into inventory entries. The front end decides whether to print
//! them or append them to an inventory file.

use std::collections::BTreeMap;

use super::open::SsmOptions;
use crate::config::SsmConfig;
use crate::inventory::Target;
use crate::transport::Address;
pub use crate::transport::ssm::Instance as SsmInstance;
use crate::transport::ssm::SsmAddress;

/// Every managed instance in the options' region carrying all of `tags`,
/// reached by the same settings rules as a run (flags, environment, `config.toml`).
pub async fn discover_ssm(
    options: &SsmOptions,
    config: &SsmConfig,
    tags: &[(String, String)],
) -> Result<Vec<SsmInstance>, String> {
    let settings = options.settings(config);
    crate::transport::ssm::discover(&settings, tags)
        .await
        .map_err(|e| e.to_string())
}

/// An inventory entry for a discovered instance: named by its id (so
/// `-t i-0123…` works), tagged with the tags it was found by.
pub fn ssm_target(instance: &SsmInstance, tags: &[(String, String)]) -> Target {
    let mut all: BTreeMap<String, String> = tags.iter().cloned().collect();
    if !instance.computer_name.is_empty() {
        all.insert("computer_name".into(), instance.computer_name.clone());
    }
    Target {
        name: instance.instance_id.clone(),
        address: Address::Ssm(SsmAddress {
            instance_id: instance.instance_id.clone(),
            region: Some(instance.region.clone()),
        }),
        tags: all,
    }
}
