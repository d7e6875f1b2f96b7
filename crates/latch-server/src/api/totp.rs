//! Turning TOTP on and off for oneself, and an admin's reset for a lost
//! device. Only interactive credentials (browser or CLI sessions) may change
//! a person's second factor; API tokens may not.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::{CredentialKind, Scope};
use latch_core::totp;
use serde::{Deserialize, Serialize};

use crate::api::users::resolve;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

fn interactive(caller: &Caller) -> ApiResult<()> {
    match caller.credential {
        CredentialKind::Session | CredentialKind::Access => Ok(()),
        CredentialKind::Api => Err(ApiError::Forbidden),
    }
}

/// A new secret to load into an authenticator app.
#[derive(Debug, Serialize)]
pub struct NewSecret {
    secret: String,
    otpauth_url: String,
}

/// `POST /v1/me/totp`: a fresh secret; nothing changes until it is confirmed.
pub async fn begin(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<NewSecret>> {
    interactive(&caller)?;
    let user = state.store.user_by_id(&caller.org_id, &caller.user_id).await?.ok_or(ApiError::NotFound("user"))?;
    if user.totp_enabled {
        return Err(ApiError::Conflict("TOTP is already on\nhelp: turn it off first to change the secret".to_owned()));
    }
    let secret = totp::generate_secret();
    let otpauth_url = totp::otpauth_url(&format!("Latch {}", caller.org_slug), &caller.email, &secret);
    Ok(axum::Json(NewSecret { secret, otpauth_url }))
}

/// Body of `POST /v1/me/totp/confirm`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    secret: String,
    code: String,
}

/// `POST /v1/me/totp/confirm`: proves the app has the secret, then turns TOTP on.
pub async fn confirm(State(state): State<AppState>, caller: Caller, Json(body): Json<Confirm>) -> ApiResult<StatusCode> {
    interactive(&caller)?;
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    code: String,
}

/// `POST /v1/me/totp/disable`: turns TOTP off with a current code.
pub async fn disable(State(state): State<AppState>, caller: Caller, Json(body): Json<Disable>) -> ApiResult<StatusCode> {
    interactive(&caller)?;
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
pub async fn reset(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let user = resolve(&state, &caller.org_id, &key).await?;
    state.store.set_totp(&caller.org_id, &user.id, None).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "user.totp_reset", &user.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
