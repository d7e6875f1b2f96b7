//! The storage of compiled policies. A policy is compiled into typed
//! arrays (a [`Builder`]), then packed into a [`Pool`]: one allocation
//! holding every record and all the text a decision reads, section after
//! section in the order evaluation reads them, so that a decision reads
//! one run of memory, reached through one pointer.

use super::codec::{put, u32_at, u64_at};
use super::pattern::{Arena, Pattern, PatternArena, PATTERN};
use super::{Bools, CompiledCondition, CondValues, HotStatement, Span};
use crate::ast::{Effect, Operator, PrincipalKind, SetQualifier, ALL_BASE_OPERATORS};
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
const HOT: usize = 44;
const CONDITION: usize = 24;
const SCALAR: usize = 8;
const CIDR: usize = 20;
const PRINCIPAL: usize = 12;

/// The sections of a packed pool, in order; their start offsets (and the
/// end of the last) make its header.
const SECTIONS: usize = 8;
const HEADER: usize = 4 * (SECTIONS + 1);

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
        };
        let section = |from: u32, to: u32| b.get(from as usize..to as usize).unwrap_or(&[]);
        View {
            all: b,
            at,
            arena: Arena {
                text: section(at.text, at.end),
                pieces: section(at.pieces, at.conditions),
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
            hot: all(a.hot, a.patterns, HOT)
                .filter_map(|i| v.hot(i))
                .collect(),
            patterns: all(a.patterns, a.pieces, PATTERN)
                .filter_map(|i| v.pattern(i))
                .collect(),
            arena: PatternArena {
                text: String::from_utf8_lossy(v.arena.text).into_owned(),
                pieces: v.arena.pieces.to_vec(),
                parts: self.cold.parts.clone(),
                cold: self.cold.arena.clone(),
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
        let sizes = [
            self.hot.len() * HOT,
            self.patterns.len() * PATTERN,
            self.arena.pieces.len(),
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
        for h in &self.hot {
            out.extend_from_slice(&h.encode());
        }
        for p in &self.patterns {
            out.extend_from_slice(&p.encode());
        }
        out.extend_from_slice(&self.arena.pieces);
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

/// The records of `span` in the section at `base` of `all`: one bounds
/// check for the span rather than one per record.
#[inline(always)]
fn records<const N: usize>(all: &[u8], base: u32, span: Span) -> impl Iterator<Item = &[u8; N]> {
    let base = base as usize;
    let bytes = all
        .get(base + span.start as usize * N..base + span.end as usize * N)
        .unwrap_or(&[]);
    bytes.chunks_exact(N).filter_map(|r| r.first_chunk::<N>())
}

impl<'a> View<'a> {
    /// Statement record `i`.
    #[inline(always)]
    pub fn hot(&self, i: u32) -> Option<HotStatement> {
        record::<HOT>(self.all, self.at.hot, i).map(HotStatement::decode)
    }

    /// Pattern `i`.
    #[inline(always)]
    pub fn pattern(&self, i: u32) -> Option<Pattern> {
        record::<PATTERN>(self.all, self.at.patterns, i).map(Pattern::decode)
    }

    /// The patterns of a span.
    #[inline(always)]
    pub fn patterns(&self, span: Span) -> impl Iterator<Item = Pattern> + 'a {
        let s = *self;
        (span.start..span.end).filter_map(move |i| s.pattern(i))
    }

    /// [`Self::patterns`] for longer spans (a statement's actions): one
    /// bounds check for the span rather than one per pattern.
    #[inline(always)]
    pub fn pattern_run(&self, span: Span) -> impl Iterator<Item = Pattern> + 'a {
        records::<PATTERN>(self.all, self.at.patterns, span).map(Pattern::decode)
    }

    /// The statement records of a span.
    #[inline(always)]
    pub fn hots(&self, span: Span) -> impl Iterator<Item = HotStatement> + 'a {
        records::<HOT>(self.all, self.at.hot, span).map(HotStatement::decode)
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

impl HotStatement {
    fn encode(&self) -> [u8; HOT] {
        let mut r = [0u8; HOT];
        put(&mut r, 0, &self.service_mask.to_le_bytes());
        let spans = [
            self.actions,
            self.resource_span,
            self.conditions,
            self.principals,
        ];
        for (i, s) in spans.iter().enumerate() {
            put(&mut r, 8 + 8 * i, &s.start.to_le_bytes());
            put(&mut r, 12 + 8 * i, &s.end.to_le_bytes());
        }
        let bit = |b: bool, n: u8| u8::from(b) << n;
        r[40] = bit(self.effect == Effect::Deny, 0)
            | bit(self.not_action, 1)
            | bit(self.broken, 2)
            | bit(self.resource_negated.is_some(), 3)
            | bit(self.resource_negated == Some(true), 4)
            | bit(self.principal.is_some(), 5)
            | bit(self.principal.is_some_and(|p| p.0), 6)
            | bit(self.principal.is_some_and(|p| p.1), 7);
        r
    }

    #[inline(always)]
    fn decode(r: &[u8; HOT]) -> Self {
        let span = |i: usize| Span {
            start: u32_at(r, 8 + 8 * i),
            end: u32_at(r, 12 + 8 * i),
        };
        let f = r[40];
        let bit = |n: u8| f & (1 << n) != 0;
        Self {
            service_mask: u64_at(r, 0),
            actions: span(0),
            resource_span: span(1),
            conditions: span(2),
            principals: span(3),
            resource_negated: bit(3).then_some(bit(4)),
            effect: if bit(0) { Effect::Deny } else { Effect::Allow },
            not_action: bit(1),
            broken: bit(2),
            principal: bit(5).then_some((bit(6), bit(7))),
        }
    }
}

impl CompiledCondition {
    fn encode(&self) -> [u8; CONDITION] {
        let mut r = [0u8; CONDITION];
        let op = self.operator;
        r[0] = ALL_BASE_OPERATORS
            .iter()
            .position(|b| *b == op.base)
            .and_then(|i| u8::try_from(i).ok())
            .unwrap_or(u8::MAX);
        r[1] = match op.set {
            None => 0,
            Some(SetQualifier::ForAllValues) => 1,
            Some(SetQualifier::ForAnyValue) => 2,
        };
        r[2] = u8::from(op.if_exists);
        let bools = |b: Bools| Span {
            start: u32::from(b.has_true),
            end: u32::from(b.has_false),
        };
        let (tag, span) = match self.values {
            CondValues::Strings(s) => (0, s),
            CondValues::Numbers(s) => (1, s),
            CondValues::Dates(s) => (2, s),
            CondValues::Bools(b) => (3, bools(b)),
            CondValues::Binary(s) => (4, s),
            CondValues::Cidrs(s) => (5, s),
            CondValues::Arns(s) => (6, s),
            CondValues::Null(b) => (7, bools(b)),
        };
        r[3] = tag;
        put(&mut r, 4, &self.key.0.to_le_bytes());
        put(&mut r, 8, &self.key.1.to_le_bytes());
        put(&mut r, 12, &self.key_hash.to_le_bytes());
        put(&mut r, 16, &span.start.to_le_bytes());
        put(&mut r, 20, &span.end.to_le_bytes());
        r
    }

    #[inline(always)]
    fn decode(r: &[u8; CONDITION]) -> Self {
        let span = Span {
            start: u32_at(r, 16),
            end: u32_at(r, 20),
        };
        let bools = Bools {
            has_true: span.start != 0,
            has_false: span.end != 0,
        };
        // An unknown operator is never stored (such a condition breaks its
        // statement instead); `Null` stands in for an unreadable byte.
        let base = ALL_BASE_OPERATORS
            .get(usize::from(r[0]))
            .copied()
            .unwrap_or(crate::ast::BaseOperator::Null);
        Self {
            operator: Operator {
                set: match r[1] {
                    1 => Some(SetQualifier::ForAllValues),
                    2 => Some(SetQualifier::ForAnyValue),
                    _ => None,
                },
                base,
                if_exists: r[2] != 0,
            },
            key: (u32_at(r, 4), u32_at(r, 8)),
            key_hash: u32_at(r, 12),
            values: match r[3] {
                0 => CondValues::Strings(span),
                1 => CondValues::Numbers(span),
                2 => CondValues::Dates(span),
                3 => CondValues::Bools(bools),
                4 => CondValues::Binary(span),
                5 => CondValues::Cidrs(span),
                6 => CondValues::Arns(span),
                _ => CondValues::Null(bools),
            },
        }
    }
}
