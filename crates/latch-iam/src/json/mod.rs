//! A small JSON reader that remembers where every value starts, so diagnostics
//! about a policy can point at its line and column. Printing goes through
//! `serde_json`; only reading needs positions.

mod err;
mod read;

pub use err::JsonError;
pub use read::parse;

/// A 1-based line and column (in bytes) in the source text.
///
/// Locations never take part in equality: two nodes that differ only in where
/// they were written compare equal, so a printed-then-reparsed policy equals
/// the original.
#[derive(Debug, Clone, Copy, Default, Eq)]
pub struct Loc {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1, counted in bytes.
    pub col: u32,
}

impl PartialEq for Loc {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A JSON value with the location where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Json,
    /// Where it starts.
    pub loc: Loc,
}

/// An object member: key, where the key starts, and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key text.
    pub key: String,
    /// Where the key starts.
    pub key_loc: Loc,
    /// The value.
    pub value: Node,
}

/// A JSON value. Numbers keep their source text; objects keep member order
/// and duplicates so that validation can report them.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in source order.
    Object(Vec<Member>),
}

impl Json {
    /// A short name of the JSON type, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Member `key` of an object (first one if repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Json::Object(members) => members.iter().find(|m| m.key == key).map(|m| &m.value),
            _ => None,
        }
    }

    /// Converts to a `serde_json` value (for printing).
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => {
                serde_json::from_str(n).unwrap_or_else(|_| serde_json::Value::String(n.clone()))
            }
            Json::String(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => {
                serde_json::Value::Array(items.iter().map(|n| n.value.to_serde()).collect())
            }
            Json::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|m| (m.key.clone(), m.value.value.to_serde()))
                    .collect(),
            ),
        }
    }
}
