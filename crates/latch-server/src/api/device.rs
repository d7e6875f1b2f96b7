//! CLI sign-in: the OAuth 2.0 Device Authorization Grant (RFC 8628) with
//! short-lived access tokens and rotating refresh tokens (a replayed refresh
//! token revokes its whole family), and token revocation (RFC 7009).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_core::audit::NewAuditEvent;
use latch_core::model::{Org, Principal};
use latch_core::store::{DeviceState, NewDeviceAuthorization, NewSession, RefreshOutcome, SessionKind};
use latch_core::token::{mint, mint_user_code, normalize_user_code, TokenHash, TokenKind};
use latch_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::oauth::{oauth, OAuthError, OAuthErrorCode, OAuthFailure, TokenError};
use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors, StoreErrors};
use crate::api::orgs::CLI_CLIENT_ID;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Form, Json, Query};
use crate::state::AppState;

async fn org(state: &AppState, slug: &str) -> Result<Org, TokenError> {
    state.store.org_by_slug(slug).await?.ok_or(TokenError::Api(ApiError::NotFound("org")))
}

/// Body of the device authorization request (RFC 8628 §3.1).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    /// Must be `latch-cli`.
    client_id: String,
    /// What the device is (a host name), shown to the approver; control
    /// characters are dropped and it is cut to 100 characters.
    #[serde(default)]
    client_name: Option<String>,
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeResponse {
    /// The secret the device polls the token endpoint with.
    device_code: String,
    /// The code the person types on the verification page.
    user_code: String,
    /// The page where the person approves the sign-in.
    verification_uri: String,
    /// The same page with the code filled in.
    verification_uri_complete: String,
    /// Seconds until the codes expire.
    expires_in: u64,
    /// Seconds to wait between polls.
    interval: u64,
}

/// `POST /v1/orgs/{slug}/device/code`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{slug}/device/code",
    operation_id = "device_authorization",
    tag = "oauth",
    params(("slug" = String, Path, description = "The org's slug.")),
    request_body(content = CodeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A pending sign-in: show `user_code` and `verification_uri`, then poll the token endpoint.", body = CodeResponse),
        (status = 400, description = "`invalid_request` (uniform error body): the body is not a valid form.", body = ErrorBody),
        (status = 401, description = "`invalid_client` (OAuth error body): the `client_id` is not `latch-cli`.", body = OAuthError),
        (status = 404, description = "`not_found`: no org has this slug.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB.", body = ErrorBody),
        StoreErrors,
    ),
)]
pub async fn code(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Form(body): Form<CodeRequest>,
) -> Result<axum::Json<CodeResponse>, TokenError> {
    let org = org(&state, &slug).await?;
    if body.client_id != CLI_CLIENT_ID {
        return Err(TokenError::OAuth(StatusCode::UNAUTHORIZED, OAuthErrorCode::InvalidClient, format!("unknown client `{}`", body.client_id)));
    }
    let a = &state.config.auth;
    let device = mint(TokenKind::DeviceCode);
    let user_code = mint_user_code();
    let client_name: String = body.client_name.unwrap_or_default().chars().filter(|c| !c.is_control()).take(100).collect();
    let nd = NewDeviceAuthorization {
        device_code_hash: device.hash,
        user_code: user_code.clone(),
        expires_at: state.now().plus(Duration::from_secs(a.device_code_secs)),
        interval_secs: i64::try_from(a.device_poll_interval_secs).unwrap_or(5),
        client_name,
    };
    state.store.create_device_authorization(&org.id, &nd, state.now()).await?;
    let verification_uri = format!("{}/device?org={}", state.config.public_url(), org.slug);
    Ok(axum::Json(CodeResponse {
        device_code: device.secret.expose().to_owned(),
        verification_uri_complete: format!("{verification_uri}&user_code={user_code}"),
        verification_uri,
        user_code,
        expires_in: a.device_code_secs,
        interval: a.device_poll_interval_secs,
    }))
}

/// Body of the token request: either grant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `urn:ietf:params:oauth:grant-type:device_code` or `refresh_token`.
    #[schema(examples("urn:ietf:params:oauth:grant-type:device_code", "refresh_token"))]
    grant_type: String,
    /// For the device code grant.
    #[serde(default)]
    device_code: Option<String>,
    /// For the refresh grant; it is spent (rotated) by the call.
    #[serde(default)]
    refresh_token: Option<String>,
    /// `latch-cli`; required by the device code grant.
    #[serde(default)]
    client_id: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// A short-lived bearer token for the API.
    access_token: String,
    /// Always `Bearer`.
    #[schema(examples("Bearer"))]
    token_type: &'static str,
    /// Seconds until `access_token` expires.
    expires_in: u64,
    /// Spend this at the token endpoint for new tokens; each is good once
    /// (reusing one revokes the session).
    refresh_token: String,
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /v1/orgs/{slug}/token`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{slug}/token",
    operation_id = "token",
    tag = "oauth",
    params(("slug" = String, Path, description = "The org's slug.")),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "New tokens.", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`."))),
        (status = 400, description = "An OAuth error (`invalid_request`, `invalid_grant`, `unsupported_grant_type`, \
            `authorization_pending`, `slow_down`, `access_denied`, `expired_token`); or, when the body is not a valid \
            form at all, the uniform error body with `invalid_request`.", body = OAuthFailure),
        (status = 401, description = "`invalid_client` (OAuth error body): the device code grant without `client_id=latch-cli`.", body = OAuthError),
        (status = 404, description = "`not_found`: no org has this slug.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB.", body = ErrorBody),
        StoreErrors,
    ),
)]
pub async fn token(State(state): State<AppState>, Path(slug): Path<String>, Form(body): Form<TokenRequest>) -> Response {
    let result = match body.grant_type.as_str() {
        DEVICE_GRANT => device_grant(&state, &slug, &body).await,
        "refresh_token" => refresh_grant(&state, &slug, &body).await,
        other => Err(oauth(OAuthErrorCode::UnsupportedGrantType, format!("grant type `{other}` is not supported"))),
    };
    match result {
        Ok(t) => {
            let mut resp = axum::Json(t).into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Issues an access token and a refresh token in `session_id`.
async fn issue(state: &AppState, session_id: &str, session_expires_at: Timestamp) -> Result<TokenResponse, TokenError> {
    let secs = state.config.auth.access_token_secs;
    let access = mint(TokenKind::Access);
    let refresh = mint(TokenKind::Refresh);
    let access_expires = state.now().plus(Duration::from_secs(secs)).min(session_expires_at);
    state.store.insert_access_token(session_id, &access.hash, access_expires).await?;
    state.store.insert_refresh_token(session_id, &refresh.hash, session_expires_at).await?;
    Ok(TokenResponse {
        access_token: access.secret.expose().to_owned(),
        token_type: "Bearer",
        expires_in: state.now().seconds_until(access_expires),
        refresh_token: refresh.secret.expose().to_owned(),
    })
}

async fn device_grant(state: &AppState, slug: &str, body: &TokenRequest) -> Result<TokenResponse, TokenError> {
    let org = org(state, slug).await?;
    if body.client_id.as_deref() != Some(CLI_CLIENT_ID) {
        return Err(TokenError::OAuth(StatusCode::UNAUTHORIZED, OAuthErrorCode::InvalidClient, "unknown client".to_owned()));
    }
    let code = body.device_code.as_deref().ok_or_else(|| oauth(OAuthErrorCode::InvalidRequest, "`device_code` is required"))?;
    let now = state.now();
    let d = state
        .store
        .poll_device_authorization(&org.id, &TokenHash::of(code), now)
        .await?
        .ok_or_else(|| oauth(OAuthErrorCode::InvalidGrant, "the device code is unknown"))?;
    if d.state == DeviceState::Consumed {
        return Err(oauth(OAuthErrorCode::InvalidGrant, "the device code was already used"));
    }
    if now >= d.expires_at {
        return Err(oauth(OAuthErrorCode::ExpiredToken, "the device code expired; start the sign-in again"));
    }
    match d.state {
        DeviceState::Pending => {
            let interval = Duration::from_secs(u64::try_from(d.interval_secs).unwrap_or(5));
            // Allow a little jitter below the interval before calling it too fast.
            let too_fast = d.last_polled_at.is_some_and(|t| t.plus(interval).minus(Duration::from_millis(250)) > now);
            if too_fast {
                Err(oauth(OAuthErrorCode::SlowDown, "polling too often; add 5 seconds to the interval"))
            } else {
                Err(oauth(OAuthErrorCode::AuthorizationPending, "waiting for the sign-in to be approved"))
            }
        }
        DeviceState::Denied => Err(oauth(OAuthErrorCode::AccessDenied, "the sign-in was denied")),
        DeviceState::Consumed => Err(oauth(OAuthErrorCode::InvalidGrant, "the device code was already used")),
        DeviceState::Approved => {
            // INVARIANT: only the poll that moves approved → consumed issues
            // tokens; a concurrent or repeated poll gets `invalid_grant`.
            if !state.store.consume_device_authorization(&d.id).await? {
                return Err(oauth(OAuthErrorCode::InvalidGrant, "the device code was already used"));
            }
            let user_id = d.user_id.ok_or_else(|| TokenError::Api(ApiError::Internal("approved without a user".into())))?;
            let refresh_seed = mint(TokenKind::Refresh);
            let expires = now.plus(Duration::from_secs(state.config.auth.cli_session_secs));
            let ns = NewSession { user_id: user_id.clone(), kind: SessionKind::Cli, secret_hash: refresh_seed.hash, expires_at: expires };
            let session_id = state.store.create_session(&org.id, &ns, now).await?;
            state
                .audit(&org.id, NewAuditEvent::new(&user_id, "auth.sign_in", &user_id).with(json!({"method": "device", "session": session_id, "client": d.client_name})))
                .await?;
            issue(state, &session_id, expires).await
        }
    }
}

async fn refresh_grant(state: &AppState, slug: &str, body: &TokenRequest) -> Result<TokenResponse, TokenError> {
    let org = org(state, slug).await?;
    let rt = body.refresh_token.as_deref().ok_or_else(|| oauth(OAuthErrorCode::InvalidRequest, "`refresh_token` is required"))?;
    let hash = TokenHash::of(rt);
    // The token must belong to this org before it is spent.
    match state.store.session_of_refresh_token(&hash).await? {
        Some((_, session_org)) if session_org == org.id => {}
        _ => return Err(oauth(OAuthErrorCode::InvalidGrant, "the refresh token is not valid")),
    }
    match state.store.use_refresh_token(&hash, state.now()).await? {
        RefreshOutcome::Rotated { session_id, session_expires_at, .. } => issue(state, &session_id, session_expires_at).await,
        RefreshOutcome::Replayed { session_id } => {
            state
                .audit(&org.id, NewAuditEvent::new("anonymous", "auth.refresh_replayed", &session_id).with(json!({"action": "session revoked"})))
                .await?;
            Err(oauth(OAuthErrorCode::InvalidGrant, "the refresh token was already used; the session has been revoked"))
        }
        RefreshOutcome::Invalid => Err(oauth(OAuthErrorCode::InvalidGrant, "the refresh token is not valid")),
    }
}

/// Body of the revocation request (RFC 7009).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// A refresh token or an access token.
    token: String,
}

/// `POST /v1/orgs/{slug}/revoke`: ends the session a refresh or access token
/// belongs to. Answers 200 whether or not the token was known (RFC 7009 §2.2).
#[utoipa::path(
    post,
    path = "/v1/orgs/{slug}/revoke",
    operation_id = "revoke",
    tag = "oauth",
    params(("slug" = String, Path, description = "The org's slug.")),
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's session is ended, if the token was known (RFC 7009 §2.2: the answer is the same either way). Empty body."),
        (status = 400, description = "`invalid_request` (uniform error body): the body is not a valid form.", body = ErrorBody),
        (status = 404, description = "`not_found`: no org has this slug.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB.", body = ErrorBody),
        StoreErrors,
    ),
)]
pub async fn revoke(State(state): State<AppState>, Path(slug): Path<String>, Form(body): Form<RevokeRequest>) -> Result<StatusCode, TokenError> {
    let org = org(&state, &slug).await?;
    let hash = TokenHash::of(&body.token);
    let session = match TokenKind::of(&body.token) {
        Some(TokenKind::Refresh) => state.store.session_of_refresh_token(&hash).await?.filter(|(_, o)| *o == org.id).map(|(s, _)| s),
        Some(TokenKind::Access) => state
            .store
            .authenticate_access_token(&hash, state.now())
            .await?
            .filter(|p| p.org_id == org.id)
            .map(|p| p.credential_id),
        _ => None,
    };
    if let Some(session_id) = session {
        state.store.revoke_session(&org.id, &session_id, state.now()).await?;
        state.audit(&org.id, NewAuditEvent::new("anonymous", "auth.sign_out", &session_id).with(json!({"method": "revoke"}))).await?;
    }
    Ok(StatusCode::OK)
}

/// Query of `GET /v1/device`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// The code the CLI shows (case and dashes do not matter).
    user_code: String,
}

/// What the approver is shown before deciding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PendingDevice {
    /// The code the CLI shows.
    pub user_code: String,
    /// What the CLI said it is (a host name).
    pub client_name: String,
    /// When the sign-in expires.
    pub expires_at: Timestamp,
}

/// A pending, unexpired sign-in in the caller's org, by the code typed.
pub async fn pending(state: &AppState, caller: &Principal, user_code: &str) -> ApiResult<PendingDevice> {
    let d = state
        .store
        .device_authorization_by_user_code(&caller.org_id, &normalize_user_code(user_code))
        .await?
        .filter(|d| d.expires_at > state.now())
        .ok_or(ApiError::NotFound("pending sign-in"))?;
    Ok(PendingDevice { user_code: d.user_code, client_name: d.client_name, expires_at: d.expires_at })
}

/// Approves (as the caller) or denies a pending sign-in, audited.
pub async fn decide_code(state: &AppState, caller: &Principal, user_code: &str, approve: bool) -> ApiResult<()> {
    let d = state
        .store
        .device_authorization_by_user_code(&caller.org_id, &normalize_user_code(user_code))
        .await?
        .ok_or(ApiError::NotFound("pending sign-in"))?;
    let user = approve.then_some(caller.user_id.as_str());
    if !state.store.decide_device_authorization(&caller.org_id, &d.id, user, state.now()).await? {
        return Err(ApiError::NotFound("pending sign-in"));
    }
    let action = if approve { "auth.device_approved" } else { "auth.device_denied" };
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, action, &d.id).with(json!({"client": d.client_name}))).await
}

/// `GET /v1/device?user_code=…`: a pending sign-in in the caller's org.
#[utoipa::path(
    get,
    path = "/v1/device",
    operation_id = "get_pending_device",
    tag = "device",
    security(("bearer" = []), ("cookie" = [])),
    params(LookupQuery),
    responses(
        (status = 200, description = "The pending sign-in.", body = PendingDevice),
        (status = 400, description = "`user_code` is missing, or another parameter is given. This rejection comes from the framework: \
            its body is plain text, not an `ErrorBody`.", content_type = "text/plain", body = String),
        (status = 404, description = "`not_found`: no pending, unexpired sign-in with this code in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn lookup(State(state): State<AppState>, caller: Caller, Query(q): Query<LookupQuery>) -> ApiResult<axum::Json<PendingDevice>> {
    // INVARIANT: approving a CLI sign-in hands out the person\'s full
    // interactive rights, so a scoped API token may never do it.
    caller.require_interactive()?;
    Ok(axum::Json(pending(&state, &caller, &q.user_code).await?))
}

/// Body of `POST /v1/device`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The code the CLI shows.
    user_code: String,
    /// `true` approves the sign-in as the caller; `false` denies it.
    approve: bool,
}

/// `POST /v1/device`: the signed-in person approves (or denies) a CLI
/// sign-in as themselves.
#[utoipa::path(
    post,
    path = "/v1/device",
    operation_id = "decide_device",
    tag = "device",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = Decision,
    responses(
        (status = 204, description = "Decided; the CLI's next poll gets tokens, or `access_denied`."),
        (status = 400, description = "`invalid_json`.", body = ErrorBody),
        (status = 403, description = "`csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no pending sign-in with this code in the caller's org.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn decide(State(state): State<AppState>, caller: Caller, Json(body): Json<Decision>) -> ApiResult<StatusCode> {
    caller.require_interactive()?;
    decide_code(&state, &caller, &body.user_code, body.approve).await?;
    Ok(StatusCode::NO_CONTENT)
}
