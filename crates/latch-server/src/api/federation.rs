//! Federated mode over HTTP: each org's OpenID Connect discovery document
//! and keys (public: AWS fetches them), and web identity tokens for the
//! caller's active grants.

use axum::extract::{Path, State};
use latch_core::access::lifecycle::State as RequestState;
use latch_core::access::target::Kind;
use latch_core::audit::NewAuditEvent;
use latch_core::integration::AwsMode;
use latch_core::model::Scope;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::federation;
use crate::state::AppState;

async fn org_id(state: &AppState, slug: &str) -> ApiResult<String> {
    Ok(state.store.org_by_slug(slug).await?.ok_or(ApiError::NotFound("org"))?.id)
}

/// `GET /oidc/{org}/.well-known/openid-configuration`.
#[utoipa::path(
    get,
    path = "/oidc/{org}/.well-known/openid-configuration",
    operation_id = "oidc_discovery",
    tag = "federation",
    params(("org" = String, Path, description = "The org's slug.")),
    responses(
        (status = 200, description = "The org's OpenID Connect discovery document (issuer, jwks_uri).", body = Object),
        (status = 404, description = "`not_found`: no such org.", body = ErrorBody),
    ),
)]
pub async fn discovery(State(state): State<AppState>, Path(org): Path<String>) -> ApiResult<axum::Json<Value>> {
    org_id(&state, &org).await?;
    Ok(axum::Json(federation::discovery(&state, &org)))
}

/// `GET /oidc/{org}/jwks.json`.
#[utoipa::path(
    get,
    path = "/oidc/{org}/jwks.json",
    operation_id = "oidc_jwks",
    tag = "federation",
    params(("org" = String, Path, description = "The org's slug.")),
    responses(
        (status = 200, description = "The org's token-signing public keys (JWK set).", body = Object),
        (status = 404, description = "`not_found`: no such org.", body = ErrorBody),
    ),
)]
pub async fn jwks(State(state): State<AppState>, Path(org): Path<String>) -> ApiResult<axum::Json<Value>> {
    let id = org_id(&state, &org).await?;
    Ok(axum::Json(federation::jwks(&state, &id).await?))
}

/// Body of `POST /v1/requests/{id}/web-identity-token`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenFor {
    /// Which account's role, when the request covers several.
    #[serde(default)]
    account: Option<String>,
}

/// A web identity token for `sts:AssumeRoleWithWebIdentity`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebIdentityToken {
    /// The signed token (a JWT). Treat it as a secret until it expires.
    token: String,
    /// The role it is for.
    role_arn: String,
    /// When it stops working: the grant's end, or an hour from now.
    expires_at: latch_core::Timestamp,
    /// The issuer, as the account's IAM OIDC provider names it.
    issuer: String,
}

/// `POST /v1/requests/{id}/web-identity-token`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/web-identity-token",
    operation_id = "web_identity_token",
    tag = "federation",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body = TokenFor,
    responses(
        (status = 200, description = "A token for the grant's role in a federated account, valid no longer than the grant.", body = WebIdentityToken),
        (status = 400, description = "`invalid_request`: the request has no role in a federated account (or several and no `account`).", body = ErrorBody),
        (status = 403, description = "`forbidden`: only the requester may have tokens for a grant; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not active.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn token(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<TokenFor>) -> ApiResult<axum::Json<WebIdentityToken>> {
    caller.require(Scope::Request)?;
    let (r, _) = crate::api::requests::load(&state, &caller.0, &id).await?;
    if r.requester_id != caller.0.user_id {
        return Err(ApiError::ForbiddenBecause("only the requester can have tokens for a grant".to_owned()));
    }
    // INVARIANT: a token is minted only for a grant that is active now.
    let (RequestState::Active, Some(end)) = (r.state, r.expires_at) else {
        return Err(ApiError::InvalidState(format!("the request is {}, not active", r.state)));
    };
    if end <= state.now() {
        return Err(ApiError::InvalidState("the grant has ended".to_owned()));
    }
    let mut candidates = Vec::new();
    for t in r.targets.iter().filter(|t| t.integration == "aws" && t.kind == Kind::Role) {
        if body.account.as_ref().is_some_and(|a| *a != t.account) {
            continue;
        }
        let federated = state.store.aws_integration(&caller.0.org_id, &t.account).await?.is_some_and(|i| i.mode == AwsMode::Federated);
        if federated {
            candidates.push(t);
        }
    }
    let target = match candidates.as_slice() {
        [one] => *one,
        [] => return Err(ApiError::InvalidRequest("the request has no role in an AWS account installed in federated mode".to_owned())),
        _ => return Err(ApiError::InvalidRequest("the request covers several federated accounts\nhelp: name one with `account`".to_owned())),
    };
    let (token, expires_at) = federation::mint(&state, &caller.0.org_id, &caller.0.org_slug, &caller.0.email, &target.name, &r.id, end).await?;
    let role_arn = format!("arn:{}:iam::{}:role/{}", state.aws.partition(), target.account, target.name);
    // The token itself is never logged or audited.
    state
        .audit(&caller.0.org_id, NewAuditEvent::new(&caller.0.user_id, "federation.token_issued", &r.id).with(json!({"role_arn": role_arn, "expires_at": expires_at})))
        .await?;
    Ok(axum::Json(WebIdentityToken { token, role_arn, expires_at, issuer: federation::issuer(&state, &caller.0.org_slug) }))
}
