//! Browser sign-in: enrollment (first password), password sign-in with
//! throttling, and sign-out. Sessions are cookies; see `auth::cookie`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_core::audit::NewAuditEvent;
use latch_core::model::{CredentialKind, Org, User};
use latch_core::store::{NewSession, SessionKind};
use latch_core::token::{mint, TokenHash, TokenKind};
use latch_core::{password, totp, validate, Secret, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{cookie, limiter, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `POST /v1/orgs/{slug}/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: Secret,
    /// The current code, for accounts with TOTP on.
    #[serde(default)]
    totp: Option<String>,
}

/// A new browser session.
#[derive(Debug, Serialize)]
pub struct Signed {
    user: User,
    /// Send as `X-CSRF-Token` on every state-changing request.
    csrf_token: String,
    expires_at: Timestamp,
}

async fn org(state: &AppState, slug: &str) -> ApiResult<Org> {
    state.store.org_by_slug(slug).await?.ok_or(ApiError::NotFound("org"))
}

/// A browser session just started; the secret goes into the cookie.
pub struct WebSession {
    /// Who signed in.
    pub user: User,
    /// The cookie value.
    pub secret: Secret,
    /// When it ends.
    pub expires_at: Timestamp,
}

impl WebSession {
    /// The `Set-Cookie` value for this session.
    pub fn cookie(&self, state: &AppState) -> Option<axum::http::HeaderValue> {
        cookie::set(self.secret.expose(), state.config.auth.web_session_secs, state.config.is_tls())
    }

    /// The JSON response of the API sign-in calls, setting the cookie.
    fn into_response(self, state: &AppState) -> Response {
        let c = self.cookie(state);
        let body = Signed { csrf_token: cookie::csrf_token(self.secret.expose()), user: self.user, expires_at: self.expires_at };
        let mut resp = axum::Json(body).into_response();
        if let Some(c) = c {
            resp.headers_mut().insert(header::SET_COOKIE, c);
        }
        resp
    }
}

/// Starts a web session for `user`.
pub(crate) async fn start_session(state: &AppState, user: User) -> ApiResult<WebSession> {
    let m = mint(TokenKind::Session);
    let expires_at = state.now().plus(Duration::from_secs(state.config.auth.web_session_secs));
    let new = NewSession { user_id: user.id.clone(), kind: SessionKind::Web, secret_hash: m.hash, expires_at };
    state.store.create_session(&user.org_id, &new, state.now()).await?;
    Ok(WebSession { user, secret: m.secret, expires_at })
}

/// Password sign-in, throttled per account and per address, audited either way.
pub async fn sign_in_with_password(
    state: &AppState,
    slug: &str,
    email: &str,
    password: &Secret,
    totp_code: Option<&str>,
    ip: IpAddr,
) -> ApiResult<WebSession> {
    let org = org(state, slug).await?;
    let email = validate::email(email).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let keys = limiter::Keys::new(&org.id, &email, ip);
    limiter::check(state, &keys).await?;
    let found = state.store.user_secrets_by_email(&org.id, &email).await?;
    // Verify against a decoy when the user does not exist, so that timing
    // does not reveal which emails have accounts.
    let hash = found.as_ref().and_then(|s| s.password_hash.clone());
    let ok = password::verify(password, hash.as_deref().unwrap_or(password::decoy_hash())) && hash.is_some();
    let second_factor = match (&found, ok) {
        (Some(secrets), true) => match (&secrets.totp_secret, totp_code.filter(|c| !c.trim().is_empty())) {
            (None, _) => Ok(()),
            // The password was right: say a code is needed, without counting a failure.
            (Some(_), None) => return Err(ApiError::TotpRequired),
            (Some(secret), Some(code)) => match totp::verify(secret, code, state.now()) {
                Some(step) if state.store.use_totp_step(&org.id, &secrets.user.id, step).await? => Ok(()),
                _ => Err(()),
            },
        },
        _ => Err(()),
    };
    match found {
        Some(secrets) if second_factor.is_ok() => {
            limiter::succeeded(state, &keys).await?;
            state
                .audit(&org.id, NewAuditEvent::new(&secrets.user.id, "auth.sign_in", &secrets.user.id).with(json!({"method": "password", "address": ip.to_string()})))
                .await?;
            start_session(state, secrets.user).await
        }
        _ => {
            limiter::failed(state, &keys).await?;
            state
                .audit(&org.id, NewAuditEvent::new("anonymous", "auth.sign_in_failed", &email).with(json!({"method": "password", "address": ip.to_string()})))
                .await?;
            Err(ApiError::BadCredentials)
        }
    }
}

/// `POST /v1/orgs/{slug}/login`.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Json(body): Json<Login>,
) -> ApiResult<Response> {
    let session = sign_in_with_password(&state, &slug, &body.email, &body.password, body.totp.as_deref(), peer.ip()).await?;
    Ok(session.into_response(&state))
}

/// Body of `POST /v1/orgs/{slug}/enroll`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enroll {
    token: Secret,
    password: Secret,
    #[serde(default)]
    name: Option<String>,
}

/// Spends a one-time enrollment token, sets the user's password and signs
/// them in.
pub async fn enroll_with_token(state: &AppState, slug: &str, token: &Secret, new_password: &Secret, name: Option<&str>) -> ApiResult<WebSession> {
    let org = org(state, slug).await?;
    // Check the password first so a weak one does not burn the token.
    let hash = password::hash(new_password).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    if let Some(name) = name {
        validate::display_name(name).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    }
    let enrollment = state
        .store
        .consume_enrollment(&org.id, &TokenHash::of(token.expose()), state.now())
        .await?
        .ok_or_else(|| ApiError::InvalidRequest("the enrollment link is unknown, used or expired\nhelp: ask an admin for a new one".to_owned()))?;
    state.store.set_password(&org.id, &enrollment.user_id, &hash).await?;
    let user = state.store.user_by_id(&org.id, &enrollment.user_id).await?.ok_or(ApiError::NotFound("user"))?;
    state.audit(&org.id, NewAuditEvent::new(&user.id, "user.enrolled", &user.id)).await?;
    start_session(state, user).await
}

/// `POST /v1/orgs/{slug}/enroll`.
pub async fn enroll(State(state): State<AppState>, Path(slug): Path<String>, Json(body): Json<Enroll>) -> ApiResult<Response> {
    let session = enroll_with_token(&state, &slug, &body.token, &body.password, body.name.as_deref()).await?;
    Ok(session.into_response(&state))
}

/// `POST /v1/logout`: ends the caller's session (browser or CLI). API
/// tokens are revoked through `DELETE /v1/tokens/{id}` instead.
pub async fn logout(State(state): State<AppState>, caller: Caller, _headers: HeaderMap) -> ApiResult<Response> {
    match caller.credential {
        CredentialKind::Session | CredentialKind::Access => {
            state.store.revoke_session(&caller.org_id, &caller.credential_id, state.now()).await?;
            state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "auth.sign_out", &caller.credential_id)).await?;
            let mut resp = StatusCode::NO_CONTENT.into_response();
            resp.headers_mut().insert(header::SET_COOKIE, cookie::clear(state.config.is_tls()));
            Ok(resp)
        }
        CredentialKind::Api => Err(ApiError::InvalidRequest(
            "an API token has no session to end\nhelp: revoke it with `latch admin tokens revoke`".to_owned(),
        )),
    }
}
