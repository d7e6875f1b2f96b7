//! The AWS `Provisioner`: finds the account's integration, assumes its role
//! and grants or revokes in the account's user mode.
//!
//! Every grant is bounded in time by AWS itself where AWS allows it (policy
//! conditions on `aws:CurrentTime`), so a grant Latch failed to revoke still
//! stops working; every revoke also ends the sessions already issued.

mod iam_users;
mod session;
mod timebound;

use std::sync::Arc;

use async_trait::async_trait;
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus};
use latch_core::store::Store;
use latch_core::Clock;

use crate::error::AwsError;
use crate::factory::{ClientFactory, Clients};
use crate::verify::integration_hop;

pub use timebound::{bound_policy, TimeBoundError};

/// Grants and revokes in connected AWS accounts.
pub struct AwsProvisioner {
    factory: Arc<ClientFactory>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl AwsProvisioner {
    /// A provisioner over the org's connected accounts.
    pub fn new(factory: Arc<ClientFactory>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { factory, store, clock }
    }

    async fn integration(&self, spec: &GrantSpec) -> Result<AwsIntegration, ProvisionError> {
        let found = self.store.aws_integration(&spec.org_id, &spec.target.account).await.map_err(|e| ProvisionError::Retryable(format!("the database: {e}")))?;
        found.ok_or_else(|| ProvisionError::Permanent(format!("AWS account `{}` is not connected to Latch\nhelp: `latch admin aws install --account {}`", spec.target.account, spec.target.account)))
    }

    async fn clients(&self, i: &AwsIntegration) -> Result<Clients, ProvisionError> {
        let hop = integration_hop(&self.factory, &i.account_id, &i.role_name, &i.external_id);
        self.factory.assume(&[hop]).await.map_err(to_provision)
    }
}

/// A timestamp as IAM conditions write it (ISO 8601, UTC, seconds).
pub(crate) fn iso(t: latch_core::Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.millis()).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// Sorts an AWS failure for the request lifecycle.
pub(crate) fn to_provision(e: AwsError) -> ProvisionError {
    if e.is_retryable() || e.code() == Some("ConflictException") {
        ProvisionError::Retryable(e.to_string())
    } else {
        ProvisionError::Permanent(e.to_string())
    }
}

#[async_trait]
impl Provisioner for AwsProvisioner {
    async fn grant(&self, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
        let i = self.integration(spec).await?;
        if i.status != IntegrationStatus::Installed {
            return Err(ProvisionError::Permanent(format!(
                "AWS account `{}` is not verified\nhelp: `latch admin aws verify --account {}`",
                i.account_id, i.account_id
            )));
        }
        let clients = self.clients(&i).await?;
        match i.mode {
            AwsMode::IamUsers => iam_users::grant(&clients, &i, spec).await,
            AwsMode::IdentityCenter | AwsMode::Federated => Err(ProvisionError::Permanent(format!(
                "granting in `{}` mode is not available in this version of Latch\nhelp: install the account with `--mode iam-users`",
                i.mode.as_str()
            ))),
        }
    }

    async fn revoke(&self, spec: &GrantSpec, applied: &Applied) -> Result<RevokeOutcome, ProvisionError> {
        // INVARIANT: revoke works from what the grant recorded, even if the
        // account was re-installed in another mode or is no longer verified.
        let i = self.integration(spec).await?;
        let clients = self.clients(&i).await?;
        match applied.0.get("mode").and_then(|m| m.as_str()) {
            Some("iam-users") => iam_users::revoke(&clients, applied, self.clock.now()).await,
            _ => Err(ProvisionError::Permanent(format!("unreadable grant record for AWS account `{}`: {}", i.account_id, applied.0))),
        }
    }
}
