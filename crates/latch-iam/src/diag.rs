//! Diagnostics: one problem in a policy, with where it is and how to fix
//! it, printed as
//!
//! ```text
//! error: unknown condition operator `StringEqualz`
//!   --> policy.json:7:9
//!   help: did you mean `StringEquals`?
//! ```

use crate::json::Loc;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// AWS would reject the policy, or the statement cannot be evaluated.
    Error,
    /// Accepted by AWS but probably not what was meant.
    Warning,
}

/// One problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong (lowercase, no trailing period).
    pub message: String,
    /// Where, if known.
    pub loc: Option<Loc>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(message: impl Into<String>, loc: Option<Loc>, help: Option<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            loc,
            help,
        }
    }

    /// A warning.
    pub fn warning(message: impl Into<String>, loc: Option<Loc>, help: Option<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message, loc, help)
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic for a file (no trailing newline).
    pub fn render(&self, file: &str) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{level}: {}", self.message);
        match self.loc {
            Some(loc) => out.push_str(&format!("\n  --> {file}:{}:{}", loc.line, loc.col)),
            None => out.push_str(&format!("\n  --> {file}")),
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("\n  help: {help}"));
        }
        out
    }
}

impl std::fmt::Display for Diagnostic {
    /// The diagnostic without a file name (`--> line:col`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render("<policy>"))
    }
}

impl From<&crate::ParseError> for Diagnostic {
    fn from(e: &crate::ParseError) -> Self {
        Diagnostic::error(e.to_string(), Some(e.loc()), e.help())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let d = Diagnostic::error(
            "unknown condition operator `X`",
            Some(Loc { line: 3, col: 9 }),
            Some("use `StringEquals`".into()),
        );
        assert_eq!(
            d.render("p.json"),
            "error: unknown condition operator `X`\n  --> p.json:3:9\n  help: use `StringEquals`"
        );
        assert_eq!(
            Diagnostic::warning("w", None, None).render("f"),
            "warning: w\n  --> f"
        );
    }
}
