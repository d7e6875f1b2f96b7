//! Errors from reading JSON text.

use super::Loc;

/// Why a text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The text ended inside a value.
    #[error("unexpected end of input")]
    Eof {
        /// Where.
        loc: Loc,
    },
    /// A character that cannot start or continue a value here.
    #[error("unexpected character `{found}`, expected {expected}")]
    Unexpected {
        /// The character found.
        found: char,
        /// What would have been valid.
        expected: &'static str,
        /// Where.
        loc: Loc,
    },
    /// A bad escape or control character in a string.
    #[error("invalid string: {what}")]
    BadString {
        /// What is wrong.
        what: &'static str,
        /// Where.
        loc: Loc,
    },
    /// A malformed number.
    #[error("invalid number")]
    BadNumber {
        /// Where.
        loc: Loc,
    },
    /// Nesting deeper than the reader allows.
    #[error("nesting too deep (more than {max} levels)")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Where.
        loc: Loc,
    },
}

impl JsonError {
    /// Where the error is.
    pub fn loc(&self) -> Loc {
        match self {
            JsonError::Eof { loc }
            | JsonError::Unexpected { loc, .. }
            | JsonError::BadString { loc, .. }
            | JsonError::BadNumber { loc }
            | JsonError::TooDeep { loc, .. } => *loc,
        }
    }
}
