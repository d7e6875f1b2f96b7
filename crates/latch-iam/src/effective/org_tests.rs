//! Who-can and what-can in an organization: SCPs per level (root, OUs,
//! account), RCPs on the member accounts' resources, the management account
//! left out, and resource policies next to them.

use super::*;
use crate::ast::Effect;
use crate::eval::{Context, Outcome, PolicyKind, Reason};
use serde_json::{json, Value};

/// The management account.
const M: &str = "999999999999";
/// A member account under `ou-deny`.
const A: &str = "111111111111";
/// A member account under `ou-ec2`, which allows only EC2.
const C: &str = "333333333333";
/// An account outside the organization.
const B: &str = "222222222222";

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn scp(name: &str) -> String {
    format!("arn:aws:organizations::{M}:policy/o-1/service_control_policy/p-{name}")
}

fn rcp(name: &str) -> String {
    format!("arn:aws:organizations::{M}:policy/o-1/resource_control_policy/p-{name}")
}

fn admin(account: &str, name: &str) -> UserSpec {
    UserSpec {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        managed_policies: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
        ..UserSpec::default()
    }
}

fn level(target: &str, policies: &[String]) -> OrgLevel {
    OrgLevel {
        target: target.into(),
        policies: policies.to_vec(),
    }
}

fn sources(scps_enabled: bool) -> Sources {
    let full = scp("FullAWSAccess");
    let rfull = rcp("RCPFullAWSAccess");
    let org_policy = |arn: String, kind, document| OrgPolicy {
        arn,
        kind,
        document,
    };
    Sources {
        managed_policies: vec![ManagedPolicy {
            arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
            document: doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
        }],
        users: vec![
            admin(A, "alice"),
            admin(C, "carl"),
            admin(M, "mgr"),
            admin(B, "bert"),
            UserSpec {
                arn: format!("arn:aws:iam::{A}:user/nora"),
                ..UserSpec::default()
            },
        ],
        resource_policies: vec![
            ResourcePolicy {
                resource: "arn:aws:s3:::vault".into(),
                unreadable: None,
                account: Some(A.into()),
                document: doc(json!([{"Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{A}:user/nora")},
                    "Action": "s3:GetObject", "Resource": "arn:aws:s3:::vault/*"}])),
            },
            ResourcePolicy {
                resource: "arn:aws:s3:::walled".into(),
                unreadable: None,
                account: Some(A.into()),
                document: doc(json!([{"Effect": "Allow",
                    "Principal": {"AWS": [format!("arn:aws:iam::{M}:root"), format!("arn:aws:iam::{B}:root")]},
                    "Action": "s3:*", "Resource": "arn:aws:s3:::walled/*"}])),
            },
        ],
        organizations: vec![Organization {
            management_account: M.into(),
            scps_enabled,
            rcps_enabled: true,
            policies: vec![
                org_policy(
                    full.clone(),
                    OrgPolicyKind::Scp,
                    doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
                ),
                org_policy(
                    scp("NoData"),
                    OrgPolicyKind::Scp,
                    doc(
                        json!([{"Sid": "NoData", "Effect": "Deny", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::data/*"}]),
                    ),
                ),
                org_policy(
                    scp("Ec2Only"),
                    OrgPolicyKind::Scp,
                    doc(json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}])),
                ),
                org_policy(
                    rfull.clone(),
                    OrgPolicyKind::Rcp,
                    doc(
                        json!([{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]),
                    ),
                ),
                org_policy(
                    rcp("Perimeter"),
                    OrgPolicyKind::Rcp,
                    doc(
                        json!([{"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*",
                        "Action": "s3:*", "Resource": "arn:aws:s3:::walled/*",
                        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [A, C, M]}}}]),
                    ),
                ),
            ],
            accounts: vec![
                OrgAccount {
                    account: A.into(),
                    levels: vec![
                        level("r-1", &[full.clone(), rfull.clone()]),
                        level("ou-deny", &[full.clone(), scp("NoData")]),
                        level(A, &[full.clone(), rcp("Perimeter")]),
                    ],
                },
                OrgAccount {
                    account: C.into(),
                    levels: vec![
                        level("r-1", &[full.clone(), rfull.clone()]),
                        level("ou-ec2", &[scp("Ec2Only"), scp("Missing")]),
                        level(C, std::slice::from_ref(&full)),
                    ],
                },
                OrgAccount {
                    account: M.into(),
                    // Even a deny attached to the management account does
                    // not apply to it.
                    levels: vec![
                        level("r-1", &[full.clone(), rfull]),
                        level(M, &[scp("NoData")]),
                    ],
                },
            ],
        }],
        ..Sources::default()
    }
}

fn who(inv: &Inventory, action: &str, resource: &str) -> Vec<String> {
    let mut got: Vec<String> = inv
        .who_can(action, resource, &Context::default())
        .unwrap()
        .into_iter()
        .map(|f| {
            f.principal
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    got.sort_unstable();
    got
}

#[test]
fn scps_limit_the_members_principals_level_by_level() {
    let inv = Inventory::build(&sources(true)).unwrap();
    // An SCP deny at the OU removes alice; carl's OU allows only EC2; the
    // management account and accounts outside the org are not limited.
    assert_eq!(
        who(&inv, "s3:GetObject", "arn:aws:s3:::data/report"),
        ["bert", "mgr"]
    );
    assert_eq!(
        who(&inv, "s3:GetObject", "arn:aws:s3:::other/k"),
        ["alice", "bert", "mgr"]
    );
    assert_eq!(
        who(
            &inv,
            "ec2:StartInstances",
            &format!("arn:aws:ec2:us-east-1:{C}:instance/i-1")
        ),
        ["carl"]
    );
    // Without the SCP type enabled at the root, no SCP applies.
    let off = Inventory::build(&sources(false)).unwrap();
    assert_eq!(
        who(&off, "s3:GetObject", "arn:aws:s3:::data/report"),
        ["alice", "bert", "carl", "mgr"]
    );
}

#[test]
fn scps_do_not_limit_service_linked_roles() {
    let mut src = sources(true);
    let trust = doc(
        json!([{"Effect": "Allow", "Principal": {"Service": "elasticbeanstalk.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
    );
    for (path, name) in [
        (
            "aws-service-role/elasticbeanstalk.amazonaws.com/",
            "AWSServiceRoleForElasticBeanstalk",
        ),
        ("service-role/", "LookAlike"),
    ] {
        src.roles.push(RoleSpec {
            arn: format!("arn:aws:iam::{A}:role/{path}{name}"),
            trust_policy: trust.clone(),
            managed_policies: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
            ..RoleSpec::default()
        });
    }
    let inv = Inventory::build(&src).unwrap();
    // ou-deny's SCP denies this object to every other principal of A; a
    // role on another path is limited like any other.
    assert_eq!(
        who(&inv, "s3:GetObject", "arn:aws:s3:::data/report"),
        ["AWSServiceRoleForElasticBeanstalk", "bert", "mgr"]
    );
    assert_eq!(
        who(&inv, "s3:GetObject", "arn:aws:s3:::other/k"),
        [
            "AWSServiceRoleForElasticBeanstalk",
            "LookAlike",
            "alice",
            "bert",
            "mgr"
        ]
    );
}

#[test]
fn the_deciding_scp_is_named_with_where_it_is_attached() {
    let inv = Inventory::build(&sources(true)).unwrap();
    let filter = Filter {
        action: Some("s3:GetObject".into()),
        resource: Some("arn:aws:s3:::data/report".into()),
        context: Context::default(),
    };
    let caps = inv
        .what_can(&format!("arn:aws:iam::{A}:user/alice"), &filter)
        .unwrap();
    let Some(Capability::Decision(d)) = caps.first() else {
        panic!("no decision: {caps:?}")
    };
    assert_eq!(
        (d.outcome, d.reason),
        (Outcome::ExplicitlyDenied, Reason::ExplicitDeny)
    );
    assert_eq!(
        d.statements,
        vec![StatementAt {
            policy: PolicyId::Scp(scp("NoData")),
            kind: PolicyKind::Scp,
            via_group: None,
            attached_to: Some("ou-deny".into()),
            statement: 0,
            sid: Some("NoData".into()),
            effect: Effect::Deny,
        }]
    );
    // The grant is listed, narrowed by the SCP.
    let narrowed = caps.iter().any(|c| {
        matches!(c, Capability::Allow(g) if g.narrowed_by.iter().any(|s| s.policy == PolicyId::Scp(scp("NoData"))))
    });
    assert!(narrowed, "{caps:?}");

    let caps = inv
        .what_can(
            &format!("arn:aws:iam::{C}:user/carl"),
            &Filter {
                action: Some("s3:GetObject".into()),
                resource: Some("arn:aws:s3:::other/k".into()),
                context: Context::default(),
            },
        )
        .unwrap();
    let Some(Capability::Decision(d)) = caps.first() else {
        panic!("no decision: {caps:?}")
    };
    assert_eq!(d.reason, Reason::ScpNoAllow { level: 1 });
    // The SCP attached to `ou-ec2` but missing from the inventory.
    assert!(caps.iter().any(|c| matches!(c,
        Capability::Incomplete(Problem::MissingPolicy { arn, owner }) if *arn == scp("Missing") && owner == "ou-ec2")));
}

#[test]
fn rcps_limit_access_to_the_members_resources() {
    let inv = Inventory::build(&sources(true)).unwrap();
    // The bucket is in A and its policy admits M and B; A's RCP denies
    // principals from outside the organization (bert), whatever the bucket
    // policy and his own policies allow.
    assert_eq!(
        who(&inv, "s3:PutObject", "arn:aws:s3:::walled/k"),
        ["alice", "mgr"]
    );
    let mut without = sources(true);
    if let Some(org) = without.organizations.first_mut() {
        org.rcps_enabled = false;
    }
    let without = Inventory::build(&without).unwrap();
    assert_eq!(
        who(&without, "s3:PutObject", "arn:aws:s3:::walled/k"),
        ["alice", "bert", "mgr"]
    );
    // RCPs do not touch services they do not support.
    let sns = format!("arn:aws:sns:us-east-1:{A}:topic");
    assert_eq!(who(&inv, "sns:Publish", &sns), ["alice"]);
}

#[test]
fn a_bucket_policy_alone_admits_its_own_accounts_principal() {
    let inv = Inventory::build(&sources(true)).unwrap();
    let found = inv
        .who_can("s3:GetObject", "arn:aws:s3:::vault/k", &Context::default())
        .unwrap();
    let nora = found
        .iter()
        .find(|f| f.principal.ends_with("user/nora"))
        .unwrap();
    assert_eq!(nora.reason, Reason::ResourcePolicyAllows);
    assert!(nora
        .statements
        .iter()
        .any(|s| s.policy == PolicyId::Resource("arn:aws:s3:::vault".into())));
    // The SCPs above nora's account still had to allow.
    assert!(nora.statements.iter().any(|s| s.kind == PolicyKind::Scp));
}
