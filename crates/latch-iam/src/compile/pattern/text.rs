//! Pattern text read into pieces: literals, wildcards and policy
//! variables (`${key}`, `${key, 'default'}`, and the escapes `${*}`,
//! `${?}`, `${$}`).

use super::Syntax;

/// Byte offset after the fifth colon (not counting colons inside `${…}`).
pub(super) fn sixth_part_start(text: &[u8]) -> usize {
    let mut colons = 0;
    let mut depth = 0usize;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'{' if i > 0 && text.get(i - 1) == Some(&b'$') => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                colons += 1;
                if colons == 5 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    0
}

/// A piece of pattern text, before it is stored in an arena.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    Lit(String),
    Star {
        seg: bool,
    },
    One {
        seg: bool,
    },
    Var {
        /// Lowercased.
        key: String,
        hash: u32,
        default: Option<String>,
    },
}

/// Splits pattern text into pieces.
pub(super) fn split_pieces(text: &str, syntax: Syntax, arn: bool) -> Vec<Part> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    let mut colons = 0usize;
    while let Some(c) = rest.chars().next() {
        if syntax.variables && rest.starts_with("${") {
            if let Some(end) = rest.find('}') {
                let inner = rest.get(2..end).unwrap_or("");
                if let Some(piece) = variable(inner) {
                    match piece {
                        Part::Lit(s) => lit.push_str(&s),
                        other => {
                            flush(&mut out, &mut lit);
                            out.push(other);
                        }
                    }
                    rest = rest.get(end + 1..).unwrap_or("");
                    continue;
                }
            }
        }
        let seg = arn && colons < 5;
        match c {
            '*' if syntax.wildcards => {
                flush(&mut out, &mut lit);
                if !matches!(out.last(), Some(Part::Star { .. })) {
                    out.push(Part::Star { seg });
                }
            }
            '?' if syntax.wildcards => {
                flush(&mut out, &mut lit);
                out.push(Part::One { seg });
            }
            c => {
                if c == ':' {
                    colons += 1;
                }
                lit.push(c);
            }
        }
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    flush(&mut out, &mut lit);
    out
}

pub(super) fn flush(out: &mut Vec<Part>, lit: &mut String) {
    if !lit.is_empty() {
        out.push(Part::Lit(std::mem::take(lit)));
    }
}

/// Reads the inside of `${…}`: a key, optionally `, 'default'`, or one of the
/// escapes `*`, `?`, `$`.
pub(super) fn variable(inner: &str) -> Option<Part> {
    let inner = inner.trim();
    match inner {
        "*" | "?" | "$" => return Some(Part::Lit(inner.into())),
        "" => return None,
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.to_owned()))
        }
        None => (inner, None),
    };
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c == '\'') {
        return None;
    }
    let key = key.to_ascii_lowercase();
    Some(Part::Var {
        hash: crate::eval::context::key_hash(&key),
        key,
        default,
    })
}
