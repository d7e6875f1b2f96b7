//! The built inventory: every policy compiled once, each principal with the
//! policies that apply to it in evaluation order, and the indexes questions
//! use to skip principals that cannot be allowed. Immutable once built, so
//! one inventory serves any number of threads.

use std::collections::HashMap;

use super::err::Problem;
use super::report::{Entity, PolicyId, StatementAt};
use super::scan::Services;
use crate::compile::CompiledPolicy;
use crate::eval::{
    decide, evaluate, Context, Decision, EvalInput, Identity, Outcome, PolicyKind, Request,
    StatementRef,
};

/// Users, roles, groups and policies, compiled and indexed for
/// [`Inventory::who_can`] and [`Inventory::what_can`].
#[derive(Debug)]
pub struct Inventory {
    pub(super) policies: Vec<Stored>,
    pub(super) principals: Vec<Principal>,
    /// Group ARNs, by index.
    pub(super) groups: Vec<String>,
    /// Principal index by user or role ARN.
    pub(super) by_arn: HashMap<String, usize>,
    /// Role index by (account, role name), for session ARNs.
    pub(super) roles_by_name: HashMap<(String, String), usize>,
    /// Principals whose identity policies may grant a service (lowercase
    /// prefix), in index order.
    pub(super) by_service: HashMap<Box<str>, Vec<usize>>,
    /// Principals whose identity policies may grant any service.
    pub(super) any_service: Vec<usize>,
    /// Principals whose identity policies (within their boundary) may
    /// allow `sts:AssumeRole`.
    pub(super) may_assume: Vec<usize>,
    /// Resource policies by resource ARN.
    pub(super) resources: HashMap<String, Resource>,
    /// Roles whose trust names everyone.
    pub(super) trusted_by_all: Vec<usize>,
    /// Roles whose trust names an account.
    pub(super) trusted_by_account: HashMap<String, Vec<usize>>,
    /// Roles whose trust names a principal (by index).
    pub(super) trusted_by_principal: HashMap<usize, Vec<usize>>,
    /// SCPs and RCPs above each member account, by account id.
    pub(super) chains: HashMap<String, Chain>,
    pub(super) problems: Vec<Problem>,
    /// Stands in for a boundary that cannot be read: a boundary that allows
    /// nothing, so nothing is allowed through it (fail closed).
    pub(super) nothing: CompiledPolicy,
    /// Stands in for the identity policies of a caller outside the
    /// inventory: whatever its own account allows, taken as everything.
    pub(super) anything: CompiledPolicy,
}

/// A policy as stored.
#[derive(Debug)]
pub(super) struct Stored {
    pub id: PolicyId,
    /// `None`: unreadable.
    pub compiled: Option<CompiledPolicy>,
    pub services: Services,
    /// Its problems, by index in [`Inventory::problems`].
    pub problems: Vec<usize>,
}

/// A policy attached to a principal, directly or through a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Attached {
    pub policy: usize,
    pub via_group: Option<usize>,
}

/// A principal's permissions boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Boundary {
    /// A readable policy.
    Policy(usize),
    /// Set, but missing or unreadable.
    Unknown,
}

/// Who a resource or trust policy names, resolved to the inventory.
#[derive(Debug, Clone, Default)]
pub(super) struct Reach {
    pub all: bool,
    pub accounts: Vec<String>,
    pub principals: Vec<usize>,
}

/// A role's readable trust policy.
#[derive(Debug)]
pub(super) struct Trust {
    pub policy: usize,
    pub reach: Reach,
}

/// A resource with a resource-based policy.
#[derive(Debug)]
pub(super) struct Resource {
    pub account: Option<String>,
    /// Its policy, by index in [`Inventory::policies`]. An unreadable one
    /// stands for a policy that allows nothing (fail closed).
    pub policy: usize,
    pub reach: Reach,
    pub caveats: Vec<usize>,
}

/// The organization levels above one member account, root first, each
/// with its SCPs and RCPs (copies, as the engine takes them, and their
/// indexes in [`Inventory::policies`] to name them).
#[derive(Debug, Default)]
pub(super) struct Chain {
    /// `None`: SCPs are not enabled.
    pub scps: Option<Vec<Vec<CompiledPolicy>>>,
    /// `None`: RCPs are not enabled.
    pub rcps: Option<Vec<Vec<CompiledPolicy>>>,
    /// INVARIANT: the same shape as `scps`: `scp_ids[l][i]` is the stored
    /// policy of `scps[l][i]` (`usize::MAX` where it is missing), and
    /// `targets[l]` is level l's root, OU or account. Same for RCPs.
    pub scp_ids: Vec<Vec<usize>>,
    pub rcp_ids: Vec<Vec<usize>>,
    pub targets: Vec<String>,
    /// Problems of the SCPs and RCPs: missing or unreadable policies.
    pub caveats: Vec<usize>,
}

/// The services whose resources RCPs govern ("List of AWS services that
/// support RCPs"); for other services an RCP has no effect.
const RCP_SERVICES: &[&str] = &[
    "s3",
    "sts",
    "sqs",
    "kms",
    "secretsmanager",
    "ecr",
    "aoss",
    "cognito-identity",
    "logs",
    "dynamodb",
];

/// Whether a role ARN names a service-linked role: AWS creates them under
/// the reserved path `/aws-service-role/`.
fn is_service_linked(role_arn: &str) -> bool {
    role_arn
        .split_once(":role/")
        .is_some_and(|(_, path)| path.starts_with("aws-service-role/"))
}

/// A user or role.
#[derive(Debug)]
pub(super) struct Principal {
    pub arn: String,
    pub entity: Entity,
    pub account: String,
    /// The caller: the user, or a session of the role.
    pub caller: Identity,
    /// Readable identity policies, own then through groups, no repeats.
    pub policies: Vec<Attached>,
    pub boundary: Option<Boundary>,
    pub trust: Option<Trust>,
    /// The caller-derived condition keys.
    pub context: Context,
    /// Problems of policies that apply, by index in `problems`.
    pub caveats: Vec<usize>,
}

impl Inventory {
    /// Problems found while building: unreadable, unevaluable or missing
    /// policies, unknown groups. None of them allows anything.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The number of users and roles.
    pub fn principal_count(&self) -> usize {
        self.principals.len()
    }

    /// The number of policies (identity, trust and resource policies).
    pub fn policy_count(&self) -> usize {
        self.policies.len()
    }

    pub(super) fn compiled(&self, policy: usize) -> Option<&CompiledPolicy> {
        self.policies.get(policy)?.compiled.as_ref()
    }

    pub(super) fn problem_list(&self, ids: &[usize]) -> Vec<Problem> {
        ids.iter()
            .filter_map(|&i| self.problems.get(i).cloned())
            .collect()
    }

    /// The principal an ARN names: a user, a role, or a role's session.
    pub(super) fn lookup(&self, arn: &str) -> Option<usize> {
        if let Some(&i) = self.by_arn.get(arn) {
            return Some(i);
        }
        let id = Identity::parse(arn);
        let account = id.account?;
        let name = id.role_name?;
        self.roles_by_name.get(&(account, name)).copied()
    }

    /// Decides `req` for `p` with the resource (or trust) policy `resource`.
    pub(super) fn decision(
        &self,
        p: &Principal,
        req: &Request,
        resource: Option<usize>,
        full: bool,
    ) -> Option<Decision> {
        // INVARIANT: position i of `identity` is `p.policies[i]`, so the
        // engine's statement slots map back to policies.
        let identity: Vec<&CompiledPolicy> = p
            .policies
            .iter()
            .map(|a| self.compiled(a.policy).unwrap_or(&self.nothing))
            .collect();
        let boundary: Vec<&CompiledPolicy> = match p.boundary {
            None => Vec::new(),
            Some(Boundary::Policy(i)) => vec![self.compiled(i).unwrap_or(&self.nothing)],
            Some(Boundary::Unknown) => vec![&self.nothing],
        };
        let input = EvalInput {
            request: req,
            identity_policies: identity.as_slice(),
            resource_policy: resource.map(|i| self.compiled(i).unwrap_or(&self.nothing)),
            permission_boundaries: boundary.as_slice(),
            session_policy: None,
            scps: self.scp_chain(p).and_then(|c| c.scps.as_deref()),
            rcps: self.rcp_chain(p, req).and_then(|c| c.rcps.as_deref()),
        };
        if !full && decide(&input) != Outcome::Allowed {
            return None;
        }
        Some(evaluate(&input))
    }

    /// The SCPs that limit `p`: those above its account, if it is a member.
    /// "SCPs do not affect service-linked roles" (AWS Organizations User
    /// Guide), whose path is `/aws-service-role/`.
    pub(super) fn scp_chain(&self, p: &Principal) -> Option<&Chain> {
        if p.entity == Entity::Role && is_service_linked(&p.arn) {
            return None;
        }
        self.chains.get(&p.account)
    }

    /// The RCPs that govern `req`'s resource: those above the resource's
    /// account (the caller's when the request does not say), for the
    /// services RCPs support.
    pub(super) fn rcp_chain(&self, p: &Principal, req: &Request) -> Option<&Chain> {
        self.rcp_chain_of(
            &req.action,
            req.resource_account.as_deref().unwrap_or(&p.account),
        )
    }

    /// The RCPs above `account` that govern `action`, if RCPs govern its
    /// service.
    pub(super) fn rcp_chain_of(&self, action: &str, account: &str) -> Option<&Chain> {
        let service = action.split_once(':').map_or("", |(s, _)| s);
        if !RCP_SERVICES.iter().any(|s| s.eq_ignore_ascii_case(service)) {
            return None;
        }
        self.chains.get(account)
    }

    /// Problems of the SCPs and RCPs that bear on `req` for `p`.
    pub(super) fn org_caveats(&self, p: &Principal, req: &Request) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .scp_chain(p)
            .map(|c| c.caveats.clone())
            .unwrap_or_default();
        out.extend(
            self.rcp_chain(p, req)
                .map(|c| c.caveats.as_slice())
                .unwrap_or(&[]),
        );
        out
    }

    /// The engine's statement references as inventory statements; `req` is
    /// the request they decided.
    pub(super) fn statements(
        &self,
        p: &Principal,
        req: &Request,
        resource: Option<usize>,
        refs: &[StatementRef],
    ) -> Vec<StatementAt> {
        refs.iter()
            .filter_map(|r| {
                let mut attached_to = None;
                let (policy, via_group) = match r.policy.kind {
                    PolicyKind::Identity => {
                        let a = p.policies.get(r.policy.index)?;
                        (a.policy, a.via_group)
                    }
                    PolicyKind::Boundary => match p.boundary {
                        Some(Boundary::Policy(i)) => (i, None),
                        _ => return None,
                    },
                    PolicyKind::Resource => (resource?, None),
                    PolicyKind::Scp | PolicyKind::Rcp => {
                        let scp = r.policy.kind == PolicyKind::Scp;
                        let chain = if scp {
                            self.scp_chain(p)?
                        } else {
                            self.rcp_chain(p, req)?
                        };
                        let level = r.policy.level?;
                        let ids = if scp { &chain.scp_ids } else { &chain.rcp_ids };
                        attached_to = chain.targets.get(level).cloned();
                        (*ids.get(level)?.get(r.policy.index)?, None)
                    }
                    PolicyKind::Session => return None,
                };
                Some(StatementAt {
                    policy: self.policies.get(policy)?.id.clone(),
                    kind: r.policy.kind,
                    via_group: via_group.and_then(|g| self.groups.get(g).cloned()),
                    attached_to,
                    statement: r.statement,
                    sid: r.sid.clone(),
                    effect: r.effect,
                })
            })
            .collect()
    }
}
