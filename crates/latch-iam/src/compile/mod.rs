//! Compiles a parsed policy once into the form evaluation uses: lowercased
//! action patterns, ARN patterns split into their six parts, condition values
//! parsed into numbers, dates, CIDR blocks and so on. Matching a request
//! against a compiled policy never re-parses and, except for policy variables
//! in wildcard positions, never allocates.

pub(crate) mod codec;
mod err;
pub mod pattern;
mod pool;
mod records;
mod share;
mod values;

pub use err::Broken;
pub(crate) use pool::{Builder, Pool, View};
pub(crate) use share::{share_packed, share_pool};
use values::compile_values;
pub(crate) use values::{parse_bool, parse_number};

use crate::ast::{Effect, Operator, Policy, Principal, PrincipalKind, Statement};
use crate::validate::PolicyType;
use pattern::{Pattern, Syntax};

/// A policy ready for evaluation. Cheap to share between threads.
///
/// Everything a decision reads sits in one allocation, a [`Pool`]: compact
/// statement records, their patterns, their conditions, principal entries
/// and all their text, one section after another. Policies decided together
/// (a batch case) share one pool, so a decision reads one run of memory.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub(crate) statements: Vec<CompiledStatement>,
    pub(crate) pool: Pool,
    /// This policy's records in `pool.hot`, one per statement, in order.
    pub(crate) hot: Span,
    pub(crate) source: Box<Policy>,
}

/// A compiled policy whose records are still typed arrays: its `pool` is
/// empty until [`share_packed`] packs `records` into it.
#[derive(Debug)]
pub(crate) struct Unpacked {
    pub policy: CompiledPolicy,
    pub records: Builder,
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

/// A range of indices into a [`Pool`] section.
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
        let Unpacked {
            mut policy,
            records,
        } = Self::unpacked(policy, kind);
        policy.pool = records.freeze();
        policy
    }

    /// Compiles a policy of the given type without packing its records:
    /// for callers that pack several policies into one pool
    /// ([`share_packed`]), so that each record is packed once.
    pub(crate) fn unpacked(policy: Policy, kind: PolicyType) -> Unpacked {
        let vars = policy.variables_enabled();
        let mut records = Builder::default();
        let statements = policy
            .statements
            .iter()
            .enumerate()
            .map(|(i, s)| compile_statement(&mut records, i, s, vars, kind))
            .collect();
        Unpacked {
            policy: Self {
                statements,
                hot: Span::of(0, records.hot.len()),
                pool: Pool::empty(),
                source: Box::new(policy),
            },
            records,
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

impl HotStatement {
    /// `Resource` / `NotResource`: (negated, ARN patterns).
    pub fn resources(&self) -> Option<(bool, Span)> {
        self.resource_negated.map(|n| (n, self.resource_span))
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
    pool: &mut Builder,
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
