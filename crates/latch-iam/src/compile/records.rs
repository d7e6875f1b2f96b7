//! The fixed-size records a [`super::Pool`] packs statements and
//! conditions into (little-endian; see `codec`).

use super::codec::{put, u32_at, u64_at};
use super::pool::{CONDITION, HOT, HOT_NARROW};
use super::{Bools, CompiledCondition, CondValues, HotStatement, Span};
use crate::ast::{Effect, Operator, SetQualifier, ALL_BASE_OPERATORS};

impl HotStatement {
    pub(super) fn encode(&self) -> [u8; HOT] {
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
    pub(super) fn decode(r: &[u8; HOT]) -> Self {
        let span = |i: usize| Span {
            start: u32_at(r, 8 + 8 * i),
            end: u32_at(r, 12 + 8 * i),
        };
        Self::with_flags(u64_at(r, 0), [span(0), span(1), span(2), span(3)], r[40])
    }

    /// A record from its mask, spans and flags.
    #[inline(always)]
    fn with_flags(service_mask: u64, spans: [Span; 4], f: u8) -> Self {
        let bit = |n: u8| f & (1 << n) != 0;
        let [actions, resource_span, conditions, principals] = spans;
        Self {
            service_mask,
            actions,
            resource_span,
            conditions,
            principals,
            resource_negated: bit(3).then_some(bit(4)),
            effect: if bit(0) { Effect::Deny } else { Effect::Allow },
            not_action: bit(1),
            broken: bit(2),
            principal: bit(5).then_some((bit(6), bit(7))),
        }
    }
}

impl HotStatement {
    /// The record in [`HOT_NARROW`] bytes, if its spans fit.
    pub(super) fn encode_narrow(&self) -> Option<[u8; HOT_NARROW]> {
        let full = self.encode();
        let mut r = [0u8; HOT_NARROW];
        put(&mut r, 0, &self.service_mask.to_le_bytes());
        let spans = [
            self.actions,
            self.resource_span,
            self.conditions,
            self.principals,
        ];
        for (i, s) in spans.iter().enumerate() {
            let start = u16::try_from(s.start).ok()?;
            let len = u8::try_from(s.end.checked_sub(s.start)?).ok()?;
            put(&mut r, 8 + 3 * i, &start.to_le_bytes());
            put(&mut r, 10 + 3 * i, &[len]);
        }
        r[20] = full[40];
        Some(r)
    }

    #[inline(always)]
    pub(super) fn decode_narrow(r: &[u8; HOT_NARROW]) -> Self {
        let span = |i: usize| {
            let start = u32::from(super::codec::u16_at(r, 8 + 3 * i));
            let len = r.get(10 + 3 * i).copied().unwrap_or(0);
            Span {
                start,
                end: start + u32::from(len),
            }
        };
        Self::with_flags(u64_at(r, 0), [span(0), span(1), span(2), span(3)], r[20])
    }
}

impl CompiledCondition {
    pub(super) fn encode(&self) -> [u8; CONDITION] {
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
    pub(super) fn decode(r: &[u8; CONDITION]) -> Self {
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
