//! Compiles a parsed policy once into the form evaluation uses: lowercased
//! action patterns, ARN patterns split into their six parts, condition values
//! parsed into numbers, dates, CIDR blocks and so on. Matching a request
//! against a compiled policy never re-parses and, except for policy variables
//! in wildcard positions, never allocates.

mod err;
pub mod pattern;

pub use err::Broken;

use crate::ast::{
    BaseOperator, ConditionValue, Effect, Operator, Policy, Principal, PrincipalKind, Statement,
};
use crate::eval::date::parse_date;
use crate::eval::ip::Cidr;
use crate::validate::PolicyType;
use base64::Engine;
use pattern::{Arena, Pattern, PatternArena, Syntax};
use std::sync::Arc;

/// A policy ready for evaluation. Cheap to share between threads.
///
/// Everything a decision reads sits in a few contiguous arrays of a
/// [`Pool`]: compact statement records, their patterns, their conditions,
/// principal entries and one text arena that all text lives in. Policies
/// decided together (a batch case) share one pool, so a decision touches few
/// cache lines, one after another.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub(crate) statements: Vec<CompiledStatement>,
    pub(crate) pool: Arc<Pool>,
    /// This policy's records in `pool.hot`, one per statement, in order.
    pub(crate) hot: Span,
    pub(crate) source: Box<Policy>,
}

/// The shared storage of compiled policies.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pool {
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

/// What a decision reads of a statement, in one small record (48 bytes:
/// its position in the policy is its position among the policy's records,
/// and `Resource` is a span and a one-byte flag rather than an `Option`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HotStatement {
    /// See [`CompiledStatement::service_mask`].
    pub service_mask: u64,
    pub actions: Span,
    /// The ARN patterns of `Resource` / `NotResource` (see [`Self::resources`]).
    resource_span: Span,
    pub conditions: Span,
    /// `Principal` entries in `Pool::principals`.
    pub principals: Span,
    /// `None`: no `Resource`; `Some(true)`: `NotResource`.
    resource_negated: Option<bool>,
    pub effect: Effect,
    pub not_action: bool,
    /// Some part cannot be evaluated.
    pub broken: bool,
    /// `Principal` / `NotPrincipal`: (negated, `*`).
    pub principal: Option<(bool, bool)>,
}

impl Pool {
    /// The text at `(offset, length)`.
    pub fn str_at(&self, off: u32, len: u32) -> &str {
        let off = off as usize;
        self.arena.text.get(off..off + len as usize).unwrap_or("")
    }

    /// What patterns are matched against.
    pub fn arena(&self) -> Arena<'_> {
        self.arena.view()
    }
}

/// A range of indices into a [`Pool`] array.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    fn of(start: usize, end: usize) -> Self {
        Self {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The slice of `items` this span covers.
    pub fn of_slice<T>(self, items: &[T]) -> &[T] {
        items
            .get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

impl CompiledPolicy {
    /// Compiles an identity-based policy (or a boundary or session policy).
    pub fn new(policy: Policy) -> Self {
        Self::for_type(policy, PolicyType::Identity)
    }

    /// Compiles a policy of the given type. The type decides how `Resource`
    /// ARNs with fewer than six parts read: identity-based, boundary and
    /// session policies fill the missing parts with `*`; resource-based
    /// policies only when the ARN has a wildcard, SCPs only when it ends in
    /// one; RCPs never. An ARN not filled in matches nothing, and a
    /// `NotResource` holding one never applies.
    pub fn for_type(policy: Policy, kind: PolicyType) -> Self {
        let vars = policy.variables_enabled();
        let mut pool = Pool::default();
        let statements = policy
            .statements
            .iter()
            .enumerate()
            .map(|(i, s)| compile_statement(&mut pool, i, s, vars, kind))
            .collect();
        pool.arena.text.shrink_to_fit();
        Self {
            statements,
            hot: Span::of(0, pool.hot.len()),
            pool: Arc::new(pool),
            source: Box::new(policy),
        }
    }

    /// Parses and compiles policy text.
    pub fn parse(text: &str) -> Result<Self, crate::ParseError> {
        Ok(Self::new(Policy::parse(text)?))
    }

    /// Copies the compiled data into fresh, exactly sized allocations made
    /// one after another, so that the arrays a decision reads sit close
    /// together in memory (after parsing, they are interleaved with the
    /// syntax tree's allocations).
    pub fn repack(&mut self) {
        share_pool([self]);
    }

    /// The policy this was compiled from.
    pub fn source(&self) -> &Policy {
        &self.source
    }

    /// The compiled statements.
    pub fn statements(&self) -> &[CompiledStatement] {
        &self.statements
    }
}

/// A compiled statement.
#[derive(Debug, Clone)]
pub struct CompiledStatement {
    /// Position in the policy, from 0.
    pub index: usize,
    /// `Effect`.
    pub effect: Effect,
    /// `NotAction` rather than `Action`.
    pub(crate) not_action: bool,
    /// Action patterns in the pool.
    pub(crate) actions: Span,
    /// Bits of the service prefixes the `Action` patterns can match (all
    /// bits when a pattern can match any service, or for `NotAction`): a
    /// request whose service bit is not set skips the patterns.
    pub(crate) service_mask: u64,
    /// `Resource` / `NotResource`: (negated, ARN patterns in the pool).
    pub(crate) resources: Option<(bool, Span)>,
    /// Conditions in the pool.
    pub(crate) conditions: Span,
    pub(crate) principal: Option<Box<CompiledPrincipal>>,
    /// `Sid`, if any.
    pub sid: Option<Box<str>>,
    /// Parts that cannot be evaluated.
    pub broken: Box<[Broken]>,
}

/// Moves the compiled data of `policies` into one new pool that they all
/// share, in the order given (the order evaluation reads them), with exactly
/// sized arrays allocated one after another. A pool that several of the
/// policies already share is copied once.
pub(crate) fn share_pool<'a>(policies: impl IntoIterator<Item = &'a mut CompiledPolicy>) {
    let mut policies: Vec<&mut CompiledPolicy> = policies.into_iter().collect();
    // Source pools, each once, with where their arrays start in the new one.
    let mut sources: Vec<(*const Pool, Offsets)> = Vec::new();
    let mut size = Offsets::default();
    for p in &policies {
        let ptr = Arc::as_ptr(&p.pool);
        if sources.iter().all(|(q, _)| *q != ptr) {
            sources.push((ptr, size));
            size = size.plus(&p.pool);
        }
    }
    let mut pool = Pool {
        hot: Vec::with_capacity(size.hot as usize),
        patterns: Vec::with_capacity(size.patterns as usize),
        arena: PatternArena {
            text: String::with_capacity(size.text as usize),
            pieces: Vec::with_capacity(size.pieces as usize),
            parts: Vec::with_capacity(size.parts as usize),
            cold: None,
        },
        conditions: Vec::with_capacity(size.conditions as usize),
        scalars: Vec::with_capacity(size.scalars as usize),
        cidrs: Vec::with_capacity(size.cidrs as usize),
        blobs: Vec::with_capacity(size.blobs as usize),
        principals: Vec::with_capacity(size.principals as usize),
        labels: Vec::with_capacity(size.conditions as usize),
    };
    let mut copied: Vec<*const Pool> = Vec::new();
    for p in &policies {
        let ptr = Arc::as_ptr(&p.pool);
        if copied.contains(&ptr) {
            continue;
        }
        copied.push(ptr);
        let at = sources
            .iter()
            .find(|(q, _)| *q == ptr)
            .map(|(_, o)| *o)
            .unwrap_or_default();
        let src: &Pool = &p.pool;
        pool.arena.text.push_str(&src.arena.text);
        pool.arena
            .pieces
            .extend(src.arena.pieces.iter().map(|x| x.rebased(at.text)));
        pool.arena
            .parts
            .extend(src.arena.parts.iter().map(|(off, parts)| {
                let parts = parts.map(|p| p.rebased(at.cold_text, at.cold_pieces));
                (off + at.text, parts)
            }));
        if let Some(src_cold) = &src.arena.cold {
            let cold = pool.arena.cold.get_or_insert_with(Default::default);
            cold.text.push_str(&src_cold.text);
            cold.pieces
                .extend(src_cold.pieces.iter().map(|x| x.rebased(at.cold_text)));
        }
        pool.patterns
            .extend(src.patterns.iter().map(|x| x.rebased(at.text, at.pieces)));
        pool.conditions
            .extend(src.conditions.iter().map(|c| c.rebased(&at)));
        pool.scalars.extend_from_slice(&src.scalars);
        pool.cidrs.extend_from_slice(&src.cidrs);
        pool.blobs.extend(src.blobs.iter().cloned());
        pool.principals
            .extend(src.principals.iter().map(|&(k, o, l)| (k, o + at.text, l)));
        pool.hot.extend(src.hot.iter().map(|h| h.rebased(&at)));
    }
    // The labels are only for explanations: moved rather than copied, so
    // that no small allocations land among the arrays above.
    let mut taken: Vec<*const Pool> = Vec::new();
    for p in &mut policies {
        let ptr = Arc::as_ptr(&p.pool);
        if taken.contains(&ptr) {
            continue;
        }
        taken.push(ptr);
        match Arc::get_mut(&mut p.pool) {
            Some(src) => pool.labels.append(&mut src.labels),
            None => pool.labels.extend(p.pool.labels.iter().cloned()),
        }
    }
    let pool = Arc::new(pool);
    for p in &mut policies {
        let ptr = Arc::as_ptr(&p.pool);
        let at = sources
            .iter()
            .find(|(q, _)| *q == ptr)
            .map(|(_, o)| *o)
            .unwrap_or_default();
        p.hot = p.hot.plus(at.hot);
        for s in &mut p.statements {
            s.actions = s.actions.plus(at.patterns);
            if let Some((_, span)) = &mut s.resources {
                *span = span.plus(at.patterns);
            }
            s.conditions = s.conditions.plus(at.conditions);
        }
    }
    for p in &mut policies {
        p.pool = Arc::clone(&pool);
    }
}

/// Where the arrays of one pool start inside another.
#[derive(Debug, Clone, Copy, Default)]
struct Offsets {
    hot: u32,
    patterns: u32,
    text: u32,
    pieces: u32,
    parts: u32,
    cold_text: u32,
    cold_pieces: u32,
    conditions: u32,
    scalars: u32,
    cidrs: u32,
    blobs: u32,
    principals: u32,
}

impl Offsets {
    fn plus(self, pool: &Pool) -> Self {
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Self {
            hot: self.hot + n(pool.hot.len()),
            patterns: self.patterns + n(pool.patterns.len()),
            text: self.text + n(pool.arena.text.len()),
            pieces: self.pieces + n(pool.arena.pieces.len()),
            parts: self.parts + n(pool.arena.parts.len()),
            cold_text: self.cold_text + n(pool.arena.cold.as_ref().map_or(0, |c| c.text.len())),
            cold_pieces: self.cold_pieces
                + n(pool.arena.cold.as_ref().map_or(0, |c| c.pieces.len())),
            conditions: self.conditions + n(pool.conditions.len()),
            scalars: self.scalars + n(pool.scalars.len()),
            cidrs: self.cidrs + n(pool.cidrs.len()),
            blobs: self.blobs + n(pool.blobs.len()),
            principals: self.principals + n(pool.principals.len()),
        }
    }
}

impl Span {
    fn plus(self, by: u32) -> Self {
        Self {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

impl HotStatement {
    /// `Resource` / `NotResource`: (negated, ARN patterns).
    pub fn resources(&self) -> Option<(bool, Span)> {
        self.resource_negated.map(|n| (n, self.resource_span))
    }

    fn rebased(&self, at: &Offsets) -> Self {
        Self {
            actions: self.actions.plus(at.patterns),
            resource_span: self.resource_span.plus(at.patterns),
            conditions: self.conditions.plus(at.conditions),
            principals: self.principals.plus(at.principals),
            ..*self
        }
    }
}

impl CompiledCondition {
    fn rebased(&self, at: &Offsets) -> Self {
        let values = match self.values {
            CondValues::Strings(s) => CondValues::Strings(s.plus(at.patterns)),
            CondValues::Arns(s) => CondValues::Arns(s.plus(at.patterns)),
            CondValues::Numbers(s) => CondValues::Numbers(s.plus(at.scalars)),
            CondValues::Dates(s) => CondValues::Dates(s.plus(at.scalars)),
            CondValues::Cidrs(s) => CondValues::Cidrs(s.plus(at.cidrs)),
            CondValues::Binary(s) => CondValues::Binary(s.plus(at.blobs)),
            other @ (CondValues::Bools(_) | CondValues::Null(_)) => other,
        };
        Self {
            operator: self.operator,
            key: (self.key.0 + at.text, self.key.1),
            key_hash: self.key_hash,
            values,
        }
    }
}

/// Splits `arn:partition:service:region:account:resource` at its first five
/// colons, not counting colons inside `${…}` when variables are on.
pub(crate) fn split_arn(text: &str, variables: bool) -> Option<[&str; 6]> {
    let mut out = [""; 6];
    let mut start = 0;
    let mut n = 0;
    let mut depth = 0usize;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() && n < 5 {
        match b.get(i) {
            Some(b'$') if variables && b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            Some(b'}') if depth > 0 => depth -= 1,
            Some(b':') if depth == 0 => {
                *out.get_mut(n)? = text.get(start..i)?;
                n += 1;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if n < 5 {
        return None;
    }
    *out.get_mut(5)? = text.get(start..)?;
    Some(out)
}

/// Whether a `Resource` ARN is read by this policy type (always, unless it
/// has fewer than six parts; see [`CompiledPolicy::for_type`]).
fn short_arn_accepted(text: &str, variables: bool, kind: PolicyType) -> bool {
    if !text.starts_with("arn:") || split_arn(text, variables).is_some() {
        return true;
    }
    match kind {
        PolicyType::Identity | PolicyType::Boundary | PolicyType::Session | PolicyType::Trust => {
            true
        }
        PolicyType::Resource => text.contains('*'),
        PolicyType::Scp => text
            .rsplit(':')
            .next()
            .is_some_and(|last| last.ends_with('*')),
        PolicyType::Rcp => false,
    }
}

/// The bit of a service prefix in a statement's service mask (FNV-1a of the
/// lowercased prefix, modulo 64).
pub(crate) fn service_bit(service: &str) -> u64 {
    let h = service.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3)
    });
    1u64 << (h % 64)
}

/// Pads a `Resource` ARN with fewer than six parts with `*` parts
/// (`arn:aws:sns:*` reads as `arn:aws:sns:*:*:*`), as iam-simulate, checked
/// against AWS, does for identity-based policies.
pub(crate) fn pad_arn(text: &str, variables: bool) -> std::borrow::Cow<'_, str> {
    if !text.starts_with("arn:") || split_arn(text, variables).is_some() {
        return text.into();
    }
    let mut out = text.to_owned();
    while split_arn(&out, variables).is_none() {
        out.push_str(":*");
    }
    out.into()
}

/// A compiled `Principal` / `NotPrincipal`.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPrincipal {
    pub negated: bool,
    pub star: bool,
    pub entries: Vec<(PrincipalKind, String)>,
}

/// One condition key under one operator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompiledCondition {
    pub operator: Operator,
    /// Lowercased key, in the pool's text.
    pub key: (u32, u32),
    /// The key's lookup hash.
    pub key_hash: u32,
    pub values: CondValues,
}

/// Condition values, parsed for their operator; all but booleans in the
/// pool's arrays, so a condition is one small record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CondValues {
    /// String patterns in the pool.
    Strings(Span),
    /// Numbers (`f64` bits) in the pool's scalars.
    Numbers(Span),
    /// Dates (epoch seconds) in the pool's scalars.
    Dates(Span),
    Bools(Bools),
    /// In the pool's blobs.
    Binary(Span),
    /// In the pool's CIDR blocks.
    Cidrs(Span),
    /// ARN patterns in the pool.
    Arns(Span),
    Null(Bools),
}

/// Which of `true` and `false` a condition lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bools {
    pub has_true: bool,
    pub has_false: bool,
}

impl Bools {
    fn of(values: impl IntoIterator<Item = bool>) -> Self {
        values.into_iter().fold(Self::default(), |b, v| Self {
            has_true: b.has_true || v,
            has_false: b.has_false || !v,
        })
    }

    /// Whether `v` is listed.
    pub fn contains(self, v: bool) -> bool {
        if v {
            self.has_true
        } else {
            self.has_false
        }
    }
}

fn compile_statement(
    pool: &mut Pool,
    index: usize,
    s: &Statement,
    vars: bool,
    kind: PolicyType,
) -> CompiledStatement {
    let action_syntax = Syntax {
        wildcards: true,
        variables: false,
        fold: true,
    };
    let start = pool.patterns.len();
    for a in s.action.values.iter() {
        let p = Pattern::new(&mut pool.arena, &a.value, action_syntax);
        pool.patterns.push(p);
    }
    let actions = Span::of(start, pool.patterns.len());
    let service_mask = if s.action.negated {
        u64::MAX
    } else {
        s.action
            .values
            .iter()
            .fold(0, |mask, a| match a.value.split_once(':') {
                Some((svc, _)) if !svc.contains(['*', '?']) => mask | service_bit(svc),
                _ => u64::MAX,
            })
    };
    let resources = s.resource.as_ref().map(|r| {
        let start = pool.patterns.len();
        for v in r.values.iter() {
            let p = if short_arn_accepted(&v.value, vars, kind) {
                let padded = pad_arn(&v.value, vars);
                let mut p = Pattern::arn(&mut pool.arena, &padded, vars);
                if padded.len() != v.value.len() {
                    p.set_short();
                }
                p
            } else {
                Pattern::never(&mut pool.arena, &v.value)
            };
            pool.patterns.push(p);
        }
        (r.negated, Span::of(start, pool.patterns.len()))
    });
    let principal = s.principal.as_ref().map(|p| {
        Box::new(match &p.values {
            Principal::Star => CompiledPrincipal {
                negated: p.negated,
                star: true,
                entries: Vec::new(),
            },
            Principal::Map(entries) => CompiledPrincipal {
                negated: p.negated,
                star: false,
                entries: entries
                    .iter()
                    .flat_map(|(kind, values)| values.iter().map(|v| (kind.value, v.value.clone())))
                    .collect(),
            },
        })
    });
    let mut broken = Vec::new();
    // Compile values first: their patterns go to the pool before the
    // statement's conditions are pushed, keeping the conditions contiguous.
    let mut compiled = Vec::new();
    for block in s.condition.iter().flatten() {
        let Some(op) = block.operator else {
            broken.push(Broken::UnknownOperator {
                operator: block.operator_text.value.clone(),
            });
            continue;
        };
        for entry in &block.entries {
            let texts: Vec<std::borrow::Cow<'_, str>> =
                entry.values.iter().map(|v| v.value.as_text()).collect();
            match compile_values(pool, op, &texts, &entry.values.items, vars) {
                Ok(values) => {
                    let key_off = u32::try_from(pool.arena.text.len()).unwrap_or(u32::MAX);
                    let key = entry.key.value.to_ascii_lowercase();
                    pool.arena.text.push_str(&key);
                    let key_len = u32::try_from(key.len()).unwrap_or(0);
                    compiled.push((
                        CompiledCondition {
                            operator: op,
                            key: (key_off, key_len),
                            key_hash: crate::eval::context::key_hash(&key),
                            values,
                        },
                        (
                            block.operator_text.value.clone().into_boxed_str(),
                            entry.key.value.clone().into_boxed_str(),
                        ),
                    ));
                }
                Err(b) => broken.push(b),
            }
        }
    }
    let start = pool.conditions.len();
    for (c, label) in compiled {
        pool.conditions.push(c);
        pool.labels.push(label);
    }
    let conditions = Span::of(start, pool.conditions.len());
    let pstart = pool.principals.len();
    if let Some(p) = &principal {
        for (kind, value) in &p.entries {
            let off = u32::try_from(pool.arena.text.len()).unwrap_or(u32::MAX);
            pool.arena.text.push_str(value);
            let len = u32::try_from(value.len()).unwrap_or(0);
            pool.principals.push((*kind, off, len));
        }
    }
    pool.hot.push(HotStatement {
        service_mask,
        actions,
        resource_span: resources.map(|(_, span)| span).unwrap_or_default(),
        conditions,
        principals: Span::of(pstart, pool.principals.len()),
        resource_negated: resources.map(|(negated, _)| negated),
        effect: s.effect.value,
        not_action: s.action.negated,
        broken: !broken.is_empty(),
        principal: principal.as_ref().map(|p| (p.negated, p.star)),
    });
    CompiledStatement {
        index,
        effect: s.effect.value,
        not_action: s.action.negated,
        actions,
        service_mask,
        resources,
        conditions,
        principal,
        sid: s.sid.as_ref().map(|s| s.value.clone().into_boxed_str()),
        broken: broken.into_boxed_slice(),
    }
}

fn compile_values(
    pool: &mut Pool,
    op: Operator,
    texts: &[std::borrow::Cow<'_, str>],
    raw: &[crate::ast::Spanned<ConditionValue>],
    vars: bool,
) -> Result<CondValues, Broken> {
    use BaseOperator::*;
    let bad = |value: &str, expected: &'static str| Broken::BadValue {
        operator: op.name(),
        value: value.to_owned(),
        expected,
    };
    let all = |f: &dyn Fn(&str) -> Option<()>, expected| -> Result<(), Broken> {
        for t in texts {
            f(t).ok_or_else(|| bad(t, expected))?;
        }
        Ok(())
    };
    let variables = vars && op.base.allows_variables();
    Ok(match op.base {
        StringEquals
        | StringNotEquals
        | StringEqualsIgnoreCase
        | StringNotEqualsIgnoreCase
        | StringLike
        | StringNotLike => {
            let syntax = Syntax {
                wildcards: matches!(op.base, StringLike | StringNotLike),
                variables,
                fold: matches!(op.base, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase),
            };
            let start = pool.patterns.len();
            for t in texts {
                let p = Pattern::new(&mut pool.arena, t, syntax);
                pool.patterns.push(p);
            }
            CondValues::Strings(Span::of(start, pool.patterns.len()))
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            all(&|t| parse_number(t).map(|_| ()), "a number")?;
            let start = pool.scalars.len();
            let numbers = texts.iter().filter_map(|t| parse_number(t));
            pool.scalars.extend(numbers.map(f64::to_bits));
            CondValues::Numbers(Span::of(start, pool.scalars.len()))
        }
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => {
            all(
                &|t| parse_date(t).map(|_| ()),
                "an ISO 8601 date or epoch seconds",
            )?;
            let start = pool.scalars.len();
            let dates = texts.iter().filter_map(|t| parse_date(t));
            pool.scalars.extend(dates.map(|d| d as u64));
            CondValues::Dates(Span::of(start, pool.scalars.len()))
        }
        Bool => {
            all(&|t| parse_bool(t).map(|_| ()), "`true` or `false`")?;
            CondValues::Bools(Bools::of(texts.iter().filter_map(|t| parse_bool(t))))
        }
        Null => {
            all(&|t| parse_bool(t).map(|_| ()), "`true` or `false`")?;
            CondValues::Null(Bools::of(texts.iter().filter_map(|t| parse_bool(t))))
        }
        BinaryEquals => {
            let decode = |t: &str| base64::engine::general_purpose::STANDARD.decode(t).ok();
            all(&|t| decode(t).map(|_| ()), "base64 text")?;
            let start = pool.blobs.len();
            let blobs = texts.iter().filter_map(|t| decode(t));
            pool.blobs.extend(blobs.map(Vec::into_boxed_slice));
            CondValues::Binary(Span::of(start, pool.blobs.len()))
        }
        IpAddress | NotIpAddress => {
            all(
                &|t| Cidr::parse(t).map(|_| ()),
                "an IP address or CIDR block",
            )?;
            let start = pool.cidrs.len();
            pool.cidrs
                .extend(texts.iter().filter_map(|t| Cidr::parse(t)));
            CondValues::Cidrs(Span::of(start, pool.cidrs.len()))
        }
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            if let Some(v) = raw
                .iter()
                .find(|v| !matches!(v.value, ConditionValue::String(_)))
            {
                return Err(bad(&v.value.as_text(), "an ARN"));
            }
            let start = pool.patterns.len();
            for t in texts {
                let p = Pattern::arn(&mut pool.arena, t, variables);
                pool.patterns.push(p);
            }
            CondValues::Arns(Span::of(start, pool.patterns.len()))
        }
    })
}

/// Parses a number as the `Numeric*` operators read it: an optional sign,
/// digits, optionally a fraction.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    s.parse().ok()
}

/// Reads `true` / `false` without regard to case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arns() {
        assert_eq!(
            split_arn("arn:aws:s3:::b/k:x", false),
            Some(["arn", "aws", "s3", "", "", "b/k:x"])
        );
        assert_eq!(
            split_arn("arn:aws:s3:::home/${aws:username}", true),
            Some(["arn", "aws", "s3", "", "", "home/${aws:username}"])
        );
        assert_eq!(
            split_arn("arn:aws:iam::${aws:PrincipalAccount}:user/x", true),
            Some(["arn", "aws", "iam", "", "${aws:PrincipalAccount}", "user/x"])
        );
        assert_eq!(split_arn("*", false), None);
        assert_eq!(pad_arn("arn:aws:sns:*", false), "arn:aws:sns:*:*:*");
        assert_eq!(pad_arn("arn:aws:s3:::b", false), "arn:aws:s3:::b");
        assert_eq!(pad_arn("*", false), "*");
        assert_eq!(split_arn("arn:aws:s3", false), None);
    }

    #[test]
    fn numbers() {
        for (t, want) in [
            ("1", Some(1.0)),
            ("-2.5", Some(-2.5)),
            ("1e3", None),
            ("NaN", None),
            ("inf", None),
            ("", None),
            ("1.", None),
        ] {
            assert_eq!(parse_number(t), want, "{t}");
        }
    }

    #[test]
    fn bad_values_break_statements() {
        let p = CompiledPolicy::parse(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
            "NumericLessThan":{"k":"ten"},"Bogus":{"k":"v"},"IpAddress":{"aws:SourceIp":"10.0.0.0/40"}}}}"#,
        )
        .unwrap();
        let b: Vec<String> = p.statements[0]
            .broken
            .iter()
            .map(|b| b.to_string())
            .collect();
        assert_eq!(
            b,
            [
                "`NumericLessThan` cannot compare with `ten`: expected a number",
                "unknown condition operator `Bogus`",
                "`IpAddress` cannot compare with `10.0.0.0/40`: expected an IP address or CIDR block",
            ]
        );
    }
}
