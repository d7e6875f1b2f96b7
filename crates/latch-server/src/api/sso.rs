//! An org's single sign-on settings (admins). The client secret is written,
//! never read back.

use axum::extract::State;
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::{Role, Scope, SsoConfig};
use latch_core::Secret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `PUT /v1/sso`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSso {
    /// The provider's issuer URL: `https://`, or `http://` on localhost.
    issuer: String,
    /// Latch's client id at the provider.
    client_id: String,
    /// Latch's client secret at the provider; never read back.
    #[schema(value_type = String, format = Password)]
    client_secret: Secret,
    /// The claim listing the person's groups; defaults to `groups`.
    #[serde(default)]
    groups_claim: Option<String>,
    /// Create people the provider vouches for on first sign-in.
    #[serde(default)]
    auto_create: bool,
    /// Their role; defaults to `member`.
    #[serde(default)]
    default_role: Option<Role>,
}

/// The settings as shown (no secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SsoView {
    /// The provider's issuer URL.
    issuer: String,
    /// Latch's client id at the provider.
    client_id: String,
    /// The claim listing the person's groups.
    groups_claim: String,
    /// Whether unknown people are created on first sign-in.
    auto_create: bool,
    /// The role such people get.
    default_role: Role,
    /// Register this at the provider as the redirect URI.
    redirect_uri: String,
}

fn view(state: &AppState, c: SsoConfig) -> SsoView {
    SsoView {
        issuer: c.issuer,
        client_id: c.client_id,
        groups_claim: c.groups_claim,
        auto_create: c.auto_create,
        default_role: c.default_role,
        redirect_uri: crate::sso::redirect_url(state),
    }
}

/// `GET /v1/sso`.
#[utoipa::path(
    get,
    path = "/v1/sso",
    operation_id = "get_sso",
    tag = "sso",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The org's single sign-on settings.", body = SsoView),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: single sign-on is not set up.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn get(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<SsoView>> {
    caller.require(Scope::Admin)?;
    let c = state.store.sso(&caller.org_id).await?.ok_or(ApiError::NotFound("single sign-on settings"))?;
    Ok(axum::Json(view(&state, c)))
}

/// `PUT /v1/sso`.
#[utoipa::path(
    put,
    path = "/v1/sso",
    operation_id = "set_sso",
    tag = "sso",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = SetSso,
    responses(
        (status = 200, description = "The settings now in force.", body = SsoView),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the issuer is not an acceptable URL, or the client id or secret is empty.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn put(State(state): State<AppState>, caller: Caller, Json(body): Json<SetSso>) -> ApiResult<axum::Json<SsoView>> {
    caller.require(Scope::Admin)?;
    let issuer = url::Url::parse(&body.issuer).map_err(|e| ApiError::InvalidRequest(format!("`{}` is not a URL: {e}", body.issuer)))?;
    // Plain HTTP only to this machine (tests, a local provider).
    let local = matches!(issuer.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if issuer.scheme() != "https" && !(issuer.scheme() == "http" && local) {
        return Err(ApiError::InvalidRequest("the issuer must be an https:// URL".to_owned()));
    }
    if body.client_id.trim().is_empty() || body.client_secret.expose().is_empty() {
        return Err(ApiError::InvalidRequest("`client_id` and `client_secret` are required".to_owned()));
    }
    let c = SsoConfig {
        issuer: body.issuer.trim_end_matches('/').to_owned(),
        client_id: body.client_id,
        client_secret: body.client_secret,
        groups_claim: body.groups_claim.unwrap_or_else(|| "groups".to_owned()),
        auto_create: body.auto_create,
        default_role: body.default_role.unwrap_or(Role::Member),
    };
    state.store.set_sso(&caller.org_id, &c, state.now()).await?;
    state
        .audit(
            &caller.org_id,
            NewAuditEvent::new(&caller.user_id, "sso.configured", &caller.org_id)
                .with(json!({"issuer": c.issuer, "client_id": c.client_id, "auto_create": c.auto_create, "default_role": c.default_role})),
        )
        .await?;
    Ok(axum::Json(view(&state, c)))
}

/// `DELETE /v1/sso`.
#[utoipa::path(
    delete,
    path = "/v1/sso",
    operation_id = "delete_sso",
    tag = "sso",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    responses(
        (status = 204, description = "Single sign-on is off."),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn delete(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    state.store.sso(&caller.org_id).await?.ok_or(ApiError::NotFound("single sign-on settings"))?;
    state.store.delete_sso(&caller.org_id).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "sso.removed", &caller.org_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
