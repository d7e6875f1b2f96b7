//! An org's webhooks (admins). A generic webhook's signing secret is shown
//! once, when it is added.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::{Scope, Webhook};
use latch_core::token::random_secret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::notify::EVENTS;
use crate::state::AppState;

/// Body of `POST /v1/webhooks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddWebhook {
    /// Where to POST: `https://`, or `http://` to this machine.
    url: String,
    /// `slack` or `generic`.
    kind: String,
    /// Events to receive (default: all).
    #[serde(default)]
    events: Vec<String>,
}

/// A new webhook and, for `generic`, its signing secret (shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddedWebhook {
    webhook: Webhook,
    /// HMAC-SHA256 key for `X-Latch-Signature`; absent for Slack.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// `POST /v1/webhooks`.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    operation_id = "add_webhook",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = AddWebhook,
    responses(
        (status = 201, description = "The webhook; a generic one's `secret` is shown this once.", body = AddedWebhook),
        (status = 400, description = "`invalid_json`; or `invalid_request`: a bad URL, kind or event.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn add(State(state): State<AppState>, caller: Caller, Json(body): Json<AddWebhook>) -> ApiResult<(StatusCode, axum::Json<AddedWebhook>)> {
    caller.require(Scope::Admin)?;
    let url = url::Url::parse(&body.url).map_err(|e| ApiError::InvalidRequest(format!("`{}` is not a URL: {e}", body.url)))?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && local) {
        return Err(ApiError::InvalidRequest("a webhook must be an https:// URL".to_owned()));
    }
    if !matches!(body.kind.as_str(), "slack" | "generic") {
        return Err(ApiError::InvalidRequest(format!("`{}` is not a webhook kind\nhelp: use `slack` or `generic`", body.kind)));
    }
    if let Some(bad) = body.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        return Err(ApiError::InvalidRequest(format!("`{bad}` is not an event\nhelp: use one of {}", EVENTS.join(", "))));
    }
    let secret = format!("whsec_{}", random_secret());
    let hook = state.store.create_webhook(&caller.org_id, url.as_str(), &body.kind, &secret, &body.events, state.now()).await?;
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "webhook.added", &hook.id).with(json!({"url": hook.url, "kind": hook.kind, "events": hook.events})))
        .await?;
    let secret = (hook.kind == "generic").then_some(secret);
    Ok((StatusCode::CREATED, axum::Json(AddedWebhook { webhook: hook, secret })))
}

/// `GET /v1/webhooks`.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    operation_id = "list_webhooks",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The org's webhooks (without secrets).", body = Vec<Webhook>),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<Webhook>>> {
    caller.require(Scope::Admin)?;
    Ok(axum::Json(state.store.list_webhooks(&caller.org_id).await?))
}

/// `DELETE /v1/webhooks/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    operation_id = "delete_webhook",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The webhook id (`whk_…`)."), CsrfHeader),
    responses(
        (status = 204, description = "Removed; its queued notifications are dropped."),
        (status = 403, description = "`forbidden`: admins only; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such webhook in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    state.store.delete_webhook(&caller.org_id, &id).await.map_err(|e| match ApiError::from(e) {
        ApiError::NotFound(_) => ApiError::NotFound("webhook"),
        other => other,
    })?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "webhook.removed", &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
