//! Lists the managed instances SSM knows (DescribeInstanceInformation,
//! every page), optionally only those carrying given tags. Says what it
//! found; writing an inventory is the caller's business.

use aws_sdk_ssm::types::InstanceInformationStringFilter;
use serde::Serialize;

use super::SsmSettings;
use super::errors::{About, judge};
use crate::transport::TransportError;

/// Instances asked for per page; SSM allows 5 to 50.
const PAGE: i32 = 50;

/// One managed instance, as SSM describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub instance_id: String,
    pub region: String,
    /// `Online`, `ConnectionLost`, `Inactive`.
    pub ping_status: String,
    pub computer_name: String,
    pub platform: String,
    pub ip_address: String,
    pub agent_version: String,
}

/// Every managed instance in the settings' region carrying all of `tags`.
pub async fn discover(
    settings: &SsmSettings,
    tags: &[(String, String)],
) -> Result<Vec<Instance>, TransportError> {
    let ssm = super::Ssm::new(settings.clone());
    // Discovery is not about any one target: region and endpoint come from settings.
    let (super::Regional { client, .. }, region) = ssm.client_for("SSM discovery", None).await?;
    let mut request = client.describe_instance_information().max_results(PAGE);
    for (key, value) in tags {
        let filter = InstanceInformationStringFilter::builder()
            .key(format!("tag:{key}"))
            .values(value)
            .build()
            .map_err(|e| TransportError::Config {
                target: "SSM discovery".into(),
                reason: e.to_string(),
            })?;
        request = request.filters(filter);
    }
    let mut pages = request.into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let about = About {
                target: "SSM discovery",
                instance: "(any instance)",
                region: &region,
                operation: "DescribeInstanceInformation",
            };
            judge(&e, about).into_error(about)
        })?;
        for info in page.instance_information_list() {
            let text = |s: Option<&str>| s.unwrap_or("").to_owned();
            found.push(Instance {
                instance_id: text(info.instance_id()),
                region: region.clone(),
                ping_status: text(info.ping_status().map(|p| p.as_str())),
                computer_name: text(info.computer_name()),
                platform: text(info.platform_name()),
                ip_address: text(info.ip_address()),
                agent_version: text(info.agent_version()),
            });
        }
    }
    Ok(found)
}
