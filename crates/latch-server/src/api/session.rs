//! Browser sign-in: enrollment (first password), password sign-in with
//! throttling, and sign-out. Sessions are cookies; see `auth::cookie`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_core::audit::NewAuditEvent;
use latch_core::model::{CredentialKind, Org, User};
use latch_core::store::{NewSession, SessionKind};
use latch_core::token::{mint, TokenHash, TokenKind};
use latch_core::{password, totp, validate, Secret, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors, StoreErrors};
use crate::auth::{cookie, limiter, Caller};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `POST /v1/orgs/{slug}/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The account's email.
    email: String,
    /// The account's password.
    #[schema(value_type = String, format = Password)]
    password: Secret,
    /// The current code, for accounts with TOTP on.
    #[serde(default)]
    totp: Option<String>,
}

/// A new browser session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Signed {
    /// Who signed in.
    user: User,
    /// Send as `X-CSRF-Token` on every state-changing request.
    csrf_token: String,
    /// When the session ends.
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
#[utoipa::path(
    post,
    path = "/v1/orgs/{slug}/login",
    operation_id = "sign_in",
    tag = "sign-in",
    params(("slug" = String, Path, description = "The org's slug.")),
    request_body = Login,
    responses(
        (status = 200, description = "Signed in: the session cookie is set; send `csrf_token` as `X-CSRF-Token` on writes.", body = Signed,
            headers(("Set-Cookie" = String, description = "The HttpOnly, SameSite=Strict session cookie `latch_session`."))),
        (status = 400, description = "`invalid_json`, or `invalid_request`: the email is malformed.", body = ErrorBody),
        (status = 401, description = "`bad_credentials`: the email, password or code is wrong (never which); \
            or `totp_required`: the password was right and the account needs a `totp` code too.", body = ErrorBody),
        (status = 404, description = "`not_found`: no org has this slug.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts for the account or the address.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed."))),
        JsonBodyErrors,
        StoreErrors,
    ),
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enroll {
    /// The one-time token from the enrollment link.
    #[schema(value_type = String, format = Password)]
    token: Secret,
    /// The new password.
    #[schema(value_type = String, format = Password)]
    password: Secret,
    /// A display name to set.
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
#[utoipa::path(
    post,
    path = "/v1/orgs/{slug}/enroll",
    operation_id = "enroll",
    tag = "sign-in",
    params(("slug" = String, Path, description = "The org's slug.")),
    request_body = Enroll,
    responses(
        (status = 200, description = "Enrolled and signed in: the session cookie is set.", body = Signed,
            headers(("Set-Cookie" = String, description = "The HttpOnly, SameSite=Strict session cookie `latch_session`."))),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the password is too weak, the name is not acceptable, \
            or the token is unknown, used or expired.", body = ErrorBody),
        (status = 404, description = "`not_found`: no org has this slug.", body = ErrorBody),
        JsonBodyErrors,
        StoreErrors,
    ),
)]
pub async fn enroll(State(state): State<AppState>, Path(slug): Path<String>, Json(body): Json<Enroll>) -> ApiResult<Response> {
    let session = enroll_with_token(&state, &slug, &body.token, &body.password, body.name.as_deref()).await?;
    Ok(session.into_response(&state))
}

/// `POST /v1/logout`: ends the caller's session (browser or CLI). API
/// tokens are revoked through `DELETE /v1/tokens/{id}` instead.
#[utoipa::path(
    post,
    path = "/v1/logout",
    operation_id = "sign_out",
    tag = "sign-in",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    responses(
        (status = 204, description = "The session is ended and the cookie cleared.",
            headers(("Set-Cookie" = String, description = "Clears `latch_session`."))),
        (status = 400, description = "`invalid_request`: the credential is an API token, which has no session.", body = ErrorBody),
        (status = 403, description = "`csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
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
