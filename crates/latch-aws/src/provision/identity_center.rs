//! Identity Center mode: people are users of the organization's IAM Identity
//! Center instance, found by user name (their email), and Latch acts through
//! the integration installed on the Organizations management account, where
//! the instance resides (seed 000).
//!
//! - permission-set: an account assignment of the permission set to the
//!   user on the requested account (a member account, or the management
//!   account itself);
//! - group: membership of an Identity Center group, by display name.
//!
//! AWS cannot bound an account assignment or a group membership in time for
//! one user (neither takes a condition or an end date, and a permission
//! set's policies are shared by everyone assigned it), so neither stops
//! working by itself: Latch's expiry revokes it. Portal sessions already
//! issued last until the permission set's session duration runs out.
//!
//! Identity Center is eventually consistent: assignments are created and
//! deleted asynchronously (the request's status is polled), and a change
//! made while another change to the same assignment is in flight is refused
//! with `ConflictException` (retried with backoff and jitter). Creating an
//! assignment for a suspended or unknown account can "succeed" silently, so
//! the account is checked in Organizations first.

use std::future::Future;
use std::time::Duration;

use aws_sdk_identitystore::types::{AlternateIdentifier, MemberId, UniqueAttribute};
use aws_sdk_ssoadmin::types::{PrincipalType, StatusValues, TargetType};
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, RevokeOutcome};
use latch_core::access::target::Kind;
use latch_core::integration::AwsIntegration;
use serde_json::{json, Value};

use super::to_provision;
use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;

/// The longest wait between two tries after a conflict.
const MAX_CONFLICT_BACKOFF: Duration = Duration::from_secs(30);

/// How Identity Center's asynchronous changes are waited for and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityCenterTiming {
    /// Between two reads of an assignment request's status.
    pub poll_interval: Duration,
    /// How long a request may stay in progress before the call gives up
    /// (retryable: the next try finds the assignment done, or waits again).
    pub poll_timeout: Duration,
    /// The first wait after a `ConflictException`, doubled on each retry
    /// (capped at 30 s) and jittered.
    pub conflict_backoff: Duration,
    /// How many conflicts are retried before the call gives up (retryable).
    pub conflict_retries: u32,
}

impl Default for IdentityCenterTiming {
    /// AWS's own advice: poll about once a second; assignments usually
    /// finish in seconds but may take minutes.
    fn default() -> Self {
        Self { poll_interval: Duration::from_secs(1), poll_timeout: Duration::from_secs(300), conflict_backoff: Duration::from_secs(1), conflict_retries: 5 }
    }
}

/// The wait before retry number `attempt` (from 0) after a conflict, or
/// `None` once the retries are used up. `jitter` in `[0, 1)` spreads
/// concurrent retriers: half of the exponential wait is fixed, half random
/// ("equal jitter"), so a retry never comes back immediately.
fn conflict_delay(attempt: u32, timing: &IdentityCenterTiming, jitter: f64) -> Option<Duration> {
    if attempt >= timing.conflict_retries {
        return None;
    }
    let exponential = timing.conflict_backoff.saturating_mul(2_u32.saturating_pow(attempt)).min(MAX_CONFLICT_BACKOFF);
    let half = exponential / 2;
    Some(half + half.mul_f64(jitter.clamp(0.0, 1.0)))
}

/// Runs `call`, retrying `ConflictException` with [`conflict_delay`].
async fn retry_conflicts<T, F, Fut>(timing: &IdentityCenterTiming, what: &str, mut call: F) -> Result<T, ProvisionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.code() == Some("ConflictException") => {
                let Some(wait) = conflict_delay(attempt, timing, rand::random::<f64>()) else {
                    return Err(ProvisionError::Retryable(format!("{e} (another change to {what} was still in progress after {attempt} retries)")));
                };
                tracing::debug!(%what, attempt, ?wait, "Identity Center conflict; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(to_provision(e)),
        }
    }
}

/// Where an asynchronous assignment request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RequestStatus {
    /// Still running (also when AWS does not say).
    InProgress,
    /// Done.
    Succeeded,
    /// AWS gave up, with its reason.
    Failed(String),
}

impl RequestStatus {
    fn of(status: Option<&StatusValues>, reason: Option<&str>) -> Self {
        match status {
            Some(StatusValues::Succeeded) => RequestStatus::Succeeded,
            Some(StatusValues::Failed) => RequestStatus::Failed(reason.filter(|r| !r.is_empty()).unwrap_or("no reason given").to_owned()),
            _ => RequestStatus::InProgress,
        }
    }
}

/// How waiting for a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settled {
    /// It succeeded.
    Succeeded,
    /// AWS says it failed, with why.
    Failed(String),
    /// Still in progress when the timeout ran out.
    TimedOut,
}

/// Reads a request's status with `read` every `poll_interval` until it is
/// final or `poll_timeout` has passed (counted in polls: no wall clock).
async fn wait_until_settled<F, Fut>(timing: &IdentityCenterTiming, first: RequestStatus, mut read: F) -> Result<Settled, ProvisionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<RequestStatus, AwsError>>,
{
    let interval = timing.poll_interval.as_millis().max(1);
    let polls = u64::try_from(timing.poll_timeout.as_millis().div_ceil(interval)).unwrap_or(u64::MAX).max(1);
    let mut status = first;
    let mut done = 0_u64;
    loop {
        match status {
            RequestStatus::Succeeded => return Ok(Settled::Succeeded),
            RequestStatus::Failed(why) => return Ok(Settled::Failed(why)),
            RequestStatus::InProgress if done >= polls => return Ok(Settled::TimedOut),
            RequestStatus::InProgress => {}
        }
        tokio::time::sleep(timing.poll_interval).await;
        done += 1;
        status = read().await.map_err(to_provision)?;
    }
}

fn permanent(msg: String) -> ProvisionError {
    ProvisionError::Permanent(msg)
}

/// Refuses kinds Identity Center has no notion of, before any AWS call.
pub(super) fn check_kind(i: &AwsIntegration, spec: &GrantSpec) -> Result<(), ProvisionError> {
    let account = &spec.target.account;
    let via = if i.account_id == *account { String::new() } else { format!(" (through the integration on `{}`)", i.account_id) };
    match spec.target.kind {
        Kind::PermissionSet | Kind::Group => Ok(()),
        Kind::Role => Err(permanent(format!(
            "AWS account `{account}` is reached in identity-center mode{via}, which has permission sets, not roles\nhelp: request a permission set, or install the account with `--mode iam-users`"
        ))),
        Kind::Policy => Err(permanent(format!(
            "AWS account `{account}` is reached in identity-center mode{via}, which has permission sets, not policies attached to people\nhelp: request a permission set that includes the policy"
        ))),
        Kind::Resource => Err(permanent("resource-level grants are not available in this version of Latch".into())),
    }
}

/// What Organizations says about the requested account.
#[derive(Debug)]
pub(super) enum AccountCheck {
    /// Active in the organization these clients manage.
    Active,
    /// Not in this organization (another management account may have it).
    NotInOrganization(String),
}

/// Checks that `account` is an active member of the organization `c`'s
/// account manages: assigning to a suspended or unknown account can
/// "succeed" silently.
pub(super) async fn check_account(c: &Clients, account: &str) -> Result<AccountCheck, ProvisionError> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(permanent(format!("`{account}` is not an AWS account id\nhelp: name the account by its 12-digit id")));
    }
    let out = match c.organizations.describe_account().account_id(account).send().await {
        Ok(out) => out,
        Err(e) => {
            return match classify("organizations:DescribeAccount", e) {
                (Failure::Missing, _) => Ok(AccountCheck::NotInOrganization(format!(
                    "AWS account `{account}` is not in the organization managed by AWS account `{}`",
                    c.account_id
                ))),
                (_, err) if err.code() == Some("AWSOrganizationsNotInUseException") => Err(permanent(format!(
                    "AWS account `{}` is not an Organizations management account, so it cannot assign access to AWS account `{account}`\nhelp: install Latch on the management account with `--mode identity-center --organizations`",
                    c.account_id
                ))),
                (_, err) => Err(to_provision(err)),
            };
        }
    };
    let Some(acct) = out.account else { return Err(ProvisionError::Retryable(format!("Organizations returned nothing for AWS account `{account}`"))) };
    // `State` is the newer field (it tells closed from suspended); older
    // answers have only `Status`.
    let state = acct.state.as_ref().map(|s| s.as_str().to_owned()).or_else(|| acct.status.as_ref().map(|s| s.as_str().to_owned())).unwrap_or_default();
    if state == "ACTIVE" {
        Ok(AccountCheck::Active)
    } else {
        Err(permanent(format!(
            "AWS account `{account}` is {} in the organization, not active: Identity Center would accept an assignment to it that gives no access\nhelp: reopen the account, or request access to an active one",
            if state.is_empty() { "of unknown state".to_owned() } else { format!("`{state}`") }
        )))
    }
}

/// The Identity Center instance of the organization.
#[derive(Debug, Clone)]
struct Instance {
    arn: String,
    identity_store_id: String,
}

/// Looked up on every call: the ARN and identity store id are not
/// something to cache (they change when Identity Center is re-enabled).
async fn instance(c: &Clients) -> Result<Instance, ProvisionError> {
    let mut pages = c.sso_admin.list_instances().into_paginator().items().send();
    while let Some(item) = pages.next().await {
        let item = item.map_err(|e| to_provision(classify("sso:ListInstances", e).1))?;
        if let (Some(arn), Some(store)) = (item.instance_arn, item.identity_store_id) {
            return Ok(Instance { arn, identity_store_id: store });
        }
    }
    Err(permanent(format!(
        "no IAM Identity Center instance in AWS account `{}` in this region\nhelp: enable Identity Center in the management account, in the region Latch is configured for",
        c.account_id
    )))
}

/// The Identity Center user a person is.
#[derive(Debug, Clone)]
struct IcUser {
    id: String,
    name: String,
}

/// The id Identity Center gives for a unique attribute (`GetUserId` by
/// `UserName`, `GetGroupId` by `DisplayName`); `None` when nothing has it
/// exactly, or when the role may not ask (older installs): the caller then
/// reads the list.
async fn id_by(c: &Clients, store: &str, action: &str, path: &str, value: &str) -> Result<Option<String>, AwsError> {
    let unique = UniqueAttribute::builder()
        .attribute_path(path)
        .attribute_value(aws_smithy_types::Document::String(value.to_owned()))
        .build()
        .map_err(|e| AwsError::Refused { action: action.to_owned(), code: "InvalidAttribute".into(), message: e.to_string() })?;
    let id = AlternateIdentifier::UniqueAttribute(unique);
    let out = if action == "identitystore:GetUserId" {
        c.identity_store.get_user_id().identity_store_id(store).alternate_identifier(id).send().await.map(|o| o.user_id).map_err(|e| classify(action, e))
    } else {
        c.identity_store.get_group_id().identity_store_id(store).alternate_identifier(id).send().await.map(|o| o.group_id).map_err(|e| classify(action, e))
    };
    match out {
        Ok(id) => Ok(Some(id)),
        Err((Failure::Missing | Failure::Denied, _)) => Ok(None),
        Err((_, err)) => Err(err),
    }
}

/// Users whose user name is `email`, ignoring case as Identity Center does
/// (the whole list read: the exact-match lookup found none).
async fn users_named(c: &Clients, store: &str, email: &str) -> Result<Option<IcUser>, AwsError> {
    let mut pages = c.identity_store.list_users().identity_store_id(store).into_paginator().items().send();
    while let Some(u) = pages.next().await {
        let u = u.map_err(|e| classify("identitystore:ListUsers", e).1)?;
        if u.user_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(email)) {
            return Ok(Some(IcUser { name: u.user_name.unwrap_or_default(), id: u.user_id }));
        }
    }
    Ok(None)
}

async fn find_user(c: &Clients, ins: &Instance, email: &str) -> Result<IcUser, ProvisionError> {
    let store = &ins.identity_store_id;
    let found = match id_by(c, store, "identitystore:GetUserId", "UserName", email).await.map_err(to_provision)? {
        Some(id) => Some(IcUser { id, name: email.to_owned() }),
        None => users_named(c, store, email).await.map_err(to_provision)?,
    };
    found.ok_or_else(|| {
        permanent(format!(
            "no Identity Center user named `{email}` in the identity store `{}` of AWS account `{}` (users are found by user name = email)\nhelp: create the user in Identity Center with user name `{email}`, or sync it from your identity provider",
            ins.identity_store_id, c.account_id
        ))
    })
}

/// A permission set.
#[derive(Debug, Clone)]
struct PermissionSet {
    arn: String,
    name: String,
}

async fn find_permission_set(c: &Clients, ins: &Instance, name: &str) -> Result<PermissionSet, ProvisionError> {
    let describe = move |arn: String| async move {
        c.sso_admin.describe_permission_set().instance_arn(&ins.arn).permission_set_arn(&arn).send().await.map(|out| (arn, out.permission_set))
    };
    if name.starts_with("arn:") {
        return match describe(name.to_owned()).await {
            Ok((arn, ps)) => Ok(PermissionSet { arn, name: ps.and_then(|p| p.name).unwrap_or_else(|| name.to_owned()) }),
            Err(e) => Err(match classify("sso:DescribePermissionSet", e) {
                (Failure::Missing, _) => not_found_permission_set(c, name),
                (_, err) => to_provision(err),
            }),
        };
    }
    let mut pages = c.sso_admin.list_permission_sets().instance_arn(&ins.arn).into_paginator().items().send();
    while let Some(arn) = pages.next().await {
        let arn = arn.map_err(|e| to_provision(classify("sso:ListPermissionSets", e).1))?;
        match describe(arn).await {
            Ok((arn, Some(ps))) if ps.name.as_deref() == Some(name) => return Ok(PermissionSet { arn, name: name.to_owned() }),
            Ok(_) => {}
            Err(e) => match classify("sso:DescribePermissionSet", e) {
                // Deleted between the list and the read.
                (Failure::Missing, _) => {}
                (_, err) => return Err(to_provision(err)),
            },
        }
    }
    Err(not_found_permission_set(c, name))
}

fn not_found_permission_set(c: &Clients, name: &str) -> ProvisionError {
    permanent(format!(
        "permission set `{name}` not found in the Identity Center instance of AWS account `{}`\nhelp: check the name in IAM Identity Center > Permission sets, or ask an administrator to create it",
        c.account_id
    ))
}

/// The entitlement key of membership of Identity Center group `name` in the
/// identity store reached through the integration of AWS account `route`.
pub(crate) fn group_key(route: &str, name: &str) -> String {
    format!("aws/identity-center@{route}/group/{name}/")
}

/// An Identity Center group.
#[derive(Debug, Clone)]
struct IcGroup {
    id: String,
    name: String,
}

async fn groups_named(c: &Clients, store: &str, name: &str) -> Result<Option<IcGroup>, AwsError> {
    let mut pages = c.identity_store.list_groups().identity_store_id(store).into_paginator().items().send();
    while let Some(g) = pages.next().await {
        let g = g.map_err(|e| classify("identitystore:ListGroups", e).1)?;
        if g.display_name.as_deref() == Some(name) {
            return Ok(Some(IcGroup { id: g.group_id, name: name.to_owned() }));
        }
    }
    Ok(None)
}

async fn find_group(c: &Clients, ins: &Instance, name: &str) -> Result<IcGroup, ProvisionError> {
    let store = &ins.identity_store_id;
    let found = match id_by(c, store, "identitystore:GetGroupId", "DisplayName", name).await.map_err(to_provision)? {
        Some(id) => Some(IcGroup { id, name: name.to_owned() }),
        None => groups_named(c, store, name).await.map_err(to_provision)?,
    };
    found.ok_or_else(|| {
        permanent(format!(
            "no Identity Center group named `{name}` in the identity store `{}` of AWS account `{}`\nhelp: check the group's display name in IAM Identity Center > Groups",
            ins.identity_store_id, c.account_id
        ))
    })
}

/// Grants `spec` (the account was checked) through the management
/// account's clients `c`.
pub(super) async fn grant(c: &Clients, spec: &GrantSpec, timing: &IdentityCenterTiming) -> Result<GrantOutcome, ProvisionError> {
    let ins = instance(c).await?;
    let user = find_user(c, &ins, &spec.email).await?;
    match spec.target.kind {
        Kind::PermissionSet => grant_assignment(c, &ins, &user, spec, timing).await,
        Kind::Group => grant_membership(c, &ins, &user, spec).await,
        Kind::Role | Kind::Policy | Kind::Resource => Err(permanent(format!("a `{}` cannot be granted in identity-center mode", spec.target.kind.as_str()))),
    }
}

/// Whether `principal_id` holds the permission set on the account.
async fn is_assigned(c: &Clients, instance_arn: &str, account: &str, permission_set_arn: &str, principal_id: &str) -> Result<bool, AwsError> {
    let mut pages = c.sso_admin.list_account_assignments().instance_arn(instance_arn).account_id(account).permission_set_arn(permission_set_arn).into_paginator().items().send();
    while let Some(a) = pages.next().await {
        let a = a.map_err(|e| classify("sso:ListAccountAssignments", e).1)?;
        if a.principal_type == Some(PrincipalType::User) && a.principal_id.as_deref() == Some(principal_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn grant_assignment(c: &Clients, ins: &Instance, user: &IcUser, spec: &GrantSpec, timing: &IdentityCenterTiming) -> Result<GrantOutcome, ProvisionError> {
    let ps = find_permission_set(c, ins, &spec.target.name).await?;
    let account = spec.target.account.as_str();
    let applied = Applied(json!({
        "mode": "identity-center", "kind": "account-assignment", "integration_account": c.account_id,
        "instance_arn": ins.arn, "permission_set_arn": ps.arn, "permission_set": ps.name,
        "principal_type": "USER", "principal_id": user.id, "user_name": user.name, "account": account
    }));
    if is_assigned(c, &ins.arn, account, &ps.arn, &user.id).await.map_err(to_provision)? {
        return Ok(GrantOutcome::AlreadyGranted(applied));
    }
    let what = format!("the assignment of `{}` to `{}` on AWS account `{account}`", ps.name, user.name);
    let (instance_arn, ps_arn, principal) = (ins.arn.as_str(), ps.arn.as_str(), user.id.as_str());
    let created = retry_conflicts(timing, &what, move || async move {
        c.sso_admin
            .create_account_assignment()
            .instance_arn(instance_arn)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(ps_arn)
            .principal_type(PrincipalType::User)
            .principal_id(principal)
            .send()
            .await
            .map_err(|e| classify("sso:CreateAccountAssignment", e).1)
    })
    .await?;
    let status = created.account_assignment_creation_status;
    let first = status.as_ref().map(|s| RequestStatus::of(s.status(), s.failure_reason())).unwrap_or(RequestStatus::InProgress);
    let request_id = status.and_then(|s| s.request_id).unwrap_or_default();
    let id = request_id.as_str();
    let settled = wait_until_settled(timing, first, move || async move {
        let out = c
            .sso_admin
            .describe_account_assignment_creation_status()
            .instance_arn(instance_arn)
            .account_assignment_creation_request_id(id)
            .send()
            .await
            .map_err(|e| classify("sso:DescribeAccountAssignmentCreationStatus", e).1)?;
        Ok(out.account_assignment_creation_status.map(|s| RequestStatus::of(s.status(), s.failure_reason())).unwrap_or(RequestStatus::InProgress))
    })
    .await?;
    match settled {
        Settled::Succeeded => Ok(GrantOutcome::Granted(applied)),
        Settled::Failed(why) => Err(permanent(format!("Identity Center could not assign `{}` to `{}` on AWS account `{account}`: {why}", ps.name, user.name))),
        Settled::TimedOut => Err(ProvisionError::Retryable(format!(
            "Identity Center is still assigning `{}` to `{}` on AWS account `{account}` after {} s (request `{request_id}`)",
            ps.name,
            user.name,
            timing.poll_timeout.as_secs()
        ))),
    }
}

async fn membership_of(c: &Clients, store: &str, group_id: &str, user_id: &str) -> Result<Option<String>, ProvisionError> {
    match c.identity_store.get_group_membership_id().identity_store_id(store).group_id(group_id).member_id(MemberId::UserId(user_id.to_owned())).send().await {
        Ok(out) => Ok(Some(out.membership_id)),
        Err(e) => match classify("identitystore:GetGroupMembershipId", e) {
            (Failure::Missing, _) => Ok(None),
            (_, err) => Err(to_provision(err)),
        },
    }
}

async fn grant_membership(c: &Clients, ins: &Instance, user: &IcUser, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
    let group = find_group(c, ins, &spec.target.name).await?;
    let store = ins.identity_store_id.as_str();
    let applied = |membership_id: &str| {
        Applied(json!({
            "mode": "identity-center", "kind": "group-membership", "integration_account": c.account_id,
            "identity_store_id": store, "group_id": group.id, "group": group.name,
            "user_id": user.id, "user_name": user.name, "membership_id": membership_id
        }))
    };
    if let Some(id) = membership_of(c, store, &group.id, &user.id).await? {
        return Ok(GrantOutcome::AlreadyGranted(applied(&id)));
    }
    match c.identity_store.create_group_membership().identity_store_id(store).group_id(&group.id).member_id(MemberId::UserId(user.id.clone())).send().await {
        Ok(out) => Ok(GrantOutcome::Granted(applied(&out.membership_id))),
        Err(e) => match classify("identitystore:CreateGroupMembership", e) {
            // Added by someone else since the check above.
            (_, err) if err.code() == Some("ConflictException") => match membership_of(c, store, &group.id, &user.id).await? {
                Some(id) => Ok(GrantOutcome::AlreadyGranted(applied(&id))),
                None => Err(to_provision(err)),
            },
            (_, err) => Err(to_provision(err)),
        },
    }
}

fn field<'a>(applied: &'a Applied, key: &str) -> Result<&'a str, ProvisionError> {
    applied.0.get(key).and_then(Value::as_str).ok_or_else(|| permanent(format!("unreadable grant record: no `{key}` in {}", applied.0)))
}

/// Undoes what `applied` records, through the management account's clients.
pub(super) async fn revoke(c: &Clients, applied: &Applied, timing: &IdentityCenterTiming) -> Result<RevokeOutcome, ProvisionError> {
    match field(applied, "kind")? {
        "account-assignment" => revoke_assignment(c, applied, timing).await,
        "group-membership" => revoke_membership(c, applied).await,
        other => Err(permanent(format!("unreadable grant record: unknown kind `{other}`"))),
    }
}

async fn revoke_assignment(c: &Clients, applied: &Applied, timing: &IdentityCenterTiming) -> Result<RevokeOutcome, ProvisionError> {
    let (instance_arn, account) = (field(applied, "instance_arn")?, field(applied, "account")?);
    let (ps_arn, principal) = (field(applied, "permission_set_arn")?, field(applied, "principal_id")?);
    // Checked first, so that an assignment already gone reads as already
    // revoked however the delete would have reported it.
    match is_assigned(c, instance_arn, account, ps_arn, principal).await {
        Ok(true) => {}
        Ok(false) => return Ok(RevokeOutcome::AlreadyRevoked),
        // The permission set (or the instance) is gone, and its assignments with it.
        Err(AwsError::NotFound { .. }) => return Ok(RevokeOutcome::AlreadyRevoked),
        Err(e) => return Err(to_provision(e)),
    }
    let what = format!("the assignment of `{ps_arn}` to `{principal}` on AWS account `{account}`");
    let deleted = retry_conflicts(timing, &what, move || async move {
        match c
            .sso_admin
            .delete_account_assignment()
            .instance_arn(instance_arn)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(ps_arn)
            .principal_type(PrincipalType::User)
            .principal_id(principal)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.account_assignment_deletion_status)),
            Err(e) => match classify("sso:DeleteAccountAssignment", e) {
                (Failure::Missing, _) => Ok(None),
                (_, err) => Err(err),
            },
        }
    })
    .await?;
    let Some(status) = deleted else { return Ok(RevokeOutcome::AlreadyRevoked) };
    let first = status.as_ref().map(|s| RequestStatus::of(s.status(), s.failure_reason())).unwrap_or(RequestStatus::InProgress);
    let request_id = status.and_then(|s| s.request_id).unwrap_or_default();
    let id = request_id.as_str();
    let settled = wait_until_settled(timing, first, move || async move {
        let out = c
            .sso_admin
            .describe_account_assignment_deletion_status()
            .instance_arn(instance_arn)
            .account_assignment_deletion_request_id(id)
            .send()
            .await
            .map_err(|e| classify("sso:DescribeAccountAssignmentDeletionStatus", e).1)?;
        Ok(out.account_assignment_deletion_status.map(|s| RequestStatus::of(s.status(), s.failure_reason())).unwrap_or(RequestStatus::InProgress))
    })
    .await?;
    match settled {
        Settled::Succeeded => Ok(RevokeOutcome::Revoked),
        // Access must end: a failed deletion is tried again rather than
        // given up on (the usual causes, a busy account or a throttled
        // provisioning, pass).
        Settled::Failed(why) => Err(ProvisionError::Retryable(format!("Identity Center could not remove {what}: {why}"))),
        Settled::TimedOut => Err(ProvisionError::Retryable(format!(
            "Identity Center is still removing {what} after {} s (request `{request_id}`)",
            timing.poll_timeout.as_secs()
        ))),
    }
}

async fn revoke_membership(c: &Clients, applied: &Applied) -> Result<RevokeOutcome, ProvisionError> {
    let (store, group_id) = (field(applied, "identity_store_id")?, field(applied, "group_id")?);
    let (user_id, recorded) = (field(applied, "user_id")?, field(applied, "membership_id")?);
    // INVARIANT: only the membership the grant recorded is removed; one
    // made since by someone else (another id) is theirs to keep.
    match membership_of(c, store, group_id, user_id).await? {
        Some(id) if id == recorded => {}
        Some(_) | None => return Ok(RevokeOutcome::AlreadyRevoked),
    }
    match c.identity_store.delete_group_membership().identity_store_id(store).membership_id(recorded).send().await {
        Ok(_) => Ok(RevokeOutcome::Revoked),
        Err(e) => match classify("identitystore:DeleteGroupMembership", e) {
            (Failure::Missing, _) => Ok(RevokeOutcome::AlreadyRevoked),
            (_, err) => Err(to_provision(err)),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    fn timing(retries: u32) -> IdentityCenterTiming {
        IdentityCenterTiming { poll_interval: Duration::from_millis(1), poll_timeout: Duration::from_millis(5), conflict_backoff: Duration::from_secs(1), conflict_retries: retries }
    }

    #[test]
    fn conflicts_back_off_exponentially_with_jitter_then_give_up() {
        let t = timing(4);
        // No jitter: half the exponential wait; full jitter: all of it.
        assert_eq!(conflict_delay(0, &t, 0.0), Some(Duration::from_millis(500)));
        assert_eq!(conflict_delay(0, &t, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(conflict_delay(1, &t, 0.0), Some(Duration::from_secs(1)));
        assert_eq!(conflict_delay(3, &t, 0.5), Some(Duration::from_secs(6)));
        assert_eq!(conflict_delay(4, &t, 0.5), None, "retries are used up");
        // Never more than the cap, however many retries are allowed.
        let many = timing(100);
        assert_eq!(conflict_delay(60, &many, 1.0), Some(MAX_CONFLICT_BACKOFF));
        assert_eq!(conflict_delay(2, &many, 7.0), conflict_delay(2, &many, 1.0), "jitter is clamped");
        assert_eq!(conflict_delay(0, &timing(0), 0.0), None, "no retries at all");
    }

    fn scripted(statuses: &[RequestStatus]) -> (Mutex<VecDeque<RequestStatus>>, Mutex<u32>) {
        (Mutex::new(statuses.iter().cloned().collect()), Mutex::new(0))
    }

    #[tokio::test]
    async fn a_request_is_polled_until_it_settles_or_the_timeout_runs_out() {
        use RequestStatus::*;
        let t = timing(0);
        // Already final: no read at all.
        let run = |first: RequestStatus, script: &[RequestStatus]| {
            let (script, reads) = scripted(script);
            async move {
                let (s, r) = (&script, &reads);
                let done = wait_until_settled(&t, first, move || async move {
                    *r.lock().unwrap() += 1;
                    Ok(s.lock().unwrap().pop_front().unwrap_or(InProgress))
                })
                .await;
                (done, *reads.lock().unwrap())
            }
        };
        // Already final: no read at all.
        assert_eq!(run(Succeeded, &[]).await, (Ok(Settled::Succeeded), 0));
        assert_eq!(run(InProgress, &[InProgress, InProgress, Succeeded]).await, (Ok(Settled::Succeeded), 3));
        assert_eq!(run(InProgress, &[Failed("the account is suspended".into())]).await, (Ok(Settled::Failed("the account is suspended".into())), 1));
        // Never settles: five polls (5 ms / 1 ms), then it gives up.
        assert_eq!(run(InProgress, &[]).await, (Ok(Settled::TimedOut), 5));

        // A throttled read is retryable, not a failed grant.
        let done = wait_until_settled(&t, InProgress, || async { Err(AwsError::Unavailable("slow down".into())) }).await;
        assert!(matches!(done, Err(ProvisionError::Retryable(_))), "{done:?}");
    }

    fn conflict() -> AwsError {
        AwsError::Refused { action: "sso:CreateAccountAssignment".into(), code: "ConflictException".into(), message: "in progress".into() }
    }

    #[tokio::test]
    async fn conflicts_are_retried_then_reported_as_retryable() {
        let t = IdentityCenterTiming { conflict_backoff: Duration::from_millis(2), ..timing(3) };
        let calls = Mutex::new(0_u32);
        let c = &calls;
        // Two conflicts, then it goes through.
        let done = retry_conflicts(&t, "the assignment", move || async move {
            let mut n = c.lock().unwrap();
            *n += 1;
            if *n <= 2 { Err(conflict()) } else { Ok(*n) }
        })
        .await;
        assert_eq!(done, Ok(3));

        // Always conflicting: the first call and three retries, then retryable.
        *calls.lock().unwrap() = 0;
        let done: Result<(), _> = retry_conflicts(&t, "the assignment", move || async move {
            *c.lock().unwrap() += 1;
            Err(conflict())
        })
        .await;
        assert!(matches!(&done, Err(ProvisionError::Retryable(m)) if m.contains("after 3 retries")), "{done:?}");
        assert_eq!(*calls.lock().unwrap(), 4);

        // Anything else is not retried here.
        *calls.lock().unwrap() = 0;
        let done: Result<(), _> = retry_conflicts(&t, "the assignment", move || async move {
            *c.lock().unwrap() += 1;
            Err(AwsError::AccessDenied { action: "sso:CreateAccountAssignment".into() })
        })
        .await;
        assert!(matches!(done, Err(ProvisionError::Permanent(_))), "{done:?}");
        assert_eq!(*calls.lock().unwrap(), 1);
    }

    #[test]
    fn statuses_read_as_aws_writes_them() {
        assert_eq!(RequestStatus::of(Some(&StatusValues::Succeeded), None), RequestStatus::Succeeded);
        assert_eq!(RequestStatus::of(Some(&StatusValues::InProgress), None), RequestStatus::InProgress);
        assert_eq!(RequestStatus::of(None, None), RequestStatus::InProgress);
        assert_eq!(RequestStatus::of(Some(&StatusValues::Failed), Some("no such account")), RequestStatus::Failed("no such account".into()));
        assert_eq!(RequestStatus::of(Some(&StatusValues::Failed), Some("")), RequestStatus::Failed("no reason given".into()));
    }
}
