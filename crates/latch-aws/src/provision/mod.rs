//! The AWS `Provisioner`: finds the account's integration, assumes its role
//! and grants or revokes in the account's user mode.
//!
//! In iam-users mode every grant is bounded in time by AWS itself (policy
//! conditions on `aws:CurrentTime`), so a grant Latch failed to revoke still
//! stops working, and every revoke also ends the sessions already issued.
//! Identity Center has no such bound (see [`identity_center`]'s notes):
//! there, Latch's expiry is what ends access.
//!
//! An account in iam-users mode is reached through its own integration. In
//! identity-center mode the request's account is usually a member account
//! with no integration of its own: it is reached through the integration on
//! the Organizations management account, where the Identity Center instance
//! resides. In iam-users and federated mode, such a member account is
//! reached through the management account's role hop ([`crate::member`]).

mod federated;
mod iam_users;
mod identity_center;
mod session;
mod timebound;

use std::sync::Arc;

use async_trait::async_trait;
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::access::target::Kind;
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus};
use latch_core::store::Store;
use latch_core::Clock;

use crate::error::AwsError;
use crate::factory::{ClientFactory, Clients};
use crate::member::{self, MemberError};

pub use identity_center::IdentityCenterTiming;
pub use iam_users::grant_policy_name;
pub use timebound::{bound_policy, TimeBoundError};

/// Grants and revokes in connected AWS accounts.
pub struct AwsProvisioner {
    factory: Arc<ClientFactory>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    identity_center: IdentityCenterTiming,
}

impl AwsProvisioner {
    /// A provisioner over the org's connected accounts.
    pub fn new(factory: Arc<ClientFactory>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { factory, store, clock, identity_center: IdentityCenterTiming::default() }
    }

    /// Waits for Identity Center's asynchronous changes with `timing`
    /// instead of the production pace (tests use a short one).
    #[must_use]
    pub fn with_identity_center_timing(mut self, timing: IdentityCenterTiming) -> Self {
        self.identity_center = timing;
        self
    }

    async fn integration(&self, spec: &GrantSpec) -> Result<AwsIntegration, ProvisionError> {
        let found = self.store.aws_integration(&spec.org_id, &spec.target.account).await.map_err(database)?;
        found.ok_or_else(|| ProvisionError::Permanent(format!("AWS account `{}` is not connected to Latch\nhelp: `latch admin aws install --account {}`", spec.target.account, spec.target.account)))
    }

    async fn clients(&self, i: &AwsIntegration) -> Result<Clients, ProvisionError> {
        self.factory.integration(i).await.map_err(to_provision)
    }

    /// For a tag lookup, the IAM user the latest inventory of the account
    /// says is the person (none when there is no inventory or no match).
    async fn user_hint(&self, i: &AwsIntegration, spec: &GrantSpec) -> Option<String> {
        let latch_core::integration::UserLookup::Tag(key) = &i.user_lookup else { return None };
        let items = self.store.items(&spec.org_id, &i.account_id, Some("iam-user")).await.ok()?;
        iam_users::tagged_in_inventory(&items, key, &spec.email)
    }

    /// The org's installed management-account integration (iam-users or
    /// federated, with Organizations on) that reaches member accounts.
    async fn member_route(&self, org_id: &str) -> Result<Option<AwsIntegration>, ProvisionError> {
        let all = self.store.list_aws_integrations(org_id).await.map_err(database)?;
        Ok(member::route(&all).cloned())
    }

    /// Clients in member account `account` through the management account.
    async fn member_clients(&self, mgmt: &AwsIntegration, account: &str) -> Result<Clients, ProvisionError> {
        member::clients(&self.factory, mgmt, account).await.map_err(|e| match e {
            MemberError::Aws(e) => to_provision(e),
            e @ (MemberError::NotAnAccount(_) | MemberError::Unreachable { .. }) => ProvisionError::Permanent(e.to_string()),
        })
    }

    /// Grants in a member account reached through the management account.
    async fn grant_in_member(&self, spec: &GrantSpec, mgmt: &AwsIntegration) -> Result<GrantOutcome, ProvisionError> {
        let clients = self.member_clients(mgmt, &spec.target.account).await?;
        let as_member = member::as_member(mgmt, &spec.target.account);
        let outcome = match mgmt.mode {
            AwsMode::Federated => federated::grant(&clients, spec).await?,
            _ => iam_users::grant(&clients, &as_member, spec, self.user_hint(&as_member, spec).await.as_deref()).await?,
        };
        let mark = |a: Applied| {
            let mut v = a.0;
            if let Some(o) = v.as_object_mut() {
                o.insert("via_management_account".into(), serde_json::Value::String(mgmt.account_id.clone()));
            }
            Applied(v)
        };
        Ok(match outcome {
            GrantOutcome::Granted(a) => GrantOutcome::Granted(mark(a)),
            GrantOutcome::AlreadyGranted(a) => GrantOutcome::AlreadyGranted(mark(a)),
        })
    }

    /// The installed identity-center integrations that may reach `account`,
    /// best first: the account's own, then the org's management accounts.
    async fn identity_center_routes(&self, org_id: &str, account: &str) -> Result<Vec<AwsIntegration>, ProvisionError> {
        let all = self.store.list_aws_integrations(org_id).await.map_err(database)?;
        let fits = |i: &AwsIntegration| i.mode == AwsMode::IdentityCenter && (i.account_id == account || i.organizations);
        let mut routes: Vec<AwsIntegration> = all.iter().filter(|i| fits(i) && i.status == IntegrationStatus::Installed).cloned().collect();
        routes.sort_by_key(|i| i.account_id != account);
        if !routes.is_empty() {
            return Ok(routes);
        }
        if let Some(pending) = all.iter().find(|i| fits(i)) {
            return Err(ProvisionError::Permanent(format!(
                "AWS account `{}` is not verified (AWS account `{account}` is reached through its Identity Center)\nhelp: `latch admin aws verify --account {}`",
                pending.account_id, pending.account_id
            )));
        }
        Err(ProvisionError::Permanent(format!(
            "AWS account `{account}` is not connected to Latch\nhelp: `latch admin aws install --account {account}`, or, for a member account in identity-center mode, connect its organization's management account with `--mode identity-center --organizations`"
        )))
    }

    /// Grants in identity-center mode through the first route whose
    /// organization has the account.
    async fn grant_identity_center(&self, spec: &GrantSpec, account: &str) -> Result<GrantOutcome, ProvisionError> {
        let routes = self.identity_center_routes(&spec.org_id, account).await?;
        let mut spec = spec.clone();
        account.clone_into(&mut spec.target.account);
        if let Some(best) = routes.first() {
            identity_center::check_kind(best, &spec)?;
        }
        let mut elsewhere = Vec::new();
        for i in &routes {
            let clients = self.clients(i).await?;
            match identity_center::check_account(&clients, account).await? {
                identity_center::AccountCheck::Active => return identity_center::grant(&clients, &spec, &self.identity_center).await,
                identity_center::AccountCheck::NotInOrganization(why) => elsewhere.push(why),
            }
        }
        Err(ProvisionError::Permanent(format!(
            "{}\nhelp: check the account id, or connect the management account of its organization with `--mode identity-center --organizations`",
            elsewhere.join("; ")
        )))
    }
}

/// A timestamp as IAM conditions write it (ISO 8601, UTC, seconds).
pub fn iso(t: latch_core::Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.millis()).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// A store failure: worth retrying.
fn database(e: latch_core::store::StoreError) -> ProvisionError {
    ProvisionError::Retryable(format!("the database: {e}"))
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
    /// An Identity Center group is one membership in one identity store,
    /// whatever account a request names: two requests for group `oncall`
    /// through two member accounts hold the same access, removed with the
    /// last of them. Its key names the integration whose Identity Center
    /// holds the group (the route a grant takes first) instead of the account.
    async fn entitlement_key(&self, spec: &GrantSpec) -> Result<String, ProvisionError> {
        if spec.target.kind != Kind::Group {
            return Ok(spec.target.entitlement_key());
        }
        let own = self.store.aws_integration(&spec.org_id, &spec.target.account).await.map_err(database)?;
        let via_identity_center = match &own {
            Some(i) => i.mode == AwsMode::IdentityCenter,
            None => self.member_route(&spec.org_id).await?.is_none(),
        };
        if !via_identity_center {
            return Ok(spec.target.entitlement_key());
        }
        // Unreachable accounts keep the target's key; the grant fails with the reason.
        Ok(match self.identity_center_routes(&spec.org_id, &spec.target.account).await {
            Ok(routes) => match routes.first() {
                Some(route) => identity_center::group_key(&route.account_id, &spec.target.name),
                None => spec.target.entitlement_key(),
            },
            Err(_) => spec.target.entitlement_key(),
        })
    }

    async fn grant(&self, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
        let own = self.store.aws_integration(&spec.org_id, &spec.target.account).await.map_err(database)?;
        let i = match own {
            // An account without an integration of its own may be a member
            // account: reached through its management account's role hop
            // (iam-users, federated), or through Identity Center.
            None => {
                if spec.target.kind != Kind::PermissionSet {
                    if let Some(mgmt) = self.member_route(&spec.org_id).await? {
                        return self.grant_in_member(spec, &mgmt).await;
                    }
                }
                return self.grant_identity_center(spec, &spec.target.account).await;
            }
            Some(i) if i.mode == AwsMode::IdentityCenter => return self.grant_identity_center(spec, &i.account_id).await,
            Some(i) => i,
        };
        if i.status != IntegrationStatus::Installed {
            return Err(ProvisionError::Permanent(format!(
                "AWS account `{}` is not verified\nhelp: `latch admin aws verify --account {}`",
                i.account_id, i.account_id
            )));
        }
        let clients = self.clients(&i).await?;
        match i.mode {
            AwsMode::IamUsers => iam_users::grant(&clients, &i, spec, self.user_hint(&i, spec).await.as_deref()).await,
            AwsMode::Federated => federated::grant(&clients, spec).await,
            // Routed to grant_identity_center above.
            AwsMode::IdentityCenter => self.grant_identity_center(spec, &i.account_id).await,
        }
    }

    async fn revoke(&self, spec: &GrantSpec, applied: &Applied) -> Result<RevokeOutcome, ProvisionError> {
        // INVARIANT: revoke works from what the grant recorded, even if the
        // account was re-installed in another mode or is no longer verified.
        if let Some(via) = applied.0.get("via_management_account").and_then(|a| a.as_str()) {
            let mgmt = self.store.aws_integration(&spec.org_id, via).await.map_err(database)?.ok_or_else(|| {
                ProvisionError::Permanent(format!(
                    "AWS account `{via}`, through which access to member account `{}` was granted, is no longer connected to Latch\nhelp: connect it again, or remove the access in the member account by hand",
                    spec.target.account
                ))
            })?;
            let clients = self.member_clients(&mgmt, &spec.target.account).await?;
            return match applied.0.get("mode").and_then(|m| m.as_str()) {
                Some("iam-users") => iam_users::revoke(&clients, applied, self.clock.now()).await,
                Some("federated") => federated::revoke(&clients, applied, self.clock.now()).await,
                _ => Err(ProvisionError::Permanent(format!("unreadable grant record for AWS account `{}`: {}", spec.target.account, applied.0))),
            };
        }
        if applied.0.get("mode").and_then(|m| m.as_str()) == Some("identity-center") {
            let via = applied.0.get("integration_account").and_then(|a| a.as_str()).ok_or_else(|| {
                ProvisionError::Permanent(format!("unreadable grant record for AWS account `{}`: no `integration_account` in {}", spec.target.account, applied.0))
            })?;
            let i = self.store.aws_integration(&spec.org_id, via).await.map_err(database)?.ok_or_else(|| {
                ProvisionError::Permanent(format!(
                    "AWS account `{via}`, through which Identity Center access to AWS account `{}` was granted, is no longer connected to Latch\nhelp: connect it again with `latch admin aws install --account {via} --mode identity-center --organizations`, or remove the access in IAM Identity Center",
                    spec.target.account
                ))
            })?;
            let clients = self.clients(&i).await?;
            return identity_center::revoke(&clients, applied, &self.identity_center).await;
        }
        let i = self.integration(spec).await?;
        let clients = self.clients(&i).await?;
        match applied.0.get("mode").and_then(|m| m.as_str()) {
            Some("iam-users") => iam_users::revoke(&clients, applied, self.clock.now()).await,
            Some("federated") => federated::revoke(&clients, applied, self.clock.now()).await,
            _ => Err(ProvisionError::Permanent(format!("unreadable grant record for AWS account `{}`: {}", i.account_id, applied.0))),
        }
    }
}
