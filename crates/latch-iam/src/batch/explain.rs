//! `latch iam explain`: a human-readable trace of one case: every statement
//! of every policy, whether each part matched, and the decision with the
//! rule and statements that settled it.

use super::{Case, CaseError};
use crate::ast::Effect;
use crate::compile::{CompiledPolicy, CompiledStatement, Pool};
use crate::eval::context::ValueRef;
use crate::eval::statement::{action_matches, principal_grant, resource_matches, Role};
use crate::eval::{evaluate, Request};
use std::fmt::Write;

/// Explains one case line; the error is the same one the batch would give.
pub fn explain_case(line: &str) -> Result<String, CaseError> {
    let case = Case::parse(line).map_err(|(_, e)| e)?;
    Ok(explain(&case))
}

/// Explains a parsed case.
pub fn explain(case: &Case) -> String {
    let req = &case.request;
    let mut out = String::new();
    let _ = writeln!(out, "request: {} on {}", req.action, req.resource);
    let p = &req.principal;
    let _ = writeln!(
        out,
        "  principal: {} ({:?}{})",
        p.arn,
        p.kind,
        p.account
            .as_deref()
            .map(|a| format!(", account {a}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  resource account: {} ({})",
        req.resource_account.as_deref().unwrap_or("caller's own"),
        if req.same_account() {
            "same account"
        } else {
            "cross-account"
        }
    );
    for (k, v) in req.context.iter() {
        let v = match v {
            ValueRef::One(s) => s.to_owned(),
            ValueRef::Many(vs) => format!("[{}]", vs.collect::<Vec<_>>().join(", ")),
        };
        let _ = writeln!(out, "  context: {k} = {v}");
    }
    let has_boundary = !case.permission_boundaries.is_empty();
    for (i, pol) in case.identity_policies.iter().enumerate() {
        section(
            &mut out,
            &format!("identity policy #{i}"),
            pol,
            req,
            Role::Identity,
        );
    }
    if let Some(pol) = &case.resource_policy {
        section(
            &mut out,
            "resource policy",
            pol,
            req,
            Role::Resource { has_boundary },
        );
    }
    for (i, pol) in case.permission_boundaries.iter().enumerate() {
        section(
            &mut out,
            &format!("permissions boundary #{i}"),
            pol,
            req,
            Role::Identity,
        );
    }
    if let Some(pol) = &case.session_policy {
        section(&mut out, "session policy", pol, req, Role::Identity);
    }
    for (l, level) in case.scps.iter().flatten().enumerate() {
        for (i, pol) in level.iter().enumerate() {
            section(
                &mut out,
                &format!("SCP #{i} at level {l}"),
                pol,
                req,
                Role::Identity,
            );
        }
    }
    for (l, level) in case.rcps.iter().flatten().enumerate() {
        for (i, pol) in level.iter().enumerate() {
            section(
                &mut out,
                &format!("RCP #{i} at level {l}"),
                pol,
                req,
                Role::Rcp,
            );
        }
    }
    let d = evaluate(&case.input());
    let _ = writeln!(out, "decision: {}", d.outcome);
    let _ = writeln!(out, "  because {}", d.reason);
    if !d.statements.is_empty() {
        let _ = writeln!(out, "  decided by:");
        for s in &d.statements {
            let _ = writeln!(out, "    {s}");
        }
    }
    out
}

fn section(out: &mut String, title: &str, p: &CompiledPolicy, req: &Request, role: Role) {
    let _ = writeln!(out, "{title}:");
    for s in p.statements() {
        statement(out, s, &p.pool, req, role);
    }
}

fn statement(out: &mut String, s: &CompiledStatement, pool: &Pool, req: &Request, role: Role) {
    let action = action_matches(s, pool, req);
    let resource = resource_matches(s, pool, req);
    let principal = principal_grant(s, req, role);
    let view = pool.view();
    let labels = s.conditions.of_slice(&view.cold.labels);
    let conds: Vec<(String, bool)> = view
        .conditions(s.conditions)
        .zip(labels)
        .map(|(c, (op, key))| (format!("{op} {key}"), c.holds(&view, &req.context)))
        .collect();
    let broken_allow = s.effect == Effect::Allow && !s.broken.is_empty();
    let applies =
        !broken_allow && action && resource && principal.is_some() && conds.iter().all(|c| c.1);
    let sid = s
        .sid
        .as_deref()
        .map(|x| format!(" (`{x}`)"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  statement #{}{sid} {}: {}",
        s.index,
        s.effect.as_str(),
        if applies { "applies" } else { "does not apply" }
    );
    let yes = |b: bool| if b { "matches" } else { "does not match" };
    let _ = writeln!(out, "    action: {}", yes(action));
    let _ = writeln!(out, "    resource: {}", yes(resource));
    if role != Role::Identity {
        let _ = writeln!(
            out,
            "    principal: {}",
            match principal {
                Some(g) => format!("matches ({g:?})"),
                None => "does not match".into(),
            }
        );
    }
    for (c, ok) in conds {
        let _ = writeln!(
            out,
            "    condition {c}: {}",
            if ok { "true" } else { "false" }
        );
    }
    for b in &s.broken {
        let _ = writeln!(
            out,
            "    cannot be evaluated: {b}{}",
            if s.effect == Effect::Allow {
                " (never allows)"
            } else {
                " (ignored: the deny still applies)"
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_a_case() {
        let line = r#"{"id":"e","identityPolicies":[{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},{"Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}],"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/alice/k","resourceAccount":"111111111111","principal":"arn:aws:iam::111111111111:user/alice","context":{"aws:username":"alice","aws:SourceIp":"10.1.1.1"}}}"#;
        let text = explain_case(line).unwrap();
        assert!(
            text.contains("statement #0 (`Read`) Allow: applies"),
            "{text}"
        );
        assert!(
            text.contains("condition IpAddress aws:SourceIp: true"),
            "{text}"
        );
        assert!(text.contains("statement #1 Deny: does not apply"), "{text}");
        assert!(text.contains("decision: Allowed"), "{text}");
        assert!(
            text.contains("identity policy #0, statement #0 (`Read`): Allow"),
            "{text}"
        );
    }
}
