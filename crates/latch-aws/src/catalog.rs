//! Exactly which IAM permissions each part of the integration needs (seed
//! 003's lists, narrowed to the calls Latch makes). The install documents
//! are printed from this table and `verify` probes this table, so what the
//! customer is asked to allow and what is checked cannot drift apart.

use latch_core::integration::{AwsMode, FederationProtocol};
use serde_json::{json, Value};

/// Which resources a permission is granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every resource (`*`): list and account-wide calls.
    Any,
    /// The integration role itself (verify reads its trust policy).
    IntegrationRole,
    /// The role Latch assumes into Organizations member accounts.
    MemberRole,
    /// The roles Identity Center creates in accounts.
    SsoRoles,
    /// Identity Center's SAML providers.
    SsoSamlProviders,
}

/// One permission the integration role needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The IAM action (`iam:PutUserPolicy`).
    pub action: &'static str,
    /// On what.
    pub scope: Scope,
    /// Why Latch needs it, for the printed documents.
    pub part: Part,
}

/// The parts of the integration, each with its own statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Sync of IAM users, groups, roles, policies and credentials.
    IamSync,
    /// Grant and revoke as IAM users (inline policies, groups).
    IamUsersGrant,
    /// Create and fully delete IAM users (seed 003's deletion order).
    IamUserLifecycle,
    /// End live role sessions on revoke (a deny on older sessions).
    SessionRevoke,
    /// Identity Center users, groups, permission sets and assignments.
    IdentityCenterSync,
    /// Identity Center account assignments and group memberships.
    IdentityCenterGrant,
    /// Organizations: member accounts, reached through a role.
    Organizations,
    /// Resource inventory (tagging API, Resource Explorer).
    ResourceInventory,
}

impl Part {
    /// The statement id in the printed policy.
    pub fn sid(self) -> &'static str {
        match self {
            Part::IamSync => "LatchSyncIam",
            Part::IamUsersGrant => "LatchGrantIamUsers",
            Part::IamUserLifecycle => "LatchIamUserLifecycle",
            Part::SessionRevoke => "LatchEndRevokedSessions",
            Part::IdentityCenterSync => "LatchSyncIdentityCenter",
            Part::IdentityCenterGrant => "LatchGrantIdentityCenter",
            Part::Organizations => "LatchOrganizations",
            Part::ResourceInventory => "LatchResourceInventory",
        }
    }
}

/// What an account is installed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Components {
    /// How people get access.
    pub mode: AwsMode,
    /// Resource inventory is on.
    pub inventory: bool,
    /// It is an Organizations management account.
    pub organizations: bool,
    /// Federated mode: how the account trusts Latch (which IAM identity
    /// provider verify reads).
    pub federation: FederationProtocol,
}

const fn p(action: &'static str, scope: Scope, part: Part) -> Permission {
    Permission { action, scope, part }
}

const IAM_SYNC: &[Permission] = &[
    p("iam:GetRole", Scope::IntegrationRole, Part::IamSync),
    p("iam:ListAccountAliases", Scope::Any, Part::IamSync),
    p("iam:GetAccountAuthorizationDetails", Scope::Any, Part::IamSync),
    p("iam:GenerateCredentialReport", Scope::Any, Part::IamSync),
    p("iam:GetCredentialReport", Scope::Any, Part::IamSync),
];

const IAM_USERS_GRANT: &[Permission] = &[
    p("iam:ListUsers", Scope::Any, Part::IamUsersGrant),
    p("iam:GetUser", Scope::Any, Part::IamUsersGrant),
    p("iam:ListUserTags", Scope::Any, Part::IamUsersGrant),
    p("iam:GetRole", Scope::Any, Part::IamUsersGrant),
    p("iam:GetPolicy", Scope::Any, Part::IamUsersGrant),
    p("iam:GetPolicyVersion", Scope::Any, Part::IamUsersGrant),
    p("iam:GetUserPolicy", Scope::Any, Part::IamUsersGrant),
    p("iam:PutUserPolicy", Scope::Any, Part::IamUsersGrant),
    p("iam:DeleteUserPolicy", Scope::Any, Part::IamUsersGrant),
    p("iam:GetGroup", Scope::Any, Part::IamUsersGrant),
    p("iam:AddUserToGroup", Scope::Any, Part::IamUsersGrant),
    p("iam:RemoveUserFromGroup", Scope::Any, Part::IamUsersGrant),
    p("iam:ListGroupsForUser", Scope::Any, Part::IamUsersGrant),
];

const IAM_USER_LIFECYCLE: &[Permission] = &[
    p("iam:CreateUser", Scope::Any, Part::IamUserLifecycle),
    p("iam:TagUser", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeleteLoginProfile", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListAccessKeys", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeleteAccessKey", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListSigningCertificates", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeleteSigningCertificate", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListSSHPublicKeys", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeleteSSHPublicKey", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListServiceSpecificCredentials", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeleteServiceSpecificCredential", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListMFADevices", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeactivateMFADevice", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListUserPolicies", Scope::Any, Part::IamUserLifecycle),
    p("iam:ListAttachedUserPolicies", Scope::Any, Part::IamUserLifecycle),
    p("iam:DetachUserPolicy", Scope::Any, Part::IamUserLifecycle),
    p("iam:DeleteUser", Scope::Any, Part::IamUserLifecycle),
];

const SESSION_REVOKE: &[Permission] = &[
    p("iam:GetRolePolicy", Scope::Any, Part::SessionRevoke),
    p("iam:PutRolePolicy", Scope::Any, Part::SessionRevoke),
    p("iam:DeleteRolePolicy", Scope::Any, Part::SessionRevoke),
];

const FEDERATED_ROLES: &[Permission] = &[p("iam:GetRole", Scope::Any, Part::SessionRevoke)];
const OIDC_PROVIDER: &[Permission] = &[p("iam:GetOpenIDConnectProvider", Scope::Any, Part::SessionRevoke)];
const SAML_PROVIDER: &[Permission] = &[p("iam:GetSAMLProvider", Scope::Any, Part::SessionRevoke)];

const IDENTITY_CENTER_SYNC: &[Permission] = &[
    p("sso:ListInstances", Scope::Any, Part::IdentityCenterSync),
    p("sso:ListPermissionSets", Scope::Any, Part::IdentityCenterSync),
    p("sso:DescribePermissionSet", Scope::Any, Part::IdentityCenterSync),
    p("sso:ListManagedPoliciesInPermissionSet", Scope::Any, Part::IdentityCenterSync),
    p("sso:GetInlinePolicyForPermissionSet", Scope::Any, Part::IdentityCenterSync),
    p("sso:ListAccountsForProvisionedPermissionSet", Scope::Any, Part::IdentityCenterSync),
    p("sso:ListAccountAssignments", Scope::Any, Part::IdentityCenterSync),
    p("identitystore:ListUsers", Scope::Any, Part::IdentityCenterSync),
    p("identitystore:ListGroups", Scope::Any, Part::IdentityCenterSync),
    p("identitystore:ListGroupMemberships", Scope::Any, Part::IdentityCenterSync),
];

const IDENTITY_CENTER_GRANT: &[Permission] = &[
    p("organizations:DescribeAccount", Scope::Any, Part::IdentityCenterGrant),
    p("sso:CreateAccountAssignment", Scope::Any, Part::IdentityCenterGrant),
    p("sso:DeleteAccountAssignment", Scope::Any, Part::IdentityCenterGrant),
    p("sso:DescribeAccountAssignmentCreationStatus", Scope::Any, Part::IdentityCenterGrant),
    p("sso:DescribeAccountAssignmentDeletionStatus", Scope::Any, Part::IdentityCenterGrant),
    p("identitystore:GetUserId", Scope::Any, Part::IdentityCenterGrant),
    p("identitystore:GetGroupId", Scope::Any, Part::IdentityCenterGrant),
    p("identitystore:GetGroupMembershipId", Scope::Any, Part::IdentityCenterGrant),
    p("identitystore:CreateGroupMembership", Scope::Any, Part::IdentityCenterGrant),
    p("identitystore:DeleteGroupMembership", Scope::Any, Part::IdentityCenterGrant),
    // Assigning in the management account makes Identity Center manage its
    // roles there with the caller's rights (seed 003), on its roles only.
    p("iam:GetRole", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:CreateRole", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:DeleteRole", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:UpdateRole", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:PutRolePolicy", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:DeleteRolePolicy", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:AttachRolePolicy", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:DetachRolePolicy", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:ListRolePolicies", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:ListAttachedRolePolicies", Scope::SsoRoles, Part::IdentityCenterGrant),
    p("iam:GetSAMLProvider", Scope::SsoSamlProviders, Part::IdentityCenterGrant),
];

const ORGANIZATIONS: &[Permission] = &[
    p("organizations:DescribeOrganization", Scope::Any, Part::Organizations),
    p("organizations:ListAccounts", Scope::Any, Part::Organizations),
    // The hierarchy and its SCPs and RCPs, for effective access.
    p("organizations:ListRoots", Scope::Any, Part::Organizations),
    p("organizations:ListOrganizationalUnitsForParent", Scope::Any, Part::Organizations),
    p("organizations:ListAccountsForParent", Scope::Any, Part::Organizations),
    p("organizations:ListPolicies", Scope::Any, Part::Organizations),
    p("organizations:DescribePolicy", Scope::Any, Part::Organizations),
    p("organizations:ListTargetsForPolicy", Scope::Any, Part::Organizations),
    p("sts:AssumeRole", Scope::MemberRole, Part::Organizations),
];

const RESOURCE_INVENTORY: &[Permission] = &[
    p("tag:GetResources", Scope::Any, Part::ResourceInventory),
    p("resource-explorer-2:ListIndexes", Scope::Any, Part::ResourceInventory),
    p("resource-explorer-2:Search", Scope::Any, Part::ResourceInventory),
];

/// Resource-based policies, for effective access.
const RESOURCE_POLICIES: &[Permission] = &[
    p("s3:ListAllMyBuckets", Scope::Any, Part::ResourceInventory),
    p("s3:GetBucketPolicy", Scope::Any, Part::ResourceInventory),
    p("sqs:ListQueues", Scope::Any, Part::ResourceInventory),
    p("sqs:GetQueueAttributes", Scope::Any, Part::ResourceInventory),
    p("sns:ListTopics", Scope::Any, Part::ResourceInventory),
    p("sns:GetTopicAttributes", Scope::Any, Part::ResourceInventory),
    p("kms:ListKeys", Scope::Any, Part::ResourceInventory),
    p("kms:GetKeyPolicy", Scope::Any, Part::ResourceInventory),
    p("lambda:ListFunctions", Scope::Any, Part::ResourceInventory),
    p("lambda:GetPolicy", Scope::Any, Part::ResourceInventory),
    p("secretsmanager:ListSecrets", Scope::Any, Part::ResourceInventory),
    p("secretsmanager:GetResourcePolicy", Scope::Any, Part::ResourceInventory),
];

/// Every mode with every federation protocol it distinguishes (tests walk
/// them all).
pub fn every_mode() -> Vec<(AwsMode, FederationProtocol)> {
    let mut all: Vec<_> = AwsMode::ALL.into_iter().map(|m| (m, FederationProtocol::Oidc)).collect();
    all.push((AwsMode::Federated, FederationProtocol::Saml));
    all
}

/// Every permission `c` needs, in a stable order.
pub fn permissions(c: &Components) -> Vec<Permission> {
    let mut parts: Vec<&[Permission]> = vec![IAM_SYNC];
    match c.mode {
        AwsMode::IamUsers => parts.extend([IAM_USERS_GRANT, IAM_USER_LIFECYCLE, SESSION_REVOKE]),
        AwsMode::IdentityCenter => parts.extend([IDENTITY_CENTER_SYNC, IDENTITY_CENTER_GRANT]),
        AwsMode::Federated => {
            let provider = match c.federation {
                FederationProtocol::Oidc => OIDC_PROVIDER,
                FederationProtocol::Saml => SAML_PROVIDER,
            };
            parts.extend([FEDERATED_ROLES, provider, SESSION_REVOKE]);
        }
    }
    if c.organizations {
        parts.push(ORGANIZATIONS);
    }
    if c.inventory {
        parts.extend([RESOURCE_INVENTORY, RESOURCE_POLICIES]);
    }
    parts.concat()
}

/// Where the integration role lives, for resource ARNs.
#[derive(Debug, Clone)]
pub struct RoleContext<'a> {
    /// The ARN partition.
    pub partition: &'a str,
    /// The customer account.
    pub account_id: &'a str,
    /// The integration role's name.
    pub role_name: &'a str,
    /// The role Latch assumes in member accounts.
    pub member_role_name: &'a str,
}

fn resources(scope: Scope, r: &RoleContext<'_>) -> Vec<String> {
    let (part, acct) = (r.partition, r.account_id);
    match scope {
        // IAM actions reach only the role's own account, so `*` is no wider
        // than naming the account's users, groups, roles and policies.
        Scope::Any => vec!["*".into()],
        Scope::IntegrationRole => vec![format!("arn:{part}:iam::{acct}:role/{}", r.role_name)],
        Scope::MemberRole => vec![format!("arn:{part}:iam::*:role/{}", r.member_role_name)],
        Scope::SsoRoles => vec![format!("arn:{part}:iam::*:role/aws-reserved/sso.amazonaws.com/*")],
        Scope::SsoSamlProviders => vec![format!("arn:{part}:iam::*:saml-provider/AWSSSO_*_DO_NOT_DELETE")],
    }
}

/// The integration role's permissions policy: one statement per part and
/// scope, and a deny that keeps the role from changing itself.
pub fn permissions_policy(c: &Components, r: &RoleContext<'_>) -> Value {
    let mut groups: Vec<((Part, Scope), Vec<&'static str>)> = Vec::new();
    for perm in permissions(c) {
        match groups.iter_mut().find(|(k, _)| *k == (perm.part, perm.scope)) {
            Some((_, actions)) => actions.push(perm.action),
            None => groups.push(((perm.part, perm.scope), vec![perm.action])),
        }
    }
    let mut statements: Vec<Value> = groups
        .into_iter()
        .map(|((part, scope), actions)| {
            let sid = match scope {
                Scope::Any => part.sid().to_owned(),
                Scope::IntegrationRole => format!("{}OwnTrust", part.sid()),
                Scope::MemberRole => format!("{}MemberRole", part.sid()),
                Scope::SsoRoles => format!("{}SsoRoles", part.sid()),
                Scope::SsoSamlProviders => format!("{}SsoSaml", part.sid()),
            };
            json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": one_or_many(resources(scope, r))})
        })
        .collect();
    statements.push(json!({
        "Sid": "LatchCannotChangeItself",
        "Effect": "Deny",
        "Action": ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"],
        "Resource": format!("arn:{}:iam::{}:role/{}", r.partition, r.account_id, r.role_name),
    }));
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The integration role's trust policy: Latch's principal, with the ExternalId.
pub fn trust_policy(principal_arn: &str, external_id: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LatchAssumesWithExternalId",
            "Effect": "Allow",
            "Principal": {"AWS": principal_arn},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id}}
        }]
    })
}

fn one_or_many(mut v: Vec<String>) -> Value {
    if v.len() == 1 {
        Value::String(v.remove(0))
    } else {
        json!(v)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use latch_core::integration::AwsMode;

    use super::*;

    fn ctx() -> RoleContext<'static> {
        RoleContext { partition: "aws", account_id: "111111111111", role_name: "LatchIntegration", member_role_name: "OrganizationAccountAccessRole" }
    }

    #[test]
    fn each_component_adds_only_its_permissions() {
        let base = Components { mode: AwsMode::IamUsers, inventory: false, organizations: false, federation: FederationProtocol::Oidc };
        let actions = |c: &Components| permissions(c).iter().map(|p| p.action).collect::<BTreeSet<_>>();
        let iam = actions(&base);
        assert!(iam.contains("iam:PutUserPolicy") && !iam.contains("sso:CreateAccountAssignment") && !iam.contains("tag:GetResources"));
        let ic = actions(&Components { mode: AwsMode::IdentityCenter, ..base });
        assert!(ic.contains("sso:CreateAccountAssignment") && !ic.contains("iam:PutUserPolicy") && !ic.contains("iam:CreateUser"));
        let fed = actions(&Components { mode: AwsMode::Federated, ..base });
        assert!(fed.contains("iam:PutRolePolicy") && !fed.contains("iam:PutUserPolicy"));
        assert!(fed.contains("iam:GetOpenIDConnectProvider") && !fed.contains("iam:GetSAMLProvider"));
        let saml = actions(&Components { mode: AwsMode::Federated, federation: FederationProtocol::Saml, ..base });
        assert_eq!(saml.symmetric_difference(&fed).copied().collect::<Vec<_>>(), ["iam:GetOpenIDConnectProvider", "iam:GetSAMLProvider"]);
        let more = actions(&Components { inventory: true, organizations: true, ..base });
        assert_eq!(more.difference(&iam).copied().collect::<Vec<_>>(), [
            "kms:GetKeyPolicy",
            "kms:ListKeys",
            "lambda:GetPolicy",
            "lambda:ListFunctions",
            "organizations:DescribeOrganization",
            "organizations:DescribePolicy",
            "organizations:ListAccounts",
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
            "organizations:ListPolicies",
            "organizations:ListRoots",
            "organizations:ListTargetsForPolicy",
            "resource-explorer-2:ListIndexes",
            "resource-explorer-2:Search",
            "s3:GetBucketPolicy",
            "s3:ListAllMyBuckets",
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:ListSecrets",
            "sns:GetTopicAttributes",
            "sns:ListTopics",
            "sqs:GetQueueAttributes",
            "sqs:ListQueues",
            "sts:AssumeRole",
            "tag:GetResources",
        ]);
    }

    #[test]
    fn the_printed_policy_holds_exactly_the_catalog_and_is_valid() {
        for (mode, federation) in crate::catalog::every_mode() {
            let c = Components { mode, inventory: true, organizations: true, federation };
            let doc = permissions_policy(&c, &ctx());
            let printed: BTreeSet<String> = doc["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Effect"] == "Allow")
                .flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()))
                .collect();
            let catalog: BTreeSet<String> = permissions(&c).iter().map(|p| p.action.to_owned()).collect();
            assert_eq!(printed, catalog, "{mode:?}");
            let text = serde_json::to_string_pretty(&doc).unwrap();
            let diags = latch_iam::validate_file(&text, latch_iam::PolicyType::Identity);
            assert!(diags.iter().all(|d| !d.is_error()), "{mode:?}: {diags:?}");
            assert!(text.len() <= 10_240, "inline role policies are limited to 10,240 characters");
        }
        let trust = serde_json::to_string(&trust_policy("arn:aws:iam::999999999999:role/latch", "x".repeat(40).as_str())).unwrap();
        let diags = latch_iam::validate_file(&trust, latch_iam::PolicyType::Trust);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    }
}
