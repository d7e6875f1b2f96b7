//! The AWS integration against moto (a real, independent implementation of
//! the AWS APIs) with IAM enforcement on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

mod effective;
mod identity_center;
mod iam_users;
mod install;
mod crash;
mod lifecycle;
mod resource_explorer;
mod resource_policies;
mod sync;

use latch_core::integration::{AwsIntegration, AwsMode, FederationProtocol, IntegrationStatus, UserLookup};

/// An installed integration of `account_id` in `mode`, with no optional
/// component and users found by email; tests change what they need.
fn integration(org_id: &str, account_id: &str, mode: AwsMode) -> AwsIntegration {
    AwsIntegration {
        org_id: org_id.to_owned(),
        account_id: account_id.to_owned(),
        alias: None,
        mode,
        user_lookup: UserLookup::Email,
        inventory: false,
        organizations: false,
        role_name: "LatchIntegration".into(),
        external_id: "x".into(),
        sso_start_url: None,
        federation: FederationProtocol::Oidc,
        status: IntegrationStatus::Installed,
        missing: vec![],
        verified_at: None,
        created_at: latch_core::Timestamp(0),
    }
}
