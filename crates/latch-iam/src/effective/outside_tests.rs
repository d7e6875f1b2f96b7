//! Who from outside the inventory a resource policy lets in: everyone,
//! other accounts and their principals; not the inventory's own accounts,
//! not callers a condition or deny keeps out, not past an RCP.

use super::*;
use crate::eval::{Context, ContextValue, PolicyKind};
use serde_json::{json, Value};

/// The inventory's account, and the organization's management account.
const A: &str = "111111111111";
const M: &str = "999999999999";
/// An account with principals in the inventory.
const B: &str = "222222222222";
/// Accounts the inventory does not cover.
const X: &str = "444444444444";
const Y: &str = "555555555555";

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn bucket(name: &str, statements: Value) -> ResourcePolicy {
    ResourcePolicy {
        resource: format!("arn:aws:s3:::{name}"),
        unreadable: None,
        account: Some(A.into()),
        document: doc(statements),
    }
}

fn get(principal: Value) -> Value {
    json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject", "Resource": "*"})
}

fn sources(rcp: bool) -> Sources {
    let user = |account: &str, name: &str| UserSpec {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        ..UserSpec::default()
    };
    let rcp_arn = format!("arn:aws:organizations::{M}:policy/o-1/resource_control_policy/p-inside");
    Sources {
        users: vec![user(A, "alice"), user(B, "bert")],
        resource_policies: vec![
            bucket("public", json!([get(json!("*"))])),
            bucket(
                "shared",
                json!([
                    get(json!([X, format!("arn:aws:iam::{Y}:role/Reader"), format!("arn:aws:iam::{A}:user/alice"), B])),
                    {"Sid": "NotThatRole", "Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::{Y}:role/Reader")},
                     "Action": "s3:*", "Resource": "*"},
                ]),
            ),
            bucket(
                "org-only",
                json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]),
            ),
            bucket(
                "writes",
                json!([{"Effect": "Allow", "Principal": {"AWS": X}, "Action": "s3:PutObject", "Resource": "*"}]),
            ),
            ResourcePolicy {
                unreadable: Some("AccessDenied".into()),
                ..bucket("locked", json!([get(json!("*"))]))
            },
        ],
        organizations: if rcp {
            vec![Organization {
                management_account: M.into(),
                scps_enabled: false,
                rcps_enabled: true,
                policies: vec![OrgPolicy {
                    arn: rcp_arn.clone(),
                    kind: OrgPolicyKind::Rcp,
                    document: doc(
                        json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}}]),
                    ),
                }],
                accounts: vec![OrgAccount {
                    account: A.into(),
                    levels: vec![
                        OrgLevel {
                            target: "r-1".into(),
                            policies: vec![rcp_arn],
                        },
                        OrgLevel {
                            target: A.into(),
                            policies: Vec::new(),
                        },
                    ],
                }],
            }]
        } else {
            Vec::new()
        },
        ..Sources::default()
    }
}

fn outside(inv: &Inventory, action: &str, resource: &str) -> Vec<(String, &'static str)> {
    inv.who_can_from_outside(action, resource, &Context::default())
        .unwrap()
        .into_iter()
        .map(|o| (o.principal, o.kind.as_str()))
        .collect()
}

fn pairs(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    list.iter().map(|(p, k)| ((*p).to_owned(), *k)).collect()
}

#[test]
fn everyone_other_accounts_and_their_principals_are_reported() {
    let inv = Inventory::build(&sources(false)).unwrap();
    assert_eq!(
        outside(&inv, "s3:GetObject", "arn:aws:s3:::public/k"),
        pairs(&[("*", "anyone")])
    );
    // The inventory's own principals (alice, account B's) are who-can's:
    // not reported here. The role a deny names is kept out.
    assert_eq!(
        outside(&inv, "s3:GetObject", "arn:aws:s3:::shared/k"),
        pairs(&[(X, "account")])
    );
    // A condition no outside caller is known to meet lets none in.
    assert!(outside(&inv, "s3:GetObject", "arn:aws:s3:::org-only/k").is_empty());
    // Only for the actions the policy grants.
    assert!(outside(&inv, "s3:GetObject", "arn:aws:s3:::writes/k").is_empty());
    assert_eq!(
        outside(&inv, "s3:PutObject", "arn:aws:s3:::writes/k"),
        pairs(&[(X, "account")])
    );
    // An unreadable policy allows nothing; a resource without one has none.
    assert!(outside(&inv, "s3:GetObject", "arn:aws:s3:::locked/k").is_empty());
    assert!(outside(&inv, "s3:GetObject", "arn:aws:s3:::nopolicy/k").is_empty());
}

#[test]
fn the_statement_that_lets_them_in_is_named() {
    let inv = Inventory::build(&sources(false)).unwrap();
    let found = inv
        .who_can_from_outside("s3:GetObject", "arn:aws:s3:::shared/k", &Context::default())
        .unwrap();
    let only = found.first().unwrap();
    assert_eq!(only.kind, Outsider::Account);
    assert_eq!(only.statements.len(), 1);
    let s = only.statements.first().unwrap();
    assert_eq!((s.kind, s.statement), (PolicyKind::Resource, 0));
    assert_eq!(s.policy, PolicyId::Resource("arn:aws:s3:::shared".into()));
}

#[test]
fn the_request_context_counts() {
    let inv = Inventory::build(&sources(false)).unwrap();
    let mut ctx = Context::default();
    ctx.insert("aws:PrincipalOrgID", ContextValue::One("o-1".into()));
    let found = inv
        .who_can_from_outside("s3:GetObject", "arn:aws:s3:::org-only/k", &ctx)
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|o| o.principal.as_str())
            .collect::<Vec<_>>(),
        ["*"]
    );
}

#[test]
fn an_rcp_keeps_outside_callers_out() {
    let inv = Inventory::build(&sources(true)).unwrap();
    assert!(outside(&inv, "s3:GetObject", "arn:aws:s3:::public/k").is_empty());
    assert!(outside(&inv, "s3:GetObject", "arn:aws:s3:::shared/k").is_empty());
}
