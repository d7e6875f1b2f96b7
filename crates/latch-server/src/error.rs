//! The one HTTP error type. Every variant maps to a status and a stable code
//! in an exhaustive `match`; bodies are
//! `{"error": {"code", "message", "request_id"}}` and a 5xx body never
//! carries internal detail (that goes to the log, under the request id).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_core::store::StoreError;
use serde_json::json;

use crate::request_id;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON for this call (syntax, types, unknown fields).
    #[error("{0}")]
    InvalidJson(String),
    /// A value is not acceptable.
    #[error("{0}")]
    InvalidRequest(String),
    /// The body is larger than the server accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The body is not JSON.
    #[error("expected `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// No valid credential was presented.
    #[error("sign in first: no valid credential was presented")]
    Unauthenticated,
    /// Sign-in failed (wrong email, password or code: never which).
    #[error("the email, password or code is wrong")]
    BadCredentials,
    /// The password was right; a TOTP code is needed too.
    #[error("this account requires a one-time code from your authenticator app")]
    TotpRequired,
    /// The caller may not do this.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// The CSRF token is missing or wrong.
    #[error("the CSRF token is missing or wrong\nhelp: send the `X-CSRF-Token` header returned at sign-in")]
    Csrf,
    /// No such thing (in the caller's org).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The name is taken.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("too many failed attempts; try again later")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The database is unreachable.
    #[error("the service is temporarily unavailable; retry shortly")]
    Unavailable(#[source] StoreError),
    /// A bug or corrupt data.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::TotpRequired => (StatusCode::UNAUTHORIZED, "totp_required"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Csrf => (StatusCode::FORBIDDEN, "csrf_failed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("record"),
            StoreError::Conflict => ApiError::Conflict("it already exists".to_owned()),
            e @ StoreError::Unavailable(_) => ApiError::Unavailable(e),
            StoreError::Internal(inner) => ApiError::Internal(inner),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = request_id::current();
        if status.is_server_error() {
            let detail = std::error::Error::source(&self).map(|s| format!("{s:?}")).unwrap_or_default();
            tracing::error!(request_id = %request_id, code, detail = %detail, "request failed");
        }
        let body = json!({"error": {"code": code, "message": self.to_string(), "request_id": request_id}});
        let mut resp = (status, axum::Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
