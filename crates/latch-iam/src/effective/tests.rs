//! Who-can and what-can over one small inventory that has each case the
//! evaluation logic distinguishes: group policies, boundaries, denies in
//! groups, same- and cross-account resource policies, trust paths,
//! principal tags and policies that cannot be read.

use super::*;
use crate::ast::Effect;
use crate::eval::{Context, ContextValue, Outcome, PolicyKind, Reason};
use serde_json::{json, Value};

const A: &str = "111111111111";
const B: &str = "222222222222";

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn allow(action: &str, resource: &str) -> String {
    doc(json!([{"Effect": "Allow", "Action": action, "Resource": resource}]))
}

fn user(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{name}")
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::{A}:role/{name}")
}

fn policy(name: &str) -> String {
    format!("arn:aws:iam::{A}:policy/{name}")
}

fn group(name: &str) -> String {
    format!("arn:aws:iam::{A}:group/{name}")
}

fn managed(name: &str, document: String) -> ManagedPolicy {
    ManagedPolicy {
        arn: policy(name),
        document,
    }
}

fn trust(principal: Value) -> String {
    doc(json!([{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]))
}

fn sources() -> Sources {
    let u = |account: &str, name: &str, managed: &[&str]| UserSpec {
        arn: user(account, name),
        id: Some(format!("AIDA{}", name.to_uppercase())),
        managed_policies: managed.iter().map(|m| policy(m)).collect(),
        ..UserSpec::default()
    };
    let inline = |name: &str, document: String| InlinePolicy {
        name: name.into(),
        document,
    };
    let bucket_policy = |bucket: &str, who: Value| ResourcePolicy {
        resource: format!("arn:aws:s3:::{bucket}"),
        unreadable: None,
        account: Some(A.into()),
        document: doc(json!([{"Effect": "Allow", "Principal": {"AWS": who},
            "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}])),
    };
    Sources {
        managed_policies: vec![
            managed("S3Read", allow("s3:GetObject", "arn:aws:s3:::data/*")),
            managed("Admin", allow("*", "*")),
            managed("S3Only", allow("s3:*", "*")),
            managed(
                "TeamRead",
                allow(
                    "s3:GetObject",
                    "arn:aws:s3:::team-${aws:PrincipalTag/team}/*",
                ),
            ),
            managed("AssumeDeploy", allow("sts:AssumeRole", &role("Deploy"))),
            managed("CrossRead", allow("s3:GetObject", "arn:aws:s3:::shared/*")),
            managed("Broken", "{not a policy".into()),
        ],
        groups: vec![
            GroupSpec {
                arn: group("readers"),
                managed_policies: vec![policy("S3Read")],
                ..GroupSpec::default()
            },
            GroupSpec {
                arn: group("no-secrets"),
                inline_policies: vec![inline(
                    "deny-secrets",
                    doc(
                        json!([{"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::data/secret/*"}]),
                    ),
                )],
                ..GroupSpec::default()
            },
        ],
        users: vec![
            UserSpec {
                groups: vec![group("readers")],
                ..u(A, "alice", &[])
            },
            UserSpec {
                permissions_boundary: Some(policy("S3Only")),
                ..u(A, "bob", &["Admin"])
            },
            UserSpec {
                groups: vec![group("readers"), group("no-secrets")],
                ..u(A, "carol", &[])
            },
            u(A, "gina", &[]),
            UserSpec {
                tags: vec![("team".into(), "blue".into())],
                ..u(A, "tina", &["TeamRead"])
            },
            u(A, "ivan", &["Broken", "S3Read"]),
            UserSpec {
                permissions_boundary: Some(policy("Broken")),
                ..u(A, "olga", &["Admin"])
            },
            u(A, "dev", &["AssumeDeploy"]),
            UserSpec {
                groups: vec![group("gone")],
                ..u(A, "mia", &["Missing"])
            },
            u(B, "dave", &["CrossRead"]),
            u(B, "eve", &[]),
            u(B, "frank", &["CrossRead"]),
        ],
        roles: vec![
            RoleSpec {
                arn: role("Deploy"),
                id: Some("AROADEPLOY".into()),
                trust_policy: trust(json!(format!("arn:aws:iam::{A}:root"))),
                inline_policies: vec![
                    inline("put", allow("s3:PutObject", "arn:aws:s3:::artifacts/*")),
                    inline("prod", allow("sts:AssumeRole", &role("Prod"))),
                ],
                ..RoleSpec::default()
            },
            RoleSpec {
                arn: role("Prod"),
                trust_policy: trust(json!(role("Deploy"))),
                inline_policies: vec![inline("ddb", allow("dynamodb:PutItem", "*"))],
                ..RoleSpec::default()
            },
            RoleSpec {
                arn: role("Ci"),
                trust_policy: trust(json!(user(A, "gina"))),
                inline_policies: vec![inline(
                    "put",
                    allow("s3:PutObject", "arn:aws:s3:::artifacts/*"),
                )],
                ..RoleSpec::default()
            },
        ],
        resource_policies: vec![
            bucket_policy("gina-bucket", json!(user(A, "gina"))),
            bucket_policy("shared", json!([user(B, "dave"), user(B, "eve")])),
            bucket_policy("public", json!("*")),
        ],
        ..Sources::default()
    }
}

fn inventory() -> Inventory {
    Inventory::build(&sources()).unwrap()
}

fn names(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .map(|f| f.principal.rsplit('/').next().unwrap())
        .collect()
}

#[test]
fn who_can_follows_the_evaluation_logic() {
    let inv = inventory();
    let s3 = |key: &str| format!("arn:aws:s3:::{key}");
    let ddb = format!("arn:aws:dynamodb:us-east-1:{A}:table/t");
    for (why, action, resource, want) in [
        (
            "group policy grants",
            "s3:GetObject",
            s3("data/report"),
            vec!["alice", "bob", "carol", "ivan"],
        ),
        (
            "explicit deny in a group policy",
            "s3:GetObject",
            s3("data/secret/x"),
            vec!["alice", "bob", "ivan"],
        ),
        (
            "boundary cuts; unreadable boundary lets nothing through",
            "iam:CreateUser",
            user(A, "x"),
            vec![],
        ),
        (
            "same-account resource policy alone suffices",
            "s3:GetObject",
            s3("gina-bucket/k"),
            vec!["bob", "gina"],
        ),
        (
            "cross-account needs both sides",
            "s3:GetObject",
            s3("shared/k"),
            vec!["bob", "dave"],
        ),
        (
            "a resource policy naming everyone: its own account, unbounded",
            "s3:GetObject",
            s3("public/k"),
            vec![
                "alice", "bob", "carol", "gina", "tina", "ivan", "olga", "dev", "mia", "Deploy",
                "Prod", "Ci",
            ],
        ),
        (
            "principal tag variable",
            "s3:GetObject",
            s3("team-blue/k"),
            vec!["bob", "tina"],
        ),
        (
            "principal tag variable, other team",
            "s3:GetObject",
            s3("team-red/k"),
            vec!["bob"],
        ),
        (
            "roles act through sessions",
            "s3:PutObject",
            s3("artifacts/a"),
            vec!["bob", "Ci", "Deploy"],
        ),
        ("boundary cuts admin", "dynamodb:PutItem", ddb, vec!["Prod"]),
    ] {
        let found = inv.who_can(action, &resource, &Context::default()).unwrap();
        let mut got = names(&found);
        got.sort_unstable();
        let mut want = want;
        want.sort_unstable();
        assert_eq!(got, want, "{why}: {action} on {resource}");
    }
}

#[test]
fn findings_name_the_deciding_statements() {
    let inv = inventory();
    let found = inv
        .who_can(
            "s3:GetObject",
            "arn:aws:s3:::data/report",
            &Context::default(),
        )
        .unwrap();
    let alice = found
        .iter()
        .find(|f| f.principal == user(A, "alice"))
        .unwrap();
    assert_eq!(alice.entity, Entity::User);
    assert_eq!(alice.reason, Reason::IdentityAllows);
    assert_eq!(
        alice.statements,
        vec![StatementAt {
            policy: PolicyId::Managed(policy("S3Read")),
            kind: PolicyKind::Identity,
            via_group: Some(group("readers")),
            attached_to: None,
            statement: 0,
            sid: None,
            effect: Effect::Allow,
        }]
    );
    let bob = found
        .iter()
        .find(|f| f.principal == user(A, "bob"))
        .unwrap();
    let kinds: Vec<PolicyKind> = bob.statements.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [PolicyKind::Identity, PolicyKind::Boundary]);

    let gina = inv
        .who_can(
            "s3:GetObject",
            "arn:aws:s3:::gina-bucket/k",
            &Context::default(),
        )
        .unwrap();
    let gina = gina
        .iter()
        .find(|f| f.principal == user(A, "gina"))
        .unwrap();
    assert_eq!(gina.reason, Reason::ResourcePolicyAllows);
    assert_eq!(
        gina.statements.first().map(|s| &s.policy),
        Some(&PolicyId::Resource("arn:aws:s3:::gina-bucket".into()))
    );
}

#[test]
fn roles_report_who_can_assume_them() {
    let inv = inventory();
    let paths = |action: &str, resource: &str, who: &str| -> Vec<Vec<String>> {
        let found = inv.who_can(action, resource, &Context::default()).unwrap();
        let f = found.iter().find(|f| f.principal == role(who)).unwrap();
        f.assumed_by
            .iter()
            .map(|p| {
                let mut chain: Vec<String> = p.steps.iter().map(|s| s.principal.clone()).collect();
                chain.extend(p.target().map(str::to_owned));
                chain
            })
            .collect()
    };
    let artifacts = "arn:aws:s3:::artifacts/a";
    // The trust names the account: only principals whose own policies
    // allow sts:AssumeRole (bob's boundary does not).
    assert_eq!(
        paths("s3:PutObject", artifacts, "Deploy"),
        vec![vec![user(A, "dev"), role("Deploy")]]
    );
    // The trust names gina herself: no identity permission needed.
    assert_eq!(
        paths("s3:PutObject", artifacts, "Ci"),
        vec![vec![user(A, "gina"), role("Ci")]]
    );
    let ddb = format!("arn:aws:dynamodb:us-east-1:{A}:table/t");
    assert_eq!(
        paths("dynamodb:PutItem", &ddb, "Prod"),
        vec![
            vec![role("Deploy"), role("Prod")],
            vec![user(A, "dev"), role("Deploy"), role("Prod")],
        ]
    );
    let found = inv
        .who_can("s3:PutObject", artifacts, &Context::default())
        .unwrap();
    let deploy = found
        .iter()
        .find(|f| f.principal == role("Deploy"))
        .unwrap();
    let hop = deploy
        .assumed_by
        .first()
        .and_then(|p| p.steps.first())
        .unwrap();
    let kinds: Vec<PolicyKind> = hop.statements.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [PolicyKind::Identity, PolicyKind::Resource]);
    assert_eq!(hop.statements[1].policy, PolicyId::Trust(role("Deploy")));
}

#[test]
fn principal_keys_are_the_principals_own() {
    let inv = inventory();
    let mut ctx = Context::default();
    ctx.insert("aws:PrincipalTag/team", ContextValue::One("red".into()));
    let found = inv
        .who_can("s3:GetObject", "arn:aws:s3:::team-red/k", &ctx)
        .unwrap();
    assert_eq!(names(&found), ["bob"]);
}

#[test]
fn unreadable_policies_are_reported_and_never_allow() {
    let inv = inventory();
    let problems: Vec<String> = inv.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with(&format!(
        "managed policy `{}` cannot be read: ",
        policy("Broken")
    )));
    assert_eq!(
        problems[1],
        format!(
            "managed policy `{}` is attached to `{}` but is not in the inventory",
            policy("Missing"),
            user(A, "mia")
        )
    );
    assert_eq!(
        problems[2],
        format!(
            "`{}` is a member of `{}`, which is not in the inventory",
            user(A, "mia"),
            group("gone")
        )
    );
    let found = inv
        .who_can(
            "s3:GetObject",
            "arn:aws:s3:::data/report",
            &Context::default(),
        )
        .unwrap();
    let ivan = found
        .iter()
        .find(|f| f.principal == user(A, "ivan"))
        .unwrap();
    assert_eq!(ivan.caveats.first(), inv.problems().first());
    // olga's boundary cannot be read: her admin policy allows nothing.
    let olga = inv.what_can(&user(A, "olga"), &Filter::default()).unwrap();
    assert!(matches!(
        olga.as_slice(),
        [Capability::Incomplete(Problem::Unreadable { .. })]
    ));
}

#[test]
fn what_can_lists_grants_within_the_boundary() {
    let inv = inventory();
    let bob = inv.what_can(&user(A, "bob"), &Filter::default()).unwrap();
    let [Capability::Allow(g)] = bob.as_slice() else {
        panic!("{bob:#?}")
    };
    assert_eq!(g.actions, ["s3:*"]);
    assert_eq!(g.boundary, BoundaryFit::Narrows);
    assert_eq!(g.statement.policy, PolicyId::Managed(policy("Admin")));

    let alice = inv.what_can(&user(A, "alice"), &Filter::default()).unwrap();
    let [Capability::Allow(g)] = alice.as_slice() else {
        panic!("{alice:#?}")
    };
    assert_eq!(
        (g.actions.as_slice(), g.resources.as_slice(), g.boundary),
        (
            &["s3:GetObject".to_owned()][..],
            &["arn:aws:s3:::data/*".to_owned()][..],
            BoundaryFit::None
        )
    );
    assert!(g.narrowed_by.is_empty());

    let ec2 = Filter {
        action: Some("ec2:*".into()),
        ..Filter::default()
    };
    assert!(inv.what_can(&user(A, "alice"), &ec2).unwrap().is_empty());
}

#[test]
fn what_can_decides_a_concrete_request() {
    let inv = inventory();
    let filter = Filter {
        action: Some("s3:GetObject".into()),
        resource: Some("arn:aws:s3:::data/secret/x".into()),
        ..Filter::default()
    };
    let carol = inv.what_can(&user(A, "carol"), &filter).unwrap();
    let [Capability::Decision(d), Capability::Allow(g)] = carol.as_slice() else {
        panic!("{carol:#?}")
    };
    assert_eq!(
        (d.outcome, d.via.is_none()),
        (Outcome::ExplicitlyDenied, true)
    );
    let deny = StatementAt {
        policy: PolicyId::Inline {
            owner: group("no-secrets"),
            name: "deny-secrets".into(),
        },
        kind: PolicyKind::Identity,
        via_group: Some(group("no-secrets")),
        attached_to: None,
        statement: 0,
        sid: Some("NoSecrets".into()),
        effect: Effect::Deny,
    };
    assert_eq!(d.statements, std::slice::from_ref(&deny));
    assert_eq!(g.narrowed_by, [deny]);

    // Through the roles it can assume.
    let filter = Filter {
        action: Some("dynamodb:PutItem".into()),
        resource: Some(format!("arn:aws:dynamodb:us-east-1:{A}:table/t")),
        ..Filter::default()
    };
    let dev = inv.what_can(&user(A, "dev"), &filter).unwrap();
    let decisions: Vec<(&str, Outcome, usize)> = dev
        .iter()
        .filter_map(|c| match c {
            Capability::Decision(d) => Some((
                d.principal.as_str(),
                d.outcome,
                d.via.as_ref().map_or(0, |p| p.steps.len()),
            )),
            _ => None,
        })
        .collect();
    let (deploy, prod) = (role("Deploy"), role("Prod"));
    let dev_arn = user(A, "dev");
    assert_eq!(
        decisions,
        [
            (dev_arn.as_str(), Outcome::ImplicitlyDenied, 0),
            (deploy.as_str(), Outcome::ImplicitlyDenied, 1),
            (prod.as_str(), Outcome::Allowed, 2),
        ]
    );
    let roles: Vec<Option<&str>> = dev
        .iter()
        .filter_map(|c| match c {
            Capability::AssumeRole(p) => Some(p.target()),
            _ => None,
        })
        .collect();
    assert_eq!(roles, [Some(deploy.as_str()), Some(prod.as_str())]);

    // A role's session ARN names the role.
    let session = format!("arn:aws:sts::{A}:assumed-role/Prod/someone");
    assert!(!inv
        .what_can(&session, &Filter::default())
        .unwrap()
        .is_empty());
    assert_eq!(
        inv.what_can(&user(A, "nobody"), &Filter::default()),
        Err(QueryError::UnknownPrincipal(user(A, "nobody")))
    );
}

#[test]
fn the_service_index_skips_principals() {
    let inv = inventory();
    let dave = inv.lookup(&user(B, "dave")).unwrap();
    let bob = inv.lookup(&user(A, "bob")).unwrap();
    let ddb = inv.candidates("dynamodb", None, None);
    assert!(!ddb.contains(&dave));
    // bob's `*` grant reaches every service his boundary allows: s3 only.
    assert!(!ddb.contains(&bob));
    assert!(inv.candidates("s3", None, None).contains(&bob));
    // Only principals whose policies may allow sts:AssumeRole are tried.
    let dev = inv.lookup(&user(A, "dev")).unwrap();
    assert!(inv.may_assume.contains(&dev));
    assert!(!inv.may_assume.contains(&bob));
    // Named by the bucket policy: a candidate whatever its own policies say.
    let eve = inv.lookup(&user(B, "eve")).unwrap();
    let shared = inv.target("arn:aws:s3:::shared/k");
    assert!(inv.candidates("s3", shared, Some(A)).contains(&eve));
}

#[test]
fn bad_input_is_refused() {
    let mut src = sources();
    src.users.push(UserSpec {
        arn: role("NotAUser"),
        ..UserSpec::default()
    });
    assert!(matches!(
        Inventory::build(&src),
        Err(BuildError::NotAnEntity {
            expected: "user",
            ..
        })
    ));
    let mut src = sources();
    src.users.push(src.users[0].clone());
    assert_eq!(
        Inventory::build(&src).unwrap_err(),
        BuildError::Duplicate {
            arn: user(A, "alice")
        }
    );
    let mut src = sources();
    src.managed_policies
        .push(managed("Admin", allow("s3:*", "*")));
    assert!(matches!(
        Inventory::build(&src),
        Err(BuildError::ConflictingPolicy { .. })
    ));
    assert!(matches!(
        inventory().who_can("s3GetObject", "arn:aws:s3:::b", &Context::default()),
        Err(QueryError::Request(_))
    ));
    // An object action asked about a bucket: no policy could allow it, and
    // the answer says what the action acts on.
    let err = inventory()
        .who_can("s3:GetObject", "arn:aws:s3:::b", &Context::default())
        .unwrap_err();
    assert!(matches!(err, QueryError::NotItsResource { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("`s3:GetObject` does not act on `arn:aws:s3:::b`\nhelp: it acts on "),
        "{text}"
    );
    assert!(
        text.contains("object (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`)"),
        "{text}"
    );
    let err = inventory()
        .what_can(
            &user(A, "alice"),
            &Filter {
                action: Some("s3:ListAllMyBuckets".into()),
                resource: Some("arn:aws:s3:::b".into()),
                context: Context::default(),
            },
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("help: it acts on no particular resource: ask about resource `*`"),
        "{err}"
    );
}

#[test]
fn an_inventory_is_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Inventory>();
}
