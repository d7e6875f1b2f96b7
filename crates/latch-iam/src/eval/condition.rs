//! Condition operators, as "IAM JSON policy elements: Condition operators"
//! defines them, including `…IfExists`, `ForAllValues:`, `ForAnyValue:` and
//! multivalued keys.

use super::context::{Context, RawValue};
use super::date::parse_date;
use super::ip::parse_ip;
use crate::ast::{BaseOperator, SetQualifier};
use crate::compile::pattern::{Arena, Pattern};
use crate::compile::{parse_bool, parse_number, split_arn, CompiledCondition, CondValues, View};
use base64::Engine;

impl CompiledCondition {
    /// Whether this condition (one key under one operator) holds.
    pub(crate) fn holds(&self, pool: &View<'_>, ctx: &Context) -> bool {
        let op = self.operator;
        let value = ctx.get_hashed(self.key_hash, pool.bytes_at(self.key.0, self.key.1));
        if let CondValues::Null(expect) = self.values {
            // "Use a Null condition operator to check if a condition key is
            // absent at the time of authorization. In the policy statement,
            // use either true (the key doesn't exist — it is null) or false
            // (the key exists and its value is not null)."
            // A key given in the request is present, even as an empty list.
            let absent = value.is_none();
            return expect.contains(absent);
        }
        let negated = op.base.is_negated();
        // "If AWS cannot resolve a variable, this might cause the entire
        // statement to be invalid": a comparison that needs a policy
        // variable with no value holds neither way.
        let one = |v: &[u8]| match self.positive(pool, v, ctx) {
            Tri::Match => !negated,
            Tri::NoMatch => negated,
            Tri::Unknown => false,
        };
        match op.set {
            None => match value {
                // "If the key that you specify in a policy condition is not
                // present in the request context, the values do not match and
                // the condition is false. If the policy condition requires
                // that the key is not matched, such as StringNotLike or
                // ArnNotLike, and the right key is not present, the condition
                // is true." With `…IfExists`: "If the policy key is present in
                // the context of the request, process the key as specified in
                // the policy. If the key is not present, evaluate the
                // condition element as true."
                None => op.if_exists || negated,
                Some(RawValue::One(v)) => one(v),
                // "Multivalued context keys require a condition set
                // operator" (IAM User Guide, "Single-valued vs. multivalued
                // context keys"). Without one, the comparison is not defined
                // for a list of values, so the condition does not hold,
                // whether the operator is negated or not.
                Some(RawValue::Many(_)) => false,
            },
            // "ForAllValues … returns true if every key value in the request
            // matches at least one value in the policy. It also returns true
            // if there are no keys in the request."
            Some(SetQualifier::ForAllValues) => match value {
                None => true,
                Some(v) => v.iter().all(one),
            },
            // "ForAnyValue … returns true if any one of the key values in the
            // request matches any one of the condition values in the policy.
            // For a missing context key … returns false."
            Some(SetQualifier::ForAnyValue) => match value {
                None => op.if_exists,
                Some(v) => v.iter().any(one),
            },
        }
    }

    /// Whether one request value matches any policy value under the
    /// operator's positive form (`StringNotEquals` → `StringEquals`, …);
    /// unknown if no value matches and some value needs a variable that has
    /// no value.
    fn positive(&self, pool: &View<'_>, v: &[u8], ctx: &Context) -> Tri {
        let base = self.operator.base;
        let arena = pool.arena;
        let known = |b: bool| if b { Tri::Match } else { Tri::NoMatch };
        // Strings and ARNs are compared as bytes; the other operators read
        // the value as text (context values are text).
        let text = || std::str::from_utf8(v).unwrap_or("");
        match self.values {
            CondValues::Strings(span) => {
                if pool.patterns(span).any(|p| p.matches_bytes(arena, v, ctx)) {
                    Tri::Match
                } else if pool.patterns(span).all(|p| p.resolvable(arena, ctx)) {
                    Tri::NoMatch
                } else {
                    Tri::Unknown
                }
            }
            CondValues::Arns(span) => {
                // A request value that is not an ARN (six colon-separated
                // parts) cannot be compared part by part: the condition
                // holds neither way.
                // (Without variables, splitting finds six parts exactly when
                // there are five colons.)
                if v.iter().filter(|b| **b == b':').nth(4).is_none() {
                    return Tri::Unknown;
                }
                if pool.patterns(span).any(|a| a.matches_bytes(arena, v, ctx)) {
                    Tri::Match
                } else if pool.patterns(span).all(|a| a.resolvable(arena, ctx)) {
                    Tri::NoMatch
                } else {
                    Tri::Unknown
                }
            }
            CondValues::Numbers(span) => known(match parse_number(text()) {
                Some(x) => pool
                    .scalars(span)
                    .any(|n| ordered(base, x.partial_cmp(&f64::from_bits(n)))),
                None => false,
            }),
            CondValues::Dates(span) => known(match parse_date(text()) {
                Some(x) => pool
                    .scalars(span)
                    .any(|d| ordered(base, Some(x.cmp(&(d as i64))))),
                None => false,
            }),
            CondValues::Bools(bs) => known(parse_bool(text()).is_some_and(|x| bs.contains(x))),
            CondValues::Binary(span) => {
                known(match base64::engine::general_purpose::STANDARD.decode(v) {
                    Ok(x) => span.of_slice(&pool.cold.blobs).iter().any(|b| **b == *x),
                    Err(_) => false,
                })
            }
            CondValues::Cidrs(span) => known(match parse_ip(text()) {
                Some(ip) => pool.cidrs(span).any(|c| c.contains(ip)),
                None => false,
            }),
            CondValues::Null(_) => Tri::NoMatch,
        }
    }
}

/// Compares request value `x` with policy value `p` (`cmp` is `x.cmp(p)`).
fn ordered(base: BaseOperator, cmp: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use BaseOperator::*;
    let Some(c) = cmp else { return false };
    match base {
        NumericLessThan | DateLessThan => c == Less,
        NumericLessThanEquals | DateLessThanEquals => c != Greater,
        NumericGreaterThan | DateGreaterThan => c == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => c != Less,
        _ => c == Equal,
    }
}

/// A match that may be unknown because a policy variable has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    Match,
    NoMatch,
    Unknown,
}

/// Matches an ARN against an ARN pattern, telling a definite mismatch (some
/// part without unresolved variables differs) from an unknown one (the parts
/// that can be read match, and some part needs a variable that has no value).
pub(crate) fn arn_match3(p: &Pattern, arena: Arena<'_>, text: &str, ctx: &Context) -> Tri {
    if p.is_never() {
        return Tri::Unknown;
    }
    if p.resolvable(arena, ctx) {
        return match (p.matches(arena, text, ctx), p.is_short()) {
            (true, _) => Tri::Match,
            // A filled-in short ARN that does not match cannot show that the
            // resource is outside a `NotResource` set: the missing parts
            // are a guess (as iam-simulate treats it).
            (false, true) => Tri::Unknown,
            (false, false) => Tri::NoMatch,
        };
    }
    // Only patterns with policy variables get here: variables are on.
    match (p.arn_parts(arena), split_arn(text, false)) {
        (Some((parts, cold)), Some(segs)) => {
            let mismatch = parts
                .iter()
                .zip(segs.iter())
                .any(|(pp, s)| pp.resolvable(cold, ctx) && !pp.matches(cold, s, ctx));
            if mismatch {
                Tri::NoMatch
            } else {
                Tri::Unknown
            }
        }
        (Some(_), None) => Tri::NoMatch,
        (None, _) => Tri::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::CompiledPolicy;
    use crate::eval::Context;

    /// Evaluates `{"<op>": {"k": <values>}}` against a context where `k`
    /// has `ctx` (None: absent; one item: single-valued; else multivalued).
    fn check(op: &str, values: &str, ctx: Option<&[&str]>) -> bool {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"k":{values}}}}}}}}}"#
        );
        let p = CompiledPolicy::parse(&text).unwrap();
        let s = &p.statements()[0];
        assert!(s.broken.is_empty(), "{op} {values}: {:?}", s.broken);
        let mut pairs = vec![("aws:username", vec!["alice"])];
        if let Some(c) = ctx {
            if c.len() == 1 {
                pairs.push(("k", c.to_vec()));
            }
        }
        let mut context = Context::from_pairs(pairs);
        if let Some(c) = ctx {
            if c.len() != 1 {
                context.insert(
                    "K",
                    crate::eval::ContextValue::Many(c.iter().map(|s| s.to_string()).collect()),
                );
            }
        }
        let view = p.pool.view();
        let holds = view
            .conditions(s.conditions)
            .all(|c| c.holds(&view, &context));
        holds
    }

    #[test]
    fn string_operators() {
        for (op, vals, ctx, want) in [
            ("StringEquals", r#""a""#, Some(&["a"][..]), true),
            ("StringEquals", r#""a""#, Some(&["A"][..]), false),
            ("StringEquals", r#"["a","b"]"#, Some(&["b"][..]), true),
            ("StringEquals", r#""a*""#, Some(&["ab"][..]), false),
            ("StringEquals", r#""a""#, None, false),
            ("StringNotEquals", r#""a""#, Some(&["a"][..]), false),
            ("StringNotEquals", r#"["a","b"]"#, Some(&["c"][..]), true),
            ("StringNotEquals", r#""a""#, None, true),
            (
                "StringEqualsIgnoreCase",
                r#""HeLLo""#,
                Some(&["hello"][..]),
                true,
            ),
            (
                "StringNotEqualsIgnoreCase",
                r#""HeLLo""#,
                Some(&["hello"][..]),
                false,
            ),
            ("StringLike", r#""a*c""#, Some(&["abbc"][..]), true),
            ("StringLike", r#""a?c""#, Some(&["abbc"][..]), false),
            ("StringNotLike", r#""a*""#, Some(&["b"][..]), true),
            ("StringNotLike", r#""a*""#, None, true),
            (
                "StringLike",
                r#""home/${aws:username}/*""#,
                Some(&["home/alice/x"][..]),
                true,
            ),
            (
                "StringEquals",
                r#""${aws:username}""#,
                Some(&["alice"][..]),
                true,
            ),
            ("StringEquals", r#""${aws:nokey}""#, Some(&[""][..]), false),
            (
                "StringNotEquals",
                r#""${aws:nokey}""#,
                Some(&["x"][..]),
                false,
            ),
            (
                "StringNotLike",
                r#"["${aws:nokey}","y"]"#,
                Some(&["x"][..]),
                false,
            ),
            (
                "StringLike",
                r#"["${aws:nokey}","x"]"#,
                Some(&["x"][..]),
                true,
            ),
            ("StringNotEquals", r#""${aws:nokey}""#, None, true),
            (
                "StringEquals",
                r#""${aws:nokey, 'x'}""#,
                Some(&["x"][..]),
                true,
            ),
            ("StringEquals", r#"1"#, Some(&["1"][..]), true),
            ("StringEqualsIfExists", r#""a""#, None, true),
            ("StringEqualsIfExists", r#""a""#, Some(&["b"][..]), false),
        ] {
            assert_eq!(check(op, vals, ctx), want, "{op} {vals} {ctx:?}");
        }
    }

    #[test]
    fn numeric_date_bool_binary_ip_arn_operators() {
        for (op, vals, ctx, want) in [
            ("NumericEquals", "10", Some(&["10"][..]), true),
            ("NumericEquals", r#""10""#, Some(&["10.0"][..]), true),
            ("NumericNotEquals", "10", Some(&["11"][..]), true),
            ("NumericLessThan", "10", Some(&["9"][..]), true),
            ("NumericLessThan", "10", Some(&["10"][..]), false),
            ("NumericLessThanEquals", "10", Some(&["10"][..]), true),
            ("NumericGreaterThan", "10", Some(&["11"][..]), true),
            ("NumericGreaterThanEquals", "10", Some(&["9"][..]), false),
            ("NumericLessThan", "10", Some(&["abc"][..]), false),
            ("NumericLessThan", "10", None, false),
            ("NumericNotEquals", "10", None, true),
            (
                "DateLessThan",
                r#""2020-01-01T00:00:00Z""#,
                Some(&["2019-12-31T23:59:59Z"][..]),
                true,
            ),
            (
                "DateGreaterThan",
                r#""2020-01-01T00:00:00Z""#,
                Some(&["1577836801"][..]),
                true,
            ),
            (
                "DateEquals",
                r#""2020-01-01""#,
                Some(&["2020-01-01T00:00:00Z"][..]),
                true,
            ),
            (
                "DateNotEquals",
                r#""2020-01-01""#,
                Some(&["2020-01-02"][..]),
                true,
            ),
            (
                "DateLessThanEquals",
                r#""2020-01-01""#,
                Some(&["2020-01-01"][..]),
                true,
            ),
            (
                "DateGreaterThanEquals",
                r#""2020-01-01""#,
                Some(&["2019-01-01"][..]),
                false,
            ),
            ("Bool", r#""true""#, Some(&["true"][..]), true),
            ("Bool", "false", Some(&["false"][..]), true),
            ("Bool", r#""true""#, Some(&["false"][..]), false),
            ("Bool", r#""true""#, Some(&["yes"][..]), false),
            ("BoolIfExists", r#""false""#, None, true),
            (
                "BinaryEquals",
                r#""QmluYXJ5""#,
                Some(&["QmluYXJ5"][..]),
                true,
            ),
            (
                "BinaryEquals",
                r#""QmluYXJ5""#,
                Some(&["QmluYXJ6"][..]),
                false,
            ),
            (
                "IpAddress",
                r#""10.0.0.0/8""#,
                Some(&["10.9.9.9"][..]),
                true,
            ),
            (
                "IpAddress",
                r#"["192.168.0.0/16","2001:db8::/32"]"#,
                Some(&["2001:db8::5"][..]),
                true,
            ),
            (
                "NotIpAddress",
                r#""10.0.0.0/8""#,
                Some(&["10.9.9.9"][..]),
                false,
            ),
            (
                "NotIpAddress",
                r#""10.0.0.0/8""#,
                Some(&["11.0.0.1"][..]),
                true,
            ),
            ("NotIpAddress", r#""10.0.0.0/8""#, None, true),
            (
                "ArnLike",
                r#""arn:aws:iam::*:role/x*""#,
                Some(&["arn:aws:iam::1:role/xy"][..]),
                true,
            ),
            (
                "ArnEquals",
                r#""arn:aws:iam::*:role/x*""#,
                Some(&["arn:aws:iam::1:role/xy"][..]),
                true,
            ),
            (
                "ArnLike",
                r#""arn:aws:iam::1:*""#,
                Some(&["arn:aws:iam::1:role/a:b"][..]),
                true,
            ),
            (
                "ArnLike",
                r#""arn:aws:*""#,
                Some(&["arn:aws:s3:::b"][..]),
                true,
            ),
            (
                "ArnNotLike",
                r#""arn:aws:iam::1:*""#,
                Some(&["arn:aws:iam::2:user/u"][..]),
                true,
            ),
            (
                "ArnNotEquals",
                r#""arn:aws:iam::1:user/u""#,
                Some(&["arn:aws:iam::1:user/u"][..]),
                false,
            ),
            (
                "ArnLike",
                r#""arn:aws:iam::1:user/u""#,
                Some(&["not-an-arn"][..]),
                false,
            ),
        ] {
            assert_eq!(check(op, vals, ctx), want, "{op} {vals} {ctx:?}");
        }
    }

    #[test]
    fn null_and_set_operators() {
        let multi: &[&str] = &["a", "b"];
        let none: &[&str] = &[];
        for (op, vals, ctx, want) in [
            ("Null", r#""true""#, None, true),
            ("Null", r#""true""#, Some(&["x"][..]), false),
            ("Null", r#""false""#, Some(&["x"][..]), true),
            ("Null", r#""false""#, None, false),
            ("Null", r#""true""#, Some(none), false),
            (
                "ForAllValues:StringEquals",
                r#"["a","b","c"]"#,
                Some(multi),
                true,
            ),
            ("ForAllValues:StringEquals", r#"["a"]"#, Some(multi), false),
            ("ForAllValues:StringEquals", r#"["a"]"#, None, true),
            ("ForAllValues:StringEquals", r#"["a"]"#, Some(none), true),
            ("ForAnyValue:StringEquals", r#"["a"]"#, Some(multi), true),
            ("ForAnyValue:StringEquals", r#"["z"]"#, Some(multi), false),
            ("ForAnyValue:StringEquals", r#"["a"]"#, None, false),
            ("ForAnyValue:StringEqualsIfExists", r#"["a"]"#, None, true),
            (
                "ForAllValues:StringNotEquals",
                r#"["z"]"#,
                Some(multi),
                true,
            ),
            (
                "ForAllValues:StringNotEquals",
                r#"["a"]"#,
                Some(multi),
                false,
            ),
            ("ForAnyValue:StringNotEquals", r#"["a"]"#, Some(multi), true),
            (
                "ForAnyValue:StringNotEquals",
                r#"["a","b"]"#,
                Some(multi),
                false,
            ),
            ("ForAnyValue:StringLike", r#"["b*"]"#, Some(multi), true),
            ("StringEquals", r#""a""#, Some(multi), false),
            ("StringNotEquals", r#""a""#, Some(multi), false),
            ("StringNotEquals", r#""z""#, Some(multi), false),
            ("StringEqualsIfExists", r#""a""#, Some(multi), false),
        ] {
            assert_eq!(check(op, vals, ctx), want, "{op} {vals} {ctx:?}");
        }
    }
}
