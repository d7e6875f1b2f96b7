//! The answers: who can do something ([`Finding`]), what someone can do
//! ([`Capability`]), and the statements and assume-role paths behind them.

use super::err::Problem;
use crate::ast::Effect;
use crate::eval::{Outcome, PolicyKind, Reason};

/// Which policy a statement is in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyId {
    /// A managed policy, by ARN.
    Managed(String),
    /// A policy embedded in a user, group or role.
    Inline {
        /// The ARN of the user, group or role.
        owner: String,
        /// The policy name.
        name: String,
    },
    /// A role's trust policy, by the role's ARN.
    Trust(String),
    /// A resource-based policy, by the resource's ARN.
    Resource(String),
    /// A service control policy, by its ARN.
    Scp(String),
    /// A resource control policy, by its ARN.
    Rcp(String),
}

impl std::fmt::Display for PolicyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyId::Managed(arn) => write!(f, "managed policy `{arn}`"),
            PolicyId::Inline { owner, name } => write!(f, "inline policy `{name}` of `{owner}`"),
            PolicyId::Trust(role) => write!(f, "trust policy of `{role}`"),
            PolicyId::Resource(arn) => write!(f, "resource policy of `{arn}`"),
            PolicyId::Scp(arn) => write!(f, "SCP `{arn}`"),
            PolicyId::Rcp(arn) => write!(f, "RCP `{arn}`"),
        }
    }
}

/// One statement of one policy, as it took part in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementAt {
    /// The policy.
    pub policy: PolicyId,
    /// How the policy applies: identity policy, permissions boundary or
    /// resource policy (a trust policy is the role's resource policy).
    pub kind: PolicyKind,
    /// The group the policy reaches the principal through, if any.
    pub via_group: Option<String>,
    /// For an SCP or RCP: the root, OU or account it is attached to.
    pub attached_to: Option<String>,
    /// Position in the policy, from 0.
    pub statement: usize,
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
}

impl std::fmt::Display for StatementAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, statement #{}", self.policy, self.statement)?;
        if let Some(sid) = &self.sid {
            write!(f, " (`{sid}`)")?;
        }
        if let Some(group) = &self.via_group {
            write!(f, " through group `{group}`")?;
        }
        if let Some(target) = &self.attached_to {
            write!(f, " attached to `{target}`")?;
        }
        Ok(())
    }
}

/// An IAM user or role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// An IAM user.
    User,
    /// An IAM role, acting through a session.
    Role,
}

/// One `sts:AssumeRole` hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeStep {
    /// Who assumes (user or role ARN).
    pub principal: String,
    /// The role assumed.
    pub role: String,
    /// The statements that allowed it: the trust policy's, and the
    /// caller's own where the trust does not name the caller alone.
    pub statements: Vec<StatementAt>,
}

/// A chain of role assumptions, first hop first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssumePath {
    /// The hops.
    pub steps: Vec<AssumeStep>,
}

impl AssumePath {
    /// Who starts the chain.
    pub fn origin(&self) -> Option<&str> {
        self.steps.first().map(|s| s.principal.as_str())
    }

    /// The role the chain ends in.
    pub fn target(&self) -> Option<&str> {
        self.steps.last().map(|s| s.role.as_str())
    }
}

/// A principal that is allowed to make a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The user or role ARN.
    pub principal: String,
    /// User or role.
    pub entity: Entity,
    /// The rule of the evaluation logic that allowed it.
    pub reason: Reason,
    /// The statements that allowed it.
    pub statements: Vec<StatementAt>,
    /// For a role: the users and roles of the inventory that can assume it,
    /// directly or through other roles, each as a path ending in this role.
    pub assumed_by: Vec<AssumePath>,
    /// Problems with policies that apply here: the answer may be wrong
    /// where they hold a deny.
    pub caveats: Vec<Problem>,
}

/// How a permissions boundary bears on a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryFit {
    /// The principal has no boundary.
    None,
    /// The boundary allows everything the statement grants.
    Covers,
    /// The boundary allows only part of it (or only under conditions).
    Narrows,
}

/// An `Allow` statement that takes effect for a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The statement.
    pub statement: StatementAt,
    /// Its action patterns, limited to those the boundary lets through.
    pub actions: Vec<String>,
    /// `NotAction` rather than `Action`.
    pub not_action: bool,
    /// Its resource patterns (`*` when it names none).
    pub resources: Vec<String>,
    /// `NotResource` rather than `Resource`.
    pub not_resource: bool,
    /// Whether it has conditions.
    pub conditional: bool,
    /// How the permissions boundary bears on it.
    pub boundary: BoundaryFit,
    /// `Deny` statements whose scope may overlap it: the grant is narrower
    /// than it reads where one of them applies.
    pub narrowed_by: Vec<StatementAt>,
}

/// The engine's decision for one concrete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactDecision {
    /// The principal that makes the request (user or role ARN).
    pub principal: String,
    /// How the asked-about principal gets to act as `principal`: `None`
    /// for itself, else the roles it assumes.
    pub via: Option<AssumePath>,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The outcome.
    pub outcome: Outcome,
    /// The rule that settled it.
    pub reason: Reason,
    /// The statements that decided it.
    pub statements: Vec<StatementAt>,
}

/// Something a principal can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// A concrete request decided by the engine.
    Decision(ExactDecision),
    /// An `Allow` statement in effect.
    Allow(Grant),
    /// A role it can assume, directly or through other roles.
    AssumeRole(AssumePath),
    /// A policy that could not be taken into account: the answer may be
    /// incomplete.
    Incomplete(Problem),
}
