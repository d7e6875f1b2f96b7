//! What a member sees of the org's AWS estate: the accounts people assume
//! access in (and how: `role` or `permission-set`), and per account what
//! they may ask for and what they hold now (`latch ls`).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use latch_core::access::lifecycle::State as RequestState;
use latch_core::access::policy::{Approval, Policy};
use latch_core::access::request::RequestFilter;
use latch_core::access::target::{Kind, Target};
use latch_core::integration::{AwsIntegration, AwsMode, FederationProtocol, IntegrationStatus};
use latch_core::model::Scope;
use latch_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::openapi::AuthErrors;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;

/// An installed account, as members see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AwsAccount {
    /// The 12-digit account id.
    account_id: String,
    /// Its alias, if it has one.
    alias: Option<String>,
    /// How access is given here.
    mode: AwsMode,
    /// The `latch aws` command that assumes access here: `role` (iam-users
    /// and federated accounts) or `permission-set` (Identity Center).
    command: &'static str,
    /// Identity Center: the AWS access portal URL to start the AWS SSO
    /// device flow at.
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_start_url: Option<String>,
    /// Federated accounts: `oidc` (`sts:AssumeRoleWithWebIdentity` with a
    /// Latch token) or `saml` (`sts:AssumeRoleWithSAML` with a Latch assertion).
    #[serde(skip_serializing_if = "Option::is_none")]
    federation: Option<FederationProtocol>,
    /// The region of Identity Center and STS.
    region: String,
}

fn command(mode: AwsMode) -> &'static str {
    match mode {
        AwsMode::IdentityCenter => "permission-set",
        AwsMode::IamUsers | AwsMode::Federated => "role",
    }
}

/// The Identity Center portal URL: the configured one, else the default
/// portal of the synced instance.
async fn start_url(state: &AppState, i: &AwsIntegration) -> ApiResult<Option<String>> {
    if i.mode != AwsMode::IdentityCenter {
        return Ok(None);
    }
    if let Some(u) = &i.sso_start_url {
        return Ok(Some(u.clone()));
    }
    let instances = state.store.items(&i.org_id, &i.account_id, Some("ic-instance")).await?;
    Ok(instances
        .iter()
        .find_map(|it| it.data.get("identity_store_id").and_then(Value::as_str))
        .map(|store| format!("https://{store}.awsapps.com/start")))
}

/// The org's installed accounts, then the member accounts reached through
/// its management account (treated as that account says).
async fn installed(state: &AppState, org_id: &str) -> ApiResult<Vec<AwsIntegration>> {
    let mut all = state.store.list_aws_integrations(org_id).await?;
    all.retain(|i| i.status == IntegrationStatus::Installed);
    all.extend(latch_aws::member::reachable(state.store.as_ref(), org_id).await?);
    Ok(all)
}

/// `GET /v1/aws/accounts`.
#[utoipa::path(
    get,
    path = "/v1/aws/accounts",
    operation_id = "list_aws_accounts_for_members",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The org's installed AWS accounts, with the member accounts an installed management account reaches, and how access is assumed in each.", body = Vec<AwsAccount>),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn accounts(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<AwsAccount>>> {
    caller.require(Scope::Read)?;
    let region = state.aws.settings().region.clone();
    let mut out = Vec::new();
    for i in installed(&state, &caller.org_id).await? {
        let sso_start_url = start_url(&state, &i).await?;
        let federation = (i.mode == AwsMode::Federated).then_some(i.federation);
        out.push(AwsAccount { command: command(i.mode), account_id: i.account_id, alias: i.alias, mode: i.mode, sso_start_url, federation, region: region.clone() });
    }
    Ok(axum::Json(out))
}

/// Query of `GET /v1/access`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccessQuery {
    /// Only this account (id or alias).
    account: Option<String>,
    /// Only this kind (`role`, `permission-set`, `group`, `policy`, `resource`).
    kind: Option<String>,
}

/// One active grant of an entitlement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Held {
    /// The request that holds it.
    request_id: String,
    /// When it ends.
    expires_at: Option<Timestamp>,
}

/// Something the caller may ask for, or holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entitlement {
    /// The account id.
    account_id: String,
    /// The account's alias.
    alias: Option<String>,
    /// What kind of access.
    kind: Kind,
    /// Its name (a resource's ARN).
    name: String,
    /// The policy rule a request would fall under (none: not requestable now).
    rule: Option<String>,
    /// `auto` (granted at once), `approval` (someone must approve) or `none`
    /// (no rule lets the caller ask).
    approval: &'static str,
    /// A role's ARN as the synced inventory knows it (roles may have a
    /// path: `arn:aws:iam::…:role/team/Name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    /// The caller's active grants of it.
    active: Vec<Held>,
}

/// Role `name`'s ARN in `account`: from the synced inventory (which knows
/// its path), else `arn:PARTITION:iam::ACCOUNT:role/NAME`.
pub(crate) async fn role_arn(state: &AppState, org_id: &str, account: &str, name: &str) -> ApiResult<String> {
    let synced = state.store.items(org_id, account, Some("iam-role")).await?;
    // An IAM role item's id is its ARN.
    let found = synced.iter().find(|i| i.data.get("name").and_then(Value::as_str) == Some(name)).map(|i| i.id.clone());
    Ok(found.unwrap_or_else(|| format!("arn:{}:iam::{account}:role/{name}", state.aws.partition())))
}

/// Inventory kinds whose items are requestable, per entitlement kind and mode.
fn inventory_kinds(kind: Kind, mode: AwsMode) -> &'static [&'static str] {
    match (kind, mode) {
        (Kind::Role, AwsMode::IamUsers | AwsMode::Federated) => &["iam-role"],
        (Kind::PermissionSet, AwsMode::IdentityCenter) => &["permission-set"],
        (Kind::Group, AwsMode::IamUsers) => &["iam-group"],
        (Kind::Group, AwsMode::IdentityCenter) => &["ic-group"],
        (Kind::Policy, AwsMode::IamUsers) => &["iam-policy"],
        _ => &[],
    }
}

/// Roles AWS or Latch own, which nobody requests.
fn reserved(item: &latch_core::inventory::Item, integration_role: &str) -> bool {
    let path = item.data.get("path").and_then(Value::as_str).unwrap_or("/");
    let name = item.data.get("name").and_then(Value::as_str).unwrap_or_default();
    path.starts_with("/aws-service-role/") || path.starts_with("/aws-reserved/") || name == integration_role
}

/// `GET /v1/access`.
#[utoipa::path(
    get,
    path = "/v1/access",
    operation_id = "list_my_access",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(AccessQuery),
    responses(
        (status = 200, description = "What the caller may request in the installed accounts (from the synced inventory and the policy's exact names) and what they hold now, sorted by account, kind and name.", body = Vec<Entitlement>),
        (status = 400, description = "`invalid_request`: an unknown kind.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such installed account.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller, Query(q): Query<AccessQuery>) -> ApiResult<axum::Json<Vec<Entitlement>>> {
    caller.require(Scope::Read)?;
    let kinds: Vec<Kind> = match &q.kind {
        None => Kind::ALL.to_vec(),
        Some(k) => vec![Kind::parse(k).ok_or_else(|| ApiError::InvalidRequest(format!("`{k}` is not a kind\nhelp: use role, permission-set, group, policy or resource")))?],
    };
    let mut accounts = installed(&state, &caller.org_id).await?;
    if let Some(a) = &q.account {
        accounts.retain(|i| i.account_id == *a || i.alias.as_deref() == Some(a.as_str()));
        if accounts.is_empty() {
            return Err(ApiError::NotFound("aws account"));
        }
    }
    let policy = match state.store.current_policy(&caller.org_id).await? {
        Some((_, source)) => Some(Policy::parse(&source).map_err(|e| ApiError::Internal(format!("stored policy no longer parses: {e}").into()))?),
        None => None,
    };
    let me = crate::api::requests::person(&state, &caller).await?;
    let mine = RequestFilter { requester_id: Some(caller.user_id.clone()), states: vec![RequestState::Active], limit: 1000 };
    let held = state.store.list_requests(&caller.org_id, &mine).await?;
    let integration_role = state.aws.settings().integration_role_name.clone();

    let mut out = Vec::new();
    for i in &accounts {
        for &kind in &kinds {
            let mut names = BTreeSet::new();
            let mut tags_of = BTreeMap::new();
            let mut arn_of = BTreeMap::new();
            for inv in inventory_kinds(kind, i.mode) {
                for item in state.store.items(&caller.org_id, &i.account_id, Some(inv)).await? {
                    if reserved(&item, &integration_role) {
                        continue;
                    }
                    if let Some(n) = item.data.get("name").and_then(Value::as_str) {
                        names.insert(n.to_owned());
                        tags_of.insert(n.to_owned(), crate::resource_tags::of(&item));
                        if kind == Kind::Role {
                            // An IAM role item's id is its ARN.
                            arn_of.insert(n.to_owned(), item.id.clone());
                        }
                    }
                }
            }
            // Exact names in rules covering this account and kind.
            for r in policy.iter().flat_map(|p| &p.rules) {
                let here = (r.resource.accounts.is_empty() || r.resource.accounts.contains(&i.account_id)) && r.resource.kinds.contains(&kind);
                if here {
                    names.extend(r.resource.names.iter().filter(|n| !n.contains(['*', '?', '['])).cloned());
                }
            }
            for r in &held {
                names.extend(r.targets.iter().filter(|t| t.account == i.account_id && t.kind == kind).map(|t| t.name.clone()));
            }
            for name in names {
                let target = Target { integration: "aws".into(), account: i.account_id.clone(), kind, name, level: None };
                let tags = tags_of.get(&target.name).cloned().unwrap_or_default();
                let rule = policy.as_ref().and_then(|p| p.rule_for(&me, &target, &tags)).filter(|r| r.approval != Approval::Deny);
                let active: Vec<Held> = held
                    .iter()
                    .filter(|r| r.targets.iter().any(|t| t.account == target.account && t.kind == kind && t.name == target.name))
                    .map(|r| Held { request_id: r.id.clone(), expires_at: r.expires_at })
                    .collect();
                if rule.is_none() && active.is_empty() {
                    continue;
                }
                let approval = match rule.map(|r| &r.approval) {
                    Some(Approval::Auto) => "auto",
                    Some(_) => "approval",
                    None => "none",
                };
                let arn = arn_of.get(&target.name).cloned();
                out.push(Entitlement { account_id: i.account_id.clone(), alias: i.alias.clone(), kind, name: target.name, rule: rule.map(|r| r.name.clone()), approval, arn, active });
            }
        }
    }
    Ok(axum::Json(out))
}
