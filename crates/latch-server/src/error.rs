//! The one HTTP error type. Every variant maps to a status and a stable code
//! in an exhaustive `match`; bodies are
//! `{"error": {"code", "message", "request_id"}}` and a 5xx body never
//! carries internal detail (that goes to the log, under the request id).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_core::store::StoreError;
use serde::Serialize;

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
    /// The caller may not do this, for a reason worth telling them.
    #[error("{0}")]
    ForbiddenBecause(String),
    /// No policy rule gives the caller what they asked for.
    #[error("{0}")]
    NoAccess(String),
    /// The thing is not in a state that allows this.
    #[error("{0}")]
    InvalidState(String),
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
    /// AWS refused a call Latch made for the caller (its answer is the
    /// customer's own, not Latch's internals, so it is shown).
    #[error("{0}")]
    Aws(latch_aws::AwsError),
    /// A bug or corrupt data.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The stable, machine-readable codes of error bodies; clients match on
/// these, so renaming one is a breaking change.
///
/// | code | status | meaning |
/// |---|---|---|
/// | `invalid_json` | 400 | the body is not valid JSON for this call (syntax, types, unknown fields) |
/// | `invalid_request` | 400 | a value is not acceptable |
/// | `payload_too_large` | 413 | the body is larger than the server accepts |
/// | `unsupported_media_type` | 415 | the body is not `application/json` |
/// | `unauthenticated` | 401 | no valid credential was presented |
/// | `bad_credentials` | 401 | sign-in failed (wrong email, password or code: never which) |
/// | `totp_required` | 401 | the password was right; a TOTP code is needed too |
/// | `forbidden` | 403 | the caller may not do this |
/// | `no_access` | 403 | no access-policy rule gives the caller what they asked for |
/// | `invalid_state` | 409 | a request is not in a state that allows this (e.g. approving a denied one) |
/// | `csrf_failed` | 403 | a cookie-authenticated write lacks the right `X-CSRF-Token` header |
/// | `not_found` | 404 | no such thing (in the caller's org), or no such route |
/// | `conflict` | 409 | the name is taken, or the change would break an invariant |
/// | `rate_limited` | 429 | too many attempts; see `Retry-After` |
/// | `unavailable` | 503 | the database or AWS is unreachable; retry shortly |
/// | `aws_error` | 502 | AWS refused a call Latch made (access denied, no such role, …); the message says what AWS said |
/// | `internal` | 500 | a bug or corrupt data; the details are in the server log under the request id |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(missing_docs, reason = "the table above describes each code, and is what the OpenAPI document shows")]
pub enum ErrorCode {
    InvalidJson,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unauthenticated,
    BadCredentials,
    TotpRequired,
    Forbidden,
    NoAccess,
    InvalidState,
    CsrfFailed,
    NotFound,
    Conflict,
    RateLimited,
    Unavailable,
    AwsError,
    Internal,
}

impl ErrorCode {
    /// The code as sent (and logged).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::TotpRequired => "totp_required",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NoAccess => "no_access",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::CsrfFailed => "csrf_failed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::AwsError => "aws_error",
            ErrorCode::Internal => "internal",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code to match on.
    pub code: ErrorCode,
    /// For people: lowercase, possibly with a `help:` line. Never internal
    /// detail on a 5xx.
    pub message: String,
    /// The request's id (also in the `X-Request-Id` response header); quote
    /// it when reporting a problem.
    pub request_id: String,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidJson),
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::UnsupportedMediaType),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, ErrorCode::BadCredentials),
            ApiError::TotpRequired => (StatusCode::UNAUTHORIZED, ErrorCode::TotpRequired),
            ApiError::Forbidden | ApiError::ForbiddenBecause(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::NoAccess(_) => (StatusCode::FORBIDDEN, ErrorCode::NoAccess),
            ApiError::InvalidState(_) => (StatusCode::CONFLICT, ErrorCode::InvalidState),
            ApiError::Csrf => (StatusCode::FORBIDDEN, ErrorCode::CsrfFailed),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            ApiError::Aws(e) if e.is_retryable() => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            ApiError::Aws(_) => (StatusCode::BAD_GATEWAY, ErrorCode::AwsError),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
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

impl From<latch_aws::AwsError> for ApiError {
    fn from(e: latch_aws::AwsError) -> Self {
        ApiError::Aws(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = request_id::current();
        if status.is_server_error() {
            let detail = std::error::Error::source(&self).map(|s| format!("{s:?}")).unwrap_or_default();
            tracing::error!(request_id = %request_id, code = code.as_str(), detail = %detail, "request failed");
        }
        let message = match &self {
            // The transport detail stays in the log.
            ApiError::Aws(e) if e.is_retryable() => {
                tracing::warn!(request_id = %request_id, error = %e, "AWS unavailable");
                "AWS is throttling or unavailable; retry shortly".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code, message, request_id } };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_codes_match_the_codes_sent() {
        let all = [
            ErrorCode::InvalidJson,
            ErrorCode::InvalidRequest,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Unauthenticated,
            ErrorCode::BadCredentials,
            ErrorCode::TotpRequired,
            ErrorCode::Forbidden,
            ErrorCode::NoAccess,
            ErrorCode::InvalidState,
            ErrorCode::CsrfFailed,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::RateLimited,
            ErrorCode::Unavailable,
            ErrorCode::AwsError,
            ErrorCode::Internal,
        ];
        for code in all {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
