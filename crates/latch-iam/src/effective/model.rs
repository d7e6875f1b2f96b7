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
}
