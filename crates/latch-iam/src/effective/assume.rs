//! Who can assume which role: the role's trust policy must allow the
//! caller, and, unless it names the caller in the same account, the
//! caller's own policies must allow `sts:AssumeRole` on it. Chains of roles
//! are followed breadth first, so each principal is reported with its
//! shortest path.

use std::collections::{HashMap, VecDeque};

use super::inventory::{Inventory, Principal};
use super::keys::merged;
use super::report::{AssumePath, AssumeStep, Entity, StatementAt};
use crate::compile::service_bit;
use crate::eval::{ContextValue, PolicyKind, Request};

/// The longest chain of roles followed.
pub const MAX_HOPS: usize = 8;

/// One hop found: who assumes the role, and the statements that allow it.
type Hop = (usize, Vec<StatementAt>);

/// Assume-role questions for one request context, remembering the
/// callers of each role asked about.
pub(super) struct Assume<'a> {
    inv: &'a Inventory,
    keys: &'a [(String, ContextValue)],
    callers: HashMap<usize, Vec<Hop>>,
}

impl<'a> Assume<'a> {
    pub fn new(inv: &'a Inventory, keys: &'a [(String, ContextValue)]) -> Self {
        Self {
            inv,
            keys,
            callers: HashMap::new(),
        }
    }

    /// Whether `caller` can assume `role`, and the statements that allow it.
    fn can(&self, caller: usize, role: usize) -> Option<Vec<StatementAt>> {
        let c = self.inv.principals.get(caller)?;
        let r = self.inv.principals.get(role)?;
        let trust = r.trust.as_ref()?.policy;
        let req = Request {
            action: "sts:AssumeRole".to_owned(),
            resource: r.arn.clone(),
            resource_account: Some(r.account.clone()),
            principal: c.caller.clone(),
            context: merged(&c.context, self.keys),
            service_bit: service_bit("sts"),
            read_ahead: Default::default(),
        };
        let d = self.inv.decision(c, &req, Some(trust), false)?;
        // Unlike other resource policies, a trust policy must allow the
        // caller even in its own account: the caller's policies alone do not
        // let it assume the role.
        if !d
            .statements
            .iter()
            .any(|s| s.policy.kind == PolicyKind::Resource)
        {
            return None;
        }
        Some(self.inv.statements(c, &req, Some(trust), &d.statements))
    }

    /// The principals that may be allowed to assume `role`: those its trust
    /// names, and those of the accounts it names whose policies may allow
    /// `sts:AssumeRole`.
    fn candidates(&self, role: &Principal) -> Vec<usize> {
        let Some(t) = &role.trust else {
            return Vec::new();
        };
        if t.reach.all {
            return (0..self.inv.principals.len()).collect();
        }
        let mut out = t.reach.principals.clone();
        if !t.reach.accounts.is_empty() {
            for &i in &self.inv.may_assume {
                let in_account = self
                    .inv
                    .principals
                    .get(i)
                    .is_some_and(|p| t.reach.accounts.contains(&p.account));
                if in_account {
                    out.push(i);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Who can assume `role` directly.
    fn callers_of(&mut self, role: usize) -> &[Hop] {
        if !self.callers.contains_key(&role) {
            let found: Vec<Hop> = match self.inv.principals.get(role) {
                Some(r) => self
                    .candidates(r)
                    .into_iter()
                    .filter_map(|c| Some((c, self.can(c, role)?)))
                    .collect(),
                None => Vec::new(),
            };
            self.callers.insert(role, found);
        }
        self.callers.get(&role).map_or(&[], Vec::as_slice)
    }

    /// Every principal that can reach `role`, each by its shortest chain.
    pub fn paths_to(&mut self, role: usize) -> Vec<AssumePath> {
        // next[p]: the role p assumes on its way, and the hop's statements.
        let mut next: HashMap<usize, (usize, Vec<StatementAt>)> = HashMap::new();
        let mut order = Vec::new();
        let mut queue = VecDeque::from([(role, 0usize)]);
        while let Some((r, depth)) = queue.pop_front() {
            if depth >= MAX_HOPS {
                continue;
            }
            let hops = self.callers_of(r).to_vec();
            for (c, statements) in hops {
                if c == role || next.contains_key(&c) {
                    continue;
                }
                next.insert(c, (r, statements));
                order.push(c);
                if self.is_role(c) {
                    queue.push_back((c, depth + 1));
                }
            }
        }
        order
            .into_iter()
            .map(|start| {
                let mut steps = Vec::new();
                let mut at = start;
                while let Some((r, statements)) = next.get(&at) {
                    steps.push(self.step(at, *r, statements.clone()));
                    if *r == role {
                        break;
                    }
                    at = *r;
                }
                AssumePath { steps }
            })
            .collect()
    }

    /// Every role `start` can reach, each by its shortest chain.
    pub fn paths_from(&self, start: usize) -> Vec<AssumePath> {
        let mut prev: HashMap<usize, (usize, Vec<StatementAt>)> = HashMap::new();
        let mut order = Vec::new();
        let mut queue = VecDeque::from([(start, 0usize)]);
        while let Some((p, depth)) = queue.pop_front() {
            if depth >= MAX_HOPS {
                continue;
            }
            for role in self.trusting(p) {
                if role == start || prev.contains_key(&role) {
                    continue;
                }
                if let Some(statements) = self.can(p, role) {
                    prev.insert(role, (p, statements));
                    order.push(role);
                    queue.push_back((role, depth + 1));
                }
            }
        }
        order
            .into_iter()
            .map(|end| {
                let mut steps = Vec::new();
                let mut at = end;
                while let Some((p, statements)) = prev.get(&at) {
                    steps.push(self.step(*p, at, statements.clone()));
                    if *p == start {
                        break;
                    }
                    at = *p;
                }
                steps.reverse();
                AssumePath { steps }
            })
            .collect()
    }

    /// Roles whose trust may admit principal `p`.
    fn trusting(&self, p: usize) -> Vec<usize> {
        let inv = self.inv;
        let Some(who) = inv.principals.get(p) else {
            return Vec::new();
        };
        let mut out = inv.trusted_by_all.clone();
        out.extend(
            inv.trusted_by_account
                .get(&who.account)
                .into_iter()
                .flatten(),
        );
        out.extend(inv.trusted_by_principal.get(&p).into_iter().flatten());
        out.sort_unstable();
        out.dedup();
        out
    }

    fn is_role(&self, p: usize) -> bool {
        self.inv
            .principals
            .get(p)
            .is_some_and(|p| p.entity == Entity::Role)
    }

    fn step(&self, caller: usize, role: usize, statements: Vec<StatementAt>) -> AssumeStep {
        let arn = |i: usize| {
            self.inv
                .principals
                .get(i)
                .map(|p| p.arn.clone())
                .unwrap_or_default()
        };
        AssumeStep {
            principal: arn(caller),
            role: arn(role),
            statements,
        }
    }
}
