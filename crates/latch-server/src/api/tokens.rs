//! API tokens for automation: scoped, expiring, revocable, shown once.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::{ApiToken, Role, Scope};
use latch_core::store::NewApiToken;
use latch_core::token::{mint, TokenKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};
use crate::state::AppState;

/// Body of `POST /v1/tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A label: 1 to 128 printable characters.
    name: String,
    /// What it may do; defaults to `read` and `request`. Never more than the
    /// creator may do.
    #[serde(default)]
    scopes: Option<Vec<Scope>>,
    /// Lifetime in days: 1 to the server's maximum (`auth.api_token_max_days`);
    /// defaults to 90 or that maximum, whichever is less.
    #[serde(default)]
    expires_in_days: Option<u64>,
}

/// The new token: the secret is shown here once and never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token's metadata.
    token: ApiToken,
    /// The bearer token itself (`latch_pat_…`).
    secret: String,
}

/// `POST /v1/tokens`.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    operation_id = "create_token",
    tag = "tokens",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = CreateToken,
    responses(
        (status = 201, description = "The new token; `secret` is shown this once.", body = CreatedToken),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the name, scopes or lifetime is not acceptable.", body = ErrorBody),
        (status = 403, description = "`csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    if body.name.trim().is_empty() || body.name.chars().count() > 128 || body.name.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest("the token name must be 1 to 128 printable characters".to_owned()));
    }
    let scopes = body.scopes.unwrap_or_else(|| vec![Scope::Read, Scope::Request]);
    if scopes.is_empty() {
        return Err(ApiError::InvalidRequest("give the token at least one scope".to_owned()));
    }
    // INVARIANT: a token never carries a scope its creator cannot use, so a
    // read-only token cannot mint an admin one.
    if let Some(s) = scopes.iter().find(|s| !caller.may(**s)) {
        return Err(ApiError::InvalidRequest(format!("you cannot grant the `{}` scope", s.as_str())));
    }
    let max = state.config.auth.api_token_max_days;
    let days = body.expires_in_days.unwrap_or(90.min(max));
    if days == 0 || days > max {
        return Err(ApiError::InvalidRequest(format!("`expires_in_days` must be between 1 and {max}")));
    }
    let m = mint(TokenKind::Api);
    let now = state.now();
    let nt = NewApiToken {
        user_id: caller.user_id.clone(),
        name: body.name,
        scopes,
        hash: m.hash,
        expires_at: now.plus(Duration::from_secs(days * 86_400)),
    };
    let token = state.store.create_api_token(&caller.org_id, &nt, now).await?;
    state
        .audit(
            &caller.org_id,
            NewAuditEvent::new(&caller.user_id, "token.created", &token.id)
                .with(json!({"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at})),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedToken { token, secret: m.secret.expose().to_owned() })))
}

/// Query of `GET /v1/tokens`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Every token in the org instead of the caller's own (admins).
    #[serde(default)]
    all: bool,
}

/// `GET /v1/tokens`: the caller's tokens, or the whole org's for admins
/// with `?all=true`.
#[utoipa::path(
    get,
    path = "/v1/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    security(("bearer" = []), ("cookie" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The tokens, revoked and expired ones included.", body = Vec<ApiToken>),
        (status = 400, description = "A query parameter is malformed or unknown. This rejection comes from the framework: \
            its body is plain text, not an `ErrorBody`.", content_type = "text/plain", body = String),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope, or `all=true` without admin rights.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller, Query(q): Query<ListQuery>) -> ApiResult<axum::Json<Vec<ApiToken>>> {
    caller.require(Scope::Read)?;
    let only = if q.all {
        caller.require(Scope::Admin)?;
        None
    } else {
        Some(caller.user_id.as_str())
    };
    Ok(axum::Json(state.store.list_api_tokens(&caller.org_id, only).await?))
}

/// `DELETE /v1/tokens/{id}`: one's own token, or any in the org for admins.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    operation_id = "revoke_api_token",
    tag = "tokens",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The token's id."), CsrfHeader),
    responses(
        (status = 204, description = "The token no longer works."),
        (status = 403, description = "`csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such token, or it is someone else's and the caller is not an admin.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Read)?;
    let token = state.store.api_token(&caller.org_id, &id).await?.ok_or(ApiError::NotFound("token"))?;
    if token.user_id != caller.user_id && !(caller.role == Role::Admin && caller.may(Scope::Admin)) {
        return Err(ApiError::NotFound("token"));
    }
    state.store.revoke_api_token(&caller.org_id, &id, state.now()).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "token.revoked", &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
