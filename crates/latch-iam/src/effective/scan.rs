//! What a compiled policy can reach, read once at build time without a
//! request: the services its `Allow` statements may grant (the index that
//! lets a question skip principals), and the principals a resource or trust
//! policy names.

use super::glob::overlap;
use crate::ast::{Effect, PrincipalKind};
use crate::compile::{CompiledPolicy, CompiledStatement};

/// The services a policy's `Allow` statements may grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Services {
    /// Some statement may grant any service (`*`, `s*:…`, `NotAction`).
    pub any: bool,
    /// Service prefixes, lowercased, sorted, without duplicates.
    pub names: Vec<Box<str>>,
}

impl Services {
    /// Adds another set.
    pub fn merge(&mut self, other: &Services) {
        self.any |= other.any;
        self.names.extend(other.names.iter().cloned());
        self.names.sort_unstable();
        self.names.dedup();
    }

    /// The services both sets may grant.
    pub fn intersect(&self, other: &Services) -> Services {
        let mut names: Vec<Box<str>> = Vec::new();
        if self.any {
            names.extend(other.names.iter().cloned());
        }
        if other.any {
            names.extend(self.names.iter().cloned());
        }
        names.extend(
            self.names
                .iter()
                .filter(|n| other.names.binary_search(n).is_ok())
                .cloned(),
        );
        names.sort_unstable();
        names.dedup();
        Services {
            any: self.any && other.any,
            names,
        }
    }
}

/// Action patterns of a statement, as compiled (lowercased).
fn actions<'a>(p: &'a CompiledPolicy, s: &'a CompiledStatement) -> impl Iterator<Item = &'a str> {
    let pool = p.pool.view();
    pool.patterns(s.actions)
        .map(move |a| a.text(pool.arena.text))
}

/// Whether a statement can grant: `Allow`, and evaluable (a statement that
/// cannot be evaluated never allows).
pub(super) fn grants(s: &CompiledStatement) -> bool {
    s.effect == Effect::Allow && s.broken.is_empty()
}

/// The services `p`'s granting statements may cover.
pub(super) fn services(p: &CompiledPolicy) -> Services {
    let mut out = Services::default();
    for s in p.statements.iter().filter(|s| grants(s)) {
        if s.not_action {
            out.any = true;
            continue;
        }
        for a in actions(p, s) {
            match a.split_once(':') {
                Some((svc, _)) if !svc.is_empty() && !svc.contains(['*', '?']) => {
                    out.names.push(svc.into());
                }
                _ => out.any = true,
            }
        }
    }
    out.names.sort_unstable();
    out.names.dedup();
    out
}

/// Whether some granting statement of `p` may cover `action` (lowercase).
pub(super) fn may_grant(p: &CompiledPolicy, action: &str) -> bool {
    p.statements
        .iter()
        .filter(|s| grants(s))
        .any(|s| actions(p, s).any(|a| overlap(a, action, true)) != s.not_action)
}

/// A principal named by a policy's `Principal` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Named<'a> {
    /// Everyone (`*`, or a `NotPrincipal`).
    All,
    /// An account: its id or `arn:…:iam::ACCOUNT:root`.
    Account(&'a str),
    /// A user, role or role session of an account (`role` for the role
    /// name of an `assumed-role` session ARN).
    Arn {
        /// The ARN as written.
        arn: &'a str,
        /// The account.
        account: &'a str,
        /// For a role session, the role's name.
        session_role: Option<&'a str>,
    },
    /// Anything else (services, identity providers, canonical users).
    Other(&'a str),
}

/// The principals the granting statements of a resource or trust policy
/// name; `action`, when given, keeps only statements that may cover it.
pub(super) fn named<'a>(p: &'a CompiledPolicy, action: Option<&str>) -> Vec<Named<'a>> {
    let mut out = Vec::new();
    for s in p.statements.iter().filter(|s| grants(s)) {
        if let Some(want) = action {
            let any = actions(p, s).any(|a| overlap(a, want, true));
            if any == s.not_action {
                continue;
            }
        }
        let Some(pr) = &s.principal else { continue };
        if pr.star || pr.negated {
            out.push(Named::All);
            continue;
        }
        for (kind, value) in &pr.entries {
            out.push(match kind {
                PrincipalKind::Aws => aws(value),
                PrincipalKind::Service
                | PrincipalKind::Federated
                | PrincipalKind::CanonicalUser => Named::Other(value),
            });
        }
    }
    out
}

/// Reads an `AWS` principal value.
fn aws(value: &str) -> Named<'_> {
    if value == "*" {
        return Named::All;
    }
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Named::Account(value);
    }
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(_), Some(service), Some(_), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Named::Other(value);
    };
    match (service, resource) {
        ("iam", "root") => Named::Account(account),
        ("iam", r) if r.starts_with("user/") || r.starts_with("role/") => Named::Arn {
            arn: value,
            account,
            session_role: None,
        },
        ("sts", r) if r.starts_with("assumed-role/") => Named::Arn {
            arn: value,
            account,
            session_role: r.split('/').nth(1),
        },
        _ => Named::Other(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_names() {
        let p = CompiledPolicy::parse(
            r#"{"Statement":[
              {"Effect":"Allow","Action":["s3:GetObject","SQS:Send*"],"Resource":"*"},
              {"Effect":"Deny","Action":"*","Resource":"*"},
              {"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"Bogus":{"k":"v"}}}]}"#,
        )
        .unwrap();
        let s = services(&p);
        assert!(!s.any);
        assert_eq!(s.names, vec!["s3".into(), "sqs".into()] as Vec<Box<str>>);
        let t = CompiledPolicy::parse(
            r#"{"Statement":[
              {"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::2:root","arn:aws:iam::3:role/R","arn:aws:sts::3:assumed-role/Q/s"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
              {"Effect":"Allow","Principal":"*","Action":"sts:TagSession"}]}"#,
        )
        .unwrap();
        assert_eq!(
            named(&t, Some("sts:assumerole")),
            vec![
                Named::Account("111111111111"),
                Named::Account("2"),
                Named::Arn {
                    arn: "arn:aws:iam::3:role/R",
                    account: "3",
                    session_role: None
                },
                Named::Arn {
                    arn: "arn:aws:sts::3:assumed-role/Q/s",
                    account: "3",
                    session_role: Some("Q")
                },
                Named::Other("ec2.amazonaws.com"),
            ]
        );
        assert_eq!(named(&t, None).last(), Some(&Named::All));
    }
}
