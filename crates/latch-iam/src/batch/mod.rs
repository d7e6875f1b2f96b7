//! The batch interface of `latch iam simulate --jsonl`: one case per input
//! line, one result per output line, in order. Also `explain` for one case.

mod case;
mod err;
mod explain;

pub use case::Case;
pub use err::CaseError;
pub use explain::explain_case;

use crate::eval::decide;
use std::io::{BufRead, Write};

/// Counts from one batch run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Lines read.
    pub cases: u64,
    /// Lines answered with an error.
    pub errors: u64,
    /// `Allowed` results.
    pub allowed: u64,
    /// `ExplicitlyDenied` results.
    pub explicitly_denied: u64,
    /// `ImplicitlyDenied` results.
    pub implicitly_denied: u64,
}

/// Answers one case line with one result line (without newline).
pub fn simulate_line(line: &str) -> (String, Result<crate::Outcome, CaseError>) {
    match Case::parse(line) {
        Ok(case) => {
            let outcome = decide(&case.input());
            let out = format!(r#"{{"id":{},"decision":"{}"}}"#, case.id, outcome.as_str());
            (out, Ok(outcome))
        }
        Err((id, e)) => {
            let msg = serde_json::Value::String(e.to_string());
            (format!(r#"{{"id":{id},"error":{msg}}}"#), Err(e))
        }
    }
}

/// Reads cases from `input`, one JSON object per line, and writes one result
/// per line to `output`, in order: `{"id":…,"decision":"Allowed"}` (or
/// `ExplicitlyDenied`, `ImplicitlyDenied`), or `{"id":…,"error":"…"}` for an
/// invalid case. Every input line, even an empty one, gets one output line.
pub fn simulate_jsonl<R: BufRead, W: Write>(
    input: R,
    mut output: W,
) -> std::io::Result<BatchStats> {
    let mut stats = BatchStats::default();
    for line in input.lines() {
        let line = line?;
        let (out, result) = simulate_line(line.trim_end_matches('\r'));
        stats.cases += 1;
        match result {
            Ok(crate::Outcome::Allowed) => stats.allowed += 1,
            Ok(crate::Outcome::ExplicitlyDenied) => stats.explicitly_denied += 1,
            Ok(crate::Outcome::ImplicitlyDenied) => stats.implicitly_denied += 1,
            Err(_) => stats.errors += 1,
        }
        output.write_all(out.as_bytes())?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_case_and_errors_for_garbage() {
        let input = concat!(
            r#"{"id":"c1","identityPolicies":[{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}],"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resourceAccount":"111111111111","principal":"arn:aws:iam::111111111111:user/alice","context":{}}}"#,
            "\n",
            "not json\n",
            "\n",
            r#"{"id":7,"request":{"action":"s3GetObject","resource":"x","principal":"p"}}"#,
            "\n",
            r#"{"id":"c5","identityPolicies":[{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Foo":{"a":"b"}}}}],"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","principal":"arn:aws:iam::111111111111:user/alice"}}"#,
            "\n",
            r#"{"id":"c6","request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","principal":"arn:aws:iam::111111111111:user/alice"}}"#,
        );
        let mut out = Vec::new();
        let stats = simulate_jsonl(input.as_bytes(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0], r#"{"id":"c1","decision":"Allowed"}"#);
        assert_eq!(
            lines[1],
            r#"{"id":null,"error":"case is not valid JSON: unexpected character `n`, expected a value at 1:1"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"id":null,"error":"case is not valid JSON: unexpected end of input at 1:1"}"#
        );
        assert_eq!(
            lines[3],
            r#"{"id":7,"error":"`request`: action `s3GetObject` is not of the form `service:Action`"}"#
        );
        assert_eq!(
            lines[4],
            r#"{"id":"c5","error":"`identityPolicies[0]`: unknown condition operator `Foo` at 1:115"}"#
        );
        assert_eq!(lines[5], r#"{"id":"c6","decision":"ImplicitlyDenied"}"#);
        assert_eq!(
            (
                stats.cases,
                stats.errors,
                stats.allowed,
                stats.implicitly_denied
            ),
            (6, 4, 1, 1)
        );
    }
}
