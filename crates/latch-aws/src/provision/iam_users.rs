//! IAM-users mode: people are IAM users of the account, found by user name
//! (their email) or by a tag whose value is their email.
//!
//! - role: an inline user policy allowing `sts:AssumeRole` on the role until
//!   the grant ends, for sessions named after the user (so a revoke can end
//!   exactly this person's sessions); the role's trust must admit the
//!   account's users.
//! - policy: a time-bounded copy of the managed policy, attached to the user.
//! - group: membership (AWS cannot bound it in time; Latch removes it).

use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, RevokeOutcome};
use latch_core::access::target::Kind;
use latch_core::integration::{AwsIntegration, UserLookup};
use latch_core::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{iso, session, to_provision};
use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;
use crate::trust::{admits, decode_document};

/// The IAM user a person is.
#[derive(Debug, Clone)]
struct IamUser {
    name: String,
    arn: String,
}

fn permanent(msg: String) -> ProvisionError {
    ProvisionError::Permanent(msg)
}

/// The IAM user the latest inventory says carries `key` = `email`, if any.
pub(super) fn tagged_in_inventory(items: &[latch_core::inventory::Item], key: &str, email: &str) -> Option<String> {
    items.iter().find_map(|i| {
        let tagged = i.data.get("tags")?.get(key)?.as_str()?;
        tagged.eq_ignore_ascii_case(email).then(|| i.data.get("name")?.as_str().map(str::to_owned))?
    })
}

/// Confirms live that IAM user `name` still carries `key` = `email`.
async fn still_tagged(c: &Clients, name: &str, key: &str, email: &str) -> Result<Option<IamUser>, ProvisionError> {
    let tags = match c.iam.list_user_tags().user_name(name).send().await {
        Ok(out) => out.tags,
        Err(e) => {
            return match classify("iam:ListUserTags", e) {
                (Failure::Missing, _) => Ok(None),
                (_, err) => Err(to_provision(err)),
            }
        }
    };
    if !tags.iter().any(|t| t.key == key && t.value.eq_ignore_ascii_case(email)) {
        return Ok(None);
    }
    let user = c.iam.get_user().user_name(name).send().await.map_err(|e| to_provision(classify("iam:GetUser", e).1))?.user;
    Ok(user.map(|u| IamUser { name: u.user_name, arn: u.arn }))
}

async fn find_user(c: &Clients, lookup: &UserLookup, email: &str, hint: Option<&str>) -> Result<IamUser, ProvisionError> {
    match lookup {
        UserLookup::Email => match c.iam.get_user().user_name(email).send().await {
            Ok(out) => {
                let u = out.user.ok_or_else(|| permanent("IAM returned no user".into()))?;
                Ok(IamUser { name: u.user_name, arn: u.arn })
            }
            Err(e) => match classify("iam:GetUser", e) {
                (Failure::Missing, _) => Err(permanent(format!(
                    "no IAM user named `{email}` in AWS account `{}` (users are found by user name = email)\nhelp: create the user, or install the account with `--user-lookup tag:Email`",
                    c.account_id
                ))),
                (_, err) => Err(to_provision(err)),
            },
        },
        UserLookup::Tag(key) => {
            // The inventory names the user without listing every user's
            // tags; it is confirmed live, and a stale inventory falls back
            // to the full scan.
            if let Some(name) = hint {
                if let Some(user) = still_tagged(c, name, key, email).await? {
                    return Ok(user);
                }
            }
            let mut pages = c.iam.list_users().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| to_provision(classify("iam:ListUsers", e).1))?;
                for u in page.users {
                    let tags = c.iam.list_user_tags().user_name(&u.user_name).send().await.map_err(|e| to_provision(classify("iam:ListUserTags", e).1))?;
                    if tags.tags.iter().any(|t| t.key == *key && t.value.eq_ignore_ascii_case(email)) {
                        return Ok(IamUser { name: u.user_name, arn: u.arn });
                    }
                }
            }
            Err(permanent(format!(
                "no IAM user in AWS account `{}` has the tag `{key}` = `{email}` (users are found by tag `{key}`)\nhelp: tag the person's IAM user with `{key}` = `{email}`",
                c.account_id
            )))
        }
    }
}

/// A stable, short name for what Latch adds for one entitlement.
pub fn grant_policy_name(entitlement_key: &str) -> String {
    let digest = Sha256::digest(entitlement_key.as_bytes());
    format!("LatchGrant-{}", &hex::encode(digest)[..16])
}

fn grant_name(spec: &GrantSpec) -> String {
    grant_policy_name(&spec.target.entitlement_key())
}

fn expiry_of(doc: &Value) -> Option<String> {
    let statements = match doc.get("Statement")? {
        Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    statements.iter().find_map(|s| s.pointer("/Condition/DateLessThan/aws:CurrentTime").and_then(Value::as_str).map(str::to_owned))
}

/// Grants `spec` to the person's IAM user; `hint` is the user the latest
/// inventory found for a tag lookup.
pub(super) async fn grant(c: &Clients, i: &AwsIntegration, spec: &GrantSpec, hint: Option<&str>) -> Result<GrantOutcome, ProvisionError> {
    let user = find_user(c, &i.user_lookup, &spec.email, hint).await?;
    match spec.target.kind {
        Kind::Role => grant_role(c, &user, spec).await,
        Kind::Policy => grant_policy(c, &user, spec).await,
        Kind::Group => grant_group(c, &user, spec).await,
        Kind::PermissionSet => Err(permanent(format!(
            "AWS account `{}` is installed in iam-users mode, which has roles, not permission sets\nhelp: request a role, or install the account with `--mode identity-center`",
            c.account_id
        ))),
        Kind::Resource => grant_resource(c, &user, spec).await,
    }
}

async fn grant_role(c: &Clients, user: &IamUser, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
    let role_name = spec.target.name.as_str();
    let role = match c.iam.get_role().role_name(role_name).send().await {
        Ok(out) => out.role.ok_or_else(|| permanent("IAM returned no role".into()))?,
        Err(e) => {
            return Err(match classify("iam:GetRole", e) {
                (Failure::Missing, _) => permanent(format!("role `{role_name}` not found in AWS account `{}`", c.account_id)),
                (_, err) => to_provision(err),
            })
        }
    };
    let trust = role.assume_role_policy_document.as_deref().map(decode_document).unwrap_or_default();
    let context = [("sts:RoleSessionName", user.name.as_str()), ("aws:username", user.name.as_str())];
    if !admits(&trust, &role.arn, &user.arn, &context).map_err(permanent)? {
        return Err(permanent(format!(
            "the trust policy of role `{role_name}` does not let IAM users of AWS account `{}` assume it\nhelp: trust `arn:{}:iam::{}:root` so that Latch's grants decide who may",
            c.account_id, c.partition, c.account_id
        )));
    }
    let until = iso(spec.expires_at);
    let name = grant_name(spec);
    let doc = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LatchGrantAssumeRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role.arn,
            "Condition": {
                "DateLessThan": {"aws:CurrentTime": until},
                "StringEquals": {"sts:RoleSessionName": "${aws:username}"}
            }
        }]
    });
    let applied = Applied(json!({
        "mode": "iam-users", "kind": "inline-user-policy", "user": user.name, "policy_name": name,
        "role_name": role.role_name, "role_arn": role.arn, "session_name": user.name
    }));
    put_inline_unless_later(c, user, &name, &doc, &until, applied).await
}

/// Puts an inline user policy, keeping one already there that ends later
/// (a grant is never shortened by a retry or an overlapping grant).
async fn put_inline_unless_later(c: &Clients, user: &IamUser, name: &str, doc: &Value, until: &str, applied: Applied) -> Result<GrantOutcome, ProvisionError> {
    let existing = match c.iam.get_user_policy().user_name(&user.name).policy_name(name).send().await {
        Ok(out) => serde_json::from_str::<Value>(&decode_document(&out.policy_document)).ok(),
        Err(e) => match classify("iam:GetUserPolicy", e) {
            (Failure::Missing, _) => None,
            (_, err) => return Err(to_provision(err)),
        },
    };
    if let Some(old) = &existing {
        if old == doc || expiry_of(old).is_some_and(|t| t.as_str() >= until) {
            return Ok(GrantOutcome::AlreadyGranted(applied));
        }
    }
    c.iam
        .put_user_policy()
        .user_name(&user.name)
        .policy_name(name)
        .policy_document(doc.to_string())
        .send()
        .await
        .map_err(|e| to_provision(classify("iam:PutUserPolicy", e).1))?;
    Ok(if existing.is_some() { GrantOutcome::AlreadyGranted(applied) } else { GrantOutcome::Granted(applied) })
}

fn policy_arn(c: &Clients, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!("arn:{}:iam::{}:policy/{name}", c.partition, c.account_id)
    }
}

async fn policy_document(c: &Clients, arn: &str) -> Result<Option<Value>, AwsError> {
    let policy = match c.iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out.policy,
        Err(e) => {
            return match classify("iam:GetPolicy", e) {
                (Failure::Missing, _) => Ok(None),
                (_, err) => Err(err),
            }
        }
    };
    let Some(version) = policy.and_then(|p| p.default_version_id) else { return Ok(None) };
    let out = c.iam.get_policy_version().policy_arn(arn).version_id(version).send().await.map_err(|e| classify("iam:GetPolicyVersion", e).1)?;
    let text = out.policy_version.and_then(|v| v.document).map(|d| decode_document(&d)).unwrap_or_default();
    Ok(serde_json::from_str(&text).ok())
}

async fn grant_policy(c: &Clients, user: &IamUser, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
    let mut arn = policy_arn(c, &spec.target.name);
    let mut doc = policy_document(c, &arn).await.map_err(to_provision)?;
    if doc.is_none() && !spec.target.name.starts_with("arn:") {
        // Not the account's own: an AWS managed policy of that name.
        arn = format!("arn:{}:iam::aws:policy/{}", c.partition, spec.target.name);
        doc = policy_document(c, &arn).await.map_err(to_provision)?;
    }
    let Some(doc) = doc else {
        return Err(permanent(format!("policy `{}` not found in AWS account `{}` nor among AWS managed policies", spec.target.name, c.account_id)));
    };
    let until = iso(spec.expires_at);
    let bounded = super::bound_policy(&doc, &until).map_err(|e| permanent(format!("policy `{}`: {e}", spec.target.name)))?;
    let name = grant_name(spec);
    let applied = Applied(json!({"mode": "iam-users", "kind": "inline-user-policy", "user": user.name, "policy_name": name, "source_policy_arn": arn}));
    put_inline_unless_later(c, user, &name, &bounded, &until, applied).await.map_err(|e| match e {
        ProvisionError::Permanent(m) if m.contains("LimitExceeded") => permanent(format!(
            "policy `{}` is too large to copy with a time bound into a user policy (2,048 characters for all of a user's inline policies)\nhelp: grant it through a group instead",
            spec.target.name
        )),
        other => other,
    })
}

async fn grant_resource(c: &Clients, user: &IamUser, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
    let level = spec.target.level.ok_or_else(|| permanent("a resource request needs a level: read, write or admin".into()))?;
    let until = iso(spec.expires_at);
    let doc = crate::resource_access::policy_for(&spec.target.name, level, &until).map_err(|e| permanent(e.to_string()))?;
    let name = grant_name(spec);
    let applied = Applied(json!({"mode": "iam-users", "kind": "inline-user-policy", "user": user.name, "policy_name": name, "resource": spec.target.name, "level": level}));
    put_inline_unless_later(c, user, &name, &doc, &until, applied).await
}

async fn grant_group(c: &Clients, user: &IamUser, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
    let group = spec.target.name.as_str();
    let applied = Applied(json!({"mode": "iam-users", "kind": "group-membership", "user": user.name, "group": group}));
    let mut pages = c.iam.list_groups_for_user().user_name(&user.name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| to_provision(classify("iam:ListGroupsForUser", e).1))?;
        if page.groups.iter().any(|g| g.group_name == group) {
            return Ok(GrantOutcome::AlreadyGranted(applied));
        }
    }
    match c.iam.add_user_to_group().group_name(group).user_name(&user.name).send().await {
        Ok(_) => Ok(GrantOutcome::Granted(applied)),
        Err(e) => Err(match classify("iam:AddUserToGroup", e) {
            (Failure::Missing, _) => permanent(format!("group `{group}` not found in AWS account `{}`", c.account_id)),
            (_, err) => to_provision(err),
        }),
    }
}

fn field<'a>(applied: &'a Applied, key: &str) -> Result<&'a str, ProvisionError> {
    applied.0.get(key).and_then(Value::as_str).ok_or_else(|| permanent(format!("unreadable grant record: no `{key}` in {}", applied.0)))
}

pub(super) async fn revoke(c: &Clients, applied: &Applied, now: Timestamp) -> Result<RevokeOutcome, ProvisionError> {
    let user = field(applied, "user")?;
    let outcome = match field(applied, "kind")? {
        "inline-user-policy" => match c.iam.delete_user_policy().user_name(user).policy_name(field(applied, "policy_name")?).send().await {
            Ok(_) => RevokeOutcome::Revoked,
            Err(e) => match classify("iam:DeleteUserPolicy", e) {
                (Failure::Missing, _) => RevokeOutcome::AlreadyRevoked,
                (_, err) => return Err(to_provision(err)),
            },
        },
        "group-membership" => match c.iam.remove_user_from_group().user_name(user).group_name(field(applied, "group")?).send().await {
            Ok(_) => RevokeOutcome::Revoked,
            Err(e) => match classify("iam:RemoveUserFromGroup", e) {
                (Failure::Missing, _) => RevokeOutcome::AlreadyRevoked,
                (_, err) => return Err(to_provision(err)),
            },
        },
        other => return Err(permanent(format!("unreadable grant record: unknown kind `{other}`"))),
    };
    // Sessions issued while the grant held outlive the policy: end them,
    // also when a retry finds the policy already gone.
    if let (Some(role), Some(session_name)) = (applied.0.get("role_name").and_then(Value::as_str), applied.0.get("session_name").and_then(Value::as_str)) {
        session::end_sessions(c, role, session_name, now).await.map_err(to_provision)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{expiry_of, tagged_in_inventory};

    #[test]
    fn the_inventory_names_the_user_a_tag_points_at() {
        let item = |name: &str, email: &str| latch_core::inventory::Item {
            kind: "iam-user".into(),
            id: format!("arn:aws:iam::1:user/{name}"),
            data: json!({"name": name, "tags": {"Email": email}}),
        };
        let items = [item("a1", "bob@x.io"), item("a2", "Alice@X.io")];
        assert_eq!(tagged_in_inventory(&items, "Email", "alice@x.io").as_deref(), Some("a2"));
        assert_eq!(tagged_in_inventory(&items, "Mail", "alice@x.io"), None);
        assert_eq!(tagged_in_inventory(&items, "Email", "carol@x.io"), None);
    }

    #[test]
    fn the_bound_is_read_back_from_a_stored_policy() {
        let doc = json!({"Statement": [{"Condition": {"DateLessThan": {"aws:CurrentTime": "2026-11-23T12:00:00Z"}}}]});
        assert_eq!(expiry_of(&doc).as_deref(), Some("2026-11-23T12:00:00Z"));
        assert_eq!(expiry_of(&json!({"Statement": {"Effect": "Allow"}})), None);
    }
}
