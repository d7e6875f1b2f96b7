//! The storage of compiled policies. A policy is compiled into typed
//! arrays (a [`Builder`]), then packed into a [`Pool`]: one allocation
//! holding every record and all the text a decision reads, section after
//! section in the order evaluation reads them, so that a decision reads
//! one run of memory, reached through one pointer.

use super::codec::{put, u32_at, u64_at};
use super::pattern::{
    Arena, Pattern, PatternArena, Piece, PATTERN, PATTERN_NARROW, PIECE, PIECE_NARROW,
};
use super::{CompiledCondition, HotStatement, Span};
use crate::ast::PrincipalKind;
use crate::eval::ip::Cidr;
use std::sync::Arc;

/// Compiled data as typed arrays, while policies are compiled or merged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Builder {
    /// What evaluation reads of each statement.
    pub hot: Vec<HotStatement>,
    /// Action, resource and condition patterns.
    pub patterns: Vec<Pattern>,
    /// Text of every pattern, condition key and principal entry, and the
    /// pieces of patterns with policy variables.
    pub arena: PatternArena,
    /// Conditions (one key under one operator each).
    pub conditions: Vec<CompiledCondition>,
    /// Condition values that are numbers (`f64` bits) or dates (epoch
    /// seconds).
    pub scalars: Vec<u64>,
    /// Condition values that are CIDR blocks.
    pub cidrs: Vec<Cidr>,
    /// Condition values that are bytes (`BinaryEquals`).
    pub blobs: Vec<Box<[u8]>>,
    /// `Principal` entries: kind and text in `text` (offset, length).
    pub principals: Vec<(PrincipalKind, u32, u32)>,
    /// Operator and key as written, per condition (explanations only).
    pub labels: Vec<(Box<str>, Box<str>)>,
}

/// The sizes of the packed records.
pub(super) const HOT: usize = 44;
/// A narrow statement record: spans as a `u16` start and a `u8` length.
pub(super) const HOT_NARROW: usize = 21;
pub(super) const CONDITION: usize = 24;
const SCALAR: usize = 8;
const CIDR: usize = 20;
const PRINCIPAL: usize = 12;

/// The sections of a packed pool, in order; their start offsets (and the
/// end of the last) make its header.
const SECTIONS: usize = 8;
/// The section starts, the end, then 1 if the records are narrow.
const HEADER: usize = 4 * (SECTIONS + 2);

/// What compiled policies share, ready for evaluation. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    /// Header, then hot statements, patterns, pieces, conditions,
    /// principals, scalars, CIDR blocks and text.
    // INVARIANT: everything a decision reads of a policy is in here, in one
    // allocation; what only explanations and rare cases read is in `cold`.
    bytes: Arc<[u8]>,
    cold: Arc<Cold>,
}

/// What a decision seldom or never reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cold {
    /// Condition values that are bytes (`BinaryEquals`).
    pub blobs: Vec<Box<[u8]>>,
    /// Operator and key as written, per condition (explanations only).
    pub labels: Vec<(Box<str>, Box<str>)>,
    /// ARN parts of ARN patterns with policy variables (see
    /// [`PatternArena::parts`]).
    pub parts: Vec<(u32, [Pattern; 6])>,
    /// The parts' text and pieces.
    pub arena: Option<Box<PatternArena>>,
}

impl Default for Pool {
    fn default() -> Self {
        Builder::default().freeze()
    }
}

/// Where a pool's sections start, from its header.
#[derive(Debug, Clone, Copy)]
struct Sections {
    hot: u32,
    patterns: u32,
    pieces: u32,
    conditions: u32,
    principals: u32,
    scalars: u32,
    cidrs: u32,
    text: u32,
    end: u32,
    /// Statement, pattern and piece records are narrow ([`HOT_NARROW`],
    /// [`PATTERN_NARROW`], [`PIECE_NARROW`] bytes): every record of the
    /// pool fits.
    narrow: bool,
}

/// A pool's sections, found once for the records of a decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    /// The whole pool.
    all: &'a [u8],
    /// Where the sections start in it (see [`Pool::bytes`]).
    at: Sections,
    /// Pieces and text, for matching patterns.
    pub arena: Arena<'a>,
    /// What a decision seldom reads.
    pub cold: &'a Cold,
}

impl Pool {
    /// A pool with no records, shared: what a policy holds until its
    /// records are packed (see [`super::Unpacked`]).
    pub fn empty() -> Self {
        static EMPTY: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
        EMPTY.get_or_init(Pool::default).clone()
    }

    /// The packed bytes (reading them ahead, telling pools apart).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether `v` is a view of this pool.
    #[inline]
    pub fn is(&self, v: &View<'_>) -> bool {
        std::ptr::eq(self.bytes.as_ptr(), v.all.as_ptr())
    }

    /// The sections.
    #[inline]
    pub fn view(&self) -> View<'_> {
        let b: &[u8] = &self.bytes;
        let header = b
            .get(..HEADER)
            .and_then(|h| <&[u8; HEADER]>::try_from(h).ok())
            .unwrap_or(&[0; HEADER]);
        let w = |i: usize| u32_at(header, 4 * i);
        let at = Sections {
            hot: w(0),
            patterns: w(1),
            pieces: w(2),
            conditions: w(3),
            principals: w(4),
            scalars: w(5),
            cidrs: w(6),
            text: w(7),
            end: w(8),
            narrow: w(9) != 0,
        };
        let section = |from: u32, to: u32| b.get(from as usize..to as usize).unwrap_or(&[]);
        View {
            all: b,
            at,
            arena: Arena {
                text: section(at.text, at.end),
                pieces: section(at.pieces, at.conditions),
                narrow: at.narrow,
                parts: &self.cold.parts,
                cold: self.cold.arena.as_deref(),
            },
            cold: &self.cold,
        }
    }

    /// The typed arrays again (to merge pools).
    pub fn thaw(&self) -> Builder {
        let v = self.view();
        let a = v.at;
        let all = |from: u32, to: u32, size: usize| 0..to.saturating_sub(from) / size as u32;
        Builder {
            hot: all(a.hot, a.patterns, if a.narrow { HOT_NARROW } else { HOT })
                .filter_map(|i| v.hot(i))
                .collect(),
            patterns: all(
                a.patterns,
                a.pieces,
                if a.narrow { PATTERN_NARROW } else { PATTERN },
            )
            .filter_map(|i| v.pattern(i))
            .collect(),
            arena: PatternArena {
                text: String::from_utf8_lossy(v.arena.text).into_owned(),
                pieces: if a.narrow {
                    v.arena
                        .pieces
                        .chunks_exact(PIECE_NARROW)
                        .filter_map(|r| v.arena.decode(r))
                        .flat_map(|p| p.encode())
                        .collect()
                } else {
                    v.arena.pieces.to_vec()
                },
                parts: self.cold.parts.clone(),
                cold: self.cold.arena.clone(),
                stored: Vec::new(),
            },
            conditions: all(a.conditions, a.principals, CONDITION)
                .filter_map(|i| v.condition(i))
                .collect(),
            scalars: all(a.scalars, a.cidrs, SCALAR)
                .filter_map(|i| v.scalar(i))
                .collect(),
            cidrs: all(a.cidrs, a.text, CIDR)
                .filter_map(|i| v.cidr(i))
                .collect(),
            blobs: self.cold.blobs.clone(),
            principals: all(a.principals, a.scalars, PRINCIPAL)
                .filter_map(|i| v.principal(i))
                .collect(),
            labels: self.cold.labels.clone(),
        }
    }
}

impl Builder {
    /// Packs the arrays into one allocation.
    pub fn freeze(self) -> Pool {
        let narrow_hot: Option<Vec<_>> = self.hot.iter().map(|h| h.encode_narrow()).collect();
        let narrow_patterns: Option<Vec<_>> =
            self.patterns.iter().map(|p| p.encode_narrow()).collect();
        let narrow_pieces: Option<Vec<_>> = self
            .arena
            .pieces
            .chunks_exact(PIECE)
            .map(|r| {
                r.first_chunk::<PIECE>()
                    .map(Piece::decode)
                    .and_then(|p| p.encode_narrow())
            })
            .collect();
        let narrow = match (narrow_hot, narrow_patterns, narrow_pieces) {
            (Some(h), Some(p), Some(q)) => Some((h, p, q)),
            _ => None,
        };
        let (hot_size, pattern_size) = match narrow {
            Some(_) => (HOT_NARROW, PATTERN_NARROW),
            None => (HOT, PATTERN),
        };
        let sizes = [
            self.hot.len() * hot_size,
            self.patterns.len() * pattern_size,
            match &narrow {
                Some((_, _, pieces)) => pieces.len() * PIECE_NARROW,
                None => self.arena.pieces.len(),
            },
            self.conditions.len() * CONDITION,
            self.principals.len() * PRINCIPAL,
            self.scalars.len() * SCALAR,
            self.cidrs.len() * CIDR,
            self.arena.text.len(),
        ];
        let mut starts = [0u32; SECTIONS + 1];
        let mut at = HEADER;
        for (start, size) in starts.iter_mut().zip(sizes.iter().chain([&0])) {
            *start = u32::try_from(at).unwrap_or(u32::MAX);
            at += size;
        }
        let mut out = Vec::with_capacity(at);
        for start in starts {
            out.extend_from_slice(&start.to_le_bytes());
        }
        out.extend_from_slice(&u32::from(narrow.is_some()).to_le_bytes());
        match narrow {
            Some((hot, patterns, pieces)) => {
                for h in &hot {
                    out.extend_from_slice(h);
                }
                for p in &patterns {
                    out.extend_from_slice(p);
                }
                for p in &pieces {
                    out.extend_from_slice(p);
                }
            }
            None => {
                for h in &self.hot {
                    out.extend_from_slice(&h.encode());
                }
                for p in &self.patterns {
                    out.extend_from_slice(&p.encode());
                }
                out.extend_from_slice(&self.arena.pieces);
            }
        }
        for c in &self.conditions {
            out.extend_from_slice(&c.encode());
        }
        for &(kind, off, len) in &self.principals {
            let mut r = [0u8; PRINCIPAL];
            r[0] = match kind {
                PrincipalKind::Aws => 0,
                PrincipalKind::Service => 1,
                PrincipalKind::Federated => 2,
                PrincipalKind::CanonicalUser => 3,
            };
            put(&mut r, 4, &off.to_le_bytes());
            put(&mut r, 8, &len.to_le_bytes());
            out.extend_from_slice(&r);
        }
        for s in &self.scalars {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for c in &self.cidrs {
            out.extend_from_slice(&c.encode());
        }
        out.extend_from_slice(self.arena.text.as_bytes());
        Pool {
            bytes: out.into(),
            cold: Arc::new(Cold {
                blobs: self.blobs,
                labels: self.labels,
                parts: self.arena.parts,
                arena: self.arena.cold,
            }),
        }
    }
}

/// Record `i` of `N` bytes in the section at `base` of `all`.
// INVARIANT: spans in records and policies only name records of their
// section, so `i` stays inside it (past the whole pool, nothing is read).
#[inline(always)]
fn record<const N: usize>(all: &[u8], base: u32, i: u32) -> Option<&[u8; N]> {
    let at = base as usize + i as usize * N;
    all.get(at..at + N)
        .and_then(|r| <&[u8; N]>::try_from(r).ok())
}

/// A record kept narrow or wide.
pub(crate) trait Record: Sized {
    /// Reads record `i` of the section at `base`.
    fn read(all: &[u8], narrow: bool, base: u32, i: u32) -> Option<Self>;
}

impl Record for Pattern {
    #[inline(always)]
    fn read(all: &[u8], narrow: bool, base: u32, i: u32) -> Option<Self> {
        if narrow {
            record::<PATTERN_NARROW>(all, base, i).map(Pattern::decode_narrow)
        } else {
            record::<PATTERN>(all, base, i).map(Pattern::decode)
        }
    }
}

impl Record for HotStatement {
    #[inline(always)]
    fn read(all: &[u8], narrow: bool, base: u32, i: u32) -> Option<Self> {
        if narrow {
            record::<HOT_NARROW>(all, base, i).map(HotStatement::decode_narrow)
        } else {
            record::<HOT>(all, base, i).map(HotStatement::decode)
        }
    }
}

/// The records of a span, in order.
pub(crate) struct Records<'a, T> {
    all: &'a [u8],
    base: u32,
    next: u32,
    end: u32,
    narrow: bool,
    of: std::marker::PhantomData<T>,
}

impl<'a, T> Records<'a, T> {
    #[inline(always)]
    fn new(view: &View<'a>, base: u32, span: Span) -> Self {
        Self {
            all: view.all,
            base,
            next: span.start,
            end: span.end,
            narrow: view.at.narrow,
            of: std::marker::PhantomData,
        }
    }
}

impl<T: Record> Iterator for Records<'_, T> {
    type Item = T;

    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next += 1;
        T::read(self.all, self.narrow, self.base, i)
    }
}

impl<'a> View<'a> {
    /// Statement record `i`.
    #[inline(always)]
    pub fn hot(&self, i: u32) -> Option<HotStatement> {
        HotStatement::read(self.all, self.at.narrow, self.at.hot, i)
    }

    /// Pattern `i`.
    #[inline(always)]
    pub fn pattern(&self, i: u32) -> Option<Pattern> {
        Pattern::read(self.all, self.at.narrow, self.at.patterns, i)
    }

    /// The patterns of a span.
    #[inline(always)]
    pub fn patterns(&self, span: Span) -> Records<'a, Pattern> {
        Records::new(self, self.at.patterns, span)
    }

    /// The statement records of a span.
    #[inline(always)]
    pub fn hots(&self, span: Span) -> Records<'a, HotStatement> {
        Records::new(self, self.at.hot, span)
    }

    /// Condition `i`.
    #[inline(always)]
    pub fn condition(&self, i: u32) -> Option<CompiledCondition> {
        record::<CONDITION>(self.all, self.at.conditions, i).map(CompiledCondition::decode)
    }

    /// The conditions of a span.
    #[inline(always)]
    pub fn conditions(&self, span: Span) -> impl Iterator<Item = CompiledCondition> + 'a {
        let s = *self;
        (span.start..span.end).filter_map(move |i| s.condition(i))
    }

    /// Scalar `i`.
    #[inline(always)]
    pub fn scalar(&self, i: u32) -> Option<u64> {
        record::<SCALAR>(self.all, self.at.scalars, i).map(|r| u64_at(r, 0))
    }

    /// The scalars of a span.
    pub fn scalars(&self, span: Span) -> impl Iterator<Item = u64> + 'a {
        let s = *self;
        (span.start..span.end).filter_map(move |i| s.scalar(i))
    }

    /// CIDR block `i`.
    pub fn cidr(&self, i: u32) -> Option<Cidr> {
        record::<CIDR>(self.all, self.at.cidrs, i).map(Cidr::decode)
    }

    /// The CIDR blocks of a span.
    pub fn cidrs(&self, span: Span) -> impl Iterator<Item = Cidr> + 'a {
        let s = *self;
        (span.start..span.end).filter_map(move |i| s.cidr(i))
    }

    /// Principal entry `i`: kind, offset and length of its text.
    #[inline(always)]
    pub fn principal(&self, i: u32) -> Option<(PrincipalKind, u32, u32)> {
        let r = record::<PRINCIPAL>(self.all, self.at.principals, i)?;
        let kind = match r[0] {
            0 => PrincipalKind::Aws,
            1 => PrincipalKind::Service,
            2 => PrincipalKind::Federated,
            _ => PrincipalKind::CanonicalUser,
        };
        Some((kind, u32_at(r, 4), u32_at(r, 8)))
    }

    /// The principal entries of a span, with their text.
    #[inline(always)]
    pub fn principals(&self, span: Span) -> impl Iterator<Item = (PrincipalKind, &'a [u8])> + 'a {
        let s = *self;
        (span.start..span.end)
            .filter_map(move |i| s.principal(i))
            .map(move |(kind, off, len)| (kind, s.bytes_at(off, len)))
    }

    /// The text at `(offset, length)`.
    #[inline(always)]
    pub fn bytes_at(&self, off: u32, len: u32) -> &'a [u8] {
        let off = off as usize;
        self.arena.text.get(off..off + len as usize).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::CompiledPolicy;
    use crate::eval::{decide, Context, EvalInput, Outcome, Request};

    fn allowed(p: &CompiledPolicy, action: &str, resource: &str, ctx: Context) -> bool {
        let req = Request::new(
            action,
            resource,
            None,
            "arn:aws:iam::111111111111:user/alice",
            ctx,
        )
        .unwrap();
        decide(&EvalInput::new(&req, std::slice::from_ref(p))) == Outcome::Allowed
    }

    #[test]
    fn wide_records_when_narrow_ones_do_not_fit() {
        // 300 actions: more than a narrow record's span holds.
        let actions: Vec<String> = (0..300).map(|i| format!("\"s3:Action{i}\"")).collect();
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:Action7","Resource":"arn:aws:s3:::b/x"}},{{"Effect":"Allow","Action":[{}],"Resource":"arn:aws:s3:::${{aws:username}}/*"}}]}}"#,
            actions.join(",")
        );
        let wide = CompiledPolicy::parse(&text).unwrap();
        assert!(!wide.pool.view().at.narrow);
        let few = text.replace(&actions[8..].join(","), "\"s3:Action299\"");
        let narrow = CompiledPolicy::parse(&few).unwrap();
        assert!(narrow.pool.view().at.narrow);
        let ctx = || Context::from_pairs([("aws:username", vec!["alice"])]);
        for p in [&wide, &narrow] {
            assert!(allowed(p, "s3:Action299", "arn:aws:s3:::alice/k", ctx()));
            assert!(allowed(p, "s3:action7", "arn:aws:s3:::alice/k", ctx()));
            assert!(!allowed(p, "s3:Action7", "arn:aws:s3:::b/x", ctx()));
            assert!(!allowed(p, "s3:Action300", "arn:aws:s3:::alice/k", ctx()));
            assert!(!allowed(p, "s3:Action299", "arn:aws:s3:::bob/k", ctx()));
        }
        // Text past a narrow pattern's `u16` offset: wide records too.
        let long: Vec<String> = (0..700)
            .map(|i| format!("\"arn:aws:s3:::{i:0>90}/*\""))
            .collect();
        let far = CompiledPolicy::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            long.join(",")
        ))
        .unwrap();
        assert!(!far.pool.view().at.narrow);
        let last = format!("arn:aws:s3:::{:0>90}/k", 699);
        assert!(allowed(&far, "s3:GetObject", &last, Context::default()));
        assert!(!allowed(
            &far,
            "s3:GetObject",
            "arn:aws:s3:::x/k",
            Context::default()
        ));
        // A variable whose key is longer than a narrow piece's `u8` length.
        let tag = format!("aws:PrincipalTag/{}", "t".repeat(300));
        let long_key = CompiledPolicy::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${{{tag}}}/*"}}]}}"#
        ))
        .unwrap();
        assert!(!long_key.pool.view().at.narrow);
        let tags = || Context::from_pairs([(tag.as_str(), vec!["blue"])]);
        assert!(allowed(
            &long_key,
            "s3:GetObject",
            "arn:aws:s3:::b/blue/k",
            tags()
        ));
        assert!(!allowed(
            &long_key,
            "s3:GetObject",
            "arn:aws:s3:::b/red/k",
            tags()
        ));
        // Merging pools keeps every record.
        let mut both = [wide.clone(), narrow.clone()];
        crate::compile::share_pool(both.iter_mut());
        for p in &both {
            assert!(allowed(p, "s3:Action299", "arn:aws:s3:::alice/k", ctx()));
            assert!(!allowed(p, "s3:Action7", "arn:aws:s3:::b/x", ctx()));
        }
    }
}
