//! Policy errors with positions: `LINE:COL: message`, then `help: …`.

use thiserror::Error;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{line}:{column}: {message}{}", help.as_ref().map(|h| format!("\nhelp: {h}")).unwrap_or_default())]
pub struct PolicyError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong, in the style guide's words.
    pub message: String,
    /// How to fix it, when there is one thing to say.
    pub help: Option<String>,
}

/// Every problem found (the parser keeps going after the first).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// Line and column of a byte offset in `source`.
pub fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset.min(source.len())).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(position(src, 0), (1, 1));
        assert_eq!(position(src, 6), (2, 1));
        assert_eq!(position(src, 8), (2, 3));
        assert_eq!(position(src, 999), (3, 1));
    }

    #[test]
    fn errors_print_with_help() {
        let e = PolicyError { line: 3, column: 7, message: "`x` is wrong".into(), help: Some("use y".into()) };
        assert_eq!(e.to_string(), "3:7: `x` is wrong\nhelp: use y");
    }
}
