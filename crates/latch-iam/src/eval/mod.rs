//! Decides a request against a set of compiled policies following AWS's
//! policy evaluation logic, and says which statements decided it.

mod condition;
pub mod context;
pub(crate) mod date;
mod err;
pub(crate) mod ip;
mod kms;
mod logic;
mod prefetch;
pub mod principal;
pub(crate) mod statement;

pub use context::{Context, ContextValue, ValueRef};
pub use err::RequestError;
pub use logic::{decide, evaluate};
pub use principal::{Identity, PrincipalType};

use crate::ast::Effect;
use crate::compile::CompiledPolicy;

/// A request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `service:Action` as given.
    pub action: String,
    /// The resource ARN.
    pub resource: String,
    /// The account that owns the resource; `None` means the caller's own.
    pub resource_account: Option<String>,
    /// The caller.
    pub principal: Identity,
    /// Condition keys and values.
    pub context: Context,
    /// The service prefix's bit in statements' service masks.
    pub(crate) service_bit: u64,
    /// The pool of the policies this request is decided against, when the
    /// caller knows it (a batch case): read ahead as soon as the request is,
    /// without waiting for the policy lists that lead to it.
    pub(crate) read_ahead: ReadAhead,
}

/// A compiled pool to read ahead of a decision. Not part of what the
/// request asks: requests that differ only in it are equal.
#[derive(Clone, Default)]
pub(crate) struct ReadAhead(pub Option<crate::compile::Pool>);

impl PartialEq for ReadAhead {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ReadAhead {}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadAhead")
    }
}

impl Request {
    /// Builds a request.
    pub fn new(
        action: &str,
        resource: &str,
        resource_account: Option<&str>,
        principal: &str,
        context: Context,
    ) -> Result<Self, RequestError> {
        match action.split_once(':') {
            Some((svc, name)) if !svc.is_empty() && !name.is_empty() => {}
            _ => return Err(RequestError::BadAction(action.to_owned())),
        }
        if resource.is_empty() {
            return Err(RequestError::NoResource);
        }
        if principal.is_empty() {
            return Err(RequestError::NoPrincipal);
        }
        let service = action.split_once(':').map_or("", |(svc, _)| svc);
        Ok(Self {
            service_bit: crate::compile::service_bit(service),
            read_ahead: ReadAhead::default(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            resource_account: resource_account.map(str::to_owned),
            principal: Identity::parse(principal),
            context,
        })
    }

    /// Whether the caller and the resource are in the same account.
    pub fn same_account(&self) -> bool {
        match (&self.resource_account, &self.principal.account) {
            (None, _) => true,
            (Some(r), Some(p)) => r == p,
            (Some(_), None) => false,
        }
    }
}

/// An ordered list of compiled policies: a slice of policies, or a slice of
/// references to policies that many callers share (an inventory attaches
/// one managed policy to many principals; copying it per caller would cost
/// memory and time).
pub trait PolicyList {
    /// The policies, in order.
    fn policies(&self) -> impl Iterator<Item = &CompiledPolicy>;
    /// Whether the list is empty.
    fn is_empty(&self) -> bool;
}

impl PolicyList for [CompiledPolicy] {
    fn policies(&self) -> impl Iterator<Item = &CompiledPolicy> {
        self.iter()
    }
    fn is_empty(&self) -> bool {
        <[CompiledPolicy]>::is_empty(self)
    }
}

impl PolicyList for [&CompiledPolicy] {
    fn policies(&self) -> impl Iterator<Item = &CompiledPolicy> {
        self.iter().copied()
    }
    fn is_empty(&self) -> bool {
        <[&CompiledPolicy]>::is_empty(self)
    }
}

/// Everything that takes part in one decision. `P` is how the identity
/// policies and boundaries are held: by default a slice of policies; a slice
/// of references (`[&CompiledPolicy]`) lets callers share policies.
#[derive(Debug)]
pub struct EvalInput<'a, P: ?Sized = [CompiledPolicy]> {
    /// The request.
    pub request: &'a Request,
    /// Identity-based policies of the caller (managed and inline).
    pub identity_policies: &'a P,
    /// The resource's resource-based policy, if any.
    pub resource_policy: Option<&'a CompiledPolicy>,
    /// The caller's permissions boundary policies (none: no boundary).
    pub permission_boundaries: &'a P,
    /// The session policy, if the caller is a session that has one.
    pub session_policy: Option<&'a CompiledPolicy>,
    /// SCPs per organization level, root first; `None`: not in an organization.
    pub scps: Option<&'a [Vec<CompiledPolicy>]>,
    /// RCPs per organization level, root first; `None`: not in an organization.
    pub rcps: Option<&'a [Vec<CompiledPolicy>]>,
}

impl<P: ?Sized> Clone for EvalInput<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: ?Sized> Copy for EvalInput<'_, P> {}

impl<'a> EvalInput<'a> {
    /// Input with only a request and identity policies.
    pub fn new(request: &'a Request, identity_policies: &'a [CompiledPolicy]) -> Self {
        Self {
            request,
            identity_policies,
            resource_policy: None,
            permission_boundaries: &[],
            session_policy: None,
            scps: None,
            rcps: None,
        }
    }
}

/// The final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The request is allowed.
    Allowed,
    /// A statement denies the request.
    ExplicitlyDenied,
    /// Nothing allows the request.
    ImplicitlyDenied,
}

impl Outcome {
    /// The name used in the batch interface.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "Allowed",
            Outcome::ExplicitlyDenied => "ExplicitlyDenied",
            Outcome::ImplicitlyDenied => "ImplicitlyDenied",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Identity-based policy.
    Identity,
    /// Resource-based policy.
    Resource,
    /// Permissions boundary.
    Boundary,
    /// Session policy.
    Session,
    /// Service control policy.
    Scp,
    /// Resource control policy.
    Rcp,
}

impl PolicyKind {
    /// A name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity policy",
            PolicyKind::Resource => "resource policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Session => "session policy",
            PolicyKind::Scp => "SCP",
            PolicyKind::Rcp => "RCP",
        }
    }
}

/// Where a policy sits in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicySlot {
    /// The kind.
    pub kind: PolicyKind,
    /// For SCPs and RCPs, the organization level (0 = root).
    pub level: Option<usize>,
    /// Position among policies of its kind (and level).
    pub index: usize,
}

impl std::fmt::Display for PolicySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.level {
            Some(l) => write!(f, "{} #{} at level {l}", self.kind.as_str(), self.index),
            None => write!(f, "{} #{}", self.kind.as_str(), self.index),
        }
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// The policy.
    pub policy: PolicySlot,
    /// Position in the policy, from 0.
    pub statement: usize,
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
}

impl std::fmt::Display for StatementRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, statement #{}", self.policy, self.statement)?;
        if let Some(sid) = &self.sid {
            write!(f, " (`{sid}`)")?;
        }
        write!(f, ": {}", self.effect.as_str())
    }
}

/// The rule of the evaluation logic that settled the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A matching `Deny` statement in some policy.
    ExplicitDeny,
    /// An SCP level has no statement allowing the request.
    ScpNoAllow {
        /// The level (0 = root).
        level: usize,
    },
    /// A resource-based policy grants the caller (its own ARN or session).
    ResourcePolicyAllows,
    /// A resource-based policy names the caller's session itself: not
    /// limited by identity policies, boundary or session policy.
    ResourcePolicyAllowsSession,
    /// A resource-based policy grants the caller's role, and the boundary
    /// and session policy (if any) allow too.
    ResourcePolicyAllowsRole,
    /// Identity-based policies allow (and boundary and session policy, if
    /// any); for another account's resource, its resource policy allows too.
    IdentityAllows,
    /// No identity-based policy (nor resource-based policy) allows.
    NoIdentityAllow,
    /// The permissions boundary does not allow.
    BoundaryNoAllow,
    /// The session policy does not allow.
    SessionNoAllow,
    /// Cross-account request that the resource's policy does not allow.
    NoResourcePolicyAllow,
    /// A KMS key whose key policy allows neither the caller nor its account:
    /// identity policies have no effect on the key.
    KeyPolicyNoAllow,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::ExplicitDeny => f.write_str("an explicit deny in a policy overrides any allow"),
            Reason::ScpNoAllow { level } => write!(
                f,
                "no SCP at organization level {level} allows the action: implicit deny"
            ),
            Reason::ResourcePolicyAllows => f.write_str(
                "the resource-based policy allows the caller on its own (same account, or an AWS service principal)",
            ),
            Reason::ResourcePolicyAllowsSession => f.write_str(
                "the resource-based policy names the caller's session, which no identity policy, boundary or session policy limits",
            ),
            Reason::ResourcePolicyAllowsRole => f.write_str(
                "the resource-based policy allows the caller's role, and no boundary or session policy limits it",
            ),
            Reason::IdentityAllows => f.write_str("identity-based policies allow and nothing limits them"),
            Reason::NoIdentityAllow => f.write_str("no identity-based or resource-based policy allows the request: implicit deny"),
            Reason::BoundaryNoAllow => f.write_str("the permissions boundary does not allow the action: implicit deny"),
            Reason::SessionNoAllow => f.write_str("the session policy does not allow the action: implicit deny"),
            Reason::NoResourcePolicyAllow => f.write_str(
                "cross-account request: the resource-based policy does not allow the caller",
            ),
            Reason::KeyPolicyNoAllow => f.write_str(
                "the key policy allows neither the caller nor its account, and IAM policies grant access to a KMS key only where its key policy allows the account: implicit deny",
            ),
        }
    }
}

/// A decision and what made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allowed, explicitly denied or implicitly denied.
    pub outcome: Outcome,
    /// The rule that settled it.
    pub reason: Reason,
    /// The statements that decided it: every matching `Deny` for an explicit
    /// deny; the allowing statements of each policy kind that had to allow
    /// for an allow; none for an implicit deny.
    pub statements: Vec<StatementRef>,
}
