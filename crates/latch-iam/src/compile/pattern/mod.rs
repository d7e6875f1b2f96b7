//! Compiled text patterns: literal text, `*` and `?` wildcards, and policy
//! variables (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`,
//! `${*}`, `${?}`, `${$}`), matched against request text without allocating.

mod arena;
mod general;
mod glob;
mod packed;
mod same;
#[cfg(test)]
mod tests;
mod text;

pub use arena::{Arena, PatternArena, PATTERN, PIECE};
pub(crate) use same::same;

use crate::eval::Context;

pub(crate) use packed::{PATTERN_NARROW, PIECE_NARROW};
use text::{sixth_part_start, split_pieces, Part};

/// One piece of a pattern that contains policy variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Piece {
    /// Text matched as written (never a wildcard): (offset, length) in the
    /// arena's text.
    Lit(u32, u32),
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Var {
    /// The context key, lowercased: (offset, length) in the arena's text.
    pub key: (u32, u32),
    /// The key's lookup hash.
    hash: u32,
    /// The default from `${key, 'default'}`, in the arena's text.
    pub default: Option<(u32, u32)>,
}

impl Piece {
    /// Whether this is a policy variable.
    pub fn is_var(&self) -> bool {
        matches!(self, Piece::Var(_))
    }

    /// The same piece with its text `by` bytes further into its arena.
    pub(crate) fn rebased(self, by: u32) -> Self {
        match self {
            Piece::Lit(off, len) => Piece::Lit(off + by, len),
            Piece::Var(v) => Piece::Var(Var {
                key: (v.key.0 + by, v.key.1),
                default: v.default.map(|(o, l)| (o + by, l)),
                ..v
            }),
            other => other,
        }
    }
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
/// text and are matched on it directly. Patterns with policy variables have
/// their pieces in the arena's piece array.
///
/// INVARIANT: kept small (24 bytes): a decision reads the patterns of every
/// statement it looks at, and on varied requests each one is a cache miss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pattern {
    /// Where the pattern text (lowercased when folding) sits in its
    /// policy's text arena.
    off: u32,
    len: u32,
    /// Pieces in the arena (start, end), only for patterns with policy
    /// variables or `${…}` escapes; empty otherwise.
    pieces: (u32, u32),
    /// Literal bytes before the first wildcard and after the last: a text
    /// that does not start and end with them cannot match, whatever the
    /// wildcards in between do. At most `u16::MAX`: a longer head or tail
    /// is checked in part here, in full by the matcher (and a pattern whose
    /// head is longer is not matched as a [`Shape::Prefix`]).
    head: u16,
    tail: u16,
    /// For ARN patterns, the byte offset in `text` where the sixth part
    /// (the resource) starts; before it, wildcards do not match `:`, so each
    /// of the first five parts is matched on its own. Zero otherwise.
    /// [`SEG5_FAR`]: found again from the text when matching.
    seg5: u16,
    shape: Shape,
    /// [`FOLD`] and [`SHORT`].
    flags: u8,
}

/// Compare ASCII letters without regard to case.
const FOLD: u8 = 1;
/// An ARN filled in from fewer than six parts.
const SHORT: u8 = 2;
/// `seg5` does not fit.
const SEG5_FAR: u16 = u16::MAX;

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
    pub fn new(arena: &mut PatternArena, text: &str, syntax: Syntax) -> Self {
        Self::build(arena, text, syntax, false)
    }

    /// Compiles an ARN pattern: "Each of the six colon-delimited components
    /// of the ARN is checked separately and each can include multi-character
    /// match wildcards (*) or single-character match wildcards (?)." Text
    /// with fewer than five colons is matched as a whole.
    pub fn arn(arena: &mut PatternArena, text: &str, variables: bool) -> Self {
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

    fn build(arena: &mut PatternArena, text: &str, syntax: Syntax, arn: bool) -> Self {
        let text: String = if syntax.fold {
            text.to_ascii_lowercase()
        } else {
            text.to_owned()
        };
        let has_vars = syntax.variables && text.contains("${");
        let seg5 = if arn {
            sixth_part_start(text.as_bytes())
        } else {
            0
        };
        let wild = |b: &u8| syntax.wildcards && matches!(b, b'*' | b'?');
        let bytes = text.as_bytes();
        let head = bytes.iter().position(wild).unwrap_or(bytes.len());
        let tail = bytes.iter().rev().position(wild).unwrap_or(0);
        let shape = if has_vars {
            Shape::General
        } else if !syntax.wildcards {
            Shape::Exact
        } else if text == "*" {
            Shape::Any
        } else {
            let wild = bytes.iter().filter(|b| wild(b)).count();
            match (wild, text.strip_suffix('*')) {
                (0, _) => Shape::Exact,
                (1, Some(h)) if (!arn || h.len() >= seg5) && h.len() < usize::from(u16::MAX) => {
                    Shape::Prefix
                }
                _ => Shape::General,
            }
        };
        let u = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let len = u(text.len());
        // Text the arena already holds is not stored twice (policies repeat
        // their actions and ARNs): fewer bytes for a decision to read. Not
        // for patterns with variables, whose ARN parts are looked up by
        // offset in order.
        let bytes = arena.text.as_bytes();
        let stored = match has_vars || text.is_empty() {
            true => None,
            false => arena.stored.iter().find(|(o, l)| {
                *l == len && bytes.get(*o as usize..(*o + *l) as usize) == Some(text.as_bytes())
            }),
        };
        let off = match stored {
            Some((o, _)) => *o,
            None => {
                let off = u(arena.text.len());
                arena.text.push_str(&text);
                if !has_vars {
                    arena.stored.push((off, len));
                }
                off
            }
        };
        let mut pieces = (0, 0);
        if has_vars {
            // A piece's text is found in the pattern's own text where it
            // can be (nearly always), else it follows it: either way it is
            // read from the same few cache lines.
            let start = u(arena.pieces.len() / PIECE);
            for piece in split_pieces(&text, syntax, arn) {
                let push = |arena: &mut PatternArena, s: &str| match text.find(s) {
                    Some(i) => (off + u(i), u(s.len())),
                    None => {
                        let at = (u(arena.text.len()), u(s.len()));
                        arena.text.push_str(s);
                        at
                    }
                };
                let p = match piece {
                    Part::Lit(s) => {
                        let (at, len) = push(arena, &s);
                        Piece::Lit(at, len)
                    }
                    Part::Star { seg } => Piece::Star { seg },
                    Part::One { seg } => Piece::One { seg },
                    Part::Var { key, hash, default } => {
                        let key = push(arena, &key);
                        let default = default.map(|d| push(arena, &d));
                        let v = Var { key, hash, default };
                        Piece::Var(v)
                    }
                };
                arena.pieces.extend_from_slice(&p.encode());
            }
            pieces = (start, u(arena.pieces.len() / PIECE));
        }
        let p = Self {
            off,
            len,
            pieces,
            head: u16::try_from(head).unwrap_or(u16::MAX),
            tail: u16::try_from(tail).unwrap_or(u16::MAX),
            seg5: u16::try_from(seg5).unwrap_or(SEG5_FAR),
            shape,
            flags: if syntax.fold { FOLD } else { 0 },
        };
        if has_vars && arn {
            // The six parts, compiled after the pattern: only read when a
            // variable has no value (see `arn_parts`).
            if let Some(parts) = super::split_arn(&text, true) {
                let syntax = Syntax {
                    wildcards: true,
                    variables: true,
                    fold: false,
                };
                let cold = arena.cold.get_or_insert_with(Default::default);
                let parts = parts.map(|s| Self::build(cold, s, syntax, false));
                arena.parts.push((off, parts));
            }
        }
        p
    }

    /// For an ARN pattern with policy variables, its six parts as patterns,
    /// and the arena they are matched in.
    pub(crate) fn arn_parts<'a>(&self, arena: Arena<'a>) -> Option<(&'a [Pattern; 6], Arena<'a>)> {
        if !self.has_pieces() {
            return None;
        }
        let i = arena
            .parts
            .binary_search_by_key(&self.off, |(off, _)| *off)
            .ok()?;
        let parts = arena.parts.get(i).map(|(_, parts)| parts)?;
        Some((parts, arena.cold?.view()))
    }

    /// The same pattern with its text `text` bytes and its pieces `pieces`
    /// records further into its arena.
    pub(crate) fn rebased(&self, text: u32, pieces: u32) -> Self {
        let p = if self.has_pieces() {
            (self.pieces.0 + pieces, self.pieces.1 + pieces)
        } else {
            (0, 0)
        };
        Self {
            off: self.off + text,
            pieces: p,
            ..*self
        }
    }

    fn has_pieces(&self) -> bool {
        self.pieces.1 > self.pieces.0
    }

    /// The pattern's pieces (none without policy variables or escapes).
    fn pieces<'a>(&self, arena: Arena<'a>) -> impl Iterator<Item = Piece> + 'a {
        (self.pieces.0..self.pieces.1).filter_map(move |i| arena.piece(i))
    }

    /// The number of pieces.
    fn piece_count(&self) -> usize {
        self.pieces.1.saturating_sub(self.pieces.0) as usize
    }

    /// The pattern text as compiled, from its arena.
    pub fn text<'a>(&self, arena: &'a [u8]) -> &'a str {
        std::str::from_utf8(self.bytes(arena)).unwrap_or("")
    }

    /// The pattern text's bytes.
    #[inline(always)]
    fn bytes<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.off as usize;
        arena.get(start..start + self.len as usize).unwrap_or(&[])
    }

    /// Whether the pattern contains policy variables.
    pub fn has_variables(&self, arena: Arena<'_>) -> bool {
        self.pieces(arena).any(|p| matches!(p, Piece::Var(_)))
    }

    /// Whether every policy variable in the pattern has a value (or default).
    pub fn resolvable(&self, arena: Arena<'_>, ctx: &Context) -> bool {
        self.pieces(arena)
            .all(|p| !matches!(p, Piece::Var(v) if resolve(&v, arena, ctx).is_none()))
    }

    /// A pattern that matches nothing (for ARNs a policy type rejects).
    pub fn never(arena: &mut PatternArena, text: &str) -> Self {
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
        self.flags |= SHORT;
    }

    /// Whether the ARN pattern was filled in from fewer than six parts.
    pub fn is_short(&self) -> bool {
        self.flags & SHORT != 0
    }

    fn fold(&self) -> bool {
        self.flags & FOLD != 0
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
    #[inline(always)]
    pub fn matches(&self, arena: Arena<'_>, text: &str, ctx: &Context) -> bool {
        self.matches_bytes(arena, text.as_bytes(), ctx)
    }

    /// [`Self::matches`] on the bytes of a text.
    #[inline(always)]
    pub(crate) fn matches_bytes(&self, arena: Arena<'_>, text: &[u8], ctx: &Context) -> bool {
        self.matches_folding(arena, text, ctx, self.fold())
    }

    /// [`Self::matches_bytes`], comparing without regard to case if `fold`.
    #[inline(always)]
    fn matches_folding(&self, arena: Arena<'_>, text: &[u8], ctx: &Context, fold: bool) -> bool {
        // The common shapes inline, at the call site; the general matcher
        // on its own.
        let pat = self.bytes(arena.text);
        match self.shape {
            Shape::Never => false,
            Shape::Any => true,
            Shape::Exact => eq(fold, pat, text),
            Shape::Prefix => {
                let n = self.head as usize;
                match (pat.get(..n), text.get(..n)) {
                    (Some(p), Some(t)) => eq(fold, p, t),
                    _ => false,
                }
            }
            Shape::General => self.matches_general(arena, pat, text, ctx, fold),
        }
    }

    /// [`Self::matches`], given `text` and `text_lc`, the same lowercased. A
    /// pattern that folds case is lowercase itself: comparing it with
    /// `text_lc` byte for byte is comparing it with `text` without regard to
    /// case, in fewer steps. (Not with policy variables: their values are
    /// not lowercased.)
    #[inline(always)]
    pub fn matches_lowercase(
        &self,
        arena: Arena<'_>,
        text: &str,
        text_lc: &str,
        ctx: &Context,
    ) -> bool {
        self.matches_lowercase_bytes(arena, text, text_lc.as_bytes(), ctx)
    }

    /// [`Self::matches_lowercase`] with the lowercased text as bytes (ASCII
    /// letters lowercased in place, so no UTF-8 check is needed).
    #[inline(always)]
    pub(crate) fn matches_lowercase_bytes(
        &self,
        arena: Arena<'_>,
        text: &str,
        text_lc: &[u8],
        ctx: &Context,
    ) -> bool {
        if self.fold() && !self.has_pieces() {
            self.matches_folding(arena, text_lc, ctx, false)
        } else {
            self.matches(arena, text, ctx)
        }
    }

    /// The pattern with variables replaced from `ctx` (for explanations).
    pub fn render(&self, arena: Arena<'_>, ctx: &Context) -> String {
        if !self.has_pieces() {
            return self.text(arena.text).to_owned();
        }
        let mut out = String::new();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        for p in self.pieces(arena) {
            match p {
                Piece::Lit(off, len) => out.push_str(&text(arena.bytes_at((off, len)))),
                Piece::Star { .. } => out.push('*'),
                Piece::One { .. } => out.push('?'),
                Piece::Var(v) => match resolve(&v, arena, ctx) {
                    Some(s) => out.push_str(&text(s)),
                    None => {
                        out.push_str("${");
                        out.push_str(&text(arena.bytes_at(v.key)));
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}

/// Compares bytes, without regard to ASCII case with `fold`.
#[inline]
fn eq(fold: bool, a: &[u8], b: &[u8]) -> bool {
    if fold {
        a.eq_ignore_ascii_case(b)
    } else {
        same(a, b)
    }
}

fn resolve<'a>(v: &Var, arena: Arena<'a>, ctx: &'a Context) -> Option<&'a [u8]> {
    match ctx.single_hashed(v.hash, arena.bytes_at(v.key)) {
        Some(s) => Some(s),
        None => v.default.map(|d| arena.bytes_at(d)),
    }
}
