//! The policy syntax tree: what a policy says, element by element, with the
//! location of each part. Values keep their written shape (one value or an
//! array) so that printing gives back the same document.

mod operator;
mod print;

pub use operator::{BaseOperator, Operator, SetQualifier, ALL_BASE_OPERATORS};

use crate::json::Loc;

/// A value with the location where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub loc: Loc,
}

impl<T> Spanned<T> {
    /// Wraps a value with a location.
    pub fn new(value: T, loc: Loc) -> Self {
        Self { value, loc }
    }
}

/// One value or an array of values, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T> {
    /// The values, in order.
    pub items: Vec<T>,
    /// Whether they were written as an array.
    pub array: bool,
}

impl<T> OneOrMany<T> {
    /// Iterates over the values.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17`: no policy variables.
    V2008,
    /// `2012-10-17`: the current language.
    V2012,
}

impl Version {
    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2008 => "2008-10-17",
            Version::V2012 => "2012-10-17",
        }
    }
}

/// A whole policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `Version`, if written.
    pub version: Option<Spanned<Version>>,
    /// `Id`, if written.
    pub id: Option<Spanned<String>>,
    /// `Statement`.
    pub statements: OneOrMany<Statement>,
    /// Where the document starts.
    pub loc: Loc,
}

impl Policy {
    /// Whether policy variables (`${…}`) are expanded: only in `2012-10-17`.
    pub fn variables_enabled(&self) -> bool {
        matches!(
            self.version,
            Some(Spanned {
                value: Version::V2012,
                ..
            })
        )
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

impl Effect {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Sid`, if written.
    pub sid: Option<Spanned<String>>,
    /// `Effect`.
    pub effect: Spanned<Effect>,
    /// `Principal` or `NotPrincipal`, if written.
    pub principal: Option<PrincipalBlock>,
    /// `Action` or `NotAction`.
    pub action: Negatable<OneOrMany<Spanned<String>>>,
    /// `Resource` or `NotResource`, if written.
    pub resource: Option<Negatable<OneOrMany<Spanned<String>>>>,
    /// `Condition` blocks, one per operator, in written order.
    pub condition: Option<Vec<ConditionBlock>>,
    /// Where the statement starts.
    pub loc: Loc,
}

/// An element that has a `Not…` form.
#[derive(Debug, Clone, PartialEq)]
pub struct Negatable<T> {
    /// Whether the `Not…` form was used.
    pub negated: bool,
    /// The values.
    pub values: T,
    /// Where the element name was written.
    pub loc: Loc,
}

/// `Principal` / `NotPrincipal`.
pub type PrincipalBlock = Negatable<Principal>;

/// The principals named by a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// `"*"`: everyone, including anonymous callers.
    Star,
    /// `{ "AWS": …, "Service": …, … }` in written order.
    Map(Vec<(Spanned<PrincipalKind>, OneOrMany<Spanned<String>>)>),
}

/// The kinds of principal keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// `AWS`: accounts, users, roles, sessions.
    Aws,
    /// `Service`: AWS service principals.
    Service,
    /// `Federated`: identity providers.
    Federated,
    /// `CanonicalUser`: S3 canonical user ids.
    CanonicalUser,
}

impl PrincipalKind {
    /// The JSON key.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }

    /// Parses a JSON key (case-sensitive, as AWS reads it).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AWS" => Some(PrincipalKind::Aws),
            "Service" => Some(PrincipalKind::Service),
            "Federated" => Some(PrincipalKind::Federated),
            "CanonicalUser" => Some(PrincipalKind::CanonicalUser),
            _ => None,
        }
    }
}

/// One condition operator and its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionBlock {
    /// The operator as written.
    pub operator_text: Spanned<String>,
    /// The operator, if known.
    pub operator: Option<Operator>,
    /// Keys and their values, in written order.
    pub entries: Vec<ConditionEntry>,
}

/// One key of a condition block.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionEntry {
    /// The condition key as written.
    pub key: Spanned<String>,
    /// The values to compare with.
    pub values: OneOrMany<Spanned<ConditionValue>>,
}

/// A condition value as written in JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionValue {
    /// A string.
    String(String),
    /// A number, as written.
    Number(String),
    /// A boolean.
    Bool(bool),
}

impl ConditionValue {
    /// The value as the text AWS compares.
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ConditionValue::String(s) | ConditionValue::Number(s) => s.as_str().into(),
            ConditionValue::Bool(true) => "true".into(),
            ConditionValue::Bool(false) => "false".into(),
        }
    }
}
