//! Ending sessions already issued: removing a policy does not end the role
//! sessions it allowed, so a revoke also puts a deny on the role for the
//! person's sessions issued before the revoke (`aws:TokenIssueTime`). The
//! deny ends by itself (`aws:CurrentTime`) once the longest session it
//! could catch has expired.

use std::time::Duration;

use latch_core::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;
use crate::trust::decode_document;

/// IAM changes take seconds to reach every region: sessions issued in that
/// window were made with the old policy, so the cut-off is a little later.
const PROPAGATION: Duration = Duration::from_secs(10);

/// The inline role policy that holds one person's session cut-off.
pub fn deny_policy_name(session_name: &str) -> String {
    let digest = Sha256::digest(session_name.as_bytes());
    format!("LatchEndSessions-{}", &hex::encode(digest)[..16])
}

/// What [`end_sessions`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The cut-off was put on the role.
    Now,
    /// The same cut-off was already there (a repeated revoke), or there is
    /// no role and so no session to end.
    Already,
}

/// Ends `session_name`'s sessions of `role_name` issued before `now`.
/// A missing role has no sessions to end.
pub async fn end_sessions(c: &Clients, role_name: &str, session_name: &str, now: Timestamp) -> Result<Ended, AwsError> {
    let role = match c.iam.get_role().role_name(role_name).send().await {
        Ok(out) => out.role,
        Err(e) => match classify("iam:GetRole", e) {
            (Failure::Missing, _) => return Ok(Ended::Already),
            (_, err) => return Err(err),
        },
    };
    let max_session = role.and_then(|r| r.max_session_duration).map_or(3600, i64::from);
    let cutoff = now.plus(PROPAGATION);
    let until = now.plus(PROPAGATION + Duration::from_secs(u64::try_from(max_session).unwrap_or(3600)));
    let doc = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LatchEndSessionsIssuedBeforeRevoke",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "StringLike": {"aws:userid": format!("*:{session_name}")},
                "DateLessThan": {"aws:TokenIssueTime": super::iso(cutoff), "aws:CurrentTime": super::iso(until)}
            }
        }]
    });
    let name = deny_policy_name(session_name);
    match c.iam.get_role_policy().role_name(role_name).policy_name(&name).send().await {
        Ok(out) if serde_json::from_str::<serde_json::Value>(&decode_document(&out.policy_document)).is_ok_and(|held| held == doc) => return Ok(Ended::Already),
        Ok(_) => {}
        Err(e) => match classify("iam:GetRolePolicy", e) {
            (Failure::Missing, _) => {}
            (_, err) => return Err(err),
        },
    }
    match c.iam.put_role_policy().role_name(role_name).policy_name(name).policy_document(doc.to_string()).send().await {
        Ok(_) => Ok(Ended::Now),
        Err(e) => match classify("iam:PutRolePolicy", e) {
            (Failure::Missing, _) => Ok(Ended::Already),
            (_, err) => Err(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use latch_iam::eval::{Context, ContextValue};
    use latch_iam::{decide, CompiledPolicy, EvalInput, Outcome, Request};

    /// The deny, read by the policy engine: older sessions of this person
    /// are cut, newer ones and other people's are not, and it lapses.
    #[test]
    fn the_deny_cuts_only_this_persons_older_sessions() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","Action":"*","Resource":"*","Condition":{
              "StringLike":{"aws:userid":"*:alice@example.com"},
              "DateLessThan":{"aws:TokenIssueTime":"2026-11-23T12:00:10Z","aws:CurrentTime":"2026-11-23T13:00:10Z"}}}]}"#;
        let policy = CompiledPolicy::parse(doc).unwrap();
        let check = |userid: &str, issued: &str, now: &str| {
            let mut ctx = Context::default();
            ctx.insert("aws:userid", ContextValue::One(userid.into()));
            ctx.insert("aws:TokenIssueTime", ContextValue::One(issued.into()));
            ctx.insert("aws:CurrentTime", ContextValue::One(now.into()));
            let req = Request::new("s3:GetObject", "arn:aws:s3:::b/k", Some("111111111111"), "arn:aws:sts::111111111111:assumed-role/Admin/x", ctx).unwrap();
            let ps = [policy.clone()];
            decide(&EvalInput::new(&req, &ps))
        };
        assert_eq!(check("AROA1:alice@example.com", "2026-11-23T11:30:00Z", "2026-11-23T12:01:00Z"), Outcome::ExplicitlyDenied);
        assert_eq!(check("AROA1:alice@example.com", "2026-11-23T12:05:00Z", "2026-11-23T12:06:00Z"), Outcome::Allowed, "a new grant's session");
        assert_eq!(check("AROA1:bob@example.com", "2026-11-23T11:30:00Z", "2026-11-23T12:01:00Z"), Outcome::Allowed, "someone else");
        assert_eq!(check("AROA1:alice@example.com", "2026-11-23T11:30:00Z", "2026-11-23T14:00:00Z"), Outcome::Allowed, "lapsed");
    }
}
