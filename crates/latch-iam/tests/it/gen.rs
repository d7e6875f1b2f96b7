//! A seeded generator of batch cases (policies and requests) covering the
//! policy language and the evaluation logic: every policy type, wildcards,
//! `Not…` elements, principals of every kind, same- and cross-account
//! requests, condition operators with `IfExists` and set qualifiers,
//! multivalued keys and policy variables. Shared by the differential test
//! and the benchmark, so both run the same cases.

use serde_json::{json, Value};

/// SplitMix64: small, seedable, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const A: &str = "111111111111";
pub const B: &str = "222222222222";

/// A caller: ARN, account, role name (sessions), user name (IAM users).
struct Caller {
    arn: String,
    account: &'static str,
    role: Option<&'static str>,
    user: Option<&'static str>,
    session: bool,
}

fn callers() -> Vec<Caller> {
    let user = |acct: &'static str, name: &'static str| Caller {
        arn: format!("arn:aws:iam::{acct}:user/{name}"),
        account: acct,
        role: None,
        user: Some(name),
        session: false,
    };
    let role = |acct: &'static str, role: &'static str, sess: &str| Caller {
        arn: format!("arn:aws:sts::{acct}:assumed-role/{role}/{sess}"),
        account: acct,
        role: Some(role),
        user: None,
        session: true,
    };
    vec![
        user(A, "alice"),
        user(A, "bob"),
        role(A, "Dev", "s1"),
        role(A, "Ops", "s2"),
        user(B, "carol"),
        role(B, "Dev", "x"),
        Caller {
            arn: format!("arn:aws:sts::{A}:federated-user/fed"),
            account: A,
            role: None,
            user: None,
            session: true,
        },
        Caller {
            arn: "sns.amazonaws.com".to_string(),
            account: A,
            role: None,
            user: None,
            session: false,
        },
        Caller {
            arn: format!("arn:aws:iam::{A}:root"),
            account: A,
            role: None,
            user: None,
            session: false,
        },
    ]
}

/// A request target: action, resource, owning account.
fn targets() -> Vec<(&'static str, String, &'static str)> {
    let mut t = Vec::new();
    for (acct, bucket) in [(A, "bucket-a"), (B, "bucket-b")] {
        for key in [
            "home/alice/doc.txt",
            "home/bob/y.txt",
            "public/x.txt",
            "home/blue/z",
        ] {
            t.push(("s3:GetObject", format!("arn:aws:s3:::{bucket}/{key}"), acct));
            t.push(("s3:PutObject", format!("arn:aws:s3:::{bucket}/{key}"), acct));
        }
        t.push(("s3:ListBucket", format!("arn:aws:s3:::{bucket}"), acct));
        t.push((
            "s3:DeleteObject",
            format!("arn:aws:s3:::{bucket}/public/x.txt"),
            acct,
        ));
        t.push((
            "sqs:SendMessage",
            format!("arn:aws:sqs:us-east-1:{acct}:queue1"),
            acct,
        ));
        t.push((
            "lambda:InvokeFunction",
            format!("arn:aws:lambda:us-east-1:{acct}:function:fn1"),
            acct,
        ));
        t.push((
            "dynamodb:GetItem",
            format!("arn:aws:dynamodb:us-east-1:{acct}:table/Orders"),
            acct,
        ));
        t.push((
            "sns:Publish",
            format!("arn:aws:sns:eu-west-1:{acct}:topic1"),
            acct,
        ));
        t.push((
            "iam:GetUser",
            format!("arn:aws:iam::{acct}:user/alice"),
            acct,
        ));
    }
    t
}

struct Scene<'a> {
    caller: &'a Caller,
    action: &'a str,
    resource: &'a str,
    account: &'a str,
}

/// `n` case lines from `seed`.
pub fn cases(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let callers = callers();
    let targets = targets();
    (0..n)
        .map(|i| {
            // The root user and service principals are rare callers: 3%
            // of cases each.
            let n = callers.len();
            let caller = if rng.chance(3) {
                &callers[n - 1]
            } else if rng.chance(3) {
                &callers[n - 2]
            } else {
                &callers[rng.below(n - 2)]
            };
            let (action, resource, account) = rng.pick(&targets);
            let scene = Scene {
                caller,
                action,
                resource,
                account,
            };
            case(&mut rng, &format!("c{i}"), &scene).to_string()
        })
        .collect()
}

fn case(rng: &mut Rng, id: &str, s: &Scene<'_>) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("id".into(), json!(id));
    let n_identity = rng.pick(&[0, 1, 1, 1, 2, 2, 3]);
    c.insert(
        "identityPolicies".into(),
        Value::Array(
            (0..*n_identity)
                .map(|_| policy(rng, s, Kind::Identity))
                .collect(),
        ),
    );
    let cross = s.caller.account != s.account;
    if rng.chance(if cross { 70 } else { 40 }) {
        c.insert("resourcePolicy".into(), policy(rng, s, Kind::Resource));
    } else if rng.chance(20) {
        c.insert("resourcePolicy".into(), Value::Null);
    }
    // Service principals have no boundary or SCPs: those belong to IAM
    // users and roles.
    let service = s.caller.arn.ends_with(".amazonaws.com");
    if !service && rng.chance(20) {
        c.insert(
            "permissionBoundaries".into(),
            json!([policy(rng, s, Kind::Identity)]),
        );
    }
    if s.caller.session && rng.chance(20) {
        c.insert("sessionPolicy".into(), policy(rng, s, Kind::Identity));
    }
    if !service && rng.chance(25) {
        let levels = 1 + rng.below(3);
        let scps: Vec<Value> = (0..levels)
            .map(|_| {
                let mut level = Vec::new();
                if rng.chance(60) {
                    level.push(full_access());
                }
                if level.is_empty() || rng.chance(50) {
                    level.push(policy(rng, s, Kind::Scp));
                }
                Value::Array(level)
            })
            .collect();
        c.insert("scps".into(), Value::Array(scps));
    }
    if rng.chance(15) {
        let levels = 1 + rng.below(2);
        let rcps: Vec<Value> = (0..levels)
            .map(|_| json!([policy(rng, s, Kind::Rcp)]))
            .collect();
        c.insert("rcps".into(), Value::Array(rcps));
    }
    c.insert("request".into(), request(rng, s));
    Value::Object(c)
}

fn full_access() -> Value {
    json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})
}

fn request(rng: &mut Rng, s: &Scene<'_>) -> Value {
    let mut ctx = serde_json::Map::new();
    let c = s.caller;
    let principal_arn = match c.role {
        Some(role) => format!("arn:aws:iam::{}:role/{role}", c.account),
        None => c.arn.clone(),
    };
    if c.arn.ends_with(".amazonaws.com") {
        ctx.insert("aws:PrincipalServiceName".into(), json!(c.arn));
        ctx.insert("aws:PrincipalIsAWSService".into(), json!("true"));
    } else {
        ctx.insert("aws:PrincipalArn".into(), json!(principal_arn));
        ctx.insert("aws:PrincipalAccount".into(), json!(c.account));
    }
    if let Some(u) = c.user {
        ctx.insert("aws:username".into(), json!(u));
    }
    let mut maybe = |rng: &mut Rng, key: &str, v: Value| {
        if rng.chance(75) {
            ctx.insert(key.into(), v);
        }
    };
    let ip = *rng.pick(&[
        "10.0.0.1",
        "10.1.2.3",
        "192.168.1.5",
        "2001:db8::1",
        "203.0.113.9",
    ]);
    maybe(rng, "aws:SourceIp", json!(ip));
    let team = *rng.pick(&["blue", "red", "Blue", "alice"]);
    maybe(rng, "aws:PrincipalTag/team", json!(team));
    let tls = *rng.pick(&["true", "false"]);
    maybe(rng, "aws:SecureTransport", json!(tls));
    let t = *rng.pick(&[
        "2024-01-01T00:00:00Z",
        "2024-06-01T00:00:00Z",
        "2025-03-15T12:30:00Z",
    ]);
    maybe(rng, "aws:CurrentTime", json!(t));
    let e = *rng.pick(&["1700000000", "1717200000", "1750000000"]);
    maybe(rng, "aws:EpochTime", json!(e));
    let mfa = *rng.pick(&["30", "3600", "86400"]);
    maybe(rng, "aws:MultiFactorAuthAge", json!(mfa));
    let n = rng.below(4);
    let keys: Vec<&str> = (0..n).map(|_| *rng.pick(&["a", "b", "c", "x1"])).collect();
    maybe(rng, "aws:TagKeys", json!(keys));
    let via: Vec<&str> = (0..rng.below(3))
        .map(|_| *rng.pick(&["cloudformation.amazonaws.com", "athena.amazonaws.com"]))
        .collect();
    maybe(rng, "aws:CalledVia", json!(via));
    let org = *rng.pick(&["o-aaaa", "o-bbbb"]);
    maybe(rng, "aws:PrincipalOrgID", json!(org));
    let region = *rng.pick(&["us-east-1", "eu-west-1"]);
    maybe(rng, "aws:RequestedRegion", json!(region));
    let env = *rng.pick(&["prod", "dev"]);
    maybe(rng, "aws:RequestTag/env", json!(env));
    let src = *rng.pick(&[
        "arn:aws:sns:eu-west-1:111111111111:topic1",
        "arn:aws:s3:::bucket-a",
        "arn:aws:lambda:us-east-1:222222222222:function:fn1",
    ]);
    maybe(rng, "aws:SourceArn", json!(src));
    let mfa_present = *rng.pick(&["true", "false"]);
    maybe(rng, "aws:MultiFactorAuthPresent", json!(mfa_present));
    json!({
        "action": s.action,
        "resource": s.resource,
        "resourceAccount": s.account,
        "principal": c.arn,
        "context": Value::Object(ctx),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Identity,
    Resource,
    Scp,
    Rcp,
}

fn policy(rng: &mut Rng, s: &Scene<'_>, kind: Kind) -> Value {
    let n = 1 + rng.below(3);
    let stmts: Vec<Value> = (0..n).map(|i| statement(rng, s, kind, i)).collect();
    let version = if rng.chance(if kind == Kind::Rcp { 98 } else { 95 }) {
        Some("2012-10-17")
    } else {
        None
    };
    let mut p = serde_json::Map::new();
    if let Some(v) = version {
        p.insert("Version".into(), json!(v));
    }
    if n == 1 && rng.chance(30) {
        p.insert(
            "Statement".into(),
            stmts.into_iter().next().unwrap_or(Value::Null),
        );
    } else {
        p.insert("Statement".into(), Value::Array(stmts));
    }
    Value::Object(p)
}

fn one_or_many(rng: &mut Rng, mut v: Vec<String>) -> Value {
    if v.len() == 1 && rng.chance(50) {
        json!(v.remove(0))
    } else {
        json!(v)
    }
}

fn statement(rng: &mut Rng, s: &Scene<'_>, kind: Kind, i: usize) -> Value {
    let mut st = serde_json::Map::new();
    if rng.chance(30) {
        st.insert("Sid".into(), json!(format!("S{i}")));
    }
    let allow_pct = match kind {
        Kind::Rcp => 0,
        Kind::Scp => 50,
        _ => 70,
    };
    let effect = if rng.chance(allow_pct) {
        "Allow"
    } else {
        "Deny"
    };
    st.insert("Effect".into(), json!(effect));
    match kind {
        Kind::Resource => {
            let (key, value) = principal(rng, s, effect);
            st.insert(key.into(), value);
        }
        Kind::Rcp => {
            st.insert("Principal".into(), json!("*"));
        }
        _ => {}
    }
    let n = 1 + rng.below(2);
    let actions: Vec<String> = (0..n).map(|_| action(rng, s)).collect();
    // RCPs support neither `NotAction` nor `"Action": "*"`: keep most of
    // them valid, a few invalid so the error path is compared too.
    let rcp_valid = kind == Kind::Rcp && rng.chance(90);
    let actions: Vec<String> = if rcp_valid {
        actions
            .into_iter()
            .map(|a| {
                if a == "*" {
                    format!("{}:*", s.action.split(':').next().unwrap_or("s3"))
                } else {
                    a
                }
            })
            .collect()
    } else {
        actions
    };
    let key = if !rcp_valid && rng.chance(12) {
        "NotAction"
    } else {
        "Action"
    };
    let v = one_or_many(rng, actions);
    st.insert(key.into(), v);
    let n = 1 + rng.below(2);
    let resources: Vec<String> = (0..n).map(|_| resource(rng, s)).collect();
    let key = if rng.chance(10) {
        "NotResource"
    } else {
        "Resource"
    };
    let v = one_or_many(rng, resources);
    st.insert(key.into(), v);
    if rng.chance(45) {
        let mut cond = serde_json::Map::new();
        for _ in 0..1 + rng.below(2) {
            let (op, key, values) = condition(rng, s);
            let entry = cond.entry(op).or_insert_with(|| json!({}));
            if let Value::Object(m) = entry {
                m.insert(key, values);
            }
        }
        st.insert("Condition".into(), Value::Object(cond));
    }
    Value::Object(st)
}

fn principal(rng: &mut Rng, s: &Scene<'_>, effect: &str) -> (&'static str, Value) {
    let c = s.caller;
    let role = c.role.unwrap_or("Dev");
    let options = [
        c.arn.clone(),
        c.account.to_string(),
        format!("arn:aws:iam::{}:root", c.account),
        format!("arn:aws:iam::{}:role/{role}", c.account),
        format!("arn:aws:iam::{A}:user/bob"),
        format!("arn:aws:iam::{B}:root"),
        format!("arn:aws:sts::{A}:assumed-role/Dev/s1"),
        format!("arn:aws:iam::{A}:user/fed"),
        "*".to_string(),
    ];
    if rng.chance(8) {
        return ("Principal", json!("*"));
    }
    if rng.chance(6) {
        return (
            "Principal",
            json!({"Service": rng.pick(&["lambda.amazonaws.com", "sns.amazonaws.com"])}),
        );
    }
    let n = 1 + rng.below(2);
    let values: Vec<String> = (0..n).map(|_| rng.pick(&options).clone()).collect();
    let not_pct = if effect == "Deny" { 20 } else { 5 };
    let key = if rng.chance(not_pct) {
        "NotPrincipal"
    } else {
        "Principal"
    };
    let v = one_or_many(rng, values);
    (key, json!({ "AWS": v }))
}

fn action(rng: &mut Rng, s: &Scene<'_>) -> String {
    let (svc, name) = s.action.split_once(':').unwrap_or(("s3", "GetObject"));
    match rng.below(10) {
        0 | 1 => s.action.to_string(),
        2 => format!("{}:{}", svc.to_uppercase(), name.to_lowercase()),
        3 => format!("{svc}:*"),
        4 => format!("{svc}:{}*", &name[..3.min(name.len())]),
        5 => "*".into(),
        6 => format!("{svc}:?{}", &name[1..]),
        7 => rng
            .pick(&[
                "s3:Put*",
                "s3:GetObject",
                "sqs:*",
                "ec2:RunInstances",
                "iam:Get*",
            ])
            .to_string(),
        8 => format!("{svc}:*{}", &name[name.len().saturating_sub(3)..]),
        _ => rng
            .pick(&[
                "s3:List*",
                "lambda:Invoke*",
                "dynamodb:*Item",
                "sns:Publish",
            ])
            .to_string(),
    }
}

fn resource(rng: &mut Rng, s: &Scene<'_>) -> String {
    let r = s.resource;
    match rng.below(12) {
        0 | 1 => r.to_string(),
        2 => "*".into(),
        3 => match r.rfind('/') {
            Some(i) => format!("{}/*", &r[..i]),
            None => format!("{r}*"),
        },
        4 => "arn:aws:s3:::bucket-a/home/${aws:username}/*".into(),
        5 => "arn:aws:s3:::bucket-?/home/${aws:PrincipalTag/team}/*".into(),
        6 => rng
            .pick(&[
                "arn:aws:sqs:*:111111111111:*",
                "arn:aws:lambda:us-east-1:*:function:*",
                "arn:aws:dynamodb:*:*:table/Ord*",
            ])
            .to_string(),
        7 => rng
            .pick(&[
                "arn:aws:s3:::bucket-a",
                "arn:aws:s3:::bucket-b/*",
                "arn:aws:s3:::*/public/*",
            ])
            .to_string(),
        8 => "arn:aws:s3:::bucket-a/home/${aws:username, 'nobody'}/*".into(),
        9 => "arn:aws:iam::*:user/${aws:username}".into(),
        10 => rng
            .pick(&[
                "arn:aws:sns:*:*:topic?",
                "arn:aws:sns:*",
                "arn:aws:*:111111111111:topic1",
            ])
            .to_string(),
        _ => "arn:aws:s3:::bucket-a/${*}/x".into(),
    }
}

fn with_modifiers(rng: &mut Rng, op: &str, set_ok: bool) -> String {
    let mut op = op.to_string();
    if rng.chance(20) {
        op.push_str("IfExists");
    }
    if set_ok && rng.chance(25) {
        op = format!("{}{op}", rng.pick(&["ForAllValues:", "ForAnyValue:"]));
    }
    op
}

fn condition(rng: &mut Rng, s: &Scene<'_>) -> (String, String, Value) {
    let acct = s.caller.account;
    let (op, key, values, set_ok): (&str, &str, Value, bool) = match rng.below(20) {
        0 => (
            *rng.pick(&[
                "StringEquals",
                "StringNotEquals",
                "StringEqualsIgnoreCase",
                "StringNotEqualsIgnoreCase",
            ]),
            "aws:PrincipalTag/team",
            rng.pick(&[json!("blue"), json!(["blue", "red"]), json!("BLUE")])
                .clone(),
            false,
        ),
        1 => (
            *rng.pick(&["StringLike", "StringNotLike"]),
            "aws:username",
            json!(rng.pick(&["a*", "*o*", "?ob", "${aws:PrincipalTag/team}"])),
            false,
        ),
        2 => (
            *rng.pick(&["IpAddress", "NotIpAddress"]),
            "aws:SourceIp",
            json!(rng.pick(&[
                json!("10.0.0.0/8"),
                json!(["192.168.0.0/16", "2001:db8::/32"]),
                json!("10.0.0.1")
            ])),
            false,
        ),
        3 => (
            "Bool",
            "aws:SecureTransport",
            json!(rng.pick(&[json!("true"), json!("false"), json!(true)])),
            false,
        ),
        4 => (
            *rng.pick(&[
                "DateLessThan",
                "DateGreaterThan",
                "DateEquals",
                "DateNotEquals",
                "DateLessThanEquals",
                "DateGreaterThanEquals",
            ]),
            "aws:CurrentTime",
            json!(rng.pick(&["2024-06-01T00:00:00Z", "2024-01-01", "1717200000"])),
            false,
        ),
        5 => (
            *rng.pick(&[
                "NumericLessThan",
                "NumericGreaterThanEquals",
                "NumericEquals",
                "NumericNotEquals",
                "NumericLessThanEquals",
                "NumericGreaterThan",
            ]),
            "aws:MultiFactorAuthAge",
            json!(rng.pick(&[json!("3600"), json!(3600), json!(["30", "86400"])])),
            false,
        ),
        6 => (
            "NumericGreaterThan",
            "aws:EpochTime",
            json!("1717200000"),
            false,
        ),
        7 => (
            *rng.pick(&[
                "StringEquals",
                "StringLike",
                "StringNotEquals",
                "StringNotLike",
            ]),
            "aws:TagKeys",
            json!(rng.pick(&[json!(["a", "b"]), json!("a"), json!(["x*"]), json!(["c"])])),
            true,
        ),
        8 => (
            "Null",
            *rng.pick(&[
                "aws:MultiFactorAuthAge",
                "aws:TagKeys",
                "aws:PrincipalTag/team",
            ]),
            json!(rng.pick(&["true", "false"])),
            false,
        ),
        9 => (
            *rng.pick(&["ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"]),
            "aws:PrincipalArn",
            json!(rng.pick(&[
                format!("arn:aws:iam::{acct}:role/*"),
                format!("arn:aws:iam::{A}:user/alice"),
                "arn:aws:iam::*:*".to_string(),
                format!("arn:aws:iam::{B}:role/D?v")
            ])),
            false,
        ),
        10 => (
            "StringEquals",
            "aws:PrincipalAccount",
            json!(rng.pick(&[A, B])),
            false,
        ),
        11 => (
            *rng.pick(&["StringEquals", "StringNotEquals"]),
            "aws:PrincipalOrgID",
            json!(rng.pick(&["o-aaaa", "o-bbbb"])),
            false,
        ),
        12 => (
            *rng.pick(&["StringEquals", "StringLike"]),
            "aws:CalledVia",
            json!(rng.pick(&[json!("cloudformation.amazonaws.com"), json!(["athena.*"])])),
            true,
        ),
        13 => (
            "StringEquals",
            "aws:RequestedRegion",
            json!(rng.pick(&["us-east-1", "eu-*"])),
            false,
        ),
        14 => (
            *rng.pick(&["StringEquals", "StringNotEquals"]),
            "aws:RequestTag/env",
            json!(rng.pick(&[json!("prod"), json!(["dev", "test"])])),
            false,
        ),
        15 => (
            "StringEquals",
            "aws:PrincipalTag/team",
            json!("${aws:username}"),
            false,
        ),
        16 => (
            *rng.pick(&["ArnLike", "ArnNotLike", "ArnEquals"]),
            "aws:SourceArn",
            json!(rng.pick(&[
                "arn:aws:sns:*:111111111111:*",
                "arn:aws:s3:::bucket-?",
                "arn:aws:lambda:*:*:function:fn1"
            ])),
            false,
        ),
        17 => (
            "DateGreaterThan",
            "aws:CurrentTime",
            json!(rng.pick(&[
                "2024-06-01T02:00:00+02:00",
                "2024-05-31T23:30:00-01:00",
                "2024-06-01T00:00:00.500Z"
            ])),
            false,
        ),
        18 => (
            "StringEquals",
            "aws:username",
            json!(rng.pick(&["${aws:PrincipalTag/team, 'alice'}", "${aws:nokey, 'bob'}"])),
            false,
        ),
        _ => (
            "Bool",
            "aws:MultiFactorAuthPresent",
            json!(rng.pick(&["true", "false"])),
            false,
        ),
    };
    let op = if op == "Null" {
        op.to_string()
    } else {
        with_modifiers(rng, op, set_ok)
    };
    // Operator names are read without regard to case.
    let op = if rng.chance(3) { op.to_lowercase() } else { op };
    // Vary key case: AWS reads condition keys without regard to case.
    let key = if rng.chance(10) {
        key.to_lowercase()
    } else {
        key.to_string()
    };
    (op, key, values)
}

/// Every policy document in a case, whatever its slot.
#[allow(
    dead_code,
    reason = "the benchmark includes this file and does not use it"
)]
pub fn policies_of(case: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for k in ["identityPolicies", "permissionBoundaries"] {
        out.extend(case[k].as_array().into_iter().flatten());
    }
    for k in ["resourcePolicy", "sessionPolicy"] {
        if case[k].is_object() {
            out.push(&case[k]);
        }
    }
    for k in ["scps", "rcps"] {
        out.extend(
            case[k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_array())
                .flatten(),
        );
    }
    out
}
