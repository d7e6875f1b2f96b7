//! The org's access policy (config as code): apply a new version, show the
//! current one. Every version is kept and every change audited.

use axum::extract::State;
use latch_core::access::policy::Policy;
use latch_core::audit::NewAuditEvent;
use latch_core::model::Scope;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `PUT /v1/policy`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    /// The policy, as TOML.
    source: String,
}

/// A policy version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Applied {
    /// The version number (1, 2, …).
    version: i64,
    /// The TOML.
    source: String,
    /// The rules' names, in order.
    rules: Vec<String>,
}

/// Largest policy accepted, in bytes.
const MAX_POLICY: usize = 60 * 1024;

/// `PUT /v1/policy`: validates and stores a new version.
#[utoipa::path(
    put,
    path = "/v1/policy",
    operation_id = "apply_policy",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = Apply,
    responses(
        (status = 200, description = "The new version.", body = Applied),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the policy is not valid (every problem, as `LINE:COL: message`).", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn apply(State(state): State<AppState>, caller: Caller, Json(body): Json<Apply>) -> ApiResult<axum::Json<Applied>> {
    caller.require(Scope::Admin)?;
    if body.source.len() > MAX_POLICY {
        return Err(ApiError::PayloadTooLarge);
    }
    let policy = Policy::parse(&body.source).map_err(|e| ApiError::InvalidRequest(format!("the policy is not valid:\n{e}")))?;
    let version = state.store.put_policy(&caller.org_id, &body.source, &caller.user_id, state.now()).await?;
    let rules: Vec<String> = policy.rules.iter().map(|r| r.name.clone()).collect();
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "policy.applied", format!("v{version}")).with(json!({"version": version, "rules": rules})))
        .await?;
    Ok(axum::Json(Applied { version, source: body.source, rules }))
}

/// `GET /v1/policy`: the current version.
#[utoipa::path(
    get,
    path = "/v1/policy",
    operation_id = "show_policy",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The current version.", body = Applied),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: no policy was applied yet.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Applied>> {
    caller.require(Scope::Read)?;
    let (version, source) = state.store.current_policy(&caller.org_id).await?.ok_or(ApiError::NotFound("policy"))?;
    let rules = Policy::parse(&source).map(|p| p.rules.into_iter().map(|r| r.name).collect()).unwrap_or_default();
    Ok(axum::Json(Applied { version, source, rules }))
}
