//! What an inventory is built from: IAM users, roles and groups with the
//! policies attached to them, managed policies, and resource-based policies,
//! as plain data with policy documents as JSON text. Nothing here is
//! compiled or checked; [`super::Inventory::build`] does that.

/// Everything an [`super::Inventory`] is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// IAM users.
    pub users: Vec<UserSpec>,
    /// IAM roles.
    pub roles: Vec<RoleSpec>,
    /// IAM groups.
    pub groups: Vec<GroupSpec>,
    /// Managed policies (customer and AWS managed), with the document of
    /// their default version.
    pub managed_policies: Vec<ManagedPolicy>,
    /// Resource-based policies.
    pub resource_policies: Vec<ResourcePolicy>,
    /// AWS Organizations organizations the accounts are in, with their
    /// SCPs and RCPs. An account in none is not in an organization.
    pub organizations: Vec<Organization>,
}

/// An IAM user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    /// `arn:aws:iam::ACCOUNT:user/PATH/NAME`.
    pub arn: String,
    /// The unique id (`AIDA…`), the value of `aws:userid`, if known.
    pub id: Option<String>,
    /// Tags, the values of `aws:PrincipalTag/KEY`.
    pub tags: Vec<(String, String)>,
    /// ARNs of the groups the user belongs to.
    pub groups: Vec<String>,
    /// Inline policies.
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of the attached managed policies.
    pub managed_policies: Vec<String>,
    /// ARN of the managed policy set as permissions boundary.
    pub permissions_boundary: Option<String>,
}

/// An IAM role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSpec {
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
    pub arn: String,
    /// The unique id (`AROA…`), if known.
    pub id: Option<String>,
    /// Tags, the values of `aws:PrincipalTag/KEY` for its sessions.
    pub tags: Vec<(String, String)>,
    /// The trust policy (`AssumeRolePolicyDocument`) as JSON text.
    pub trust_policy: String,
    /// Inline policies.
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of the attached managed policies.
    pub managed_policies: Vec<String>,
    /// ARN of the managed policy set as permissions boundary.
    pub permissions_boundary: Option<String>,
}

/// An IAM group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSpec {
    /// `arn:aws:iam::ACCOUNT:group/PATH/NAME`.
    pub arn: String,
    /// Inline policies.
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of the attached managed policies.
    pub managed_policies: Vec<String>,
}

/// A policy embedded in one user, group or role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlinePolicy {
    /// The policy name.
    pub name: String,
    /// The document as JSON text.
    pub document: String,
}

/// A managed policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The policy ARN.
    pub arn: String,
    /// The default version's document as JSON text.
    pub document: String,
}

/// A resource-based policy (bucket policy, key policy, queue policy, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcePolicy {
    /// The ARN of the resource the policy is set on. For an S3 bucket, the
    /// bucket's ARN; it also governs the bucket's objects.
    pub resource: String,
    /// The account that owns the resource, when its ARN does not say (S3).
    pub account: Option<String>,
    /// The document as JSON text.
    pub document: String,
    /// Set when the policy exists but could not be read: why. It is then
    /// reported, and allows nothing.
    pub unreadable: Option<String>,
}

/// An AWS Organizations organization: its service and resource control
/// policies and where in the hierarchy they are attached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    /// The management account: "SCPs don't affect users or roles in the
    /// management account", nor RCPs its resources.
    pub management_account: String,
    /// Whether the root has the SCP policy type enabled; if not, no SCP
    /// applies.
    pub scps_enabled: bool,
    /// Whether the root has the RCP policy type enabled; if not, no RCP
    /// applies.
    pub rcps_enabled: bool,
    /// The SCPs and RCPs.
    pub policies: Vec<OrgPolicy>,
    /// The member accounts, each with the levels above it.
    pub accounts: Vec<OrgAccount>,
}

/// Whether an organization policy is an SCP or an RCP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrgPolicyKind {
    /// A service control policy: limits the principals of the accounts.
    #[default]
    Scp,
    /// A resource control policy: limits access to the accounts' resources.
    Rcp,
}

/// An SCP or RCP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgPolicy {
    /// The policy's ARN (or id): how levels name it.
    pub arn: String,
    /// SCP or RCP.
    pub kind: OrgPolicyKind,
    /// The document as JSON text.
    pub document: String,
}

/// A member account and the levels of the organization above it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgAccount {
    /// The account id.
    pub account: String,
    /// The root first, then each OU down to the account's, then the
    /// account itself.
    pub levels: Vec<OrgLevel>,
}

/// One level of the hierarchy: a root, OU or account and the policies
/// attached to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgLevel {
    /// The root, OU or account id.
    pub target: String,
    /// The ARNs of the SCPs and RCPs attached to it.
    pub policies: Vec<String>,
}
