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
    /// The key's lookup hash.
    hash: u64,
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
    /// Text then one trailing `*`: compare the first `head` bytes.
    Prefix,
    /// Anything else.
    General,
    /// Matches nothing, and cannot show a text is outside it either (an ARN
    /// the policy type does not accept).
    Never,
}

/// A compiled pattern. Patterns without policy variables keep only their
/// text and are matched on it directly: one allocation, read front to back.
///
/// INVARIANT: kept small (32 bytes): a decision reads the patterns of every
/// statement it looks at, and on varied requests each one is a cache miss.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Where the pattern text (lowercased when folding) sits in its
    /// policy's text arena.
    off: u32,
    len: u32,
    /// Literal bytes before the first wildcard and after the last: a text
    /// that does not start and end with them cannot match, whatever the
    /// wildcards in between do.
    head: u32,
    tail: u32,
    /// For ARN patterns, the byte offset in `text` where the sixth part
    /// (the resource) starts; before it, wildcards do not match `:`, so each
    /// of the first five parts is matched on its own. Zero otherwise.
    seg5: u32,
    shape: Shape,
    /// Compare ASCII letters without regard to case.
    fold: bool,
    /// `*` and `?` are wildcards.
    wildcards: bool,
    /// An ARN filled in from fewer than six parts.
    short: bool,
    /// Pieces, only for patterns with policy variables or `${…}` escapes.
    vars: Option<Box<Vars>>,
}

/// The parts of a pattern with policy variables (or `${…}` escapes).
#[derive(Debug, Clone, PartialEq)]
struct Vars {
    pieces: Box<[Piece]>,
    /// Per piece, for a variable, which variable of the pattern it is (0
    /// for the first, …).
    var_index: Box<[u8]>,
    /// For an ARN pattern, its six parts as patterns of their own, with
    /// their arena: to tell which parts a request differs in when a
    /// variable has no value.
    parts: Option<(String, Vec<Pattern>)>,
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
        let vars = (syntax.variables && text.contains("${")).then(|| {
            let pieces = pieces(&text, syntax, arn);
            let mut k = 0u8;
            let var_index = pieces
                .iter()
                .map(|p| match p {
                    Piece::Var(_) => {
                        k = k.saturating_add(1);
                        k - 1
                    }
                    _ => 0,
                })
                .collect();
            Box::new(Vars {
                pieces: pieces.into_boxed_slice(),
                var_index,
                parts: if arn {
                    super::arn_parts(&text, true)
                } else {
                    None
                },
            })
        });
        let seg5 = if arn { sixth_part_start(&text) } else { 0 };
        let wild = |b: &u8| syntax.wildcards && matches!(b, b'*' | b'?');
        let bytes = text.as_bytes();
        let head = bytes.iter().position(wild).unwrap_or(bytes.len());
        let tail = bytes.iter().rev().position(wild).unwrap_or(0);
        let shape = if vars.is_some() {
            Shape::General
        } else if !syntax.wildcards {
            Shape::Exact
        } else if text == "*" {
            Shape::Any
        } else {
            let wild = bytes.iter().filter(|b| wild(b)).count();
            match (wild, text.strip_suffix('*')) {
                (0, _) => Shape::Exact,
                (1, Some(h)) if !arn || h.len() >= seg5 => Shape::Prefix,
                _ => Shape::General,
            }
        };
        let off = u32::try_from(arena.len()).unwrap_or(u32::MAX);
        let len = u32::try_from(text.len()).unwrap_or(0);
        let u = |n: usize| u32::try_from(n).unwrap_or(0);
        arena.push_str(&text);
        Self {
            off,
            len,
            head: u(head),
            tail: u(tail),
            seg5: u(seg5),
            shape,
            fold: syntax.fold,
            wildcards: syntax.wildcards,
            short: false,
            vars,
        }
    }

    /// For an ARN pattern with policy variables, its six parts as patterns
    /// (and their arena).
    pub(crate) fn arn_parts(&self) -> Option<(&str, &[Pattern])> {
        let (arena, parts) = self.vars.as_ref()?.parts.as_ref()?;
        Some((arena, parts))
    }

    /// The same pattern with its text `by` bytes further into its arena.
    pub(crate) fn rebased(&self, by: u32) -> Self {
        Self {
            off: self.off + by,
            ..self.clone()
        }
    }

    /// The pattern text as compiled, from its arena.
    pub fn text<'a>(&self, arena: &'a str) -> &'a str {
        let start = self.off as usize;
        arena.get(start..start + self.len as usize).unwrap_or("")
    }

    /// Whether the pattern contains policy variables.
    pub fn has_variables(&self) -> bool {
        self.vars
            .iter()
            .flat_map(|v| v.pieces.iter())
            .any(|p| matches!(p, Piece::Var(_)))
    }

    /// Whether every policy variable in the pattern has a value (or default).
    pub fn resolvable(&self, ctx: &Context) -> bool {
        self.vars
            .iter()
            .flat_map(|v| v.pieces.iter())
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
        let fold = self.fold;
        let eq = |a: &[u8], b: &[u8]| {
            if fold {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let pat = self.text(arena).as_bytes();
        let text = text.as_bytes();
        match self.shape {
            Shape::Never => false,
            Shape::Any => true,
            Shape::Exact => eq(pat, text),
            Shape::Prefix => {
                let n = self.head as usize;
                match (pat.get(..n), text.get(..n)) {
                    (Some(p), Some(t)) => eq(p, t),
                    _ => false,
                }
            }
            Shape::General => match &self.vars {
                None => {
                    // Quick reject on the literal ends, then the full match.
                    let (h, t) = (self.head as usize, self.tail as usize);
                    if text.len() < h + t {
                        return false;
                    }
                    let ends = match (
                        pat.get(..h),
                        text.get(..h),
                        pat.get(pat.len() - t..),
                        text.get(text.len() - t..),
                    ) {
                        (Some(ph), Some(th), Some(pt), Some(tt)) => eq(ph, th) && eq(pt, tt),
                        _ => false,
                    };
                    ends && glob_bytes(pat, text, self.seg5 as usize, fold)
                }
                Some(vars) => {
                    // Each variable is looked up once, not at every step of
                    // the match.
                    const MAX: usize = 16;
                    let mut values: [&[u8]; MAX] = [&[]; MAX];
                    let mut n = 0;
                    for p in vars.pieces.iter() {
                        if let Piece::Var(v) = p {
                            let Some(value) = resolve(v, ctx) else {
                                return false;
                            };
                            if let Some(slot) = values.get_mut(n) {
                                *slot = value.as_bytes();
                            }
                            n += 1;
                        }
                    }
                    if n > MAX {
                        let tok = |i: usize| -> Option<Tok<'_>> {
                            Some(match vars.pieces.get(i)? {
                                Piece::Lit(s) => Tok::Lit(s.as_bytes()),
                                Piece::Star { seg } => Tok::Star(*seg),
                                Piece::One { seg } => Tok::One(*seg),
                                Piece::Var(v) => Tok::Lit(resolve(v, ctx).unwrap_or("").as_bytes()),
                            })
                        };
                        return glob(tok, text, fold);
                    }
                    let tok = |i: usize| -> Option<Tok<'_>> {
                        Some(match vars.pieces.get(i)? {
                            Piece::Lit(s) => Tok::Lit(s.as_bytes()),
                            Piece::Star { seg } => Tok::Star(*seg),
                            Piece::One { seg } => Tok::One(*seg),
                            Piece::Var(_) => {
                                let k = vars.var_index.get(i).copied().unwrap_or(0) as usize;
                                Tok::Lit(values.get(k).copied().unwrap_or_default())
                            }
                        })
                    };
                    glob(tok, text, fold)
                }
            },
        }
    }

    /// The pattern with variables replaced from `ctx` (for explanations).
    pub fn render(&self, arena: &str, ctx: &Context) -> String {
        let Some(vars) = &self.vars else {
            return self.text(arena).to_owned();
        };
        let mut out = String::new();
        for p in vars.pieces.iter() {
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
    match ctx.single_hashed(v.hash, &v.key) {
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
    let key = key.to_ascii_lowercase();
    Some(Piece::Var(Var {
        hash: crate::eval::context::key_hash(&key),
        key: key.into(),
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

/// The length of the UTF-8 character that starts with byte `b`.
fn char_len(b: Option<&u8>) -> usize {
    match b {
        Some(b) if *b >= 0xF0 => 4,
        Some(b) if *b >= 0xE0 => 3,
        Some(b) if *b >= 0xC0 => 2,
        _ => 1,
    }
}

/// [`glob`] for a pattern without policy variables, read straight from its
/// bytes: `*` and `?` are wildcards, and before byte `seg5` they do not
/// match `:`. Never allocates.
fn glob_bytes(pat: &[u8], text: &[u8], seg5: usize, fold: bool) -> bool {
    let byte_eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut t) = (0usize, 0usize);
    // (pattern index after the star, text index it resumes at, limited)
    let mut star: Option<(usize, usize, bool)> = None;
    loop {
        match pat.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t, p <= seg5));
                continue;
            }
            Some(b'?') => match text.get(t) {
                Some(b':') if p < seg5 => {}
                Some(b) => {
                    t += char_len(Some(b));
                    p += 1;
                    continue;
                }
                None => {}
            },
            Some(c) => {
                if let Some(b) = text.get(t) {
                    if byte_eq(*c, *b) {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
            None => {
                if t >= text.len() {
                    return true;
                }
            }
        }
        match star {
            Some((sp, st, limited)) if st < text.len() => {
                if limited && text.get(st) == Some(&b':') {
                    return false;
                }
                let next = st + char_len(text.get(st));
                star = Some((sp, next, limited));
                p = sp;
                t = next;
            }
            _ => return false,
        }
    }
}

/// Wildcard matching with single-star backtracking; `?` takes one UTF-8
/// character; a literal token is compared in one go. Stars limited to one
/// ARN part never cross `:`; since nothing else in those parts matches `:`
/// either, the parts line up and backtracking to the latest star stays
/// correct. Never allocates.
fn glob<'a>(tok: impl Fn(usize) -> Option<Tok<'a>>, text: &[u8], fold: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let (mut pi, mut t) = (0usize, 0usize);
    // (pattern index after the star, text index it resumes at, limited)
    let mut star: Option<(usize, usize, bool)> = None;
    loop {
        let step = match tok(pi) {
            Some(Tok::Star(limited)) => {
                pi += 1;
                star = Some((pi, t, limited));
                continue;
            }
            Some(Tok::One(limited)) => match text.get(t) {
                Some(b':') if limited => false,
                Some(b) => {
                    t += char_len(Some(b));
                    pi += 1;
                    true
                }
                None => false,
            },
            Some(Tok::Lit(s)) => match text.get(t..t + s.len()) {
                Some(x) if eq(s, x) => {
                    t += s.len();
                    pi += 1;
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
                let next = st + char_len(text.get(st));
                star = Some((sp, next, limited));
                pi = sp;
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
    fn patterns_stay_small() {
        // See the INVARIANT on `Pattern`.
        assert!(std::mem::size_of::<Pattern>() <= 32);
    }

    #[test]
    fn literal_ends_and_limited_stars() {
        let c = Context::default();
        let arn = |pat: &str, text: &str| {
            let mut a = String::new();
            Pattern::arn(&mut a, pat, false).matches(&a, text, &c)
        };
        assert!(arn("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/k/x"));
        assert!(!arn("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/k/y"));
        assert!(!arn("arn:aws:s3:::b/*/x", "arn:aws:s3:::c/k/x"));
        assert!(arn("arn:aws:s?s:*:1:q*", "arn:aws:sqs:us-east-1:1:queue"));
        assert!(!arn("arn:aws:s?s:*:1:q*", "arn:aws:sqs:us:east:1:queue"));
        assert!(!arn("arn:aws:*:::b", "arn:aws:s3::::b"));
        let fold = Syntax {
            wildcards: true,
            variables: false,
            fold: true,
        };
        assert!(one("s3:*Object", fold, "S3:GetOBJECT", &c));
        assert!(!one("s3:*Object", fold, "S3:GetBucket", &c));
        assert!(one("iam:?et*", fold, "IAM:GetUser", &c));
    }

    #[test]
    fn variable_value_is_literal() {
        let c = Context::from_pairs([("aws:username", vec!["a*"])]);
        assert!(one("${aws:username}", LIKE, "a*", &c));
        assert!(!one("${aws:username}", LIKE, "abc", &c));
    }
}
