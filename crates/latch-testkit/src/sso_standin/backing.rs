//! What the stand-in reads from and does in moto: the Identity Center
//! instance (sso-admin), its Identity Store, and in the target account the
//! role Identity Center provisions for a permission set, assumed through STS.
//!
//! Nothing here is cached: the instance ARN and identity store id change
//! with every moto reset, and assignments or permission sets changed in moto
//! must show on the next portal call, as they would in AWS.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context as _};
use aws_config::SdkConfig;
use aws_sdk_identitystore::types::{AlternateIdentifier, MemberId, UniqueAttribute};
use aws_sdk_ssoadmin::types::{ListAccountAssignmentsFilter, PrincipalType};
use aws_smithy_types::Document;
use sha2::{Digest as _, Sha256};

use super::Person;

/// The path Identity Center gives the roles it provisions.
pub(crate) const RESERVED_PATH: &str = "/aws-reserved/sso.amazonaws.com/";
/// The name Identity Center gives a permission set's inline policy on its role.
const INLINE_POLICY_NAME: &str = "AwsSSOInlinePolicy";
/// Role chaining caps a session at one hour.
const CHAINED_MAX_SECONDS: i32 = 3600;
const DEFAULT_SESSION_SECONDS: i32 = 3600;
const MIN_SESSION_SECONDS: i32 = 900;

/// moto behind the management account's administrator.
pub(crate) struct Backing {
    endpoint: String,
    admin: SdkConfig,
}

/// The Identity Center instance as it is now.
pub(crate) struct Directory {
    instance_arn: String,
    identity_store_id: String,
    partition: String,
}

/// A permission set, by ARN, name and session length.
pub(crate) struct PermissionSet {
    pub(crate) arn: String,
    pub(crate) name: String,
    session_seconds: i32,
}

/// Who a session acts as in assignments: the user and the groups they are in.
pub(crate) struct Principals(Vec<(PrincipalType, String)>);

/// STS credentials of the permission set's role.
pub(crate) struct RoleCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    /// Epoch milliseconds.
    pub(crate) expiration: i64,
}

/// An account as the portal lists it.
pub(crate) struct AccountInfo {
    pub(crate) name: String,
    pub(crate) email: String,
}

impl Backing {
    pub(crate) fn new(endpoint: &str, admin: SdkConfig) -> Self {
        Self { endpoint: endpoint.to_owned(), admin }
    }

    fn sso_admin(&self) -> aws_sdk_ssoadmin::Client {
        aws_sdk_ssoadmin::Client::new(&self.admin)
    }

    fn identity_store(&self) -> aws_sdk_identitystore::Client {
        aws_sdk_identitystore::Client::new(&self.admin)
    }

    /// The instance, looked up afresh.
    pub(crate) async fn directory(&self) -> anyhow::Result<Directory> {
        let out = self.sso_admin().list_instances().send().await.context("while listing Identity Center instances")?;
        let Some(instance) = out.instances().first() else {
            bail!("the management account has no Identity Center instance");
        };
        let instance_arn = instance.instance_arn().context("the instance has no ARN")?.to_owned();
        let identity_store_id = instance.identity_store_id().context("the instance has no identity store")?.to_owned();
        let partition = instance_arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_owned();
        Ok(Directory { instance_arn, identity_store_id, partition })
    }

    /// The Identity Store user named `user_name`, if there is one.
    pub(crate) async fn find_user(&self, user_name: &str) -> anyhow::Result<Option<Person>> {
        let dir = self.directory().await?;
        let unique = UniqueAttribute::builder()
            .attribute_path("UserName")
            .attribute_value(Document::String(user_name.to_owned()))
            .build()
            .context("while building the user lookup")?;
        let found = self
            .identity_store()
            .get_user_id()
            .identity_store_id(&dir.identity_store_id)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(unique))
            .send()
            .await;
        match found {
            Ok(out) => Ok(Some(Person { user_name: user_name.to_owned(), user_id: out.user_id })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("while looking up user `{user_name}`")),
        }
    }

    /// The user and their groups, or `None` when the user no longer exists.
    pub(crate) async fn principals(&self, dir: &Directory, person: &Person) -> anyhow::Result<Option<Principals>> {
        let ids = self.identity_store();
        let described = ids.describe_user().identity_store_id(&dir.identity_store_id).user_id(&person.user_id).send().await;
        match described {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => return Ok(None),
            Err(e) => return Err(e).context("while reading the session's user"),
        }
        let memberships = ids
            .list_group_memberships_for_member()
            .identity_store_id(&dir.identity_store_id)
            .member_id(MemberId::UserId(person.user_id.clone()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("while listing the user's groups")?;
        let mut all = vec![(PrincipalType::User, person.user_id.clone())];
        all.extend(memberships.iter().filter_map(|m| m.group_id()).map(|g| (PrincipalType::Group, g.to_owned())));
        Ok(Some(Principals(all)))
    }

    /// `(account, permission set ARN)` pairs assigned to any of `principals`,
    /// in `account` only if given.
    pub(crate) async fn assignments(&self, dir: &Directory, principals: &Principals, account: Option<&str>) -> anyhow::Result<BTreeSet<(String, String)>> {
        let sso = self.sso_admin();
        let mut found = BTreeSet::new();
        for (kind, id) in &principals.0 {
            let mut req = sso.list_account_assignments_for_principal().instance_arn(&dir.instance_arn).principal_type(kind.clone()).principal_id(id);
            if let Some(account) = account {
                req = req.filter(ListAccountAssignmentsFilter::builder().account_id(account).build());
            }
            let items = req.into_paginator().items().send().try_collect().await.context("while listing account assignments")?;
            for a in items {
                if let (Some(acct), Some(ps)) = (a.account_id(), a.permission_set_arn()) {
                    found.insert((acct.to_owned(), ps.to_owned()));
                }
            }
        }
        Ok(found)
    }

    /// Whether `permission_set` is assigned in `account` to any of `principals`.
    pub(crate) async fn is_assigned(&self, dir: &Directory, principals: &Principals, account: &str, permission_set: &PermissionSet) -> anyhow::Result<bool> {
        let items = self
            .sso_admin()
            .list_account_assignments()
            .instance_arn(&dir.instance_arn)
            .account_id(account)
            .permission_set_arn(&permission_set.arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("while listing the account's assignments")?;
        Ok(items.iter().any(|a| {
            principals.0.iter().any(|(kind, id)| a.principal_type() == Some(kind) && a.principal_id() == Some(id.as_str()))
        }))
    }

    pub(crate) async fn describe_permission_set(&self, dir: &Directory, arn: &str) -> anyhow::Result<PermissionSet> {
        let out = self
            .sso_admin()
            .describe_permission_set()
            .instance_arn(&dir.instance_arn)
            .permission_set_arn(arn)
            .send()
            .await
            .with_context(|| format!("while describing permission set `{arn}`"))?;
        let ps = out.permission_set().context("no permission set in the answer")?;
        let name = ps.name().context("the permission set has no name")?.to_owned();
        let session_seconds = ps.session_duration().and_then(iso8601_seconds).unwrap_or(DEFAULT_SESSION_SECONDS);
        Ok(PermissionSet { arn: arn.to_owned(), name, session_seconds })
    }

    /// The permission set named `name`, if there is one.
    pub(crate) async fn find_permission_set(&self, dir: &Directory, name: &str) -> anyhow::Result<Option<PermissionSet>> {
        let arns = self
            .sso_admin()
            .list_permission_sets()
            .instance_arn(&dir.instance_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("while listing permission sets")?;
        for arn in arns {
            let ps = self.describe_permission_set(dir, &arn).await?;
            if ps.name == name {
                return Ok(Some(ps));
            }
        }
        Ok(None)
    }

    /// Names and emails of the organization's accounts; empty without an organization.
    pub(crate) async fn accounts(&self) -> BTreeMap<String, AccountInfo> {
        let pages = aws_sdk_organizations::Client::new(&self.admin).list_accounts().into_paginator().send().try_collect().await;
        pages
            .unwrap_or_default()
            .iter()
            .flat_map(|p| p.accounts())
            .filter_map(|a| {
                let id = a.id()?.to_owned();
                Some((id, AccountInfo { name: a.name().unwrap_or_default().to_owned(), email: a.email().unwrap_or_default().to_owned() }))
            })
            .collect()
    }

    /// Makes sure `account` has the role Identity Center provisions for
    /// `ps`, in step with the permission set now, and assumes it as `person`.
    pub(crate) async fn role_credentials(&self, dir: &Directory, ps: &PermissionSet, account: &str, person: &Person) -> anyhow::Result<RoleCredentials> {
        let sts = aws_sdk_sts::Client::new(&self.admin);
        let me = sts.get_caller_identity().send().await.context("while reading the management account id")?;
        let management = me.account().context("no account in the caller identity")?;
        let chained = account != management;
        let conf = if chained {
            let arn = format!("arn:{}:iam::{account}:role/OrganizationAccountAccessRole", dir.partition);
            crate::aws::assume(&self.admin, &self.endpoint, &arn, Some("latch-sso-standin")).await?
        } else {
            self.admin.clone()
        };
        let caller = if chained {
            let me = aws_sdk_sts::Client::new(&conf).get_caller_identity().send().await.context("while reading the member account session")?;
            me.arn().context("no ARN in the caller identity")?.to_owned()
        } else {
            me.arn().context("no ARN in the caller identity")?.to_owned()
        };
        let role_name = reserved_role_name(&ps.name, &ps.arn);
        let max_session = ps.session_seconds.clamp(DEFAULT_SESSION_SECONDS, 43_200);
        self.sync_role(&conf, dir, ps, account, &caller, &role_name, max_session).await?;

        let mut duration = ps.session_seconds.max(MIN_SESSION_SECONDS);
        if chained {
            duration = duration.min(CHAINED_MAX_SECONDS);
        }
        let role_arn = format!("arn:{}:iam::{account}:role{RESERVED_PATH}{role_name}", dir.partition);
        let out = aws_sdk_sts::Client::new(&conf)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(session_name(&person.user_name))
            .duration_seconds(duration)
            .send()
            .await
            .with_context(|| format!("while assuming `{role_arn}`"))?;
        let c = out.credentials().context("no credentials in the AssumeRole answer")?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().to_owned(),
            expiration: c.expiration().to_millis().context("the expiration is out of range")?,
        })
    }

    /// Creates the role if missing and brings its policies in line with the
    /// permission set: the inline policy, AWS managed policies and customer
    /// managed policy references.
    #[expect(clippy::too_many_arguments, reason = "one internal step of `role_credentials`, called once")]
    async fn sync_role(&self, conf: &SdkConfig, dir: &Directory, ps: &PermissionSet, account: &str, caller: &str, role_name: &str, max_session: i32) -> anyhow::Result<()> {
        let iam = aws_sdk_iam::Client::new(conf);
        let sso = self.sso_admin();
        // AWS trusts the instance's SAML provider; the stand-in assumes the
        // role with `sts:AssumeRole`, so it trusts the account and, because
        // moto matches trust principals literally, the stand-in's own caller.
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "AWS": [format!("arn:{}:iam::{account}:root", dir.partition), caller] },
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }],
        });
        match iam.get_role().role_name(role_name).send().await {
            Ok(_) => {
                iam.update_role().role_name(role_name).max_session_duration(max_session).send().await.context("while updating the role")?;
                iam.update_assume_role_policy().role_name(role_name).policy_document(trust.to_string()).send().await.context("while updating the role's trust policy")?;
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => {
                iam.create_role()
                    .role_name(role_name)
                    .path(RESERVED_PATH)
                    .assume_role_policy_document(trust.to_string())
                    .max_session_duration(max_session)
                    .send()
                    .await
                    .with_context(|| format!("while creating role `{role_name}`"))?;
            }
            Err(e) => return Err(e).with_context(|| format!("while reading role `{role_name}`")),
        }

        let inline = sso
            .get_inline_policy_for_permission_set()
            .instance_arn(&dir.instance_arn)
            .permission_set_arn(&ps.arn)
            .send()
            .await
            .context("while reading the permission set's inline policy")?;
        match inline.inline_policy().filter(|p| !p.trim().is_empty()) {
            Some(doc) => {
                iam.put_role_policy().role_name(role_name).policy_name(INLINE_POLICY_NAME).policy_document(compact(doc)).send().await.context("while writing the inline policy")?;
            }
            None => match iam.delete_role_policy().role_name(role_name).policy_name(INLINE_POLICY_NAME).send().await {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => {}
                Err(e) => return Err(e).context("while removing the inline policy"),
            },
        }

        let mut wanted = BTreeSet::new();
        let managed = sso
            .list_managed_policies_in_permission_set()
            .instance_arn(&dir.instance_arn)
            .permission_set_arn(&ps.arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("while listing the permission set's managed policies")?;
        wanted.extend(managed.iter().filter_map(|p| p.arn()).map(str::to_owned));
        let customer = sso
            .list_customer_managed_policy_references_in_permission_set()
            .instance_arn(&dir.instance_arn)
            .permission_set_arn(&ps.arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("while listing the permission set's customer managed policies")?;
        wanted.extend(customer.iter().map(|r| format!("arn:{}:iam::{account}:policy{}{}", dir.partition, r.path().unwrap_or("/"), r.name())));

        let attached = iam
            .list_attached_role_policies()
            .role_name(role_name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("while listing the role's attached policies")?;
        let attached: BTreeSet<String> = attached.iter().filter_map(|p| p.policy_arn()).map(str::to_owned).collect();
        for arn in attached.difference(&wanted) {
            iam.detach_role_policy().role_name(role_name).policy_arn(arn).send().await.with_context(|| format!("while detaching `{arn}`"))?;
        }
        for arn in wanted.difference(&attached) {
            iam.attach_role_policy().role_name(role_name).policy_arn(arn).send().await.with_context(|| format!("while attaching `{arn}`"))?;
        }
        Ok(())
    }
}

/// A JSON document without insignificant whitespace. moto (5.2) recomputes
/// SigV4 wrongly for IAM form bodies with spaces in them, so under IAM
/// enforcement such a call fails with `SignatureDoesNotMatch`; for the same
/// reason the stand-in's roles carry no description.
fn compact(doc: &str) -> String {
    serde_json::from_str::<serde_json::Value>(doc).map_or_else(|_| doc.to_owned(), |v| v.to_string())
}

/// `AWSReservedSSO_{name}_{16 hex}`, the suffix fixed by the permission set's
/// ARN so the same permission set always maps to the same role.
pub(crate) fn reserved_role_name(permission_set_name: &str, permission_set_arn: &str) -> String {
    let digest = Sha256::digest(permission_set_arn.as_bytes());
    let suffix = hex::encode(digest.get(..8).unwrap_or_default());
    format!("AWSReservedSSO_{permission_set_name}_{suffix}")
}

/// A role session name (`[\w+=,.@-]{2,64}`) from a user name.
fn session_name(user_name: &str) -> String {
    let mut s: String = user_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) { c } else { '-' })
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('-');
    }
    s
}

/// Seconds in an ISO 8601 duration of hours, minutes and seconds (`PT1H30M`).
fn iso8601_seconds(text: &str) -> Option<i32> {
    let rest = text.strip_prefix("PT")?;
    let (mut total, mut number) = (0i32, String::new());
    for c in rest.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i32 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'H' => 3600,
            'M' => 60,
            'S' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_durations() {
        for (text, want) in [("PT1H", Some(3600)), ("PT12H", Some(43_200)), ("PT1H30M", Some(5400)), ("PT900S", Some(900)), ("P1D", None), ("PT", Some(0)), ("PT5", None), ("3600", None)] {
            assert_eq!(iso8601_seconds(text), want, "{text}");
        }
    }

    #[test]
    fn reserved_role_names_are_stable_and_fit_iam() {
        let a = reserved_role_name("ReadOnly", "arn:aws:sso:::permissionSet/ssoins-1/ps-1");
        assert_eq!(a, reserved_role_name("ReadOnly", "arn:aws:sso:::permissionSet/ssoins-1/ps-1"));
        assert_ne!(a, reserved_role_name("ReadOnly", "arn:aws:sso:::permissionSet/ssoins-1/ps-2"));
        let suffix = a.rsplit('_').next().unwrap();
        assert_eq!(suffix.len(), 16);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(reserved_role_name(&"P".repeat(32), "x").len() <= 64);
    }

    #[test]
    fn policies_lose_their_whitespace() {
        assert_eq!(compact("{\n  \"Version\": \"2012-10-17\"\n}"), r#"{"Version":"2012-10-17"}"#);
        assert_eq!(compact("not json"), "not json");
    }

    #[test]
    fn session_names_are_valid() {
        assert_eq!(session_name("alice@acme.io"), "alice@acme.io");
        assert_eq!(session_name("a b"), "a-b");
        assert_eq!(session_name("x"), "x-");
        assert_eq!(session_name(&"y".repeat(80)).len(), 64);
    }
}
