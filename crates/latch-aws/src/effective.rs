//! Effective access over synced accounts: turns the IAM items the inventory
//! sync stores (`iam-user`, `iam-group`, `iam-role`, `iam-policy`, in the
//! shapes `sync::iam` writes) into `latch_iam`'s inventory model, so
//! "who can" and "what can" are answered by Latch's own policy engine.
//!
//! Resource-based policies (`resource-policy`: S3 bucket, SQS queue, SNS
//! topic, KMS key, Lambda function and Secrets Manager secret policies)
//! and Organizations' hierarchy and control policies (`org-root`,
//! `org-unit`, `org-account`, `org-policy`, from a management account's
//! sync) are read too: SCPs limit the member accounts' principals level by
//! level, RCPs their resources.

use std::collections::{HashMap, HashSet};

use latch_core::inventory::Item;
use latch_iam::effective::{
    BuildError, GroupSpec, InlinePolicy, Inventory, ManagedPolicy, OrgAccount, OrgLevel, OrgPolicy,
    OrgPolicyKind, Organization, ResourcePolicy, RoleSpec, Sources, UserSpec,
};
use serde_json::Value;
use thiserror::Error;

use crate::factory::account_of;

/// Why synced items cannot make an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConvertError {
    /// A field does not have the shape the sync writes.
    #[error("{kind} `{id}`: `{field}` is not {expected}\nhelp: sync the account again; the stored item is not in the shape this version reads")]
    Shape {
        /// The item kind.
        kind: String,
        /// The item id.
        id: String,
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The items do not make a consistent inventory.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Builds an effective-access inventory from synced items (any number of
/// accounts; items of other kinds are ignored). A policy document the sync
/// could not read (stored as text) is reported by the inventory's
/// `problems()` and never allows anything.
///
/// AWS managed policies (`arn:aws:iam::aws:policy/…`) are the same in every
/// account; when several accounts' items carry one, the first is kept.
pub fn inventory_from_items(items: &[Item]) -> Result<Inventory, ConvertError> {
    let mut src = Sources::default();
    // Users name their groups by name: find the group's ARN (path included).
    let groups: HashMap<(&str, &str), &str> = items
        .iter()
        .filter(|i| i.kind == "iam-group")
        .filter_map(|i| {
            let name = i.data.get("name").and_then(Value::as_str)?;
            Some(((account_of(&i.id), name), i.id.as_str()))
        })
        .collect();
    let mut aws_managed = HashSet::new();
    let mut resources = HashSet::new();
    for item in items {
        let f = Fields(item);
        match item.kind.as_str() {
            "iam-user" => src.users.push(UserSpec {
                arn: item.id.clone(),
                id: f.opt_str("id")?,
                tags: f.tags()?,
                groups: f
                    .strings("groups")?
                    .into_iter()
                    .map(|name| group_arn(&groups, &item.id, &name))
                    .collect(),
                inline_policies: f.inline()?,
                managed_policies: f.strings("attached_policies")?,
                permissions_boundary: f.opt_str("permissions_boundary")?,
            }),
            "iam-group" => src.groups.push(GroupSpec {
                arn: item.id.clone(),
                inline_policies: f.inline()?,
                managed_policies: f.strings("attached_policies")?,
            }),
            "iam-role" => src.roles.push(RoleSpec {
                arn: item.id.clone(),
                id: f.opt_str("id")?,
                tags: f.tags()?,
                trust_policy: document(item.data.get("trust_policy")),
                inline_policies: f.inline()?,
                managed_policies: f.strings("attached_policies")?,
                permissions_boundary: f.opt_str("permissions_boundary")?,
            }),
            "iam-policy" => {
                if account_of(&item.id) == "aws" && !aws_managed.insert(item.id.as_str()) {
                    continue;
                }
                src.managed_policies.push(ManagedPolicy {
                    arn: item.id.clone(),
                    document: document(item.data.get("document")),
                });
            }
            "resource-policy" => {
                if !resources.insert(item.id.as_str()) {
                    continue;
                }
                src.resource_policies.push(ResourcePolicy {
                    resource: item.id.clone(),
                    account: f.opt_str("account")?.filter(|a| !a.is_empty()),
                    document: document(item.data.get("document")),
                    unreadable: f.opt_str("unreadable")?,
                });
            }
            _ => {}
        }
    }
    src.organizations = organizations(items)?;
    Ok(Inventory::build(&src)?)
}

/// The organizations in the items: each root with the OUs and accounts
/// under it, and its SCPs and RCPs by where they are attached.
fn organizations(items: &[Item]) -> Result<Vec<Organization>, ConvertError> {
    let of = |kind: &'static str| items.iter().filter(move |i| i.kind == kind);
    // Parent of each OU and account.
    let mut parent: HashMap<&str, String> = HashMap::new();
    for item in of("org-unit").chain(of("org-account")) {
        if let Some(p) = Fields(item).opt_str("parent")? {
            parent.insert(&item.id, p);
        }
    }
    // Policies attached to each root, OU and account; policies by root.
    let mut attached: HashMap<String, Vec<String>> = HashMap::new();
    let mut policies = Vec::new();
    let mut seen = HashSet::new();
    for item in of("org-policy") {
        if !seen.insert(item.id.as_str()) {
            continue;
        }
        let f = Fields(item);
        let kind = match f.opt_str("type")?.as_deref() {
            Some("SERVICE_CONTROL_POLICY") => OrgPolicyKind::Scp,
            Some("RESOURCE_CONTROL_POLICY") => OrgPolicyKind::Rcp,
            _ => continue,
        };
        let arn = f.opt_str("arn")?.unwrap_or_else(|| item.id.clone());
        for target in f.strings("targets")? {
            attached.entry(target).or_default().push(arn.clone());
        }
        policies.push(OrgPolicy {
            arn,
            kind,
            document: document(item.data.get("document")),
        });
    }
    let mut orgs = Vec::new();
    for root in of("org-root") {
        let f = Fields(root);
        let types = f.strings("policy_types")?;
        let arn = f.opt_str("arn")?.unwrap_or_default();
        let mut org = Organization {
            management_account: account_of(&arn).to_owned(),
            scps_enabled: types.iter().any(|t| t == "SERVICE_CONTROL_POLICY"),
            rcps_enabled: types.iter().any(|t| t == "RESOURCE_CONTROL_POLICY"),
            policies: policies.clone(),
            accounts: Vec::new(),
        };
        for account in of("org-account") {
            // The chain from the account up to its root; an account whose
            // chain breaks (an OU the sync did not see) is left out.
            let mut chain = vec![account.id.as_str()];
            while let Some(p) = chain.last().and_then(|c| parent.get(c)) {
                if chain.len() > 16 || chain.contains(&p.as_str()) {
                    break;
                }
                chain.push(p);
            }
            if chain.last() != Some(&root.id.as_str()) {
                continue;
            }
            let levels = chain
                .iter()
                .rev()
                .map(|t| OrgLevel {
                    target: (*t).to_owned(),
                    policies: attached.get(*t).cloned().unwrap_or_default(),
                })
                .collect();
            org.accounts.push(OrgAccount {
                account: account.id.clone(),
                levels,
            });
        }
        orgs.push(org);
    }
    Ok(orgs)
}

/// The ARN of the group `name` in `user`'s account; when the sync saw no
/// such group, the ARN it would have without a path (the inventory then
/// reports the group as missing).
fn group_arn(groups: &HashMap<(&str, &str), &str>, user: &str, name: &str) -> String {
    let account = account_of(user);
    match groups.get(&(account, name)) {
        Some(arn) => (*arn).to_owned(),
        None => {
            let partition = user.split(':').nth(1).unwrap_or("aws");
            format!("arn:{partition}:iam::{account}:group/{name}")
        }
    }
}

/// A stored policy document as JSON text: the sync keeps a readable
/// document as JSON and an unreadable one as its text.
fn document(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Reads an item's fields, naming the item in errors.
struct Fields<'a>(&'a Item);

impl Fields<'_> {
    fn shape(&self, field: &'static str, expected: &'static str) -> ConvertError {
        ConvertError::Shape {
            kind: self.0.kind.clone(),
            id: self.0.id.clone(),
            field,
            expected,
        }
    }

    /// A field that may be absent or null.
    fn get(&self, field: &str) -> Option<&Value> {
        self.0.data.get(field).filter(|v| !v.is_null())
    }

    fn opt_str(&self, field: &'static str) -> Result<Option<String>, ConvertError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.shape(field, "a string")),
        }
    }

    fn array(&self, field: &'static str) -> Result<&[Value], ConvertError> {
        match self.get(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.shape(field, "an array")),
        }
    }

    fn strings(&self, field: &'static str) -> Result<Vec<String>, ConvertError> {
        self.array(field)?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.shape(field, "an array of strings"))
            })
            .collect()
    }

    fn tags(&self) -> Result<Vec<(String, String)>, ConvertError> {
        match self.get("tags") {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|v| (k.clone(), v.to_owned()))
                        .ok_or_else(|| self.shape("tags", "an object of strings"))
                })
                .collect(),
            Some(_) => Err(self.shape("tags", "an object of strings")),
        }
    }

    fn inline(&self) -> Result<Vec<InlinePolicy>, ConvertError> {
        self.array("inline_policies")?
            .iter()
            .map(|p| {
                let name = p.get("name").and_then(Value::as_str).ok_or_else(|| {
                    self.shape("inline_policies", "an array of `{name, document}`")
                })?;
                Ok(InlinePolicy {
                    name: name.to_owned(),
                    document: document(p.get("document")),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_iam::effective::{Filter, PolicyId, Problem};
    use latch_iam::eval::Context;
    use serde_json::json;

    const A: &str = "111111111111";

    fn item(kind: &str, id: String, data: Value) -> Item {
        Item {
            kind: kind.into(),
            id,
            data,
        }
    }

    /// Items exactly as `sync::iam::authorization_details` writes them.
    fn items() -> Vec<Item> {
        let doc = |action: &str, resource: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]});
        vec![
            item(
                "iam-user",
                format!("arn:aws:iam::{A}:user/eng/alice"),
                json!({
                    "name": "alice", "id": "AIDAALICE", "path": "/eng/", "created": "2026-01-01T00:00:00Z",
                    "tags": {"team": "blue"}, "groups": ["readers"],
                    "inline_policies": [{"name": "own", "document": doc("s3:GetObject", "arn:aws:s3:::team-${aws:PrincipalTag/team}/*")}],
                    "attached_policies": [], "permissions_boundary": null,
                }),
            ),
            item(
                "iam-user",
                format!("arn:aws:iam::{A}:user/bob"),
                json!({
                    "name": "bob", "id": "AIDABOB", "path": "/", "created": "2026-01-01T00:00:00Z",
                    "tags": {}, "groups": [], "inline_policies": [],
                    "attached_policies": ["arn:aws:iam::aws:policy/AdministratorAccess", format!("arn:aws:iam::{A}:policy/AssumeDeploy")],
                    "permissions_boundary": format!("arn:aws:iam::{A}:policy/Bound"),
                }),
            ),
            item(
                "iam-group",
                format!("arn:aws:iam::{A}:group/teams/readers"),
                json!({
                    "name": "readers", "id": "AGPAREADERS", "path": "/teams/", "created": "2026-01-01T00:00:00Z",
                    "inline_policies": [], "attached_policies": [format!("arn:aws:iam::{A}:policy/Read")],
                }),
            ),
            item(
                "iam-role",
                format!("arn:aws:iam::{A}:role/Deploy"),
                json!({
                    "name": "Deploy", "id": "AROADEPLOY", "path": "/", "created": "2026-01-01T00:00:00Z",
                    "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "sts:AssumeRole"}]},
                    "tags": {}, "inline_policies": [{"name": "put", "document": doc("s3:PutObject", "*")}],
                    "attached_policies": [], "permissions_boundary": null, "last_used": null,
                }),
            ),
            item(
                "iam-policy",
                format!("arn:aws:iam::{A}:policy/Read"),
                json!({
                    "name": "Read", "id": "ANPAREAD", "path": "/", "attachments": 1, "default_version": "v1",
                    "document": doc("s3:GetObject", "arn:aws:s3:::data/*"),
                }),
            ),
            item(
                "iam-policy",
                format!("arn:aws:iam::{A}:policy/Bound"),
                json!({
                    "name": "Bound", "id": "ANPABOUND", "path": "/", "attachments": 1, "default_version": "v2",
                    "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:AssumeRole"], "Resource": "*"}]},
                }),
            ),
            item(
                "iam-policy",
                format!("arn:aws:iam::{A}:policy/AssumeDeploy"),
                json!({
                    "name": "AssumeDeploy", "id": "ANPAASSUME", "path": "/", "attachments": 1, "default_version": "v1",
                    "document": doc("sts:AssumeRole", &format!("arn:aws:iam::{A}:role/Deploy")),
                }),
            ),
            item(
                "iam-policy",
                "arn:aws:iam::aws:policy/AdministratorAccess".into(),
                json!({
                    "name": "AdministratorAccess", "id": "ANPAADMIN", "path": "/", "attachments": 1, "default_version": "v1",
                    "document": doc("*", "*"),
                }),
            ),
            // The same AWS managed policy seen from a second account.
            item(
                "iam-policy",
                "arn:aws:iam::aws:policy/AdministratorAccess".into(),
                json!({
                    "name": "AdministratorAccess", "id": "ANPAADMIN", "path": "/", "attachments": 3, "default_version": "v2",
                    "document": doc("*", "*"),
                }),
            ),
            // A document the sync could not read is stored as its text.
            item(
                "iam-policy",
                format!("arn:aws:iam::{A}:policy/Garbled"),
                json!({
                    "name": "Garbled", "id": "ANPAGARBLED", "path": "/", "attachments": 0, "default_version": "v1",
                    "document": "{not json",
                }),
            ),
            item(
                "credential",
                format!("arn:aws:iam::{A}:user/bob"),
                json!({"user": "bob"}),
            ),
        ]
    }

    #[test]
    fn synced_items_answer_who_can() {
        let inv = inventory_from_items(&items()).unwrap();
        assert_eq!(inv.principal_count(), 3);
        let who = |action: &str, resource: &str| -> Vec<String> {
            inv.who_can(action, resource, &Context::default())
                .unwrap()
                .into_iter()
                .map(|f| f.principal)
                .collect()
        };
        let alice = format!("arn:aws:iam::{A}:user/eng/alice");
        let bob = format!("arn:aws:iam::{A}:user/bob");
        let deploy = format!("arn:aws:iam::{A}:role/Deploy");
        // alice through her group (found by name, with its path); bob's
        // administrator access within his boundary.
        assert_eq!(
            who("s3:GetObject", "arn:aws:s3:::data/x"),
            [bob.clone(), alice.clone()]
        );
        // alice's tag in a policy variable.
        assert_eq!(
            who("s3:GetObject", "arn:aws:s3:::team-blue/x"),
            [bob.clone(), alice.clone()]
        );
        assert_eq!(
            who("s3:GetObject", "arn:aws:s3:::team-red/x"),
            std::slice::from_ref(&bob)
        );
        // The boundary cuts bob's administrator access.
        assert!(who("iam:CreateUser", &format!("arn:aws:iam::{A}:user/x")).is_empty());
        let found = inv
            .who_can("s3:PutObject", "arn:aws:s3:::b/k", &Context::default())
            .unwrap();
        let role = found.iter().find(|f| f.principal == deploy).unwrap();
        let assumers: Vec<Option<&str>> = role.assumed_by.iter().map(|p| p.origin()).collect();
        assert_eq!(assumers, [Some(bob.as_str())]);
        let caps = inv.what_can(&alice, &Filter::default()).unwrap();
        assert_eq!(caps.len(), 2, "{caps:#?}");
    }

    #[test]
    fn unreadable_documents_are_problems() {
        let inv = inventory_from_items(&items()).unwrap();
        let [Problem::Unreadable { policy, .. }] = inv.problems() else {
            panic!("{:#?}", inv.problems())
        };
        assert_eq!(
            policy,
            &PolicyId::Managed(format!("arn:aws:iam::{A}:policy/Garbled"))
        );
    }

    /// Organizations items as `sync::org_policies` writes them: root → `ou-a`
    /// → `ou-b` → account A, an SCP denying S3 reads on `ou-b`, and A's
    /// bucket policy from `sync::resource_policies`.
    #[test]
    fn org_items_put_scps_on_each_level_and_bucket_policies_on_buckets() {
        const M: &str = "999999999999";
        let scp = |id: &str| format!("arn:aws:organizations::{M}:policy/o-1/service_control_policy/{id}");
        let statement = |effect: &str, action: &str| json!({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]});
        let mut all = items();
        all.extend([
            item("org-root", "r-1".into(), json!({"arn": format!("arn:aws:organizations::{M}:root/o-1/r-1"), "name": "Root", "policy_types": ["SERVICE_CONTROL_POLICY"]})),
            item("org-unit", "ou-a".into(), json!({"parent": "r-1", "name": "a", "arn": null})),
            item("org-unit", "ou-b".into(), json!({"parent": "ou-a", "name": "b", "arn": null})),
            item("org-account", A.into(), json!({"parent": "ou-b", "name": "a", "arn": null})),
            // An account under an OU the sync did not see is left out.
            item("org-account", "222222222222".into(), json!({"parent": "ou-gone"})),
            item(
                "org-policy",
                "p-FullAWSAccess".into(),
                json!({"arn": scp("p-FullAWSAccess"), "type": "SERVICE_CONTROL_POLICY", "aws_managed": true,
                    "document": statement("Allow", "*"), "targets": ["r-1", "ou-a", "ou-b", A]}),
            ),
            item(
                "org-policy",
                "p-noreads".into(),
                json!({"arn": scp("p-noreads"), "type": "SERVICE_CONTROL_POLICY", "aws_managed": false,
                    "document": statement("Deny", "s3:GetObject"), "targets": ["ou-b"]}),
            ),
            item(
                "resource-policy",
                "arn:aws:s3:::shared".into(),
                json!({"service": "s3", "account": A, "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{A}:role/Deploy")}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::shared/*"}]}}),
            ),
        ]);
        let inv = inventory_from_items(&all).unwrap();
        let who = |action: &str, resource: &str| -> Vec<String> { inv.who_can(action, resource, &Context::default()).unwrap().into_iter().map(|f| f.principal).collect() };
        assert!(who("s3:GetObject", "arn:aws:s3:::data/x").is_empty(), "the SCP on ou-b denies everyone in A");
        let deploy = format!("arn:aws:iam::{A}:role/Deploy");
        let bob = format!("arn:aws:iam::{A}:user/bob");
        // Deploy through the bucket policy alone, bob through his own policy.
        assert_eq!(who("s3:DeleteObject", "arn:aws:s3:::shared/k"), [deploy, bob]);
        let filter = Filter { action: Some("s3:GetObject".into()), resource: Some("arn:aws:s3:::data/x".into()), context: Context::default() };
        let caps = inv.what_can(&format!("arn:aws:iam::{A}:user/bob"), &filter).unwrap();
        let Some(latch_iam::effective::Capability::Decision(d)) = caps.first() else { panic!("{caps:#?}") };
        let at: Vec<(&PolicyId, Option<&str>)> = d.statements.iter().map(|s| (&s.policy, s.attached_to.as_deref())).collect();
        assert_eq!(at, [(&PolicyId::Scp(scp("p-noreads")), Some("ou-b"))]);
    }

    #[test]
    fn misshapen_items_are_refused() {
        let mut bad = items();
        bad.push(item(
            "iam-user",
            format!("arn:aws:iam::{A}:user/carol"),
            json!({"tags": ["team"]}),
        ));
        let err = inventory_from_items(&bad).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "iam-user `arn:aws:iam::{A}:user/carol`: `tags` is not an object of strings"
            )),
            "{err}"
        );
    }
}
