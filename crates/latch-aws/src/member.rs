//! Member accounts of an organization, reached from its management account.
//!
//! An installed management-account integration with Organizations on, in
//! iam-users or federated mode, reaches every member account of its
//! organization through two role hops: its own integration role, then the
//! member role (`OrganizationAccountAccessRole` or the configured one, with
//! the integration's ExternalId on that hop too). Grants, inventory sync
//! and reconciliation all take this one route. A member account has no
//! integration of its own: it is treated as its management account says,
//! and which accounts are members (and whether they are active) is what the
//! management account's latest inventory lists.
//!
//! In identity-center mode members are reached through Identity Center
//! instead (see [`crate::provision`]), so no IAM inventory of theirs is kept.

use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus};
use latch_core::inventory::Item;
use latch_core::store::{Store, StoreError};
use serde_json::Value;
use thiserror::Error;

use crate::error::AwsError;
use crate::factory::{ClientFactory, Clients, RoleHop};

/// The inventory kind of the organization's accounts.
pub const ACCOUNT_KIND: &str = "account";
/// Organizations' status of an account that can be worked in.
const ACTIVE: &str = "ACTIVE";

/// Why a member account could not be reached.
#[derive(Debug, Error)]
pub enum MemberError {
    /// Not a 12-digit account id.
    #[error("`{0}` is not an AWS account id")]
    NotAnAccount(String),
    /// A hop was refused (the member role is missing, does not trust the
    /// management account, or the account left the organization).
    #[error(
        "cannot reach member account `{account}` through `{role_arn}`: {reason}\nhelp: check that the account is an active member of the organization run by AWS account `{management}` and that it has the role `{member_role}`"
    )]
    Unreachable {
        /// The member account.
        account: String,
        /// The role that could not be assumed.
        role_arn: String,
        /// Why, as AWS said it.
        reason: String,
        /// The management account.
        management: String,
        /// The member role every hop ends in.
        member_role: String,
    },
    /// Another AWS failure on the way (throttling, the network).
    #[error(transparent)]
    Aws(AwsError),
}

impl MemberError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, MemberError::Aws(e) if e.is_retryable())
    }
}

/// The org's integration that reaches member accounts by the role hop: the
/// installed management account (iam-users or federated) with Organizations on.
pub fn route(all: &[AwsIntegration]) -> Option<&AwsIntegration> {
    all.iter().find(|i| reaches_members(i))
}

/// Whether `i` is a management account whose members are reached by the role hop.
pub fn reaches_members(i: &AwsIntegration) -> bool {
    i.organizations && i.status == IntegrationStatus::Installed && matches!(i.mode, AwsMode::IamUsers | AwsMode::Federated)
}

/// Member account `account` as Latch treats it: as its management account
/// says (mode, user lookup, inventory), with no organization of its own.
pub fn as_member(mgmt: &AwsIntegration, account: &str) -> AwsIntegration {
    AwsIntegration { account_id: account.to_owned(), alias: None, organizations: false, ..mgmt.clone() }
}

/// The two hops into member account `account`: the management account's
/// integration role, then the member role (with the ExternalId: a custom
/// member role may require it; AWS ignores it where not).
pub fn hops(factory: &ClientFactory, mgmt: &AwsIntegration, account: &str) -> [RoleHop; 2] {
    let member = RoleHop { role_arn: member_role_arn(factory, account), external_id: Some(mgmt.external_id.clone()) };
    [factory.hop_into(mgmt), member]
}

fn member_role_arn(factory: &ClientFactory, account: &str) -> String {
    format!("arn:{}:iam::{account}:role/{}", factory.partition(), factory.settings().member_role_name)
}

/// Clients acting in member account `account` through [`hops`].
pub async fn clients(factory: &ClientFactory, mgmt: &AwsIntegration, account: &str) -> Result<Clients, MemberError> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MemberError::NotAnAccount(account.to_owned()));
    }
    factory.assume(&hops(factory, mgmt, account)).await.map_err(|e| match e {
        AwsError::CannotAssume { role_arn, reason } => MemberError::Unreachable {
            account: account.to_owned(),
            role_arn,
            reason,
            management: mgmt.account_id.clone(),
            member_role: member_role_arn(factory, account),
        },
        other => MemberError::Aws(other),
    })
}

/// An account of the organization, as the management account's inventory
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The account id.
    pub id: String,
    /// Organizations' status (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`).
    pub status: String,
}

impl Member {
    /// Whether Latch works in it.
    pub fn is_active(&self) -> bool {
        self.status == ACTIVE
    }
}

/// The member accounts among `items` (a management account's inventory),
/// the management account itself left out.
pub fn members(items: &[Item], management: &str) -> Vec<Member> {
    items
        .iter()
        .filter(|i| i.kind == ACCOUNT_KIND && i.id != management)
        .map(|i| Member { id: i.id.clone(), status: i.data.get("status").and_then(Value::as_str).unwrap_or_default().to_owned() })
        .collect()
}

/// The management account that reaches `account` as a member, and the
/// member as its latest inventory lists it (any status); `None` when no
/// management account of the org lists it.
pub async fn management_of(store: &dyn Store, org_id: &str, account: &str) -> Result<Option<(AwsIntegration, Member)>, StoreError> {
    let all = store.list_aws_integrations(org_id).await?;
    let Some(mgmt) = route(&all) else { return Ok(None) };
    if mgmt.account_id == account {
        return Ok(None);
    }
    let items = store.items(org_id, &mgmt.account_id, Some(ACCOUNT_KIND)).await?;
    Ok(members(&items, &mgmt.account_id).into_iter().find(|m| m.id == account).map(|m| (mgmt.clone(), m)))
}

/// The active member accounts the org's management account reaches and
/// that have no integration of their own, each as [`as_member`] treats it.
pub async fn reachable(store: &dyn Store, org_id: &str) -> Result<Vec<AwsIntegration>, StoreError> {
    let all = store.list_aws_integrations(org_id).await?;
    let Some(mgmt) = route(&all) else { return Ok(Vec::new()) };
    let items = store.items(org_id, &mgmt.account_id, Some(ACCOUNT_KIND)).await?;
    Ok(members(&items, &mgmt.account_id)
        .into_iter()
        // A connected account is reached through its own integration.
        .filter(|m| m.is_active() && !all.iter().any(|i| i.account_id == m.id))
        .map(|m| as_member(mgmt, &m.id))
        .collect())
}

/// Every account whose inventory Latch keeps: the connected ones, then the
/// active members reached through the management account.
pub async fn inventoried_accounts(store: &dyn Store, org_id: &str) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = store.list_aws_integrations(org_id).await?.into_iter().map(|i| i.account_id).collect();
    out.extend(reachable(store, org_id).await?.into_iter().map(|i| i.account_id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use latch_core::inventory::Item;
    use serde_json::json;

    use super::{members, Member};

    #[test]
    fn members_are_the_other_accounts_with_their_status() {
        let account = |id: &str, status: &str| Item { kind: "account".into(), id: id.into(), data: json!({"status": status}) };
        let items = vec![
            account("111111111111", "ACTIVE"),
            account("222222222222", "ACTIVE"),
            account("333333333333", "SUSPENDED"),
            Item { kind: "iam-user".into(), id: "444444444444".into(), data: json!({}) },
        ];
        let found = members(&items, "111111111111");
        assert_eq!(found, vec![Member { id: "222222222222".into(), status: "ACTIVE".into() }, Member { id: "333333333333".into(), status: "SUSPENDED".into() }]);
        assert_eq!(found.iter().map(Member::is_active).collect::<Vec<_>>(), [true, false]);
    }
}
