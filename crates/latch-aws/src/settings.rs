//! Where Latch reaches AWS and as whom.

use serde::{Deserialize, Serialize};

/// AWS settings of the control plane (`[aws]` in the server config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSettings {
    /// The region Latch calls regional services in (STS, Identity Center).
    pub region: String,
    /// An endpoint for every AWS service, instead of AWS's own (a local AWS
    /// API in tests, a VPC endpoint proxy in production).
    pub endpoint_url: Option<String>,
    /// An endpoint for Resource Explorer 2 alone, instead of `endpoint_url`
    /// (tests point it at `latch_testkit::resource_explorer_standin`, as
    /// moto lacks the service).
    pub resource_explorer_endpoint_url: Option<String>,
    /// Latch's own AWS principal, named in the integration role's trust
    /// policy. Found with `sts:GetCallerIdentity` when not set.
    pub principal_arn: Option<String>,
    /// The name of the role Latch asks customers to create in each account.
    pub integration_role_name: String,
    /// The role Latch assumes into Organizations member accounts.
    pub member_role_name: String,
    /// The name of the IAM SAML provider for Latch in federated accounts
    /// (the second half of a SAML assertion's `Role` attribute).
    pub saml_provider_name: String,
    /// Seconds between inventory syncs of an account.
    pub sync_interval_secs: u64,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            endpoint_url: None,
            resource_explorer_endpoint_url: None,
            principal_arn: None,
            integration_role_name: "LatchIntegration".into(),
            member_role_name: "OrganizationAccountAccessRole".into(),
            saml_provider_name: "Latch".into(),
            sync_interval_secs: 3600,
        }
    }
}

/// The ARN partition of a region (`aws`, `aws-us-gov`, `aws-cn`): ARNs are
/// never hard-coded to `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn partitions_follow_the_region() {
        for (region, partition) in [("us-east-1", "aws"), ("eu-west-3", "aws"), ("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"), ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b")] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
    }
}
