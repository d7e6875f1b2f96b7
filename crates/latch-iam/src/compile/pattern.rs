//! Compiled text patterns: literal text, `*` and `?` wildcards, and policy
//! variables (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`,
//! `${*}`, `${?}`, `${$}`), matched against request text without allocating.

use crate::eval::Context;

/// One piece of a pattern that contains policy variables.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text matched as written (never a wildcard).
    Lit(Box<str>),
    /// `*`: any run of characters; with `seg`, none of them `:`.
    Star {
        /// Inside the first five parts of an ARN.
        seg: bool,
    },
    /// `?`: exactly one character; with `seg`, not `:`.
    One {
        /// Inside the first five parts of an ARN.
        seg: bool,
    },
    /// A policy variable, replaced by the request's value (matched literally).
    Var(Var),
}

/// A policy variable reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// The context key, lowercased.
    pub key: Box<str>,
    /// The default from `${key, 'default'}`.
    pub default: Option<Box<str>>,
}

/// How a pattern can be matched fastest.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Matches everything (`*`).
    Any,
    /// No wildcards or variables: compare the text.
    Exact,
    /// Text then one trailing `*`: compare the first `n` bytes.
    Prefix(usize),
    /// Anything else.
    General,
    /// Matches nothing, and cannot show a text is outside it either (an ARN
    /// the policy type does not accept).
    Never,
}

/// A compiled pattern. Patterns without policy variables keep only their
/// text and are matched on it directly: one allocation, read front to back.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Where the pattern text (lowercased when folding) sits in its
    /// policy's text arena.
    off: u32,
    len: u32,
    /// Pieces, only for patterns with policy variables or `${…}` escapes.
    pieces: Option<Box<[Piece]>>,
    shape: Shape,
    /// Compare ASCII letters without regard to case.
    fold: bool,
    /// `*` and `?` are wildcards.
    wildcards: bool,
    /// For ARN patterns, the byte offset in `text` where the sixth part
    /// (the resource) starts; before it, wildcards do not match `:`, so each
    /// of the first five parts is matched on its own. Zero otherwise.
    seg5: usize,
    /// An ARN filled in from fewer than six parts.
    short: bool,
}

/// What a pattern may contain.
#[derive(Debug, Clone, Copy)]
pub struct Syntax {
    /// `*` and `?` are wildcards.
    pub wildcards: bool,
    /// `${…}` is a policy variable.
    pub variables: bool,
    /// Compare without regard to ASCII case (the pattern is lowercased).
    pub fold: bool,
}

impl Pattern {
    /// Compiles pattern text, storing it in `arena`.
    pub fn new(arena: &mut String, text: &str, syntax: Syntax) -> Self {
        Self::build(arena, text, syntax, false)
    }

    /// Compiles an ARN pattern: "Each of the six colon-delimited components
    /// of the ARN is checked separately and each can include multi-character
    /// match wildcards (*) or single-character match wildcards (?)." Text
    /// with fewer than five colons is matched as a whole.
    pub fn arn(arena: &mut String, text: &str, variables: bool) -> Self {
        let syntax = Syntax {
            wildcards: true,
            variables,
            fold: false,
        };
        Self::build(
            arena,
            text,
            syntax,
            super::split_arn(text, variables).is_some(),
        )
    }

    fn build(arena: &mut String, text: &str, syntax: Syntax, arn: bool) -> Self {
        let text: String = if syntax.fold {
            text.to_ascii_lowercase()
        } else {
            text.to_owned()
        };
        let pieces = (syntax.variables && text.contains("${"))
            .then(|| pieces(&text, syntax, arn).into_boxed_slice());
        let seg5 = if arn { sixth_part_start(&text) } else { 0 };
        let shape = if pieces.is_some() {
            Shape::General
        } else if !syntax.wildcards {
            Shape::Exact
        } else if text == "*" {
            Shape::Any
        } else {
            let wild = text.bytes().filter(|b| matches!(b, b'*' | b'?')).count();
            match (wild, text.strip_suffix('*')) {
                (0, _) => Shape::Exact,
                (1, Some(head)) if !arn || head.len() >= seg5 => Shape::Prefix(head.len()),
                _ => Shape::General,
            }
        };
        let off = u32::try_from(arena.len()).unwrap_or(u32::MAX);
        let len = u32::try_from(text.len()).unwrap_or(0);
        arena.push_str(&text);
        Self {
            off,
            len,
            pieces,
            shape,
            fold: syntax.fold,
            wildcards: syntax.wildcards,
            seg5,
            short: false,
        }
    }

    /// The pattern text as compiled, from its arena.
    pub fn text<'a>(&self, arena: &'a str) -> &'a str {
        let start = self.off as usize;
        arena.get(start..start + self.len as usize).unwrap_or("")
    }

    /// Whether the pattern contains policy variables.
    pub fn has_variables(&self) -> bool {
        self.pieces
            .iter()
            .flat_map(|p| p.iter())
            .any(|p| matches!(p, Piece::Var(_)))
    }

    /// Whether every policy variable in the pattern has a value (or default).
    pub fn resolvable(&self, ctx: &Context) -> bool {
        self.pieces
            .iter()
            .flat_map(|p| p.iter())
            .all(|p| !matches!(p, Piece::Var(v) if resolve(v, ctx).is_none()))
    }

    /// A pattern that matches nothing (for ARNs a policy type rejects).
    pub fn never(arena: &mut String, text: &str) -> Self {
        let mut p = Self::build(
            arena,
            text,
            Syntax {
                wildcards: false,
                variables: false,
                fold: false,
            },
            false,
        );
        p.shape = Shape::Never;
        p
    }

    /// Marks an ARN pattern as filled in from fewer than six parts.
    pub fn set_short(&mut self) {
        self.short = true;
    }

    /// Whether the ARN pattern was filled in from fewer than six parts.
    pub fn is_short(&self) -> bool {
        self.short
    }

    /// Whether this is a [`Pattern::never`] pattern.
    pub fn is_never(&self) -> bool {
        self.shape == Shape::Never
    }

    /// Whether the pattern is exactly `*`.
    pub fn is_any(&self) -> bool {
        self.shape == Shape::Any
    }

    /// Matches `text`. Variables are looked up in `ctx`; a variable with no
    /// value and no default makes the pattern match nothing.
    pub fn matches(&self, arena: &str, text: &str, ctx: &Context) -> bool {
        let eq = |a: &[u8], b: &[u8]| {
            if self.fold {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let pat = self.text(arena).as_bytes();
        match self.shape {
            Shape::Never => false,
            Shape::Any => true,
            Shape::Exact => eq(pat, text.as_bytes()),
            Shape::Prefix(n) => match (pat.get(..n), text.as_bytes().get(..n)) {
                (Some(p), Some(t)) => eq(p, t),
                _ => false,
            },
            Shape::General => match &self.pieces {
                None => {
                    let seg5 = self.seg5;
                    let wild = self.wildcards;
                    let tok = |i: usize| -> Option<Tok<'_>> {
                        let b = pat.get(i)?;
                        Some(match b {
                            b'*' if wild => Tok::Star(i < seg5),
                            b'?' if wild => Tok::One(i < seg5),
                            _ => Tok::Lit(pat.get(i..=i).unwrap_or_default()),
                        })
                    };
                    glob(tok, text.as_bytes(), self.fold)
                }
                Some(pieces) => {
                    if !self.resolvable(ctx) {
                        return false;
                    }
                    let tok = |i: usize| -> Option<Tok<'_>> {
                        Some(match pieces.get(i)? {
                            Piece::Lit(s) => Tok::Lit(s.as_bytes()),
                            Piece::Star { seg } => Tok::Star(*seg),
                            Piece::One { seg } => Tok::One(*seg),
                            Piece::Var(v) => Tok::Lit(resolve(v, ctx).unwrap_or("").as_bytes()),
                        })
                    };
                    glob(tok, text.as_bytes(), self.fold)
                }
            },
        }
    }

    /// The pattern with variables replaced from `ctx` (for explanations).
    pub fn render(&self, arena: &str, ctx: &Context) -> String {
        let Some(pieces) = &self.pieces else {
            return self.text(arena).to_owned();
        };
        let mut out = String::new();
        for p in pieces.iter() {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Star { .. } => out.push('*'),
                Piece::One { .. } => out.push('?'),
                Piece::Var(v) => match resolve(v, ctx) {
                    Some(s) => out.push_str(s),
                    None => {
                        out.push_str("${");
                        out.push_str(&v.key);
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}

/// Byte offset after the fifth colon (not counting colons inside `${…}`).
fn sixth_part_start(text: &str) -> usize {
    let mut colons = 0;
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'{' if i > 0 && text.as_bytes().get(i - 1) == Some(&b'$') => depth += 1,
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

fn resolve<'a>(v: &'a Var, ctx: &'a Context) -> Option<&'a str> {
    match ctx.single(&v.key) {
        Some(s) => Some(s),
        None => v.default.as_deref(),
    }
}

/// Splits pattern text into pieces.
fn pieces(text: &str, syntax: Syntax, arn: bool) -> Vec<Piece> {
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
                        Piece::Lit(s) => lit.push_str(&s),
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
                if !matches!(out.last(), Some(Piece::Star { .. })) {
                    out.push(Piece::Star { seg });
                }
            }
            '?' if syntax.wildcards => {
                flush(&mut out, &mut lit);
                out.push(Piece::One { seg });
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

fn flush(out: &mut Vec<Piece>, lit: &mut String) {
    if !lit.is_empty() {
        out.push(Piece::Lit(std::mem::take(lit).into()));
    }
}

/// Reads the inside of `${…}`: a key, optionally `, 'default'`, or one of the
/// escapes `*`, `?`, `$`.
fn variable(inner: &str) -> Option<Piece> {
    let inner = inner.trim();
    match inner {
        "*" | "?" | "$" => return Some(Piece::Lit(inner.into())),
        "" => return None,
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.into()))
        }
        None => (inner, None),
    };
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c == '\'') {
        return None;
    }
    Some(Piece::Var(Var {
        key: key.to_ascii_lowercase().into(),
        default,
    }))
}

/// A token the matcher walks over.
#[derive(Clone, Copy)]
enum Tok<'a> {
    Lit(&'a [u8]),
    /// `*`; `true`: may not match `:`.
    Star(bool),
    /// `?`; `true`: may not match `:`.
    One(bool),
}

/// Wildcard matching with single-star backtracking; `?` takes one UTF-8
/// character. Stars limited to one ARN part never cross `:`; since nothing
/// else in those parts matches `:` either, the parts line up and
/// backtracking to the latest star stays correct. Never allocates.
fn glob<'a>(tok: impl Fn(usize) -> Option<Tok<'a>>, text: &[u8], fold: bool) -> bool {
    let byte_eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let char_len = |at: usize| -> usize {
        match text.get(at) {
            Some(b) if *b >= 0xF0 => 4,
            Some(b) if *b >= 0xE0 => 3,
            Some(b) if *b >= 0xC0 => 2,
            _ => 1,
        }
    };
    let (mut pi, mut po, mut t) = (0usize, 0usize, 0usize);
    // (pattern index after the star, text index it resumes at, limited)
    let mut star: Option<(usize, usize, bool)> = None;
    loop {
        let step = match tok(pi) {
            Some(Tok::Lit(s)) if po >= s.len() => {
                pi += 1;
                po = 0;
                continue;
            }
            Some(Tok::Star(limited)) => {
                pi += 1;
                po = 0;
                star = Some((pi, t, limited));
                continue;
            }
            Some(Tok::One(limited)) => match text.get(t) {
                Some(b':') if limited => false,
                Some(_) => {
                    t += char_len(t);
                    pi += 1;
                    true
                }
                None => false,
            },
            Some(Tok::Lit(s)) => match (s.get(po), text.get(t)) {
                (Some(a), Some(b)) if byte_eq(*a, *b) => {
                    po += 1;
                    t += 1;
                    true
                }
                _ => false,
            },
            None => {
                if t >= text.len() {
                    return true;
                }
                false
            }
        };
        if step {
            continue;
        }
        match star {
            Some((sp, st, limited)) if st < text.len() => {
                if limited && text.get(st) == Some(&b':') {
                    return false;
                }
                let next = st + char_len(st);
                star = Some((sp, next, limited));
                pi = sp;
                po = 0;
                t = next;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIKE: Syntax = Syntax {
        wildcards: true,
        variables: true,
        fold: false,
    };

    fn one(pat: &str, syntax: Syntax, text: &str, c: &Context) -> bool {
        let mut arena = String::new();
        Pattern::new(&mut arena, pat, syntax).matches(&arena, text, c)
    }

    fn ctx() -> Context {
        Context::from_pairs([
            ("aws:username", vec!["alice"]),
            ("aws:PrincipalTag/team", vec!["blue"]),
            ("aws:TagKeys", vec!["a", "b"]),
        ])
    }

    #[test]
    fn wildcard_matching() {
        let c = Context::default();
        for (pat, text, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "abc", true),
            ("a*", "b", false),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "abcbd", false),
            ("a*b*c", "axxbyyc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aéc", true),
            ("??", "é", false),
            ("abc", "abc", true),
            ("abc", "ABC", false),
            ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ] {
            assert_eq!(one(pat, LIKE, text, &c), want, "{pat} vs {text}");
        }
    }

    #[test]
    fn folding_and_literal_mode() {
        let c = Context::default();
        let fold = Syntax {
            wildcards: true,
            variables: false,
            fold: true,
        };
        assert!(one("S3:Get*", fold, "s3:GETOBJECT", &c));
        let lit = Syntax {
            wildcards: false,
            variables: false,
            fold: false,
        };
        assert!(one("a*", lit, "a*", &c));
        assert!(!one("a*", lit, "ab", &c));
    }

    #[test]
    fn variables() {
        let c = ctx();
        for (pat, text, want) in [
            ("home/${aws:username}/*", "home/alice/x", true),
            ("home/${aws:username}/*", "home/bob/x", false),
            ("home/${AWS:UserName}", "home/alice", true),
            ("${aws:PrincipalTag/team}", "blue", true),
            ("${aws:missing}", "", false),
            ("${aws:missing, 'dflt'}", "dflt", true),
            ("${ aws:missing , 'd' }x", "dx", true),
            ("a${*}b", "a*b", true),
            ("a${*}b", "axb", false),
            ("${?}", "?", true),
            ("${$}", "$", true),
            ("${aws:TagKeys}", "a", false),
            ("${unterminated", "${unterminated", true),
            ("${}", "${}", true),
        ] {
            assert_eq!(one(pat, LIKE, text, &c), want, "{pat} vs {text}");
        }
        let no_vars = Syntax {
            wildcards: true,
            variables: false,
            fold: false,
        };
        assert!(one("${aws:username}", no_vars, "${aws:username}", &c));
    }

    #[test]
    fn arn_parts_match_one_by_one() {
        let c = ctx();
        for (pat, text, want) in [
            ("arn:aws:s3:::*", "arn:aws:s3:::b/k:x", true),
            ("arn:aws:sqs:*:111:*", "arn:aws:sqs:us-east-1:111:q", true),
            ("arn:aws:sqs:*:111:*", "arn:aws:sqs:us-east-1:222:q", false),
            ("arn:aws:*:*:*:*", "arn:aws:s3:::b", true),
            ("arn:aws:s*:::b", "arn:aws:s3:::b", true),
            ("arn:aws:s*:::b", "arn:aws:s3:x::b", false),
            ("arn:aws:iam::1:role/x*", "arn:aws:iam::1:role/xy", true),
            ("arn:aws:iam::?:role/x", "arn:aws:iam:::role/x", false),
            (
                "arn:aws:lambda:us-east-1:*:function:*",
                "arn:aws:lambda:us-east-1:1:function:fn:alias",
                true,
            ),
            ("arn:aws:s3:::b", "arn:aws:s3:::b:", false),
            (
                "arn:aws:s3:::home/${aws:username}/*",
                "arn:aws:s3:::home/alice/k",
                true,
            ),
            (
                "arn:aws:iam::*:user/${aws:username}",
                "arn:aws:iam::1:user/alice",
                true,
            ),
            (
                "arn:aws:iam::*:user/${aws:username}",
                "arn:aws:iam::1:2:user/alice",
                false,
            ),
            ("arn:aws:*", "arn:aws:s3:::b", true),
        ] {
            assert_eq!(
                {
                    let mut a = String::new();
                    Pattern::arn(&mut a, pat, true).matches(&a, text, &c)
                },
                want,
                "{pat} vs {text}"
            );
        }
    }

    #[test]
    fn variable_value_is_literal() {
        let c = Context::from_pairs([("aws:username", vec!["a*"])]);
        assert!(one("${aws:username}", LIKE, "a*", &c));
        assert!(!one("${aws:username}", LIKE, "abc", &c));
    }
}
