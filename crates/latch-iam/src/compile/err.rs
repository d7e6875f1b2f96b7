//! Why a statement cannot be evaluated. Such a statement never allows; a
//! `Deny` statement is evaluated without the broken part (fail closed).

/// A part of a statement that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Broken {
    /// The condition operator is unknown.
    #[error("unknown condition operator `{operator}`")]
    UnknownOperator {
        /// The operator as written.
        operator: String,
    },
    /// A condition value the operator cannot read.
    #[error("`{operator}` cannot compare with `{value}`: expected {expected}")]
    BadValue {
        /// The operator.
        operator: String,
        /// The value.
        value: String,
        /// What the operator needs.
        expected: &'static str,
    },
    /// A resource-based policy statement without `Principal` or `NotPrincipal`.
    #[error("statement in a resource-based policy has no `Principal`")]
    NoPrincipal,
}
