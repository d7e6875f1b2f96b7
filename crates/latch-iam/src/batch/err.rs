//! Why one line of the batch interface is not a valid case.

use crate::eval::RequestError;
use crate::json::JsonError;

/// An invalid case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CaseError {
    /// The line is not JSON.
    #[error("case is not valid JSON: {0} at {loc}", loc = .0.loc())]
    Json(JsonError),
    /// A field has the wrong JSON type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A required field is missing.
    #[error("case has no `{0}`")]
    Missing(&'static str),
    /// A policy in the case is invalid.
    #[error("`{field}`: {message} at {line}:{col}")]
    Policy {
        /// Which policy, e.g. `identityPolicies[0]`.
        field: String,
        /// What is wrong.
        message: String,
        /// Line in the case text.
        line: u32,
        /// Column in the case text.
        col: u32,
    },
    /// The request is invalid.
    #[error("`request`: {0}")]
    Request(#[from] RequestError),
}
