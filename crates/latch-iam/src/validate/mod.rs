//! Checks what a well-formed policy means: known operators and value types,
//! action and ARN shapes, principal rules per policy type, unique Sids and
//! size limits (IAM and AWS STS quotas). Actions are checked against the IAM
//! service reference when the crate was built with it.

mod err;
pub mod services;

pub use err::ValidationError;

use crate::ast::{Policy, Principal, Statement};
use crate::compile::{Broken, CompiledPolicy};
use crate::diag::Diagnostic;
use crate::json::Loc;

/// Which kind of policy is being checked; decides required elements and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// A customer managed identity-based policy.
    Identity,
    /// A resource-based policy (S3 bucket policy limits).
    Resource,
    /// A role trust policy.
    Trust,
    /// A permissions boundary (a managed policy).
    Boundary,
    /// A session policy.
    Session,
    /// A service control policy.
    Scp,
    /// A resource control policy.
    Rcp,
}

impl PolicyType {
    /// Every policy type, with its command-line name.
    pub const ALL: [(&'static str, PolicyType); 7] = [
        ("identity", PolicyType::Identity),
        ("resource", PolicyType::Resource),
        ("trust", PolicyType::Trust),
        ("boundary", PolicyType::Boundary),
        ("session", PolicyType::Session),
        ("scp", PolicyType::Scp),
        ("rcp", PolicyType::Rcp),
    ];

    /// Reads a command-line name (`identity`, `resource`, `trust`,
    /// `boundary`, `session`, `scp`, `rcp`).
    pub fn parse(name: &str) -> Option<PolicyType> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
    }

    /// The name with its article, for messages ("an identity-based policy").
    pub fn with_article(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity-based policy",
            PolicyType::Resource => "a resource-based policy",
            PolicyType::Trust => "a role trust policy",
            PolicyType::Boundary => "a permissions boundary",
            PolicyType::Session => "a session policy",
            PolicyType::Scp => "a service control policy",
            PolicyType::Rcp => "a resource control policy",
        }
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based policy",
            PolicyType::Resource => "resource-based policy",
            PolicyType::Trust => "role trust policy",
            PolicyType::Boundary => "permissions boundary",
            PolicyType::Session => "session policy",
            PolicyType::Scp => "service control policy",
            PolicyType::Rcp => "resource control policy",
        }
    }

    /// Size limit in characters, not counting whitespace: managed policies
    /// 6,144; trust policies 2,048 (default quota); session policies 2,048;
    /// SCPs and RCPs 5,120; S3 bucket policies 20 KB.
    pub fn size_limit(self) -> usize {
        match self {
            PolicyType::Identity | PolicyType::Boundary => 6_144,
            PolicyType::Resource => 20_480,
            PolicyType::Trust | PolicyType::Session => 2_048,
            PolicyType::Scp | PolicyType::Rcp => 5_120,
        }
    }

    fn has_principal(self) -> bool {
        matches!(
            self,
            PolicyType::Resource | PolicyType::Trust | PolicyType::Rcp
        )
    }

    fn needs_resource(self) -> bool {
        !matches!(self, PolicyType::Trust)
    }
}

/// Parses and validates policy text.
pub fn validate_file(text: &str, kind: PolicyType) -> Vec<Diagnostic> {
    match Policy::parse(text) {
        Ok(p) => validate(&p, kind),
        Err(e) => vec![Diagnostic::from(&e)],
    }
}

/// Validates a parsed policy.
pub fn validate(policy: &Policy, kind: PolicyType) -> Vec<Diagnostic> {
    validate_compiled(&CompiledPolicy::for_type(policy.clone(), kind), kind)
}

/// Validates a compiled policy (and the policy it was compiled from).
pub fn validate_compiled(compiled: &CompiledPolicy, kind: PolicyType) -> Vec<Diagnostic> {
    let policy = compiled.source();
    let mut out = Vec::new();
    let mut push = |e: ValidationError, loc: Loc| {
        let help = e.help();
        out.push(if e.is_warning() {
            Diagnostic::warning(e.to_string(), Some(loc), help)
        } else {
            Diagnostic::error(e.to_string(), Some(loc), help)
        });
    };
    let size = compact_size(policy);
    if size > kind.size_limit() {
        push(
            ValidationError::TooLarge {
                size,
                limit: kind.size_limit(),
                kind: kind.name(),
            },
            policy.loc,
        );
    }
    if kind == PolicyType::Rcp
        && !matches!(policy.version, Some(ref v) if v.value == crate::ast::Version::V2012)
    {
        push(
            ValidationError::RcpUnsupported("a `Version` other than `2012-10-17`"),
            policy.loc,
        );
    }
    let mut sids: Vec<&str> = Vec::new();
    for (s, c) in policy.statements.iter().zip(compiled.statements()) {
        if let Some(sid) = &s.sid {
            if sids.contains(&sid.value.as_str()) {
                push(ValidationError::DuplicateSid(sid.value.clone()), sid.loc);
            }
            sids.push(&sid.value);
        }
        statement(s, kind, policy.variables_enabled(), &mut push);
        for b in &c.broken {
            let (e, loc) = match b {
                Broken::UnknownOperator { operator } => (
                    ValidationError::UnknownOperator(operator.clone(), closest_operator(operator)),
                    operator_loc(s, operator),
                ),
                Broken::BadValue {
                    operator,
                    value,
                    expected,
                } => (
                    ValidationError::BadConditionValue {
                        operator: operator.clone(),
                        value: value.clone(),
                        expected,
                    },
                    value_loc(s, value),
                ),
                Broken::NoPrincipal => (
                    ValidationError::MissingPrincipal(kind.with_article()),
                    Some(s.loc),
                ),
            };
            push(e, loc.unwrap_or(s.loc));
        }
    }
    out.sort_by_key(|d| d.loc.map(|l| (l.line, l.col)));
    out
}

fn statement(
    s: &Statement,
    kind: PolicyType,
    vars: bool,
    push: &mut impl FnMut(ValidationError, Loc),
) {
    match (&s.principal, kind.has_principal()) {
        (Some(p), false) => push(
            ValidationError::UnexpectedPrincipal(kind.with_article()),
            p.loc,
        ),
        (None, true) => push(
            ValidationError::MissingPrincipal(kind.with_article()),
            s.loc,
        ),
        (Some(p), true) => {
            if let Principal::Map(entries) = &p.values {
                for (_, values) in entries {
                    for v in values.iter() {
                        if v.value != "*" && v.value.contains(['*', '?']) {
                            push(ValidationError::BadPrincipal(v.value.clone()), v.loc);
                        }
                    }
                }
            }
        }
        (None, false) => {}
    }
    if kind == PolicyType::Rcp {
        rcp_statement(s, push);
    }
    if s.resource.is_none() && kind.needs_resource() {
        push(ValidationError::MissingResource(kind.with_article()), s.loc);
    }
    let resources = s.resource.as_ref().filter(|r| !r.negated);
    for a in s.action.values.iter() {
        if let Some(e) = services::check_action(&a.value) {
            push(e, a.loc);
        } else if let Some(r) = resources.filter(|_| !s.action.negated) {
            let values = r.values.iter().map(|v| v.value.as_str());
            if let Some(e) = services::check_action_resources(&a.value, values) {
                push(e, a.loc);
            }
        }
    }
    for e in s.condition.iter().flatten().flat_map(|b| b.entries.iter()) {
        if let Some(err) = services::check_condition_key(&e.key.value) {
            push(err, e.key.loc);
        }
    }
    for r in s.resource.iter().flat_map(|r| r.values.iter()) {
        let arn = r.value.starts_with("arn:");
        if r.value != "*" && !arn {
            push(ValidationError::BadResource(r.value.clone()), r.loc);
        } else if arn && crate::compile::split_arn(&r.value, vars).is_none() {
            push(ValidationError::ShortArn(r.value.clone()), r.loc);
        }
        if !vars && r.value.contains("${") {
            push(
                ValidationError::VariableWithoutVersion(r.value.clone()),
                r.loc,
            );
        }
    }
}

/// The RCP syntax rules ("Resource control policy syntax" in the AWS
/// Organizations User Guide): `Deny` only (the allow-all `RCPFullAWSAccess`
/// is managed by AWS), no `NotAction`, no `*` alone as an action, no
/// `NotPrincipal`, and the principal is always `"*"`.
fn rcp_statement(s: &Statement, push: &mut impl FnMut(ValidationError, Loc)) {
    if s.effect.value == crate::ast::Effect::Allow {
        push(
            ValidationError::RcpUnsupported("`Allow` statements"),
            s.effect.loc,
        );
    }
    if s.action.negated {
        push(ValidationError::RcpUnsupported("`NotAction`"), s.action.loc);
    } else if let Some(a) = s.action.values.iter().find(|a| a.value == "*") {
        push(
            ValidationError::RcpUnsupported("`\"Action\": \"*\"`"),
            a.loc,
        );
    }
    if let Some(p) = &s.principal {
        let star = match &p.values {
            Principal::Star => true,
            Principal::Map(entries) => entries.iter().all(|(k, v)| {
                k.value == crate::ast::PrincipalKind::Aws && v.iter().all(|x| x.value == "*")
            }),
        };
        if p.negated {
            push(ValidationError::RcpUnsupported("`NotPrincipal`"), p.loc);
        } else if !star {
            push(
                ValidationError::RcpUnsupported("a `Principal` other than `\"*\"`"),
                p.loc,
            );
        }
    }
}

/// The known operator name closest to a misspelled one.
fn closest_operator(text: &str) -> Option<String> {
    use crate::ast::{BaseOperator, Operator, SetQualifier};
    let mut names = Vec::new();
    for &base in crate::ast::ALL_BASE_OPERATORS {
        for set in [
            None,
            Some(SetQualifier::ForAllValues),
            Some(SetQualifier::ForAnyValue),
        ] {
            for if_exists in [false, base != BaseOperator::Null] {
                names.push(
                    Operator {
                        set,
                        base,
                        if_exists,
                    }
                    .name(),
                );
            }
        }
    }
    services::closest_owned(text, &names)
}

fn operator_loc(s: &Statement, op: &str) -> Option<Loc> {
    s.condition
        .iter()
        .flatten()
        .find(|b| b.operator_text.value == op)
        .map(|b| b.operator_text.loc)
}

fn value_loc(s: &Statement, value: &str) -> Option<Loc> {
    s.condition
        .iter()
        .flatten()
        .flat_map(|b| b.entries.iter())
        .flat_map(|e| e.values.iter())
        .find(|v| v.value.as_text() == value)
        .map(|v| v.loc)
}

/// Size as IAM counts it: characters of the document without whitespace
/// outside strings.
fn compact_size(policy: &Policy) -> usize {
    policy.to_compact_json_string().chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, kind: PolicyType) -> Vec<String> {
        validate_file(text, kind)
            .iter()
            .map(|d| d.render("p.json"))
            .collect()
    }

    #[test]
    fn reports_with_locations_and_help() {
        let text = "{\"Version\":\"2012-10-17\",\"Statement\":[\n{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\n\"Condition\":{\"StringEqualz\":{\"aws:username\":\"v\"}}},\n{\"Sid\":\"A\",\"Effect\":\"Deny\",\"Action\":\"s3\",\"Resource\":\"bucket\"}]}";
        let got = render(text, PolicyType::Identity);
        assert_eq!(
            got,
            [
                "error: unknown condition operator `StringEqualz`\n  --> p.json:3:14\n  help: did you mean `StringEquals`?",
                "error: duplicate `Sid` `A`\n  --> p.json:4:8\n  help: give each statement a unique `Sid`",
                "error: invalid action `s3`\n  --> p.json:4:37\n  help: write actions as `service:ActionName`, wildcards allowed, or `*`",
                "error: invalid resource `bucket`\n  --> p.json:4:53\n  help: write `*` or an ARN `arn:partition:service:region:account:resource`",
            ]
        );
    }

    #[test]
    fn principal_rules_per_type() {
        let with = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/*"},"Action":"s3:GetObject","Resource":"*"}}"#;
        let without = r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;
        assert_eq!(render(with, PolicyType::Identity).len(), 1);
        assert!(render(with, PolicyType::Identity)[0]
            .starts_with("error: an identity-based policy must not contain `Principal`"));
        assert!(render(with, PolicyType::Resource)[0]
            .starts_with("error: invalid principal `arn:aws:iam::1:user/*`"));
        assert!(render(without, PolicyType::Resource)[0].starts_with(
            "error: every statement of a resource-based policy must contain `Principal`"
        ));
        assert!(render(without, PolicyType::Identity).is_empty());
    }

    #[test]
    fn size_limit() {
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/{}"}}}}"#,
            "x".repeat(3000)
        );
        assert!(render(&big, PolicyType::Identity).is_empty());
        assert!(render(&big, PolicyType::Session)[0].starts_with("error: policy is 3"));
    }

    #[test]
    fn warns_when_an_action_acts_on_none_of_the_resources() {
        let t = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\n\"Action\":[\"s3:ListBucket\",\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::reports\"}}";
        let got = render(t, PolicyType::Identity);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("warning: `s3:GetObject` acts on none of the statement's resources\n  --> p.json:2:27"),
            "{got:?}"
        );
        let negated = t.replace("\"Resource\"", "\"NotResource\"");
        assert!(render(&negated, PolicyType::Identity).is_empty());
    }

    #[test]
    fn variables_need_version() {
        let t = r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}"}}"#;
        assert!(render(t, PolicyType::Identity)[0]
            .starts_with("warning: `arn:aws:s3:::b/${aws:username}` is not expanded"));
    }
}
