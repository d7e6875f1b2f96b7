//! Connecting AWS accounts (admins): register an account and print what to
//! run in it, verify the integration role, list and disconnect.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{render, Format, InstallPlan};
use latch_core::audit::NewAuditEvent;
use latch_core::integration::{AwsIntegration, AwsMode, FederationProtocol, IntegrationStatus, UserLookup};
use latch_core::inventory::{Change, Item, SyncRun};
use latch_core::model::Scope;
use latch_core::token::random_secret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};
use crate::state::AppState;

/// Body of `POST /v1/integrations/aws`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallAws {
    /// The 12-digit account id.
    account_id: String,
    /// A name to use instead of the id.
    #[serde(default)]
    alias: Option<String>,
    /// `iam-users`, `identity-center` or `federated`.
    mode: String,
    /// iam-users: `email` (user name is the email, the default) or `tag:KEY`.
    #[serde(default)]
    user_lookup: Option<String>,
    /// Turn on resource inventory.
    #[serde(default)]
    inventory: bool,
    /// This is an Organizations management account.
    #[serde(default)]
    organizations: bool,
    /// Identity Center: the AWS access portal URL, when not the default
    /// `https://{identity store id}.awsapps.com/start`.
    #[serde(default)]
    sso_start_url: Option<String>,
    /// Federated mode: `oidc` (the default: Latch's web identity tokens) or
    /// `saml` (Latch's SAML assertions).
    #[serde(default)]
    federation: Option<String>,
}

/// What to run in the account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstallDocuments {
    /// AWS CLI commands.
    cli: String,
    /// Terraform.
    terraform: String,
    /// A CloudFormation template.
    cloudformation: String,
}

/// An account with what to run in it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Installed {
    integration: AwsIntegration,
    /// Latch's own principal, which the trust policy names.
    principal_arn: String,
    documents: InstallDocuments,
    /// Federated mode: the trust policy each requestable role needs, with
    /// `ROLE` standing for the role's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    role_trust_template: Option<serde_json::Value>,
}

/// What `verify` found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verified {
    integration: AwsIntegration,
    /// The role was assumed with the ExternalId.
    assumed: bool,
    /// IAM actions the role lacks.
    missing: Vec<String>,
    /// Actions checked at first use instead, with why.
    unverified: Vec<String>,
    /// Other problems.
    problems: Vec<String>,
}

fn components(i: &AwsIntegration) -> Components {
    Components { mode: i.mode, inventory: i.inventory, organizations: i.organizations, federation: i.federation }
}

/// What a federated account must register for Latch: its OIDC issuer, or
/// its SAML metadata.
async fn federation(state: &AppState, org: (&str, &str), i: &AwsIntegration, plan: InstallPlan) -> ApiResult<InstallPlan> {
    if i.mode != AwsMode::Federated {
        return Ok(plan);
    }
    let partition = state.aws.partition();
    Ok(match i.federation {
        FederationProtocol::Oidc => plan.with_federation(partition, &crate::federation::issuer(state, org.1)),
        FederationProtocol::Saml => {
            let metadata = crate::federation::saml_metadata(state, org.0, org.1).await?;
            plan.with_saml(partition, &crate::federation::saml_entity_id(state, org.1), &state.aws.settings().saml_provider_name, &metadata)
        }
    })
}

async fn plan(state: &AppState, org: (&str, &str), i: &AwsIntegration) -> ApiResult<(String, InstallPlan)> {
    let principal = state.aws.principal_arn().await?;
    let ctx = RoleContext { partition: state.aws.partition(), account_id: &i.account_id, role_name: &i.role_name, member_role_name: &state.aws.settings().member_role_name };
    let plan = InstallPlan::new(&components(i), &ctx, &principal, &i.external_id);
    Ok((principal, federation(state, org, i, plan).await?))
}

async fn documents(state: &AppState, org: (&str, &str), i: &AwsIntegration) -> ApiResult<(String, InstallDocuments, Option<serde_json::Value>)> {
    let (principal, plan) = plan(state, org, i).await?;
    let docs = InstallDocuments { cli: render(&plan, Format::Cli), terraform: render(&plan, Format::Terraform), cloudformation: render(&plan, Format::CloudFormation) };
    let template = plan.federation.as_ref().map(|f| f.role_trust("ROLE"));
    Ok((principal, docs, template))
}

fn valid_account(id: &str) -> ApiResult<()> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::InvalidRequest(format!("`{id}` is not an AWS account id\nhelp: an account id is 12 digits")))
    }
}

/// `POST /v1/integrations/aws`.
#[utoipa::path(
    post,
    path = "/v1/integrations/aws",
    operation_id = "install_aws_account",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = InstallAws,
    responses(
        (status = 200, description = "The account (pending until verified) and what to run in it. Installing again keeps the ExternalId.", body = Installed),
        (status = 400, description = "`invalid_json`; or `invalid_request`: a bad account id, mode or user lookup.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 409, description = "`conflict`: another account of the org has this alias.", body = ErrorBody),
        (status = 502, description = "`aws_error`: Latch could not find its own AWS identity.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn install(State(state): State<AppState>, caller: Caller, Json(body): Json<InstallAws>) -> ApiResult<axum::Json<Installed>> {
    caller.require(Scope::Admin)?;
    valid_account(&body.account_id)?;
    let mode = AwsMode::parse(&body.mode)
        .ok_or_else(|| ApiError::InvalidRequest(format!("`{}` is not a mode\nhelp: use `iam-users`, `identity-center` or `federated`", body.mode)))?;
    let lookup = body.user_lookup.as_deref().unwrap_or("email");
    let user_lookup = UserLookup::parse(lookup).ok_or_else(|| ApiError::InvalidRequest(format!("`{lookup}` is not a user lookup\nhelp: use `email` or `tag:KEY`")))?;
    if let Some(alias) = &body.alias {
        let ok_chars = alias.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if alias.is_empty() || alias.len() > 64 || !ok_chars || alias.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::InvalidRequest(format!("`{alias}` is not an alias\nhelp: use 1 to 64 letters, digits, `-`, `_` or `.`, not all digits")));
        }
    }
    if let Some(u) = &body.sso_start_url {
        let ok = url::Url::parse(u).is_ok_and(|p| p.scheme() == "https" || p.host_str() == Some("127.0.0.1") || p.host_str() == Some("localhost"));
        if !ok {
            return Err(ApiError::InvalidRequest(format!("`{u}` is not an AWS access portal URL\nhelp: it looks like `https://d-1234567890.awsapps.com/start`")));
        }
    }
    let federation = match (body.federation.as_deref(), mode) {
        (None, _) => FederationProtocol::Oidc,
        (Some(f), AwsMode::Federated) => {
            FederationProtocol::parse(f).ok_or_else(|| ApiError::InvalidRequest(format!("`{f}` is not a federation protocol\nhelp: use `oidc` or `saml`")))?
        }
        (Some(_), _) => return Err(ApiError::InvalidRequest("`federation` applies to `--mode federated` only".to_owned())),
    };
    let now = state.now();
    let wanted = AwsIntegration {
        org_id: caller.org_id.clone(),
        account_id: body.account_id,
        alias: body.alias,
        mode,
        user_lookup,
        inventory: body.inventory,
        organizations: body.organizations,
        role_name: state.aws.settings().integration_role_name.clone(),
        // Kept by the store if the account was installed before.
        external_id: format!("latch-{}", random_secret()),
        sso_start_url: body.sso_start_url,
        federation,
        status: IntegrationStatus::Pending,
        missing: vec![],
        verified_at: None,
        created_at: now,
    };
    let stored = state.store.put_aws_integration(&wanted).await.map_err(|e| match ApiError::from(e) {
        ApiError::Conflict(_) => ApiError::Conflict("another account of this org has that alias".into()),
        other => other,
    })?;
    state
        .audit(
            &caller.org_id,
            NewAuditEvent::new(&caller.user_id, "aws.account.installed", &stored.account_id)
                .with(json!({"mode": stored.mode, "inventory": stored.inventory, "organizations": stored.organizations, "alias": stored.alias, "federation": stored.federation})),
        )
        .await?;
    let (principal_arn, documents, role_trust_template) = documents(&state, (&caller.org_id, &caller.0.org_slug), &stored).await?;
    Ok(axum::Json(Installed { integration: stored, principal_arn, documents, role_trust_template }))
}

/// `GET /v1/integrations/aws`.
#[utoipa::path(
    get,
    path = "/v1/integrations/aws",
    operation_id = "list_aws_accounts",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The org's connected accounts.", body = Vec<AwsIntegration>),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<AwsIntegration>>> {
    caller.require(Scope::Admin)?;
    Ok(axum::Json(state.store.list_aws_integrations(&caller.org_id).await?))
}

async fn find(state: &AppState, org_id: &str, account: &str) -> ApiResult<AwsIntegration> {
    state.store.aws_integration(org_id, account).await?.ok_or(ApiError::NotFound("aws account"))
}

/// The account whose inventory `account` names: a connected account (id or
/// alias), or a member account the org's management account reaches.
async fn inventoried(state: &AppState, org_id: &str, account: &str) -> ApiResult<String> {
    if let Some(i) = state.store.aws_integration(org_id, account).await? {
        return Ok(i.account_id);
    }
    let found = latch_aws::member::management_of(state.store.as_ref(), org_id, account).await?;
    found.map(|(_, m)| m.id).ok_or(ApiError::NotFound("aws account"))
}

/// `POST /v1/integrations/aws/{account}/verify`.
#[utoipa::path(
    post,
    path = "/v1/integrations/aws/{account}/verify",
    operation_id = "verify_aws_account",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias."), CsrfHeader),
    responses(
        (status = 200, description = "What verify found; the account is `installed` only if nothing is missing.", body = Verified),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        (status = 502, description = "`aws_error`: AWS refused a call verify needed.", body = ErrorBody),
        (status = 503, description = "`unavailable`: AWS is throttling or unreachable.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn verify(State(state): State<AppState>, caller: Caller, Path(account): Path<String>) -> ApiResult<axum::Json<Verified>> {
    caller.require(Scope::Admin)?;
    let i = find(&state, &caller.org_id, &account).await?;
    let ctx = RoleContext { partition: state.aws.partition(), account_id: &i.account_id, role_name: &i.role_name, member_role_name: &state.aws.settings().member_role_name };
    // Verify needs no principal: the plan is only read for its federation.
    let plan = federation(&state, (&caller.org_id, &caller.0.org_slug), &i, InstallPlan::new(&components(&i), &ctx, "", &i.external_id)).await?;
    let report = latch_aws::verify::verify(&state.aws, &components(&i), &i.account_id, &i.role_name, &i.external_id, plan.federation.as_ref()).await?;
    let status = if report.passed() { IntegrationStatus::Installed } else { IntegrationStatus::Pending };
    let mut missing = report.missing.clone();
    if !report.assumed {
        missing.push("sts:AssumeRole".into());
    }
    state.store.set_aws_status(&caller.org_id, &i.account_id, status, &missing, state.now()).await?;
    state
        .audit(
            &caller.org_id,
            NewAuditEvent::new(&caller.user_id, "aws.account.verified", &i.account_id)
                .with(json!({"passed": report.passed(), "missing": report.missing, "problems": report.problems})),
        )
        .await?;
    if report.passed() && state.store.last_sync(&caller.org_id, &i.account_id).await?.is_none() {
        // The first inventory sync starts as soon as the account is verified.
        state.enqueue(crate::workers::sync_job(&caller.org_id, &i.account_id, state.now())).await?;
    }
    let integration = find(&state, &caller.org_id, &i.account_id).await?;
    Ok(axum::Json(Verified { integration, assumed: report.assumed, missing: report.missing, unverified: report.unverified, problems: report.problems }))
}

/// `DELETE /v1/integrations/aws/{account}`.
#[utoipa::path(
    delete,
    path = "/v1/integrations/aws/{account}",
    operation_id = "remove_aws_account",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias."), CsrfHeader),
    responses(
        (status = 204, description = "Disconnected. The role in the account is left for its owner to delete."),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn remove(State(state): State<AppState>, caller: Caller, Path(account): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let i = find(&state, &caller.org_id, &account).await?;
    state.store.delete_aws_integration(&caller.org_id, &i.account_id).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "aws.account.removed", &i.account_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/integrations/aws/{account}/sync`.
#[utoipa::path(
    post,
    path = "/v1/integrations/aws/{account}/sync",
    operation_id = "sync_aws_account",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias; or the id of a member account reached through the organization's management account."), CsrfHeader),
    responses(
        (status = 202, description = "A sync is queued; follow it with `GET …/sync`. Returns the latest sync so far, if any.", body = Option<SyncRun>),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the account is not verified yet, or is a member account that is not active.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn sync(State(state): State<AppState>, caller: Caller, Path(account): Path<String>) -> ApiResult<(StatusCode, axum::Json<Option<SyncRun>>)> {
    caller.require(Scope::Admin)?;
    let account = match state.store.aws_integration(&caller.org_id, &account).await? {
        Some(i) if i.status != IntegrationStatus::Installed => {
            return Err(ApiError::InvalidState(format!("AWS account `{}` is not verified\nhelp: `latch admin aws verify --account {}`", i.account_id, i.account_id)));
        }
        Some(i) => i.account_id,
        // A member account is synced through its management account.
        None => match latch_aws::member::management_of(state.store.as_ref(), &caller.org_id, &account).await? {
            Some((_, m)) if m.is_active() => m.id,
            Some((mgmt, m)) => {
                return Err(ApiError::InvalidState(format!(
                    "AWS account `{}` is `{}` in the organization run by AWS account `{}`: only active member accounts are synced\nhelp: reactivate the account in AWS Organizations, then sync AWS account `{}`",
                    m.id, m.status, mgmt.account_id, mgmt.account_id
                )));
            }
            None => return Err(ApiError::NotFound("aws account")),
        },
    };
    state.enqueue(crate::workers::sync_now_job(&caller.org_id, &account, state.now())).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "aws.sync.requested", &account)).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(state.store.last_sync(&caller.org_id, &account).await?)))
}

/// `GET /v1/integrations/aws/{account}/sync`.
#[utoipa::path(
    get,
    path = "/v1/integrations/aws/{account}/sync",
    operation_id = "aws_sync_status",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias; or the id of a member account reached through the organization's management account.")),
    responses(
        (status = 200, description = "The latest sync (running, done or failed), or null before the first.", body = Option<SyncRun>),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn sync_status(State(state): State<AppState>, caller: Caller, Path(account): Path<String>) -> ApiResult<axum::Json<Option<SyncRun>>> {
    caller.require(Scope::Admin)?;
    let account = inventoried(&state, &caller.org_id, &account).await?;
    Ok(axum::Json(state.store.last_sync(&caller.org_id, &account).await?))
}

/// Query of `GET …/inventory`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    /// Only items of this kind (`iam-user`, `iam-role`, `permission-set`, …).
    kind: Option<String>,
}

/// `GET /v1/integrations/aws/{account}/inventory`.
#[utoipa::path(
    get,
    path = "/v1/integrations/aws/{account}/inventory",
    operation_id = "aws_inventory",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias; or the id of a member account reached through the organization's management account."), InventoryQuery),
    responses(
        (status = 200, description = "The account's items as the last sync saw them.", body = Vec<Item>),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn inventory(State(state): State<AppState>, caller: Caller, Path(account): Path<String>, Query(q): Query<InventoryQuery>) -> ApiResult<axum::Json<Vec<Item>>> {
    caller.require(Scope::Admin)?;
    let account = inventoried(&state, &caller.org_id, &account).await?;
    Ok(axum::Json(state.store.items(&caller.org_id, &account, q.kind.as_deref()).await?))
}

/// Query of `GET …/changes`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// The sync version (default: the latest finished one).
    version: Option<i64>,
}

/// `GET /v1/integrations/aws/{account}/changes`.
#[utoipa::path(
    get,
    path = "/v1/integrations/aws/{account}/changes",
    operation_id = "aws_inventory_changes",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias; or the id of a member account reached through the organization's management account."), ChangesQuery),
    responses(
        (status = 200, description = "What appeared, changed and vanished in that sync.", body = Vec<Change>),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn changes(State(state): State<AppState>, caller: Caller, Path(account): Path<String>, Query(q): Query<ChangesQuery>) -> ApiResult<axum::Json<Vec<Change>>> {
    caller.require(Scope::Admin)?;
    let account = inventoried(&state, &caller.org_id, &account).await?;
    let version = match q.version {
        Some(v) => v,
        None => state.store.last_sync(&caller.org_id, &account).await?.map_or(0, |r| if r.status == "done" { r.version } else { r.version - 1 }),
    };
    Ok(axum::Json(state.store.changes(&caller.org_id, &account, version).await?))
}

/// Body of `POST /v1/integrations/aws/{account}/iam-users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIamUser {
    /// The person's email (the `Email`-style tag's value).
    email: String,
    /// The IAM user name (default: the email).
    #[serde(default)]
    user_name: Option<String>,
}

/// What `POST …/iam-users` did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IamUserCreated {
    /// The user's ARN.
    arn: String,
    /// Latch created it (false: it existed already).
    created: bool,
    /// The tag key naming the person.
    tag: String,
}

/// What `DELETE …/iam-users/{name}` removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IamUserDeleted {
    /// Per kind, what was removed (ids and names, never secrets), whether
    /// the user was already gone, and what could not be checked.
    #[schema(value_type = Object)]
    report: serde_json::Value,
}

async fn iam_users_clients(state: &AppState, org_id: &str, account: &str) -> ApiResult<(AwsIntegration, latch_aws::Clients)> {
    let i = find(state, org_id, account).await?;
    if i.mode != AwsMode::IamUsers || i.status != IntegrationStatus::Installed {
        return Err(ApiError::InvalidState(format!(
            "AWS account `{}` must be installed and verified in iam-users mode to manage its IAM users\nhelp: `latch admin aws install --account {} --mode iam-users`, then verify",
            i.account_id, i.account_id
        )));
    }
    let clients = state.aws.integration(&i).await?;
    Ok((i, clients))
}

/// `POST /v1/integrations/aws/{account}/iam-users`.
#[utoipa::path(
    post,
    path = "/v1/integrations/aws/{account}/iam-users",
    operation_id = "create_aws_iam_user",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias."), CsrfHeader),
    request_body = CreateIamUser,
    responses(
        (status = 200, description = "The user exists, tagged with the person's email (created now or before).", body = IamUserCreated),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the account is not a verified iam-users account.", body = ErrorBody),
        (status = 502, description = "`aws_error`: AWS refused (e.g. the user is tagged for someone else).", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn create_iam_user(State(state): State<AppState>, caller: Caller, Path(account): Path<String>, Json(body): Json<CreateIamUser>) -> ApiResult<axum::Json<IamUserCreated>> {
    caller.require(Scope::Admin)?;
    latch_core::validate::email(&body.email).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let (i, clients) = iam_users_clients(&state, &caller.org_id, &account).await?;
    let tag = match &i.user_lookup {
        UserLookup::Tag(key) => key.clone(),
        UserLookup::Email => "Email".to_owned(),
    };
    let name = body.user_name.unwrap_or_else(|| body.email.clone());
    let out = latch_aws::lifecycle::create_user(&clients, &name, &body.email, &tag).await?;
    let (arn, created) = match out {
        latch_aws::lifecycle::Created::New { arn } => (arn, true),
        latch_aws::lifecycle::Created::AlreadyExisted { arn, .. } => (arn, false),
    };
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "aws.iam_user.created", &arn).with(json!({"email": body.email, "created": created, "tag": tag})))
        .await?;
    Ok(axum::Json(IamUserCreated { arn, created, tag }))
}

/// `DELETE /v1/integrations/aws/{account}/iam-users/{name}`.
#[utoipa::path(
    delete,
    path = "/v1/integrations/aws/{account}/iam-users/{name}",
    operation_id = "delete_aws_iam_user",
    tag = "aws",
    security(("bearer" = []), ("cookie" = [])),
    params(("account" = String, Path, description = "Account id or alias."), ("name" = String, Path, description = "The IAM user name."), CsrfHeader),
    responses(
        (status = 200, description = "The user and everything attached to it are gone, removed in AWS's required order: login profile, access keys, signing certificates, SSH keys, service-specific credentials, MFA devices, inline policies, managed policies, groups, the user. Safe to repeat.", body = IamUserDeleted),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account in the caller's org.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the account is not a verified iam-users account.", body = ErrorBody),
        (status = 502, description = "`aws_error`: AWS refused a step (the message names the action).", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn delete_iam_user(State(state): State<AppState>, caller: Caller, Path((account, name)): Path<(String, String)>) -> ApiResult<axum::Json<IamUserDeleted>> {
    caller.require(Scope::Admin)?;
    let (_, clients) = iam_users_clients(&state, &caller.org_id, &account).await?;
    let report = latch_aws::lifecycle::delete_user(&clients, &name).await?;
    let report = serde_json::to_value(&report).map_err(|e| ApiError::Internal(Box::new(e)))?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "aws.iam_user.deleted", &name).with(report.clone())).await?;
    Ok(axum::Json(IamUserDeleted { report }))
}
