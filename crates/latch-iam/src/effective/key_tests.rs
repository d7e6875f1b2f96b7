//! Who-can over KMS keys, from "Key policies in AWS KMS": identity policies
//! grant access to a key only where its key policy allows the account
//! ("allows access to the AWS account and enables IAM policies"); a key
//! policy without that statement leaves IAM policies without effect, even
//! for the key's own account.

use super::*;
use crate::eval::{Context, Reason};
use serde_json::{json, Value};

const A: &str = "111111111111";
const B: &str = "222222222222";

fn key(id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{A}:key/{id}")
}

fn user(account: &str, name: &str, actions: &str) -> UserSpec {
    UserSpec {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        inline_policies: vec![InlinePolicy {
            name: "kms".into(),
            document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}).to_string(),
        }],
        ..UserSpec::default()
    }
}

fn key_policy(id: &str, principals: Value) -> ResourcePolicy {
    ResourcePolicy {
        resource: key(id),
        unreadable: None,
        account: None,
        document: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "kms:*", "Resource": "*"}]}).to_string(),
    }
}

fn inventory() -> Inventory {
    let keeper = format!("arn:aws:iam::{A}:user/keeper");
    let sources = Sources {
        users: vec![
            user(A, "alice", "kms:*"),
            UserSpec {
                inline_policies: Vec::new(),
                ..user(A, "keeper", "")
            },
            user(B, "carol", "kms:Decrypt"),
        ],
        resource_policies: vec![
            // The default key policy: the account, so IAM policies count.
            key_policy("default", json!(format!("arn:aws:iam::{A}:root"))),
            // Only `keeper`, and account B for its IAM policies.
            key_policy("locked", json!([keeper, B])),
        ],
        ..Sources::default()
    };
    Inventory::build(&sources).unwrap()
}

fn who(inv: &Inventory, resource: &str) -> Vec<(String, Reason)> {
    inv.who_can("kms:Decrypt", resource, &Context::default())
        .unwrap()
        .into_iter()
        .map(|f| (f.principal, f.reason))
        .collect()
}

#[test]
fn identity_policies_count_only_where_the_key_policy_allows_the_account() {
    let inv = inventory();
    let (alice, keeper) = (
        format!("arn:aws:iam::{A}:user/alice"),
        format!("arn:aws:iam::{A}:user/keeper"),
    );
    let carol = format!("arn:aws:iam::{B}:user/carol");
    // The default key policy: alice through her IAM policy; carol's
    // account is not allowed by the key.
    assert_eq!(
        who(&inv, &key("default")),
        [(alice.clone(), Reason::IdentityAllows)]
    );
    // No statement for account A: alice's IAM policy has no effect; keeper
    // through the key policy alone; carol through hers and the key's grant
    // to her account.
    assert_eq!(
        who(&inv, &key("locked")),
        [
            (keeper, Reason::ResourcePolicyAllows),
            (carol, Reason::IdentityAllows)
        ]
    );
    let filter = Filter {
        action: Some("kms:Decrypt".into()),
        resource: Some(key("locked")),
        context: Context::default(),
    };
    let Some(Capability::Decision(d)) = inv.what_can(&alice, &filter).unwrap().into_iter().next()
    else {
        panic!("a decision")
    };
    assert_eq!(d.reason, Reason::KeyPolicyNoAllow);
}

#[test]
fn a_key_policy_latch_may_not_read_allows_nothing_and_is_reported() {
    let mut sources = Sources {
        users: vec![user(A, "alice", "kms:*")],
        resource_policies: vec![ResourcePolicy {
            unreadable: Some("access denied: Latch's role lacks `kms:GetKeyPolicy`".into()),
            ..key_policy("hidden", json!(format!("arn:aws:iam::{A}:root")))
        }],
        ..Sources::default()
    };
    let inv = Inventory::build(&sources).unwrap();
    // Whatever alice's IAM policy says, an unknown key policy may not let
    // it count: fail closed.
    assert_eq!(who(&inv, &key("hidden")), []);
    assert!(inv.problems().iter().any(|p| matches!(p,
        Problem::Unreadable { policy: PolicyId::Resource(arn), message } if *arn == key("hidden") && message.contains("kms:GetKeyPolicy"))), "{:?}", inv.problems());
    // The same key, read: alice through her IAM policy.
    sources.resource_policies[0].unreadable = None;
    assert_eq!(
        who(&Inventory::build(&sources).unwrap(), &key("hidden")).len(),
        1
    );
}
