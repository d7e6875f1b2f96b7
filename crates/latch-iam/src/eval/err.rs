//! Errors in a request given for evaluation.

/// Why a request cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The action is not `service:Action`.
    #[error("action `{0}` is not of the form `service:Action`")]
    BadAction(String),
    /// The resource is empty.
    #[error("request has no resource")]
    NoResource,
    /// The principal is empty.
    #[error("request has no principal")]
    NoPrincipal,
}
