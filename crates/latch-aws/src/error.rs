//! What can go wrong calling AWS, sorted by what the caller should do.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use thiserror::Error;

/// An AWS call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AwsError {
    /// The integration role lacks a permission.
    #[error("access denied: the integration role may not call `{action}`")]
    AccessDenied {
        /// The IAM action that was refused.
        action: String,
    },
    /// The named thing does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, for people.
        what: String,
    },
    /// The role could not be assumed (trust policy, ExternalId, or no such role).
    #[error("cannot assume `{role_arn}`: {reason}")]
    CannotAssume {
        /// The role.
        role_arn: String,
        /// Why, as AWS said it.
        reason: String,
    },
    /// AWS asked us to slow down, or was briefly unavailable; retry later.
    #[error("AWS is throttling or unavailable: {0}")]
    Unavailable(String),
    /// AWS refused the call for another reason (validation, conflict, limits).
    #[error("AWS refused `{action}`: {code}: {message}")]
    Refused {
        /// The IAM action.
        action: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
}

impl AwsError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, AwsError::Unavailable(_))
    }

    /// AWS's error code for refusals (`ConflictException`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

const DENIED_CODES: [&str; 5] = ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "AccessDeniedFault"];
const THROTTLE_CODES: [&str; 7] =
    ["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "ServiceUnavailable", "ServiceUnavailableException"];

/// How one failed call is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Refused for lack of permission.
    Denied,
    /// The thing does not exist.
    Missing,
    /// Throttled, 5xx, or the network.
    Transient,
    /// Any other refusal.
    Other,
}

/// Sorts an SDK error into an [`AwsError`] for `action` (`iam:PutUserPolicy`).
pub fn classify<E>(action: &str, err: aws_sdk_iam::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> (Failure, AwsError)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_iam::error::SdkError;
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_owned);
    let message = err.message().map(str::to_owned).unwrap_or_default();
    if let SdkError::ServiceError(_) = &err {
        let code_str = code.as_deref().unwrap_or("");
        // Some AWS-compatible APIs answer a refusal with a bare 403 and no code.
        if DENIED_CODES.contains(&code_str) || (status == Some(403) && code.is_none()) {
            return (Failure::Denied, AwsError::AccessDenied { action: action.to_owned() });
        }
        if THROTTLE_CODES.contains(&code_str) || status.is_some_and(|s| s >= 500 || s == 429) {
            return (Failure::Transient, AwsError::Unavailable(format!("{action}: {}", if message.is_empty() { code_str } else { &message })));
        }
        if code_str.contains("NoSuchEntity") || code_str.contains("NotFound") || code_str == "ResourceNotFoundException" || status == Some(404) {
            return (Failure::Missing, AwsError::NotFound { what: if message.is_empty() { action.to_owned() } else { message } });
        }
        return (Failure::Other, AwsError::Refused { action: action.to_owned(), code: code.unwrap_or_else(|| format!("HTTP {}", status.unwrap_or(0))), message });
    }
    // A 403 whose body the SDK cannot read (moto answers JSON-protocol
    // services' denials in XML) is still a refusal, not worth a retry.
    if let (SdkError::ResponseError(_), Some(403)) = (&err, status) {
        return (Failure::Denied, AwsError::AccessDenied { action: action.to_owned() });
    }
    // Timeouts, connection failures, unreadable responses: worth a retry.
    (Failure::Transient, AwsError::Unavailable(format!("{action}: {}", DisplayErrorContext(&err))))
}
