//! What can go wrong building an inventory or asking it a question, and the
//! problems a built inventory carries (policies it could not read).

use super::report::PolicyId;
use crate::eval::RequestError;

/// Why an inventory cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A user's or role's ARN is not one.
    #[error("`{arn}` is not the ARN of an IAM {expected}\nhelp: users read `arn:aws:iam::ACCOUNT:user/NAME`, roles `arn:aws:iam::ACCOUNT:role/NAME`")]
    NotAnEntity {
        /// The ARN as given.
        arn: String,
        /// `user` or `role`.
        expected: &'static str,
    },
    /// The same user, role, group or resource policy is given twice.
    #[error("`{arn}` is given twice")]
    Duplicate {
        /// The ARN.
        arn: String,
    },
    /// One managed policy ARN is given with two different documents.
    #[error("managed policy `{arn}` is given twice with different documents")]
    ConflictingPolicy {
        /// The policy ARN.
        arn: String,
    },
}

/// Why a question cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The action or resource cannot make a request.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The principal is not in the inventory.
    #[error("`{0}` is not a user or role in the inventory")]
    UnknownPrincipal(String),
    /// The action never acts on a resource like this one (per the IAM
    /// service reference), so no policy could allow the request.
    #[error(
        "`{action}` does not act on `{resource}`\nhelp: {}",
        describe_types(acts_on)
    )]
    NotItsResource {
        /// The action as asked.
        action: String,
        /// The resource as asked.
        resource: String,
        /// The resource types it acts on, with their ARN templates (none:
        /// it acts on no particular resource).
        acts_on: Vec<(String, String)>,
    },
}

fn describe_types(types: &[(String, String)]) -> String {
    if types.is_empty() {
        return "it acts on no particular resource: ask about resource `*`".to_owned();
    }
    let each: Vec<String> = types
        .iter()
        .map(|(name, arn)| format!("{name} (`{arn}`)"))
        .collect();
    format!("it acts on {}", each.join(", "))
}

/// Something in the inventory that could not be taken into account. An
/// unreadable policy never allows anything; a deny it may hold is unknown,
/// so answers that involve it carry it as a caveat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The document is not a policy.
    #[error("{policy} cannot be read: {message}")]
    Unreadable {
        /// The policy.
        policy: PolicyId,
        /// Why.
        message: String,
    },
    /// A statement cannot be evaluated: it never allows, and a `Deny` is
    /// evaluated without the broken part.
    #[error("{policy}, statement #{statement}: {message}")]
    Unevaluable {
        /// The policy.
        policy: PolicyId,
        /// Position of the statement, from 0.
        statement: usize,
        /// Why.
        message: String,
    },
    /// A managed policy is attached (or set as boundary) but not given.
    #[error("managed policy `{arn}` is attached to `{owner}` but is not in the inventory")]
    MissingPolicy {
        /// The policy ARN.
        arn: String,
        /// The user, group or role it is attached to.
        owner: String,
    },
    /// A user is in a group that is not given.
    #[error("`{user}` is a member of `{group}`, which is not in the inventory")]
    MissingGroup {
        /// The user ARN.
        user: String,
        /// The group ARN.
        group: String,
    },
}
