//! Table-driven tests of each evaluation step, written from the IAM User
//! Guide's policy evaluation logic, and the tests that pin behaviour where
//! the differential oracle disagrees with the AWS documentation.

use latch_iam::{simulate_line, Outcome};
use serde_json::{json, Value};

const ALICE: &str = "arn:aws:iam::111111111111:user/alice";
const SESSION: &str = "arn:aws:sts::111111111111:assumed-role/Dev/s1";
const ROLE: &str = "arn:aws:iam::111111111111:role/Dev";
const CAROL: &str = "arn:aws:iam::222222222222:user/carol";
const TOPIC: &str = "arn:aws:sns:eu-west-1:111111111111:topic1";

fn stmt(effect: &str, action: &str, resource: &str) -> Value {
    json!({"Effect": effect, "Action": action, "Resource": resource})
}

fn policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn allow() -> Value {
    policy(vec![stmt("Allow", "sns:Publish", "*")])
}

fn allow_other() -> Value {
    policy(vec![stmt("Allow", "s3:GetObject", "*")])
}

fn deny() -> Value {
    policy(vec![stmt("Deny", "sns:*", "*")])
}

fn rbp(principal: Value, effect: &str) -> Value {
    policy(vec![
        json!({"Effect": effect, "Principal": principal, "Action": "sns:Publish", "Resource": "*"}),
    ])
}

fn condition(cond: Value) -> Value {
    policy(vec![
        json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*", "Condition": cond}),
    ])
}

/// Runs one case: `fields` are merged into the case; `principal` and
/// `context` make the request against `TOPIC` in account 111111111111.
fn run(fields: Value, principal: &str, context: Value) -> Outcome {
    let mut case = json!({"id": "t", "request": {
        "action": "sns:Publish", "resource": TOPIC, "resourceAccount": "111111111111",
        "principal": principal, "context": context}});
    if let (Some(c), Value::Object(f)) = (case.as_object_mut(), fields) {
        c.extend(f);
    }
    let (out, res) = simulate_line(&case.to_string());
    res.unwrap_or_else(|e| panic!("case failed: {e}: {out}"))
}

use Outcome::{Allowed as A, ExplicitlyDenied as E, ImplicitlyDenied as I};

#[test]
fn evaluation_steps() {
    let ctx = json!({});
    let cases: Vec<(&str, Value, &str, Outcome)> = vec![
        ("no policies: implicit deny", json!({}), ALICE, I),
        (
            "identity allow",
            json!({"identityPolicies": [allow()]}),
            ALICE,
            A,
        ),
        (
            "identity allow for another action",
            json!({"identityPolicies": [allow_other()]}),
            ALICE,
            I,
        ),
        (
            "explicit deny wins",
            json!({"identityPolicies": [allow(), deny()]}),
            ALICE,
            E,
        ),
        (
            "deny in boundary wins",
            json!({"identityPolicies": [allow()], "permissionBoundaries": [deny()]}),
            ALICE,
            E,
        ),
        (
            "boundary must allow",
            json!({"identityPolicies": [allow()], "permissionBoundaries": [allow_other()]}),
            ALICE,
            I,
        ),
        (
            "boundary allows",
            json!({"identityPolicies": [allow()], "permissionBoundaries": [allow()]}),
            ALICE,
            A,
        ),
        (
            "boundary alone grants nothing",
            json!({"permissionBoundaries": [allow()]}),
            ALICE,
            I,
        ),
        (
            "session policy must allow",
            json!({"identityPolicies": [allow()], "sessionPolicy": allow_other()}),
            SESSION,
            I,
        ),
        (
            "session policy allows",
            json!({"identityPolicies": [allow()], "sessionPolicy": allow()}),
            SESSION,
            A,
        ),
        (
            "session policy alone grants nothing",
            json!({"sessionPolicy": allow()}),
            SESSION,
            I,
        ),
        (
            "every SCP level must allow",
            json!({"identityPolicies": [allow()], "scps": [[allow()], [allow_other()]]}),
            ALICE,
            I,
        ),
        (
            "SCP levels all allow",
            json!({"identityPolicies": [allow()], "scps": [[allow()], [allow()]]}),
            ALICE,
            A,
        ),
        (
            "empty SCP level allows nothing",
            json!({"identityPolicies": [allow()], "scps": [[]]}),
            ALICE,
            I,
        ),
        (
            "SCP deny",
            json!({"identityPolicies": [allow()], "scps": [[allow(), deny()]]}),
            ALICE,
            E,
        ),
        (
            "SCP alone grants nothing",
            json!({"scps": [[allow()]]}),
            ALICE,
            I,
        ),
        (
            "RCP levels start from full access",
            json!({"identityPolicies": [allow()], "rcps": [[policy(vec![json!({"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"})])]]}),
            ALICE,
            A,
        ),
        (
            "RCP deny",
            json!({"identityPolicies": [allow()], "rcps": [[policy(vec![json!({"Effect":"Deny","Principal":"*","Action":"sns:*","Resource":"*"})])]]}),
            ALICE,
            E,
        ),
        (
            "same account: resource policy naming the user suffices",
            json!({"resourcePolicy": rbp(json!({"AWS": ALICE}), "Allow")}),
            ALICE,
            A,
        ),
        (
            "same account: user grant not limited by boundary",
            json!({"resourcePolicy": rbp(json!({"AWS": ALICE}), "Allow"), "permissionBoundaries": [allow_other()]}),
            ALICE,
            A,
        ),
        (
            "same account: account grant delegates to identity policies",
            json!({"resourcePolicy": rbp(json!({"AWS": "111111111111"}), "Allow")}),
            ALICE,
            I,
        ),
        (
            "same account: account grant plus identity allow",
            json!({"resourcePolicy": rbp(json!({"AWS": "arn:aws:iam::111111111111:root"}), "Allow"), "identityPolicies": [allow()]}),
            ALICE,
            A,
        ),
        (
            "same account: role ARN grant suffices",
            json!({"resourcePolicy": rbp(json!({"AWS": ROLE}), "Allow")}),
            SESSION,
            A,
        ),
        (
            "same account: role ARN grant limited by boundary",
            json!({"resourcePolicy": rbp(json!({"AWS": ROLE}), "Allow"), "permissionBoundaries": [allow_other()]}),
            SESSION,
            I,
        ),
        (
            "same account: role ARN grant limited by session policy",
            json!({"resourcePolicy": rbp(json!({"AWS": ROLE}), "Allow"), "sessionPolicy": allow_other()}),
            SESSION,
            I,
        ),
        (
            "same account: session ARN grant not limited by boundary",
            json!({"resourcePolicy": rbp(json!({"AWS": SESSION}), "Allow"), "permissionBoundaries": [allow_other()]}),
            SESSION,
            A,
        ),
        (
            "resource policy deny wins",
            json!({"identityPolicies": [allow()], "resourcePolicy": rbp(json!({"AWS": ALICE}), "Deny")}),
            ALICE,
            E,
        ),
        (
            "resource policy deny for someone else",
            json!({"identityPolicies": [allow()], "resourcePolicy": rbp(json!({"AWS": CAROL}), "Deny")}),
            ALICE,
            A,
        ),
        (
            "NotPrincipal deny excludes the named user",
            json!({"identityPolicies": [allow()], "resourcePolicy": policy(vec![json!({"Effect":"Deny","NotPrincipal":{"AWS":[ALICE]},"Action":"sns:Publish","Resource":"*"})])}),
            ALICE,
            A,
        ),
        (
            "NotPrincipal deny hits others",
            json!({"identityPolicies": [allow()], "resourcePolicy": policy(vec![json!({"Effect":"Deny","NotPrincipal":{"AWS":[CAROL]},"Action":"sns:Publish","Resource":"*"})])}),
            ALICE,
            E,
        ),
        // "The NotPrincipal element with a Deny effect will always deny any
        // IAM principal that has a permissions boundary policy attached,
        // regardless of the values specified in the NotPrincipal element."
        (
            "NotPrincipal deny always hits a principal with a boundary",
            json!({"identityPolicies": [allow()], "permissionBoundaries": [allow()], "resourcePolicy": policy(vec![json!({"Effect":"Deny","NotPrincipal":{"AWS":[ALICE]},"Action":"sns:Publish","Resource":"*"})])}),
            ALICE,
            E,
        ),
        (
            "root user has full access in its account",
            json!({}),
            "arn:aws:iam::111111111111:root",
            A,
        ),
        (
            "root user is still bound by SCPs",
            json!({"scps": [[allow_other()]]}),
            "arn:aws:iam::111111111111:root",
            I,
        ),
        (
            "service principal needs the resource policy",
            json!({"resourcePolicy": rbp(json!({"Service": "sns.amazonaws.com"}), "Allow")}),
            "sns.amazonaws.com",
            A,
        ),
        (
            "service principal without resource policy",
            json!({"identityPolicies": [allow()]}),
            "sns.amazonaws.com",
            I,
        ),
    ];
    for (name, fields, principal, want) in cases {
        assert_eq!(run(fields, principal, ctx.clone()), want, "{name}");
    }
}

#[test]
fn cross_account_needs_both_sides() {
    let cases: Vec<(&str, Value, Outcome)> = vec![
        ("identity only", json!({"identityPolicies": [allow()]}), I),
        (
            "resource policy only",
            json!({"resourcePolicy": rbp(json!({"AWS": CAROL}), "Allow")}),
            I,
        ),
        (
            "both",
            json!({"identityPolicies": [allow()], "resourcePolicy": rbp(json!({"AWS": CAROL}), "Allow")}),
            A,
        ),
        (
            "both, account grant",
            json!({"identityPolicies": [allow()], "resourcePolicy": rbp(json!({"AWS": "222222222222"}), "Allow")}),
            A,
        ),
        (
            "both, boundary limits",
            json!({"identityPolicies": [allow()], "permissionBoundaries": [allow_other()], "resourcePolicy": rbp(json!({"AWS": CAROL}), "Allow")}),
            I,
        ),
        (
            "resource policy names another account",
            json!({"identityPolicies": [allow()], "resourcePolicy": rbp(json!({"AWS": "333333333333"}), "Allow")}),
            I,
        ),
    ];
    for (name, fields, want) in cases {
        assert_eq!(run(fields, CAROL, json!({})), want, "{name}");
    }
}

/// Oracle disagreement 1. AWS global condition keys, `aws:EpochTime`:
/// "This key also accepts the number of seconds since January 1, 1970", and
/// the Date condition operators accept epoch (UNIX) time: a number is
/// seconds. iam-simulate reads it as milliseconds.
#[test]
fn date_epoch_values_are_seconds() {
    let c = condition(json!({"DateEquals": {"aws:CurrentTime": "1717200000"}}));
    assert_eq!(
        run(
            json!({"identityPolicies": [c]}),
            ALICE,
            json!({"aws:CurrentTime": "2024-06-01T00:00:00Z"})
        ),
        A
    );
    let c = condition(json!({"DateEquals": {"aws:EpochTime": "2024-06-01T00:00:00Z"}}));
    assert_eq!(
        run(
            json!({"identityPolicies": [c]}),
            ALICE,
            json!({"aws:EpochTime": "1717200000"})
        ),
        A
    );
}

/// Oracle disagreement 2. Condition operators, IP address: `NotIpAddress`
/// matches "all IP addresses except the specified IP address or range"; an
/// IPv6 address is not the IPv4 host 10.0.0.1. iam-simulate says it is.
#[test]
fn not_ip_address_bare_v4_host_and_v6_request() {
    let c = condition(json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.1"}}));
    assert_eq!(
        run(
            json!({"identityPolicies": [c]}),
            ALICE,
            json!({"aws:SourceIp": "2001:db8::1"})
        ),
        A
    );
}

/// Oracle disagreement 3. Session policies: "A resource-based policy can
/// specify the ARN of the session as a principal. In that case, the
/// permissions from the resource-based policy are added after the session
/// policy is applied. The resource-based policy permissions are not limited
/// by the session policy." iam-simulate limits them.
#[test]
fn session_arn_grant_not_limited_by_session_policy() {
    let fields = json!({"resourcePolicy": rbp(json!({"AWS": SESSION}), "Allow"), "sessionPolicy": allow_other()});
    assert_eq!(run(fields, SESSION, json!({})), A);
    let fed = "arn:aws:sts::111111111111:federated-user/fed";
    let fields = json!({"resourcePolicy": rbp(json!({"AWS": fed}), "Allow"), "sessionPolicy": allow_other()});
    assert_eq!(run(fields, fed, json!({})), A);
}

/// Oracle disagreement 4. Condition operators, `…IfExists`: "If the key is
/// not present, evaluate the condition element as true" — for any operator
/// but `Null`, so `ForAnyValue:StringEqualsIfExists` too. iam-simulate
/// returns false for a missing key.
#[test]
fn for_any_value_if_exists_missing_key_is_true() {
    let c = condition(json!({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["a"]}}));
    assert_eq!(run(json!({"identityPolicies": [c]}), ALICE, json!({})), A);
    let c = condition(json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}));
    assert_eq!(run(json!({"identityPolicies": [c]}), ALICE, json!({})), I);
}

/// Oracle disagreement 5. IAM JSON policy elements, Version: "If you do not
/// include a Version element, the value defaults to 2008-10-17 … variables
/// such as ${aws:username} aren't recognized as variables and are instead
/// treated as literal strings in the policy." iam-simulate expands them.
#[test]
fn variables_are_literal_without_version_2012() {
    let p = json!({"Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:111111111111:${aws:username}"}]});
    let ctx = json!({"aws:username": "topic1"});
    assert_eq!(run(json!({"identityPolicies": [p]}), ALICE, ctx.clone()), I);
    let mut p2 = p.clone();
    p2["Version"] = json!("2012-10-17");
    assert_eq!(run(json!({"identityPolicies": [p2]}), ALICE, ctx), A);
}

#[test]
fn explain_names_the_deciding_statements() {
    let case = json!({"id": "x", "identityPolicies": [allow(), deny()], "request": {
        "action": "sns:Publish", "resource": TOPIC, "resourceAccount": "111111111111", "principal": ALICE}});
    let text = latch_iam::explain_case(&case.to_string()).unwrap();
    assert!(text.contains("decision: ExplicitlyDenied"), "{text}");
    assert!(
        text.contains("identity policy #1, statement #0: Deny"),
        "{text}"
    );
}

/// "A statement that cannot be evaluated never yields Allow": an `Allow`
/// with an unknown operator or an unreadable value never applies; a `Deny`
/// with one still denies (fail closed). The batch rejects such policies, so
/// this goes through the library.
#[test]
fn broken_statements_never_allow() {
    use latch_iam::eval::{decide, Context, EvalInput, Request};
    use latch_iam::CompiledPolicy;
    let req = Request::new(
        "sns:Publish",
        TOPIC,
        Some("111111111111"),
        ALICE,
        Context::default(),
    )
    .unwrap();
    for (policy, want) in [
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}}"#,
            I,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"a":"x"}}}}"#,
            I,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}]}"#,
            E,
        ),
    ] {
        let p = [CompiledPolicy::parse(policy).unwrap()];
        assert_eq!(decide(&EvalInput::new(&req, &p)), want, "{policy}");
    }
}

/// Oracle disagreement 6. "How AWS enforcement code logic evaluates requests
/// to allow or deny access": "By default, all requests are implicitly denied
/// with the exception of the AWS account root user, which has full access."
/// iam-simulate denies the root user that no policy allows.
#[test]
fn root_user_has_full_access() {
    let root = "arn:aws:iam::111111111111:root";
    assert_eq!(run(json!({}), root, json!({})), A);
    assert_eq!(
        run(json!({"identityPolicies": [deny()]}), root, json!({})),
        E
    );
    assert_eq!(run(json!({"scps": [[allow_other()]]}), root, json!({})), I);
}

/// The boundaries page: "Resource-based policies that grant permissions to
/// the IAM user ARN that federated are limited by implicit deny in a
/// permissions boundary or session policy."
#[test]
fn federated_user_through_its_iam_user() {
    let fed = "arn:aws:sts::111111111111:federated-user/fed";
    let grant = rbp(
        json!({"AWS": "arn:aws:iam::111111111111:user/fed"}),
        "Allow",
    );
    assert_eq!(
        run(json!({"resourcePolicy": grant.clone()}), fed, json!({})),
        A
    );
    assert_eq!(
        run(
            json!({"resourcePolicy": grant, "sessionPolicy": allow_other()}),
            fed,
            json!({})
        ),
        I
    );
}

/// ARNs with fewer than six parts in `Resource`: identity-based policies
/// fill the missing parts with `*`; SCPs only with a trailing wildcard;
/// RCPs never (they match nothing).
#[test]
fn short_arns_per_policy_type() {
    let short = |effect: &str, r: &str| {
        policy(vec![
            json!({"Effect": effect, "Action": "sns:Publish", "Resource": r}),
        ])
    };
    let rcp = |r: &str| {
        policy(vec![
            json!({"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": r}),
        ])
    };
    for (name, fields, want) in [
        (
            "identity: filled in",
            json!({"identityPolicies": [short("Allow", "arn:aws:sns:*")]}),
            A,
        ),
        (
            "identity: filled-in parts still compared",
            json!({"identityPolicies": [short("Allow", "arn:aws:*:111111111111:topic1")]}),
            I,
        ),
        (
            "SCP: trailing wildcard",
            json!({"identityPolicies": [allow()], "scps": [[short("Allow", "arn:aws:sns:*")]]}),
            A,
        ),
        (
            "SCP: no trailing wildcard",
            json!({"identityPolicies": [allow()], "scps": [[short("Allow", "arn:aws:*:111111111111:topic1")]]}),
            I,
        ),
        (
            "RCP: never",
            json!({"identityPolicies": [allow()], "rcps": [[rcp("arn:aws:sns:*")]]}),
            A,
        ),
    ] {
        assert_eq!(run(fields, ALICE, json!({})), want, "{name}");
    }
}

#[test]
fn compiled_policies_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<latch_iam::CompiledPolicy>();
    assert_send_sync::<latch_iam::Request>();
    assert_send_sync::<latch_iam::Case>();
}

/// Oracle disagreement 7. AWS Organizations User Guide, SCPs: "SCPs affect
/// only IAM users and roles that are managed by accounts that are part of
/// the organization." An AWS service principal is neither; iam-simulate
/// applies the SCPs to it.
#[test]
fn scps_do_not_limit_service_principals() {
    let svc = "sns.amazonaws.com";
    let grant = rbp(json!({"Service": svc}), "Allow");
    assert_eq!(
        run(
            json!({"scps": [[allow_other()]], "resourcePolicy": grant.clone()}),
            svc,
            json!({})
        ),
        A
    );
    assert_eq!(
        run(
            json!({"scps": [[deny()]], "resourcePolicy": grant}),
            svc,
            json!({})
        ),
        A
    );
}
