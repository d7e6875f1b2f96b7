//! Reconciliation's AWS half: finding what Latch put in an account that no
//! grant accounts for any more (a grant policy left by a crash between AWS
//! and the database, or copied by hand), and session cut-offs that have
//! lapsed, from the latest inventory; then removing them, each checked live
//! first. (Access Latch granted but someone removed is repaired by granting
//! again, which the server does with the provisioner.)

use std::collections::HashSet;

use latch_core::integration::UserLookup;
use latch_core::inventory::Item;
use serde_json::Value;

use crate::provision::grant_policy_name;

use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;

/// Something to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A Latch grant policy on a user that no grant records.
    GrantPolicy {
        /// The IAM user.
        user: String,
        /// The inline policy.
        policy: String,
    },
    /// A session cut-off on a role whose time has passed.
    LapsedSessionDeny {
        /// The role.
        role: String,
        /// The inline policy.
        policy: String,
    },
}

fn inline_names(item: &Item) -> impl Iterator<Item = (&str, &Value)> {
    item.data.get("inline_policies").and_then(Value::as_array).into_iter().flatten().filter_map(|p| Some((p.get("name")?.as_str()?, p.get("document")?)))
}

/// The email an IAM user item stands for under `lookup`.
fn email_of<'a>(item: &'a Item, lookup: &UserLookup) -> Option<&'a str> {
    match lookup {
        UserLookup::Email => item.data.get("name")?.as_str(),
        UserLookup::Tag(key) => item.data.get("tags")?.get(key)?.as_str(),
    }
}

/// What in `items` (one account's inventory) Latch should remove, given
/// every entitlement held or being granted now as (email, key) and the time
/// now (ISO 8601, UTC). A grant in flight has its entitlement recorded
/// before AWS is touched, so its policy is never taken for a leftover.
pub fn leftovers(items: &[Item], lookup: &UserLookup, held: &[(String, String)], now_iso: &str) -> Vec<Leftover> {
    let held: HashSet<(String, String)> = held.iter().map(|(email, key)| (email.to_ascii_lowercase(), grant_policy_name(key))).collect();
    let mut out = Vec::new();
    for item in items {
        let Some(name) = item.data.get("name").and_then(Value::as_str) else { continue };
        match item.kind.as_str() {
            "iam-user" => {
                let email = email_of(item, lookup).unwrap_or("").to_ascii_lowercase();
                for (policy, _) in inline_names(item) {
                    if policy.starts_with("LatchGrant-") && !held.contains(&(email.clone(), policy.to_owned())) {
                        out.push(Leftover::GrantPolicy { user: name.to_owned(), policy: policy.to_owned() });
                    }
                }
            }
            "iam-role" => {
                for (policy, doc) in inline_names(item) {
                    let until = doc.pointer("/Statement/0/Condition/DateLessThan/aws:CurrentTime").and_then(Value::as_str);
                    if policy.starts_with("LatchEndSessions-") && until.is_some_and(|t| t.len() == now_iso.len() && t <= now_iso) {
                        out.push(Leftover::LapsedSessionDeny { role: name.to_owned(), policy: policy.to_owned() });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Removes one leftover; already gone is fine.
pub async fn remove(c: &Clients, leftover: &Leftover) -> Result<(), AwsError> {
    let result = match leftover {
        Leftover::GrantPolicy { user, policy } => c.iam.delete_user_policy().user_name(user).policy_name(policy).send().await.map(|_| ()).map_err(|e| classify("iam:DeleteUserPolicy", e)),
        Leftover::LapsedSessionDeny { role, policy } => c.iam.delete_role_policy().role_name(role).policy_name(policy).send().await.map(|_| ()).map_err(|e| classify("iam:DeleteRolePolicy", e)),
    };
    match result {
        Ok(()) | Err((Failure::Missing, _)) => Ok(()),
        Err((_, e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use latch_core::inventory::Item;
    use serde_json::json;

    use latch_core::integration::UserLookup;

    use super::{leftovers, Leftover};
    use crate::provision::grant_policy_name;

    fn user(name: &str, policies: &[&str]) -> Item {
        let list: Vec<_> = policies.iter().map(|p| json!({"name": p, "document": {}})).collect();
        Item { kind: "iam-user".into(), id: format!("arn:aws:iam::1:user/{name}"), data: json!({"name": name, "inline_policies": list}) }
    }

    #[test]
    fn only_unrecorded_grant_policies_and_lapsed_cutoffs_are_leftovers() {
        let deny = |until: &str| json!({"name": "LatchEndSessions-ab", "document": {"Statement": [{"Condition": {"DateLessThan": {"aws:TokenIssueTime": "x", "aws:CurrentTime": until}}}]}});
        let items = vec![
            user("alice", &["LatchGrant-1", "LatchGrant-2", "team-policy"]),
            user("bob", &["LatchGrant-1"]),
            Item { kind: "iam-role".into(), id: "r1".into(), data: json!({"name": "Admin", "inline_policies": [deny("2026-11-23T10:00:00Z")]}) },
            Item { kind: "iam-role".into(), id: "r2".into(), data: json!({"name": "Ops", "inline_policies": [deny("2026-11-23T14:00:00Z")]}) },
        ];
        // alice holds the entitlement behind `held` (its policy stays), bob does not.
        let key = "aws/1/role/Admin/";
        let held_name = grant_policy_name(key);
        let items: Vec<Item> = items
            .into_iter()
            .map(|mut i| {
                if let Some(list) = i.data["inline_policies"].as_array_mut() {
                    for p in list.iter_mut().filter(|p| p["name"] == "LatchGrant-1") {
                        p["name"] = json!(held_name);
                    }
                }
                i
            })
            .collect();
        let held = vec![("Alice".to_owned(), key.to_owned())];
        assert_eq!(leftovers(&items, &UserLookup::Email, &held, "2026-11-23T12:00:00Z"), vec![
            Leftover::GrantPolicy { user: "alice".into(), policy: "LatchGrant-2".into() },
            Leftover::GrantPolicy { user: "bob".into(), policy: held_name.clone() },
            Leftover::LapsedSessionDeny { role: "Admin".into(), policy: "LatchEndSessions-ab".into() },
        ]);
    }
}
