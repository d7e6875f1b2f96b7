//! IAM user lifecycle in iam-users mode: create a person's IAM user tagged
//! with their email (the tag grants find them by), and delete one fully.
//!
//! AWS refuses `DeleteUser` with `DeleteConflict` while anything is still
//! attached, so deletion first removes every kind of attachment in the order
//! AWS documents (seed 003's permission list): login profile, access keys,
//! signing certificates, SSH public keys, service-specific credentials, MFA
//! devices, inline policies, managed policies, group memberships — then the
//! user. Every step lists and then deletes, and treats a thing already gone
//! as removed, so a second run, or a run after a crash half-way, converges.
//!
//! Only the actions in the catalog's iam-users parts are called.

use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::types::Tag;
use aws_smithy_runtime_api::http::Response;
use serde::Serialize;

use crate::error::{classify, AwsError, Failure};
use crate::factory::Clients;

/// What [`create_user`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Latch created the user, tagged.
    New {
        /// The user's ARN.
        arn: String,
    },
    /// The user already existed (a retry, or made by hand); it carries the
    /// tag now.
    AlreadyExisted {
        /// The user's ARN.
        arn: String,
        /// Latch added the tag (it was missing).
        tagged: bool,
    },
}

/// Creates IAM user `user_name` tagged `tag_key` = `email`.
///
/// A user of that name that already exists is reported as
/// [`Created::AlreadyExisted`] and tagged if the tag is missing. One tagged
/// for a different person is refused: re-tagging it would hand that
/// person's IAM user, and every grant found through the tag, to `email`.
pub async fn create_user(c: &Clients, user_name: &str, email: &str, tag_key: &str) -> Result<Created, AwsError> {
    let tag = Tag::builder().key(tag_key).value(email).build().map_err(|e| refused("iam:CreateUser", "InvalidTag", e.to_string()))?;
    let err = match c.iam.create_user().user_name(user_name).tags(tag.clone()).send().await {
        Ok(out) => return Ok(Created::New { arn: out.user.map(|u| u.arn).unwrap_or_default() }),
        Err(e) => classify("iam:CreateUser", e).1,
    };
    if err.code() != Some("EntityAlreadyExists") {
        return Err(err);
    }
    let user = c.iam.get_user().user_name(user_name).send().await.map_err(|e| classify("iam:GetUser", e).1)?.user;
    let (arn, tags) = user.map(|u| (u.arn, u.tags.unwrap_or_default())).unwrap_or_default();
    match tags.iter().find(|t| t.key == tag_key) {
        Some(t) if t.value.eq_ignore_ascii_case(email) => Ok(Created::AlreadyExisted { arn, tagged: false }),
        Some(t) => Err(refused(
            "iam:CreateUser",
            "EntityAlreadyExists",
            format!(
                "IAM user `{user_name}` already exists and is tagged `{tag_key}` = `{}`, not `{email}`\nhelp: choose another user name for `{email}`, or correct the tag on `{user_name}` if it is wrong",
                t.value
            ),
        )),
        None => {
            c.iam.tag_user().user_name(user_name).tags(tag).send().await.map_err(|e| classify("iam:TagUser", e).1)?;
            Ok(Created::AlreadyExisted { arn, tagged: true })
        }
    }
}

/// What [`delete_user`] removed, per kind: ids and names, never secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeletionReport {
    /// The user.
    pub user_name: String,
    /// The user was not there to delete (before or during this run); what
    /// is listed below was still removed by this run.
    pub already_gone: bool,
    /// The console password was removed.
    pub login_profile: bool,
    /// Access key ids.
    pub access_keys: Vec<String>,
    /// Signing certificate ids.
    pub signing_certificates: Vec<String>,
    /// SSH public key ids.
    pub ssh_public_keys: Vec<String>,
    /// Service-specific credential ids.
    pub service_specific_credentials: Vec<String>,
    /// Serial numbers of MFA devices deactivated (detached from the user).
    /// A virtual device stays in the account, unassigned: the catalog does
    /// not ask for `iam:DeleteVirtualMFADevice`.
    pub mfa_devices: Vec<String>,
    /// Inline policy names.
    pub inline_policies: Vec<String>,
    /// ARNs of managed policies detached.
    pub managed_policies: Vec<String>,
    /// Groups the user was removed from.
    pub groups: Vec<String>,
    /// Kinds that could not be listed, with why; `DeleteUser` judged whether
    /// any remained (AWS refuses it while any do).
    pub unchecked: Vec<String>,
}

/// Why a deletion stopped early.
enum Stop {
    /// The user itself vanished (someone else deleted it meanwhile).
    Gone,
    /// A call failed.
    Failed(AwsError),
}

impl From<AwsError> for Stop {
    fn from(e: AwsError) -> Self {
        Stop::Failed(e)
    }
}

/// Deletes IAM user `user_name` and everything attached to it.
///
/// A user that does not exist is reported as `already_gone`. A step refused
/// for lack of permission fails with [`AwsError::AccessDenied`] naming the
/// action; later steps are then not attempted.
pub async fn delete_user(c: &Clients, user_name: &str) -> Result<DeletionReport, AwsError> {
    let mut report = DeletionReport { user_name: user_name.to_owned(), ..DeletionReport::default() };
    if let Err(e) = c.iam.get_user().user_name(user_name).send().await {
        return match classify("iam:GetUser", e) {
            (Failure::Missing, _) => Ok(DeletionReport { already_gone: true, ..report }),
            (_, err) => Err(err),
        };
    }
    match remove_attachments(c, user_name, &mut report).await {
        Ok(()) => {}
        Err(Stop::Gone) => return Ok(DeletionReport { already_gone: true, ..report }),
        Err(Stop::Failed(e)) => return Err(e),
    }
    match c.iam.delete_user().user_name(user_name).send().await {
        Ok(_) => Ok(report),
        Err(e) => match classify("iam:DeleteUser", e) {
            (Failure::Missing, _) => Ok(DeletionReport { already_gone: true, ..report }),
            (_, err) if err.code() == Some("DeleteConflict") => Err(still_attached(user_name, &report.unchecked, &err)),
            (_, err) => Err(err),
        },
    }
}

async fn remove_attachments(c: &Clients, user: &str, report: &mut DeletionReport) -> Result<(), Stop> {
    let iam = &c.iam;

    // The login profile has no list call: delete it, and "no such entity"
    // means there was none (a vanished user is caught by the next listing).
    report.login_profile = removed("iam:DeleteLoginProfile", iam.delete_login_profile().user_name(user).send().await)?;

    // INVARIANT: each step reads the whole listing before deleting, so
    // deleting does not shift the pages still to be read.
    let mut ids = Vec::new();
    let mut pages = iam.list_access_keys().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListAccessKeys", e))?;
        ids.extend(page.access_key_metadata.into_iter().filter_map(|k| k.access_key_id));
    }
    for id in ids {
        if removed("iam:DeleteAccessKey", iam.delete_access_key().user_name(user).access_key_id(&id).send().await)? {
            report.access_keys.push(id);
        }
    }

    let mut ids = Vec::new();
    let mut pages = iam.list_signing_certificates().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListSigningCertificates", e))?;
        ids.extend(page.certificates.into_iter().map(|cert| cert.certificate_id));
    }
    for id in ids {
        if removed("iam:DeleteSigningCertificate", iam.delete_signing_certificate().user_name(user).certificate_id(&id).send().await)? {
            report.signing_certificates.push(id);
        }
    }

    let mut ids = Vec::new();
    let mut pages = iam.list_ssh_public_keys().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListSSHPublicKeys", e))?;
        ids.extend(page.ssh_public_keys.unwrap_or_default().into_iter().map(|k| k.ssh_public_key_id));
    }
    for id in ids {
        if removed("iam:DeleteSSHPublicKey", iam.delete_ssh_public_key().user_name(user).ssh_public_key_id(&id).send().await)? {
            report.ssh_public_keys.push(id);
        }
    }

    // Service-specific credentials (CodeCommit, Keyspaces, Bedrock) are the
    // one kind an AWS-compatible endpoint may not implement (moto answers
    // 500; others answer a 400 such as `InvalidAction`). Failing there would
    // make deleting any user impossible on such an endpoint, so a listing
    // that fails for any reason but a denial or a vanished user is recorded
    // as unchecked and deletion goes on. That leaves nothing live silently:
    // AWS refuses `DeleteUser` with `DeleteConflict` while a credential
    // remains, and that refusal is reported naming this kind. A denial is
    // still an error: the catalog asks for the permission and `verify`
    // checks it, so it is a fixable misconfiguration, not a missing API.
    match list_service_specific_credentials(c, user).await {
        Ok(ids) => {
            for id in ids {
                let call = iam.delete_service_specific_credential().user_name(user).service_specific_credential_id(&id).send().await;
                if removed("iam:DeleteServiceSpecificCredential", call)? {
                    report.service_specific_credentials.push(id);
                }
            }
        }
        Err((Failure::Denied, err)) => return Err(Stop::Failed(err)),
        Err((Failure::Missing, _)) => return Err(Stop::Gone),
        Err((Failure::Transient | Failure::Other, err)) => {
            tracing::warn!(user, error = %err, "could not list service-specific credentials; `DeleteUser` will refuse if any remain");
            report.unchecked.push(format!("service-specific credentials: {err}"));
        }
    }

    let mut serials = Vec::new();
    let mut pages = iam.list_mfa_devices().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListMFADevices", e))?;
        serials.extend(page.mfa_devices.into_iter().map(|d| d.serial_number));
    }
    for serial in serials {
        // Deactivating detaches the device from the user, which is what
        // `DeleteUser` requires.
        if removed("iam:DeactivateMFADevice", iam.deactivate_mfa_device().user_name(user).serial_number(&serial).send().await)? {
            report.mfa_devices.push(serial);
        }
    }

    let mut names = Vec::new();
    let mut pages = iam.list_user_policies().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListUserPolicies", e))?;
        names.extend(page.policy_names);
    }
    for name in names {
        if removed("iam:DeleteUserPolicy", iam.delete_user_policy().user_name(user).policy_name(&name).send().await)? {
            report.inline_policies.push(name);
        }
    }

    let mut arns = Vec::new();
    let mut pages = iam.list_attached_user_policies().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListAttachedUserPolicies", e))?;
        arns.extend(page.attached_policies.unwrap_or_default().into_iter().filter_map(|p| p.policy_arn));
    }
    for arn in arns {
        if removed("iam:DetachUserPolicy", iam.detach_user_policy().user_name(user).policy_arn(&arn).send().await)? {
            report.managed_policies.push(arn);
        }
    }

    let mut groups = Vec::new();
    let mut pages = iam.list_groups_for_user().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing("iam:ListGroupsForUser", e))?;
        groups.extend(page.groups.into_iter().map(|g| g.group_name));
    }
    for group in groups {
        if removed("iam:RemoveUserFromGroup", iam.remove_user_from_group().user_name(user).group_name(&group).send().await)? {
            report.groups.push(group);
        }
    }
    Ok(())
}

/// Every service-specific credential of `user`, following the marker (the
/// SDK has no paginator for this call).
async fn list_service_specific_credentials(c: &Clients, user: &str) -> Result<Vec<String>, (Failure, AwsError)> {
    const ACTION: &str = "iam:ListServiceSpecificCredentials";
    let mut ids = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c.iam.list_service_specific_credentials().user_name(user).set_marker(marker.take()).send().await.map_err(|e| classify(ACTION, e))?;
        ids.extend(out.service_specific_credentials.unwrap_or_default().into_iter().map(|s| s.service_specific_credential_id));
        match out.marker {
            Some(next) if out.is_truncated => marker = Some(next),
            _ => return Ok(ids),
        }
    }
}

/// A failed listing: the user vanished, or the call failed.
fn listing<E>(action: &str, e: SdkError<E, Response>) -> Stop
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(action, e) {
        (Failure::Missing, _) => Stop::Gone,
        (_, err) => Stop::Failed(err),
    }
}

/// Whether a delete removed something: `false` when it was already gone.
fn removed<T, E>(action: &str, result: Result<T, SdkError<E, Response>>) -> Result<bool, Stop>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => match classify(action, e) {
            (Failure::Missing, _) => Ok(false),
            (_, err) => Err(Stop::Failed(err)),
        },
    }
}

fn refused(action: &str, code: &str, message: String) -> AwsError {
    AwsError::Refused { action: action.to_owned(), code: code.to_owned(), message }
}

/// `DeleteUser` refused with `DeleteConflict`: something is still attached
/// (added meanwhile, or of a kind that could not be checked).
fn still_attached(user_name: &str, unchecked: &[String], err: &AwsError) -> AwsError {
    let aws_said = match err {
        AwsError::Refused { message, .. } if !message.is_empty() => format!(" (AWS: {message})"),
        _ => String::new(),
    };
    let (why, help) = if unchecked.is_empty() {
        ("it was given something while Latch was deleting it".to_owned(), "delete it again: each run removes whatever it finds attached".to_owned())
    } else {
        (
            format!("Latch could not check: {}", unchecked.join("; ")),
            format!("remove what remains (`aws iam list-service-specific-credentials --user-name {user_name}` lists the credentials Latch could not), then delete it again"),
        )
    };
    refused("iam:DeleteUser", "DeleteConflict", format!("IAM user `{user_name}` still has something attached{aws_said}; {why}\nhelp: {help}"))
}

#[cfg(test)]
mod tests {
    use super::still_attached;
    use crate::error::AwsError;

    #[test]
    fn a_delete_conflict_names_the_user_and_what_was_not_checked() {
        let aws = AwsError::Refused { action: "iam:DeleteUser".into(), code: "DeleteConflict".into(), message: "Cannot delete entity, must remove credentials first.".into() };
        let err = still_attached("leaver", &["service-specific credentials: AWS is throttling or unavailable: boom".into()], &aws);
        assert_eq!(err.code(), Some("DeleteConflict"));
        let text = err.to_string();
        assert!(text.contains("IAM user `leaver` still has something attached (AWS: Cannot delete entity"), "{text}");
        assert!(text.contains("Latch could not check: service-specific credentials"), "{text}");
        assert!(text.contains("\nhelp: "), "{text}");

        let text = still_attached("leaver", &[], &aws).to_string();
        assert!(text.contains("while Latch was deleting it") && text.contains("help: delete it again"), "{text}");
    }
}
