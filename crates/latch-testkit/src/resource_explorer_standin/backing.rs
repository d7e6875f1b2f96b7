//! What the stand-in reads from moto, as the caller: who the caller is
//! (`sts:GetCallerIdentity`), the tagged resources of a region (Resource
//! Groups Tagging API `GetResources`, every page), and the account's IAM roles
//! and users (`ListRoles`, `ListUsers`), which Resource Explorer indexes as
//! global resources, tagged or not, and without their tags.
//!
//! Nothing is cached: resources created or deleted in moto show in the next
//! search, as they would (after indexing) in AWS.

use std::collections::BTreeMap;

use anyhow::Context as _;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;

use super::query::Resource;

/// The secret the stand-in signs with: it never learns the caller's, and
/// moto does not check signatures while its IAM enforcement is off.
const UNKNOWN_SECRET: &str = "resource-explorer-standin-does-not-know-the-secret";

/// Who called, from the SigV4 `Authorization` header and session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) access_key_id: String,
    pub(crate) session_token: Option<String>,
    /// The region in the credential scope: the regional endpoint called.
    pub(crate) region: String,
}

impl Caller {
    /// Reads `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …`.
    pub(crate) fn from_authorization(header: &str, session_token: Option<&str>) -> Option<Self> {
        let scope = header.strip_prefix("AWS4-HMAC-SHA256")?.split(',').find_map(|part| part.trim().strip_prefix("Credential="))?;
        let mut fields = scope.split('/');
        let (Some(key), Some(_date), Some(region)) = (fields.next(), fields.next(), fields.next()) else {
            return None;
        };
        if key.is_empty() || region.is_empty() {
            return None;
        }
        Some(Self { access_key_id: key.to_owned(), session_token: session_token.map(str::to_owned), region: region.to_owned() })
    }
}

/// moto, reached as each caller.
pub(crate) struct Backing {
    endpoint: String,
}

impl Backing {
    pub(crate) fn new(endpoint: &str) -> Self {
        Self { endpoint: endpoint.to_owned() }
    }

    fn config(&self, caller: &Caller, region: &str) -> SdkConfig {
        let creds = Credentials::new(&caller.access_key_id, UNKNOWN_SECRET, caller.session_token.clone(), None, "resource-explorer-standin");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(creds))
            .build()
    }

    /// The caller's account, as moto knows the key.
    pub(crate) async fn account(&self, caller: &Caller) -> anyhow::Result<String> {
        let me = aws_sdk_sts::Client::new(&self.config(caller, &caller.region))
            .get_caller_identity()
            .send()
            .await
            .context("while asking moto who the caller is (is moto's IAM enforcement off? the stand-in cannot sign as the caller)")?;
        me.account().map(str::to_owned).context("moto named no account for the caller")
    }

    /// Every resource an index over `regions` holds for the caller's
    /// `account`: the tagged resources of each region and the account's
    /// IAM roles and users (global, in every index).
    pub(crate) async fn resources(&self, caller: &Caller, account: &str, regions: &[String]) -> anyhow::Result<Vec<Resource>> {
        let mut found: BTreeMap<String, Resource> = BTreeMap::new();
        for region in regions {
            let tagging = aws_sdk_resourcegroupstagging::Client::new(&self.config(caller, region));
            let mut token: Option<String> = None;
            loop {
                let page = tagging
                    .get_resources()
                    .resources_per_page(100)
                    .set_pagination_token(token.clone())
                    .send()
                    .await
                    .with_context(|| format!("while listing the tagged resources of `{region}` in moto"))?;
                for mapping in page.resource_tag_mapping_list() {
                    let Some(arn) = mapping.resource_arn() else { continue };
                    let tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                    if let Some(r) = Resource::from_arn(arn, tags, (region.as_str(), account)) {
                        found.insert(r.arn.clone(), r);
                    }
                }
                match page.pagination_token().filter(|t| !t.is_empty()) {
                    Some(t) => token = Some(t.to_owned()),
                    None => break,
                }
            }
        }
        let iam = aws_sdk_iam::Client::new(&self.config(caller, &caller.region));
        let roles = iam.list_roles().into_paginator().items().send().try_collect().await.context("while listing IAM roles in moto")?;
        let users = iam.list_users().into_paginator().items().send().try_collect().await.context("while listing IAM users in moto")?;
        let arns = roles.iter().map(|r| r.arn()).chain(users.iter().map(|u| u.arn()));
        for arn in arns {
            // INVARIANT: no tags on IAM resources; Resource Explorer does not index them.
            if let Some(r) = Resource::from_arn(arn, BTreeMap::new(), (caller.region.as_str(), account)) {
                found.insert(r.arn.clone(), r);
            }
        }
        Ok(found.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Caller;

    #[test]
    fn the_caller_comes_from_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=ASIAXYZ/20260101/eu-west-1/resource-explorer-2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            Caller::from_authorization(h, Some("tok")),
            Some(Caller { access_key_id: "ASIAXYZ".into(), session_token: Some("tok".into()), region: "eu-west-1".into() })
        );
        assert_eq!(Caller::from_authorization("Bearer x", None), None);
        assert_eq!(Caller::from_authorization("AWS4-HMAC-SHA256 SignedHeaders=host", None), None);
    }
}
