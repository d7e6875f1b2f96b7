//! Turning TOTP on and off for oneself, and an admin's reset for a lost
//! device. Only interactive credentials (browser or CLI sessions) may change
//! a person's second factor; API tokens may not.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::Scope;
use latch_core::totp;
use serde::{Deserialize, Serialize};

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::api::users::resolve;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// A new secret to load into an authenticator app.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    /// The secret, base32.
    secret: String,
    /// The same as an `otpauth://` URL, for a QR code.
    otpauth_url: String,
}

/// `POST /v1/me/totp`: a fresh secret; nothing changes until it is confirmed.
#[utoipa::path(
    post,
    path = "/v1/me/totp",
    operation_id = "begin_totp",
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    responses(
        (status = 200, description = "A fresh secret; confirm it with `POST /v1/me/totp/confirm`.", body = NewSecret),
        (status = 403, description = "`forbidden`: the credential is an API token (only a person's session may change their second factor); \
            or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: the caller's user is gone.", body = ErrorBody),
        (status = 409, description = "`conflict`: TOTP is already on.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn begin(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<NewSecret>> {
    caller.require_interactive()?;
    let user = state.store.user_by_id(&caller.org_id, &caller.user_id).await?.ok_or(ApiError::NotFound("user"))?;
    if user.totp_enabled {
        return Err(ApiError::Conflict("TOTP is already on\nhelp: turn it off first to change the secret".to_owned()));
    }
    let secret = totp::generate_secret();
    let otpauth_url = totp::otpauth_url(&format!("Latch {}", caller.org_slug), &caller.email, &secret);
    Ok(axum::Json(NewSecret { secret, otpauth_url }))
}

/// Body of `POST /v1/me/totp/confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// The secret from `POST /v1/me/totp`.
    secret: String,
    /// A current code from the app.
    code: String,
}

/// `POST /v1/me/totp/confirm`: proves the app has the secret, then turns TOTP on.
#[utoipa::path(
    post,
    path = "/v1/me/totp/confirm",
    operation_id = "confirm_totp",
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = Confirm,
    responses(
        (status = 204, description = "TOTP is on: password sign-in now needs a code."),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the secret is not valid, or the code does not match it.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the credential is an API token; or `csrf_failed`.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn confirm(State(state): State<AppState>, caller: Caller, Json(body): Json<Confirm>) -> ApiResult<StatusCode> {
    caller.require_interactive()?;
    if !totp::is_valid_secret(&body.secret) {
        return Err(ApiError::InvalidRequest("the secret is not valid base32 of at least 128 bits".to_owned()));
    }
    let step = totp::verify(&body.secret, &body.code, state.now())
        .ok_or_else(|| ApiError::InvalidRequest("the code does not match the secret\nhelp: check the clock of the device running the app".to_owned()))?;
    state.store.set_totp(&caller.org_id, &caller.user_id, Some(&body.secret)).await?;
    state.store.use_totp_step(&caller.org_id, &caller.user_id, step).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "user.totp_enabled", &caller.user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/me/totp/disable`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    /// A current code from the app.
    code: String,
}

/// `POST /v1/me/totp/disable`: turns TOTP off with a current code.
#[utoipa::path(
    post,
    path = "/v1/me/totp/disable",
    operation_id = "disable_totp",
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = Disable,
    responses(
        (status = 204, description = "TOTP is off."),
        (status = 400, description = "`invalid_json`.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no valid credential; or `bad_credentials`: the code is wrong or already used.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the credential is an API token; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: the caller's user is gone.", body = ErrorBody),
        (status = 409, description = "`conflict`: TOTP is not on.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn disable(State(state): State<AppState>, caller: Caller, Json(body): Json<Disable>) -> ApiResult<StatusCode> {
    caller.require_interactive()?;
    let secrets = state
        .store
        .user_secrets_by_email(&caller.org_id, &caller.email)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let secret = secrets.totp_secret.ok_or_else(|| ApiError::Conflict("TOTP is not on".to_owned()))?;
    match totp::verify(&secret, &body.code, state.now()) {
        Some(step) if state.store.use_totp_step(&caller.org_id, &caller.user_id, step).await? => {}
        _ => return Err(ApiError::BadCredentials),
    }
    state.store.set_totp(&caller.org_id, &caller.user_id, None).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "user.totp_disabled", &caller.user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/users/{user}/totp`: an admin turns off someone's TOTP (lost device).
#[utoipa::path(
    delete,
    path = "/v1/users/{user}/totp",
    operation_id = "reset_user_totp",
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("user" = String, Path, description = "A user id (`usr_…`) or email in the caller's org."), CsrfHeader),
    responses(
        (status = 204, description = "TOTP is off for the user."),
        (status = 400, description = "`invalid_request`: the key is neither a user id nor an email.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn reset(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let user = resolve(&state, &caller.org_id, &key).await?;
    state.store.set_totp(&caller.org_id, &user.id, None).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "user.totp_reset", &user.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
