//! SSO OIDC (restJson1): `RegisterClient`, `StartDeviceAuthorization` and the
//! device-code grant of `CreateToken`, per the IAM Identity Center OIDC API
//! reference. Refresh tokens and the other grants are not offered.
//!
//! Errors carry the exception name in `x-amzn-ErrorType`, which the SDK reads
//! first, and the body the reference documents for every OIDC exception:
//! `{"error": "<oauth code>", "error_description": "..."}`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{random_token, random_user_code, Decision, DeviceRequest, RegisteredClient, Session, Shared};

/// How long a registered client's secret lasts (the service's 90 days).
pub const CLIENT_SECRET_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// How long a device code can be redeemed.
pub const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(600);
/// The polling interval handed out; short so tests do not wait.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long an access token lasts (the service's default 8 hours).
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// The one grant type served.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/client/register", post(register_client))
        .route("/device_authorization", post(start_device_authorization))
        .route("/token", post(create_token))
}

/// An SSO OIDC exception.
#[derive(Debug)]
pub(crate) enum OidcError {
    AccessDenied(String),
    AuthorizationPending,
    ExpiredToken(String),
    InvalidClient(String),
    InvalidClientMetadata(String),
    InvalidGrant(String),
    InvalidRequest(String),
    SlowDown,
    UnsupportedGrantType(String),
}

impl IntoResponse for OidcError {
    fn into_response(self) -> Response {
        // (HTTP status, exception, OAuth error code, description), as the
        // API reference lists them for each exception.
        let (status, exception, code, description) = match self {
            Self::AccessDenied(d) => (StatusCode::BAD_REQUEST, "AccessDeniedException", "access_denied", d),
            Self::AuthorizationPending => (StatusCode::BAD_REQUEST, "AuthorizationPendingException", "authorization_pending", "the request has not been approved yet".to_owned()),
            Self::ExpiredToken(d) => (StatusCode::BAD_REQUEST, "ExpiredTokenException", "expired_token", d),
            Self::InvalidClient(d) => (StatusCode::UNAUTHORIZED, "InvalidClientException", "invalid_client", d),
            Self::InvalidClientMetadata(d) => (StatusCode::BAD_REQUEST, "InvalidClientMetadataException", "invalid_client_metadata", d),
            Self::InvalidGrant(d) => (StatusCode::BAD_REQUEST, "InvalidGrantException", "invalid_grant", d),
            Self::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "InvalidRequestException", "invalid_request", d),
            Self::SlowDown => (StatusCode::BAD_REQUEST, "SlowDownException", "slow_down", format!("poll at most every {} seconds", POLL_INTERVAL.as_secs())),
            Self::UnsupportedGrantType(d) => (StatusCode::BAD_REQUEST, "UnsupportedGrantTypeException", "unsupported_grant_type", d),
        };
        let body = serde_json::json!({ "error": code, "error_description": description });
        (status, [("x-amzn-ErrorType", exception)], Json(body)).into_response()
    }
}

/// Reads a JSON body, answering `InvalidRequestException` for anything else.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OidcError> {
    serde_json::from_slice(body).map_err(|e| OidcError::InvalidRequest(format!("the request body is not valid: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientInput {
    client_name: String,
    client_type: String,
    // `scopes` is accepted and not enforced.
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientOutput {
    client_id: String,
    client_secret: String,
    /// Epoch seconds.
    client_id_issued_at: i64,
    /// Epoch seconds.
    client_secret_expires_at: i64,
}

async fn register_client(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Json<RegisterClientOutput>, OidcError> {
    let input: RegisterClientInput = parse(&body)?;
    if input.client_name.is_empty() {
        return Err(OidcError::InvalidRequest("`clientName` is required".to_owned()));
    }
    if input.client_type != "public" {
        return Err(OidcError::InvalidClientMetadata(format!("client type `{}` is not supported\nhelp: use `public`", input.client_type)));
    }
    let now = shared.now();
    let expires = now.plus(CLIENT_SECRET_LIFETIME);
    let client_id = random_token(22);
    let secret = random_token(64);
    shared.state().clients.insert(client_id.clone(), RegisteredClient { secret: secret.clone(), secret_expires_at: expires });
    // INVARIANT: both timestamps are epoch seconds, as the service sends them.
    Ok(Json(RegisterClientOutput { client_id, client_secret: secret, client_id_issued_at: now.millis() / 1000, client_secret_expires_at: expires.millis() / 1000 }))
}

/// Checks a client's credentials: unknown, wrong or expired → `InvalidClientException`.
fn check_client(state: &super::State, now: latch_core::Timestamp, client_id: &str, secret: &str) -> Result<(), OidcError> {
    let Some(client) = state.clients.get(client_id) else {
        return Err(OidcError::InvalidClient(format!("client `{client_id}` is not registered")));
    };
    if client.secret != secret {
        return Err(OidcError::InvalidClient("the client secret is wrong".to_owned()));
    }
    if client.secret_expires_at <= now {
        return Err(OidcError::InvalidClient("the client secret has expired\nhelp: register the client again".to_owned()));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceAuthorizationInput {
    client_id: String,
    client_secret: String,
    start_url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceAuthorizationOutput {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: u64,
}

async fn start_device_authorization(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Json<StartDeviceAuthorizationOutput>, OidcError> {
    let input: StartDeviceAuthorizationInput = parse(&body)?;
    if input.start_url.is_empty() {
        return Err(OidcError::InvalidRequest("`startUrl` is required".to_owned()));
    }
    let now = shared.now();
    let mut state = shared.state();
    check_client(&state, now, &input.client_id, &input.client_secret)?;
    let device_code = random_token(43);
    let mut user_code = random_user_code();
    while state.user_codes.contains_key(&user_code) {
        user_code = random_user_code();
    }
    state.user_codes.insert(user_code.clone(), device_code.clone());
    state.devices.insert(
        device_code.clone(),
        DeviceRequest { client_id: input.client_id, expires_at: now.plus(DEVICE_CODE_LIFETIME), last_poll: None, decision: Decision::Pending },
    );
    let verification_uri = format!("{}/start", shared.url);
    Ok(Json(StartDeviceAuthorizationOutput {
        verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
        verification_uri,
        device_code,
        user_code,
        expires_in: DEVICE_CODE_LIFETIME.as_secs(),
        interval: POLL_INTERVAL.as_secs(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenInput {
    client_id: String,
    client_secret: String,
    grant_type: String,
    #[serde(default)]
    device_code: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenOutput {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

async fn create_token(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Json<CreateTokenOutput>, OidcError> {
    let input: CreateTokenInput = parse(&body)?;
    let now = shared.now();
    let mut state = shared.state();
    check_client(&state, now, &input.client_id, &input.client_secret)?;
    if input.grant_type != DEVICE_CODE_GRANT {
        return Err(OidcError::UnsupportedGrantType(format!("grant type `{}` is not supported\nhelp: use `{DEVICE_CODE_GRANT}`", input.grant_type)));
    }
    let Some(code) = input.device_code else {
        return Err(OidcError::InvalidRequest("`deviceCode` is required for the device code grant".to_owned()));
    };
    let Some(device) = state.devices.get_mut(&code) else {
        return Err(OidcError::InvalidGrant("the device code is not known".to_owned()));
    };
    if device.client_id != input.client_id {
        return Err(OidcError::InvalidGrant("the device code was issued to another client".to_owned()));
    }
    if matches!(device.decision, Decision::Redeemed) {
        return Err(OidcError::InvalidGrant("the device code has already been used".to_owned()));
    }
    if device.expires_at <= now {
        return Err(OidcError::ExpiredToken("the device code has expired\nhelp: start a new device authorization".to_owned()));
    }
    // Only answered polls count, so a client that slows down is served on time.
    if device.last_poll.is_some_and(|last| now < last.plus(POLL_INTERVAL)) {
        return Err(OidcError::SlowDown);
    }
    device.last_poll = Some(now);
    let person = match device.decision.clone() {
        Decision::Pending => return Err(OidcError::AuthorizationPending),
        Decision::Denied => return Err(OidcError::AccessDenied("the request was denied".to_owned())),
        Decision::Redeemed => return Err(OidcError::InvalidGrant("the device code has already been used".to_owned())),
        Decision::Approved(person) => person,
    };
    device.decision = Decision::Redeemed;
    let token = random_token(96);
    state.sessions.insert(token.clone(), Session { person, expires_at: now.plus(ACCESS_TOKEN_LIFETIME) });
    Ok(Json(CreateTokenOutput { access_token: token, token_type: "Bearer", expires_in: ACCESS_TOKEN_LIFETIME.as_secs() }))
}
