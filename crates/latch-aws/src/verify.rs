//! `latch admin aws verify`: assume the integration role with its
//! ExternalId, make sure it cannot be assumed without one, and probe every
//! permission of the catalog with a call that changes nothing (a made-up
//! name: AWS checks the permission before it looks the name up, so "no such
//! entity" proves the permission and "access denied" proves its absence).

use std::collections::BTreeSet;

use aws_sdk_iam::error::SdkError;
use futures_util::stream::{self, StreamExt as _};
use serde::Serialize;

use crate::catalog::{permissions, Components, Permission, Scope};
use crate::error::{classify, AwsError, Failure};
use crate::factory::{Clients, ClientFactory, RoleHop};
use crate::install::Federation;
use crate::trust::{admits, decode_document};

/// A name no real user, role, group or policy has.
const PROBE: &str = "latch-verify-probe-0000";
/// Probes in flight at once.
const CONCURRENCY: usize = 8;

/// What verify found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The role was assumed with the ExternalId.
    pub assumed: bool,
    /// IAM actions the role lacks.
    pub missing: Vec<String>,
    /// Actions that cannot be probed without side effects or preconditions,
    /// with why (checked at first use instead).
    pub unverified: Vec<String>,
    /// Other problems, each a sentence for people.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// The integration may be marked installed.
    pub fn passed(&self) -> bool {
        self.assumed && self.missing.is_empty() && self.problems.is_empty()
    }
}

/// The hop into a customer account through its integration role.
pub fn integration_hop(factory: &ClientFactory, account_id: &str, role_name: &str, external_id: &str) -> RoleHop {
    RoleHop { role_arn: format!("arn:{}:iam::{account_id}:role/{role_name}", factory.partition()), external_id: Some(external_id.to_owned()) }
}

/// Verifies one account's integration role.
///
/// In federated mode, `federation` is what the account must have registered:
/// Latch's OpenID Connect issuer as an IAM OIDC provider, or Latch's SAML
/// metadata as an IAM SAML provider.
pub async fn verify(factory: &ClientFactory, components: &Components, account_id: &str, role_name: &str, external_id: &str, federation: Option<&Federation>) -> Result<VerifyReport, AwsError> {
    let mut report = VerifyReport::default();
    factory.forget().await;
    let hop = integration_hop(factory, account_id, role_name, external_id);
    let clients = match factory.assume(std::slice::from_ref(&hop)).await {
        Ok(c) => c,
        Err(e @ AwsError::Unavailable(_)) => return Err(e),
        Err(e) => {
            report.problems.push(e.to_string());
            return Ok(report);
        }
    };
    report.assumed = true;
    // The confused-deputy guard: the trust policy must refuse Latch without
    // the ExternalId. Read with Latch's policy engine rather than tried, so
    // the answer does not depend on how strictly the endpoint enforces it.
    match clients.iam.get_role().role_name(role_name).send().await {
        Ok(out) => {
            let doc = out.role().and_then(|r| r.assume_role_policy_document()).map(decode_document).unwrap_or_default();
            let principal = factory.principal_arn().await?;
            match admits(&doc, &hop.role_arn, &principal, &[("sts:ExternalId", external_id)]) {
                Ok(true) => {}
                Ok(false) => report.problems.push(format!(
                    "the trust policy of `{}` does not let `{principal}` assume it with this integration's ExternalId\nhelp: run the commands printed by `latch admin aws install` again",
                    hop.role_arn
                )),
                Err(e) => report.problems.push(e),
            }
            match admits(&doc, &hop.role_arn, &principal, &[]) {
                Ok(false) => {}
                Ok(true) => report.problems.push(format!(
                    "the trust policy of `{}` lets `{principal}` assume it without the ExternalId\nhelp: add the `sts:ExternalId` condition printed by `latch admin aws install`",
                    hop.role_arn
                )),
                Err(e) => report.problems.push(e),
            }
        }
        Err(e) => match classify("iam:GetRole", e) {
            (Failure::Denied, _) => report.problems.push(format!("cannot read the trust policy of `{}`: access denied to `iam:GetRole` on the role itself", hop.role_arn)),
            (_, err) => return Err(err),
        },
    }

    let perms = permissions(components);
    let ctx = ProbeContext::discover(&clients, &perms).await?;
    let results: Vec<(Permission, Result<Probe, AwsError>)> =
        stream::iter(perms.iter().copied())
            .map(|p| {
                let (clients, ctx) = (&clients, &ctx);
                async move { (p, probe(clients, ctx, p).await) }
            }).buffer_unordered(CONCURRENCY).collect().await;
    let mut missing = BTreeSet::new();
    let mut unverified = BTreeSet::new();
    for (perm, result) in results {
        // A probe AWS answered only with errors proves nothing either way:
        // listed as unverified, it is checked again at first use.
        let result = match result {
            Err(AwsError::Unavailable(why)) => Ok(Probe::Skipped(format!("AWS answered with an error: {why}"))),
            other => other,
        };
        match result? {
            Probe::Allowed => {}
            Probe::Denied => {
                missing.insert(perm.action.to_owned());
            }
            Probe::Skipped(why) => {
                unverified.insert(format!("{}: {why}", perm.action));
            }
        }
    }
    if let Some(f) = federation {
        let problem = match &f.saml {
            Some(_) if missing.contains("iam:GetSAMLProvider") => None,
            Some(_) => saml_problem(&clients, f).await?,
            None if missing.contains("iam:GetOpenIDConnectProvider") => None,
            None => federation_problem(&clients, &f.issuer).await?,
        };
        report.problems.extend(problem);
    }
    if ctx.needs_instance && ctx.instance.is_none() && !missing.contains("sso:ListInstances") {
        report.problems.push(format!("no IAM Identity Center instance in region `{}`\nhelp: enable Identity Center, or install with another --mode", factory.settings().region));
    }
    report.missing = missing.into_iter().collect();
    report.unverified = unverified.into_iter().collect();
    Ok(report)
}

/// Whether the account registered Latch's SAML metadata (its entity ID and
/// its signing certificate) as the IAM SAML provider Latch names in assertions.
async fn saml_problem(c: &Clients, f: &Federation) -> Result<Option<String>, AwsError> {
    let arn = &f.provider_arn;
    match c.iam.get_saml_provider().saml_provider_arn(arn).send().await {
        Ok(out) => {
            let registered = out.saml_metadata_document().unwrap_or_default();
            let ours = f.saml.as_ref().map(|s| s.metadata.as_str()).unwrap_or_default();
            let same = registered.contains(&format!("entityID=\"{}\"", f.issuer)) && certificate(registered) == certificate(ours);
            Ok((!same).then(|| format!("the SAML provider `{arn}` holds other metadata than Latch's (entity ID `{}`)\nhelp: update it with the metadata printed by `latch admin aws install`", f.issuer)))
        }
        Err(e) => match classify("iam:GetSAMLProvider", e) {
            (Failure::Missing, _) => Ok(Some(format!(
                "Latch's SAML provider `{arn}` is not registered in AWS account `{}`\nhelp: run the commands printed by `latch admin aws install --mode federated --federation saml`",
                c.account_id
            ))),
            (Failure::Transient, err) => Err(err),
            (_, err) => Ok(Some(err.to_string())),
        },
    }
}

/// The signing certificate in a metadata document.
fn certificate(metadata: &str) -> Option<&str> {
    let start = metadata.find("X509Certificate>")? + "X509Certificate>".len();
    let len = metadata.get(start..)?.find('<')?;
    metadata.get(start..start + len).map(str::trim)
}

/// Whether the account registered Latch's issuer as an IAM OIDC provider
/// that accepts Latch's audience.
async fn federation_problem(c: &Clients, issuer: &str) -> Result<Option<String>, AwsError> {
    let host_path = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let arn = format!("arn:{}:iam::{}:oidc-provider/{host_path}", c.partition, c.account_id);
    match c.iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send().await {
        Ok(out) if out.client_id_list().iter().any(|id| id == crate::install::AUDIENCE) => Ok(None),
        Ok(_) => Ok(Some(format!(
            "the identity provider `{arn}` does not list the client id `{}`\nhelp: add it, or run the commands printed by `latch admin aws install` again",
            crate::install::AUDIENCE
        ))),
        Err(e) => match classify("iam:GetOpenIDConnectProvider", e) {
            (Failure::Missing, _) => Ok(Some(format!(
                "Latch's identity provider `{issuer}` is not registered in AWS account `{}`\nhelp: run the commands printed by `latch admin aws install --mode federated`",
                c.account_id
            ))),
            (Failure::Transient, err) => Err(err),
            (_, err) => Ok(Some(err.to_string())),
        },
    }
}

/// A lookup by a unique attribute no user or group has.
fn probe_attribute(action: &str, path: &str) -> Result<aws_sdk_identitystore::types::AlternateIdentifier, AwsError> {
    let unique = aws_sdk_identitystore::types::UniqueAttribute::builder()
        .attribute_path(path)
        .attribute_value(aws_smithy_types::Document::String(format!("{PROBE}.invalid")))
        .build()
        .map_err(|e| AwsError::Refused { action: action.to_owned(), code: "InvalidAttribute".into(), message: e.to_string() })?;
    Ok(aws_sdk_identitystore::types::AlternateIdentifier::UniqueAttribute(unique))
}

/// One probe's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    Allowed,
    Denied,
    Skipped(String),
}

/// Identity Center ids the `sso:` and `identitystore:` probes need.
#[derive(Debug, Default)]
struct ProbeContext {
    needs_instance: bool,
    instance: Option<(String, String)>,
    account_id: String,
}

impl ProbeContext {
    async fn discover(c: &Clients, perms: &[Permission]) -> Result<Self, AwsError> {
        let needs_instance = perms.iter().any(|p| p.action.starts_with("sso:") || p.action.starts_with("identitystore:"));
        let mut ctx = ProbeContext { needs_instance, instance: None, account_id: c.account_id.clone() };
        if needs_instance {
            match c.sso_admin.list_instances().send().await {
                Ok(out) => {
                    ctx.instance = out.instances().first().and_then(|i| Some((i.instance_arn()?.to_owned(), i.identity_store_id()?.to_owned())));
                }
                Err(e) => {
                    if let (Failure::Transient, err) = classify("sso:ListInstances", e) {
                        return Err(err);
                    }
                }
            }
        }
        Ok(ctx)
    }
}

/// The probe of a read on one resource, when the account has none of its
/// kind yet.
fn nothing_to_probe(kind: &str) -> Result<Probe, AwsError> {
    Ok(Probe::Skipped(format!("no {kind} to probe with; checked at the first resource sync")))
}

fn seen<T, E>(action: &str, r: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>) -> Result<Probe, AwsError>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(Probe::Allowed),
        Err(e) => match classify(action, e) {
            (Failure::Denied, _) => Ok(Probe::Denied),
            (Failure::Transient, err) => Err(err),
            // Past the permission check: the made-up name was looked up.
            (Failure::Missing | Failure::Other, _) => Ok(Probe::Allowed),
        },
    }
}

/// A root id no organization has (`r-` and 4 to 32 characters).
const PROBE_ROOT: &str = "r-0000";
/// The SCP every organization with SCPs has (AWS managed, read only).
const PROBE_POLICY: &str = "p-FullAWSAccess";
const NO_INSTANCE: &str = "needs an Identity Center instance";
const BOGUS_UUID: &str = "00000000-0000-4000-8000-000000000000";

async fn probe(c: &Clients, ctx: &ProbeContext, perm: Permission) -> Result<Probe, AwsError> {
    let a = perm.action;
    let iam = &c.iam;
    let policy_arn = format!("arn:{}:iam::{}:policy/{PROBE}", c.partition, ctx.account_id);
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"none:None","Resource":"*"}]}"#;
    match perm.scope {
        Scope::SsoRoles => return Ok(Probe::Skipped("only Identity Center's own roles; checked when an assignment is made in this account".into())),
        Scope::SsoSamlProviders => return Ok(Probe::Skipped("only Identity Center's SAML provider; checked when an assignment is made in this account".into())),
        Scope::MemberRole => return Ok(Probe::Skipped("checked when Latch reaches each member account".into())),
        // Read above, with the trust policy.
        Scope::IntegrationRole => return Ok(Probe::Allowed),
        Scope::Any => {}
    }
    let (ins, store) = match &ctx.instance {
        Some((i, s)) => (i.as_str(), s.as_str()),
        None => ("", ""),
    };
    let needs_instance = a.starts_with("sso:") && a != "sso:ListInstances" || a.starts_with("identitystore:");
    if needs_instance && ctx.instance.is_none() {
        return Ok(Probe::Skipped(NO_INSTANCE.into()));
    }
    let ps_arn = format!("arn:{}:sso:::permissionSet/{}/ps-0000000000000000", c.partition, ins.rsplit('/').next().unwrap_or(""));
    match a {
        "iam:ListAccountAliases" => seen(a, iam.list_account_aliases().send().await),
        "iam:GetAccountAuthorizationDetails" => seen(a, iam.get_account_authorization_details().max_items(1).send().await),
        "iam:GenerateCredentialReport" => seen(a, iam.generate_credential_report().send().await),
        "iam:GetCredentialReport" => seen(a, iam.get_credential_report().send().await),
        "iam:ListUsers" => seen(a, iam.list_users().max_items(1).send().await),
        "iam:GetUser" => seen(a, iam.get_user().user_name(PROBE).send().await),
        "iam:ListUserTags" => seen(a, iam.list_user_tags().user_name(PROBE).send().await),
        "iam:GetRole" => seen(a, iam.get_role().role_name(PROBE).send().await),
        "iam:GetPolicy" => seen(a, iam.get_policy().policy_arn(&policy_arn).send().await),
        "iam:GetPolicyVersion" => seen(a, iam.get_policy_version().policy_arn(&policy_arn).version_id("v1").send().await),
        "iam:GetUserPolicy" => seen(a, iam.get_user_policy().user_name(PROBE).policy_name(PROBE).send().await),
        "iam:PutUserPolicy" => seen(a, iam.put_user_policy().user_name(PROBE).policy_name(PROBE).policy_document(doc).send().await),
        "iam:DeleteUserPolicy" => seen(a, iam.delete_user_policy().user_name(PROBE).policy_name(PROBE).send().await),
        "iam:GetGroup" => seen(a, iam.get_group().group_name(PROBE).send().await),
        "iam:AddUserToGroup" => seen(a, iam.add_user_to_group().group_name(PROBE).user_name(PROBE).send().await),
        "iam:RemoveUserFromGroup" => seen(a, iam.remove_user_from_group().group_name(PROBE).user_name(PROBE).send().await),
        "iam:CreateUser" => Ok(Probe::Skipped("creating a user is not probed; checked at the first user created".into())),
        "iam:TagUser" => seen(a, iam.tag_user().user_name(PROBE).tags(tag("Email", "probe@example.invalid")?).send().await),
        "iam:DeleteLoginProfile" => seen(a, iam.delete_login_profile().user_name(PROBE).send().await),
        "iam:ListAccessKeys" => seen(a, iam.list_access_keys().user_name(PROBE).send().await),
        "iam:DeleteAccessKey" => seen(a, iam.delete_access_key().user_name(PROBE).access_key_id("AKIA0000000000000000").send().await),
        "iam:ListSigningCertificates" => seen(a, iam.list_signing_certificates().user_name(PROBE).send().await),
        "iam:DeleteSigningCertificate" => seen(a, iam.delete_signing_certificate().user_name(PROBE).certificate_id("0".repeat(24)).send().await),
        "iam:ListSSHPublicKeys" => seen(a, iam.list_ssh_public_keys().user_name(PROBE).send().await),
        "iam:DeleteSSHPublicKey" => seen(a, iam.delete_ssh_public_key().user_name(PROBE).ssh_public_key_id("APKA0000000000000000").send().await),
        "iam:ListServiceSpecificCredentials" => seen(a, iam.list_service_specific_credentials().user_name(PROBE).send().await),
        "iam:DeleteServiceSpecificCredential" => {
            seen(a, iam.delete_service_specific_credential().user_name(PROBE).service_specific_credential_id("ACCA0000000000000000").send().await)
        }
        "iam:ListMFADevices" => seen(a, iam.list_mfa_devices().user_name(PROBE).send().await),
        "iam:DeactivateMFADevice" => seen(a, iam.deactivate_mfa_device().user_name(PROBE).serial_number(format!("arn:{}:iam::{}:mfa/{PROBE}", c.partition, ctx.account_id)).send().await),
        "iam:ListUserPolicies" => seen(a, iam.list_user_policies().user_name(PROBE).send().await),
        "iam:ListAttachedUserPolicies" => seen(a, iam.list_attached_user_policies().user_name(PROBE).send().await),
        "iam:DetachUserPolicy" => seen(a, iam.detach_user_policy().user_name(PROBE).policy_arn(&policy_arn).send().await),
        "iam:ListGroupsForUser" => seen(a, iam.list_groups_for_user().user_name(PROBE).send().await),
        "iam:DeleteUser" => seen(a, iam.delete_user().user_name(PROBE).send().await),
        "iam:GetOpenIDConnectProvider" => seen(a, iam.get_open_id_connect_provider().open_id_connect_provider_arn(format!("arn:{}:iam::{}:oidc-provider/{PROBE}.invalid", c.partition, ctx.account_id)).send().await),
        "iam:GetSAMLProvider" => seen(a, iam.get_saml_provider().saml_provider_arn(format!("arn:{}:iam::{}:saml-provider/{PROBE}", c.partition, ctx.account_id)).send().await),
        "iam:GetRolePolicy" => seen(a, iam.get_role_policy().role_name(PROBE).policy_name(PROBE).send().await),
        "iam:PutRolePolicy" => seen(a, iam.put_role_policy().role_name(PROBE).policy_name(PROBE).policy_document(doc).send().await),
        "iam:DeleteRolePolicy" => seen(a, iam.delete_role_policy().role_name(PROBE).policy_name(PROBE).send().await),
        "sso:ListInstances" => seen(a, c.sso_admin.list_instances().send().await),
        "sso:ListPermissionSets" => seen(a, c.sso_admin.list_permission_sets().instance_arn(ins).max_results(1).send().await),
        "sso:DescribePermissionSet" => seen(a, c.sso_admin.describe_permission_set().instance_arn(ins).permission_set_arn(&ps_arn).send().await),
        "sso:ListManagedPoliciesInPermissionSet" => {
            seen(a, c.sso_admin.list_managed_policies_in_permission_set().instance_arn(ins).permission_set_arn(&ps_arn).send().await)
        }
        "sso:GetInlinePolicyForPermissionSet" => seen(a, c.sso_admin.get_inline_policy_for_permission_set().instance_arn(ins).permission_set_arn(&ps_arn).send().await),
        "sso:ListAccountsForProvisionedPermissionSet" => {
            seen(a, c.sso_admin.list_accounts_for_provisioned_permission_set().instance_arn(ins).permission_set_arn(&ps_arn).send().await)
        }
        "sso:ListAccountAssignments" => {
            seen(a, c.sso_admin.list_account_assignments().instance_arn(ins).account_id(&ctx.account_id).permission_set_arn(&ps_arn).send().await)
        }
        "sso:CreateAccountAssignment" => seen(
            a,
            c.sso_admin
                .create_account_assignment()
                .instance_arn(ins)
                .target_id(&ctx.account_id)
                .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
                .permission_set_arn(&ps_arn)
                .principal_type(aws_sdk_ssoadmin::types::PrincipalType::User)
                .principal_id(BOGUS_UUID)
                .send()
                .await,
        )
        ,
        "sso:DeleteAccountAssignment" => seen(
            a,
            c.sso_admin
                .delete_account_assignment()
                .instance_arn(ins)
                .target_id(&ctx.account_id)
                .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
                .permission_set_arn(&ps_arn)
                .principal_type(aws_sdk_ssoadmin::types::PrincipalType::User)
                .principal_id(BOGUS_UUID)
                .send()
                .await,
        ),
        "sso:DescribeAccountAssignmentCreationStatus" => {
            seen(a, c.sso_admin.describe_account_assignment_creation_status().instance_arn(ins).account_assignment_creation_request_id(BOGUS_UUID).send().await)
        }
        "sso:DescribeAccountAssignmentDeletionStatus" => {
            seen(a, c.sso_admin.describe_account_assignment_deletion_status().instance_arn(ins).account_assignment_deletion_request_id(BOGUS_UUID).send().await)
        }
        "identitystore:ListUsers" => seen(a, c.identity_store.list_users().identity_store_id(store).max_results(1).send().await),
        "identitystore:ListGroups" => seen(a, c.identity_store.list_groups().identity_store_id(store).max_results(1).send().await),
        "identitystore:ListGroupMemberships" => seen(a, c.identity_store.list_group_memberships().identity_store_id(store).group_id(BOGUS_UUID).send().await),
        "identitystore:GetUserId" => seen(a, c.identity_store.get_user_id().identity_store_id(store).alternate_identifier(probe_attribute(a, "UserName")?).send().await),
        "identitystore:GetGroupId" => seen(a, c.identity_store.get_group_id().identity_store_id(store).alternate_identifier(probe_attribute(a, "DisplayName")?).send().await),
        "identitystore:GetGroupMembershipId" => seen(
            a,
            c.identity_store
                .get_group_membership_id()
                .identity_store_id(store)
                .group_id(BOGUS_UUID)
                .member_id(aws_sdk_identitystore::types::MemberId::UserId(BOGUS_UUID.into()))
                .send()
                .await,
        ),
        "identitystore:CreateGroupMembership" => seen(
            a,
            c.identity_store
                .create_group_membership()
                .identity_store_id(store)
                .group_id(BOGUS_UUID)
                .member_id(aws_sdk_identitystore::types::MemberId::UserId(BOGUS_UUID.into()))
                .send()
                .await,
        ),
        "identitystore:DeleteGroupMembership" => seen(a, c.identity_store.delete_group_membership().identity_store_id(store).membership_id(BOGUS_UUID).send().await),
        "organizations:DescribeAccount" => seen(a, c.organizations.describe_account().account_id(&ctx.account_id).send().await),
        "organizations:DescribeOrganization" => seen(a, c.organizations.describe_organization().send().await),
        "organizations:ListAccounts" => seen(a, c.organizations.list_accounts().max_results(1).send().await),
        "organizations:ListRoots" => seen(a, c.organizations.list_roots().max_results(1).send().await),
        "organizations:ListOrganizationalUnitsForParent" => seen(a, c.organizations.list_organizational_units_for_parent().parent_id(PROBE_ROOT).max_results(1).send().await),
        "organizations:ListAccountsForParent" => seen(a, c.organizations.list_accounts_for_parent().parent_id(PROBE_ROOT).max_results(1).send().await),
        "organizations:ListPolicies" => seen(a, c.organizations.list_policies().filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy).max_results(1).send().await),
        "organizations:DescribePolicy" => seen(a, c.organizations.describe_policy().policy_id(PROBE_POLICY).send().await),
        "organizations:ListTargetsForPolicy" => seen(a, c.organizations.list_targets_for_policy().policy_id(PROBE_POLICY).max_results(1).send().await),
        "s3:ListAllMyBuckets" => seen(a, c.s3.list_buckets().max_buckets(1).send().await),
        "s3:GetBucketPolicy" => {
            // S3 answers `NoSuchBucket` for a made-up bucket before it looks
            // at permissions: probe with a bucket the account has.
            let first = c.s3.list_buckets().max_buckets(1).send().await.ok().and_then(|o| o.buckets().first().map(|b| (b.name().map(str::to_owned), b.bucket_region().map(str::to_owned))));
            match first {
                Some((Some(name), region)) => seen(a, c.s3_in(region.as_deref()).get_bucket_policy().bucket(name).send().await),
                _ => nothing_to_probe("bucket"),
            }
        }
        // Each policy read is probed with a resource the account has: a
        // made-up one may be refused as missing before permissions are
        // looked at.
        "sqs:ListQueues" => seen(a, c.sqs.list_queues().max_results(1).send().await),
        "sqs:GetQueueAttributes" => {
            let first = c.sqs.list_queues().max_results(1).send().await.ok().and_then(|o| o.queue_urls().first().cloned());
            match first {
                Some(url) => seen(a, c.sqs.get_queue_attributes().queue_url(url).attribute_names(aws_sdk_sqs::types::QueueAttributeName::Policy).send().await),
                None => nothing_to_probe("queue"),
            }
        }
        "sns:ListTopics" => seen(a, c.sns.list_topics().send().await),
        "sns:GetTopicAttributes" => {
            let first = c.sns.list_topics().send().await.ok().and_then(|o| o.topics().first().and_then(|t| t.topic_arn().map(str::to_owned)));
            match first {
                Some(arn) => seen(a, c.sns.get_topic_attributes().topic_arn(arn).send().await),
                None => nothing_to_probe("topic"),
            }
        }
        "kms:ListKeys" => seen(a, c.kms.list_keys().limit(1).send().await),
        "kms:GetKeyPolicy" => {
            // The key's own policy may refuse the role too: the probe cannot
            // tell that from a missing permission.
            let first = c.kms.list_keys().limit(1).send().await.ok().and_then(|o| o.keys().first().and_then(|k| k.key_id().map(str::to_owned)));
            match first {
                Some(id) => seen(a, c.kms.get_key_policy().key_id(id).policy_name("default").send().await),
                None => nothing_to_probe("key"),
            }
        }
        "lambda:ListFunctions" => seen(a, c.lambda.list_functions().max_items(1).send().await),
        "lambda:GetPolicy" => {
            let first = c.lambda.list_functions().max_items(1).send().await.ok().and_then(|o| o.functions().first().and_then(|f| f.function_arn().map(str::to_owned)));
            match first {
                Some(arn) => seen(a, c.lambda.get_policy().function_name(arn).send().await),
                None => nothing_to_probe("function"),
            }
        }
        "secretsmanager:ListSecrets" => seen(a, c.secrets_manager.list_secrets().max_results(1).send().await),
        "secretsmanager:GetResourcePolicy" => {
            let first = c.secrets_manager.list_secrets().max_results(1).send().await.ok().and_then(|o| o.secret_list().first().and_then(|s| s.arn().map(str::to_owned)));
            match first {
                Some(arn) => seen(a, c.secrets_manager.get_resource_policy().secret_id(arn).send().await),
                None => nothing_to_probe("secret"),
            }
        }
        "tag:GetResources" => seen(a, c.tagging.get_resources().resources_per_page(1).send().await),
        "resource-explorer-2:ListIndexes" | "resource-explorer-2:Search" => Ok(Probe::Skipped("checked at the first resource sync".into())),
        other => Err(AwsError::Refused { action: other.to_owned(), code: "NoProbe".into(), message: "Latch has no probe for this action".into() }),
    }
}

fn tag(key: &str, value: &str) -> Result<aws_sdk_iam::types::Tag, AwsError> {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| AwsError::Refused { action: "iam:TagUser".into(), code: "Build".into(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use crate::catalog::{permissions, Components};

    /// Every action of the catalog has a probe (or a stated reason to skip):
    /// the `other =>` arm is unreachable for the catalog.
    #[test]
    fn every_catalog_action_is_known_to_the_prober() {
        let source = include_str!("verify.rs");
        for (mode, federation) in crate::catalog::every_mode() {
            for p in permissions(&Components { mode, inventory: true, organizations: true, federation }) {
                if !matches!(p.scope, crate::catalog::Scope::Any) {
                    continue;
                }
                assert!(source.contains(&format!("\"{}\"", p.action)), "no probe for {}", p.action);
            }
        }
    }
}
