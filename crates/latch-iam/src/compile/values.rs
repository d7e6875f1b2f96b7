//! Condition values compiled for their operator: strings and ARNs as
//! patterns, numbers, dates, booleans, bytes and CIDR blocks parsed once.

use super::pattern::{Pattern, Syntax};
use super::{Bools, Broken, Builder, CondValues, Span};
use crate::ast::{BaseOperator, ConditionValue, Operator};
use crate::eval::date::parse_date;
use crate::eval::ip::Cidr;
use base64::Engine;

pub(super) fn compile_values(
    pool: &mut Builder,
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
