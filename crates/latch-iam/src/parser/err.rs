//! Errors from reading a policy document's structure.

use crate::json::{JsonError, Loc};

/// Why a document is not a policy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON.
    #[error("policy is not valid JSON: {0}")]
    Json(#[from] JsonError),
    /// An element has the wrong JSON type.
    #[error("`{element}` must be {expected}, found {found}")]
    WrongType {
        /// The element.
        element: String,
        /// What it must be.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
        /// Where.
        loc: Loc,
    },
    /// An element name AWS does not know.
    #[error("unknown element `{name}`")]
    UnknownElement {
        /// The name.
        name: String,
        /// The closest known name, if one differs only in case.
        suggestion: Option<&'static str>,
        /// Where.
        loc: Loc,
    },
    /// A required element is missing.
    #[error("statement has no `{element}`")]
    Missing {
        /// The element(s).
        element: &'static str,
        /// Where the statement starts.
        loc: Loc,
    },
    /// Both forms of a negatable element.
    #[error("statement has both `{a}` and `{b}`")]
    Both {
        /// One form.
        a: &'static str,
        /// The other.
        b: &'static str,
        /// Where.
        loc: Loc,
    },
    /// An element written twice in one object.
    #[error("`{element}` is written more than once")]
    Duplicate {
        /// The element.
        element: String,
        /// Where the second one is.
        loc: Loc,
    },
    /// A `Version` AWS does not know.
    #[error("unknown policy version `{found}`")]
    BadVersion {
        /// What was written.
        found: String,
        /// Where.
        loc: Loc,
    },
    /// An `Effect` that is neither `Allow` nor `Deny`.
    #[error("`Effect` must be `Allow` or `Deny`, found `{found}`")]
    BadEffect {
        /// What was written.
        found: String,
        /// Where.
        loc: Loc,
    },
    /// A principal type AWS does not know.
    #[error("unknown principal type `{found}`")]
    BadPrincipalKind {
        /// What was written.
        found: String,
        /// Where.
        loc: Loc,
    },
    /// An empty array or object where values are required.
    #[error("`{element}` must not be empty")]
    Empty {
        /// The element.
        element: String,
        /// Where.
        loc: Loc,
    },
}

impl ParseError {
    /// Where the error is.
    pub fn loc(&self) -> Loc {
        match self {
            ParseError::Json(e) => e.loc(),
            ParseError::WrongType { loc, .. }
            | ParseError::UnknownElement { loc, .. }
            | ParseError::Missing { loc, .. }
            | ParseError::Both { loc, .. }
            | ParseError::Duplicate { loc, .. }
            | ParseError::BadVersion { loc, .. }
            | ParseError::BadEffect { loc, .. }
            | ParseError::BadPrincipalKind { loc, .. }
            | ParseError::Empty { loc, .. } => *loc,
        }
    }

    /// How to fix it.
    pub fn help(&self) -> Option<String> {
        match self {
            ParseError::Json(_) => Some("check for missing commas, quotes or brackets".into()),
            ParseError::WrongType { .. } => None,
            ParseError::UnknownElement {
                suggestion: Some(s),
                ..
            } => Some(format!("element names are case-sensitive: write `{s}`")),
            ParseError::UnknownElement { .. } => Some(
                "a statement may contain `Sid`, `Effect`, `Principal`, `NotPrincipal`, `Action`, `NotAction`, `Resource`, `NotResource` and `Condition`"
                    .into(),
            ),
            ParseError::Missing { element, .. } => Some(format!("add `{element}` to the statement")),
            ParseError::Both { a, b, .. } => Some(format!("keep either `{a}` or `{b}`")),
            ParseError::Duplicate { .. } => Some("remove one of them".into()),
            ParseError::BadVersion { .. } => Some("use `\"Version\": \"2012-10-17\"`".into()),
            ParseError::BadEffect { .. } => Some("effects are case-sensitive".into()),
            ParseError::BadPrincipalKind { .. } => {
                Some("use `AWS`, `Service`, `Federated` or `CanonicalUser`".into())
            }
            ParseError::Empty { .. } => Some("give at least one value".into()),
        }
    }
}
