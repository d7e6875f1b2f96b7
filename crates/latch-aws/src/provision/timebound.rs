//! Bounding a policy in time: every `Allow` statement gets a
//! `DateLessThan aws:CurrentTime` condition (the earlier one wins when the
//! statement already has one), so AWS itself stops honouring it at the end.

use serde_json::{json, Map, Value};
use thiserror::Error;

/// Why a policy could not be bounded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimeBoundError {
    /// Not a policy document.
    #[error("not a policy document: {0}")]
    NotAPolicy(String),
}

/// `doc` with every Allow statement ending at `until` (ISO 8601, UTC).
pub fn bound_policy(doc: &Value, until: &str) -> Result<Value, TimeBoundError> {
    let mut doc = doc.clone();
    let statements = match doc.get_mut("Statement") {
        Some(Value::Array(list)) => list.iter_mut().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err(TimeBoundError::NotAPolicy("no `Statement`".into())),
    };
    for st in statements {
        let Some(st) = st.as_object_mut() else { return Err(TimeBoundError::NotAPolicy("a statement is not an object".into())) };
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let cond = st.entry("Condition").or_insert_with(|| json!({}));
        let Some(cond) = cond.as_object_mut() else { return Err(TimeBoundError::NotAPolicy("a `Condition` is not an object".into())) };
        let op = cond.entry("DateLessThan").or_insert_with(|| Value::Object(Map::new()));
        let Some(op) = op.as_object_mut() else { return Err(TimeBoundError::NotAPolicy("a `DateLessThan` is not an object".into())) };
        let earlier = match op.get("aws:CurrentTime").and_then(Value::as_str) {
            // ISO 8601 UTC timestamps in one format compare as strings.
            Some(existing) if existing.len() == until.len() && existing < until => existing.to_owned(),
            _ => until.to_owned(),
        };
        op.insert("aws:CurrentTime".into(), Value::String(earlier));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use latch_iam::eval::{Context, ContextValue};
    use latch_iam::{decide, CompiledPolicy, EvalInput, Outcome, Request};
    use serde_json::json;

    use super::bound_policy;

    fn decide_at(doc: &serde_json::Value, when: &str) -> Outcome {
        let p = CompiledPolicy::parse(&doc.to_string()).unwrap();
        let mut ctx = Context::default();
        ctx.insert("aws:CurrentTime", ContextValue::One(when.into()));
        let req = Request::new("s3:GetObject", "arn:aws:s3:::b/k", Some("111111111111"), "arn:aws:iam::111111111111:user/alice", ctx).unwrap();
        let ps = [p];
        decide(&EvalInput::new(&req, &ps))
    }

    #[test]
    fn allows_stop_at_the_bound_and_denies_stay() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
        ]});
        let bound = bound_policy(&doc, "2026-11-23T12:00:00Z").unwrap();
        assert_eq!(bound["Statement"][1], doc["Statement"][1], "a deny is never weakened");
        assert_eq!(decide_at(&bound, "2026-11-23T11:59:59Z"), Outcome::Allowed);
        assert_eq!(decide_at(&bound, "2026-11-23T12:00:01Z"), Outcome::ImplicitlyDenied);
    }

    #[test]
    fn an_earlier_bound_already_there_wins_and_other_conditions_stay() {
        let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-11-23T10:00:00Z"}, "Bool": {"aws:SecureTransport": "true"}}}});
        let bound = bound_policy(&doc, "2026-11-23T12:00:00Z").unwrap();
        assert_eq!(bound["Statement"]["Condition"]["DateLessThan"]["aws:CurrentTime"], "2026-11-23T10:00:00Z");
        assert_eq!(bound["Statement"]["Condition"]["Bool"]["aws:SecureTransport"], "true");
        assert!(bound_policy(&json!({"Version": "2012-10-17"}), "x").is_err());
    }
}
