//! The OAuth endpoints' own errors (RFC 6749 §5.2): `{"error",
//! "error_description"}` instead of the API's uniform error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{ApiError, ErrorBody};

/// The OAuth error codes Latch sends (RFC 6749 §5.2, RFC 8628 §3.5).
///
/// | code | status | meaning |
/// |---|---|---|
/// | `invalid_request` | 400 | a required parameter is missing |
/// | `invalid_client` | 401 | the `client_id` is not `latch-cli` |
/// | `invalid_grant` | 400 | the device code or refresh token is unknown, used or revoked |
/// | `unsupported_grant_type` | 400 | the `grant_type` is neither the device code nor `refresh_token` |
/// | `authorization_pending` | 400 | the sign-in is not approved yet; poll again after `interval` |
/// | `slow_down` | 400 | polling too often; add 5 seconds to the interval |
/// | `access_denied` | 400 | the sign-in was denied |
/// | `expired_token` | 400 | the device code expired; start again |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    AuthorizationPending,
    SlowDown,
    AccessDenied,
    ExpiredToken,
}

/// The body of an OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    /// Stable code to match on.
    error: OAuthErrorCode,
    /// For people.
    error_description: String,
}

/// What a 400 from the token endpoint carries: usually an OAuth error, but
/// a body that is not a valid form is refused before OAuth processing, with
/// the uniform error body. Only describes the wire; never built.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes responses in the OpenAPI document; `TokenError` builds them")]
pub enum OAuthFailure {
    /// RFC 6749 §5.2.
    OAuth(OAuthError),
    /// The uniform error body.
    Api(ErrorBody),
}

/// An OAuth endpoint's failure.
#[derive(Debug)]
pub enum TokenError {
    /// An OAuth error code with a description.
    OAuth(StatusCode, OAuthErrorCode, String),
    /// A server-side failure (database down, …), or an unknown org: the
    /// API's uniform error body.
    Api(ApiError),
}

impl From<ApiError> for TokenError {
    fn from(e: ApiError) -> Self {
        TokenError::Api(e)
    }
}

impl From<latch_core::store::StoreError> for TokenError {
    fn from(e: latch_core::store::StoreError) -> Self {
        TokenError::Api(e.into())
    }
}

/// A 400 OAuth error.
pub fn oauth(code: OAuthErrorCode, description: impl Into<String>) -> TokenError {
    TokenError::OAuth(StatusCode::BAD_REQUEST, code, description.into())
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        match self {
            TokenError::OAuth(status, error, error_description) => {
                let mut resp = (status, axum::Json(OAuthError { error, error_description })).into_response();
                resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                resp
            }
            TokenError::Api(e) => e.into_response(),
        }
    }
}
