//! "What can": for one principal, the `Allow` statements in effect (its own
//! and its groups', within its boundary), the denies that narrow them, the
//! roles it can assume, and, for a concrete request, the engine's decision.

use super::assume::Assume;
use super::err::QueryError;
use super::inventory::{Boundary, Inventory, Principal};
use super::keys::{merged, request_keys};
use super::report::{BoundaryFit, Capability, ExactDecision, Grant, PolicyId, StatementAt};
use super::scan::grants;
use super::scope::{actions_of, Scope, Set};
use crate::ast::Effect;
use crate::compile::{CompiledPolicy, CompiledStatement};
use crate::eval::statement::{action_matches, resource_matches};
use crate::eval::{Context, PolicyKind, Request};

/// What [`Inventory::what_can`] lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only grants that may cover this action. A concrete action
    /// (`s3:GetObject`) is matched as the engine matches it; a pattern
    /// (`s3:*`, `s3:Get*`) keeps grants that may share an action with it.
    pub action: Option<String>,
    /// With a concrete action: only grants whose resources match this one,
    /// and the engine's decision for the request (for the principal and for
    /// each role it can assume).
    pub resource: Option<String>,
    /// The request's condition keys; the principal's own are filled in.
    pub context: Context,
}

/// How statements are picked.
enum Pick {
    All,
    Pattern(String),
    Exact { req: Box<Request>, resource: bool },
}

impl Inventory {
    /// What `principal` (a user, role or role-session ARN) can do:
    /// with a concrete action and a resource, the engine's decisions first;
    /// then the `Allow` statements in effect, then the roles it can assume
    /// (directly or through other roles), then problems that may make the
    /// answer incomplete.
    pub fn what_can(
        &self,
        principal: &str,
        filter: &Filter,
    ) -> Result<Vec<Capability>, QueryError> {
        let idx = self
            .lookup(principal)
            .ok_or_else(|| QueryError::UnknownPrincipal(principal.to_owned()))?;
        let p = self
            .principals
            .get(idx)
            .ok_or_else(|| QueryError::UnknownPrincipal(principal.to_owned()))?;
        let keys = request_keys(&filter.context);
        let assume = Assume::new(self, &keys);
        let paths = assume.paths_from(idx);
        let mut out = Vec::new();
        let concrete = filter.action.as_deref().filter(|a| !a.contains(['*', '?']));
        let pick = match (concrete, &filter.action) {
            (Some(action), _) => {
                let resource = filter.resource.as_deref().unwrap_or("*");
                let (target, template) = self.template(action, resource)?;
                if filter.resource.is_some() {
                    let policy = target.map(|t| t.policy);
                    let starts =
                        std::iter::once((idx, None)).chain(paths.iter().filter_map(|path| {
                            Some((self.lookup(path.target()?)?, Some(path.clone())))
                        }));
                    for (i, via) in starts {
                        let Some(who) = self.principals.get(i) else {
                            continue;
                        };
                        let req = self.request_for(who, &template, &keys);
                        let Some(d) = self.decision(who, &req, policy, true) else {
                            continue;
                        };
                        out.push(Capability::Decision(ExactDecision {
                            principal: who.arn.clone(),
                            via,
                            action: action.to_owned(),
                            resource: resource.to_owned(),
                            outcome: d.outcome,
                            reason: d.reason,
                            statements: self.statements(who, &req, policy, &d.statements),
                        }));
                    }
                }
                Pick::Exact {
                    req: Box::new(self.request_for(p, &template, &keys)),
                    resource: filter.resource.is_some(),
                }
            }
            (None, Some(pattern)) => Pick::Pattern(pattern.clone()),
            (None, None) => Pick::All,
        };
        out.extend(self.grants(p, &pick).into_iter().map(Capability::Allow));
        out.extend(paths.into_iter().map(Capability::AssumeRole));
        let mut caveats = p.caveats.clone();
        caveats.extend(
            self.scp_chain(p)
                .map(|c| c.caveats.as_slice())
                .unwrap_or(&[]),
        );
        out.extend(
            self.problem_list(&caveats)
                .into_iter()
                .map(Capability::Incomplete),
        );
        Ok(out)
    }

    fn request_for(
        &self,
        p: &Principal,
        template: &Request,
        keys: &[(String, crate::eval::ContextValue)],
    ) -> Request {
        Request {
            principal: p.caller.clone(),
            context: merged(&p.context, keys),
            ..template.clone()
        }
    }

    /// Statements of `p`'s policies (and boundary) with where they sit.
    fn statements_of<'a>(
        &'a self,
        p: &'a Principal,
    ) -> impl Iterator<Item = (StatementAt, &'a CompiledPolicy, &'a CompiledStatement)> + 'a {
        let identity = p
            .policies
            .iter()
            .map(|a| (a.policy, a.via_group, PolicyKind::Identity));
        let boundary = match p.boundary {
            Some(Boundary::Policy(i)) => Some((i, None, PolicyKind::Boundary)),
            _ => None,
        };
        identity
            .chain(boundary)
            .flat_map(move |(policy, via_group, kind)| {
                let stored = self.policies.get(policy);
                let id: Option<PolicyId> = stored.map(|s| s.id.clone());
                let group = via_group.and_then(|g| self.groups.get(g).cloned());
                stored
                    .and_then(|s| s.compiled.as_ref())
                    .into_iter()
                    .flat_map(move |c| {
                        let id = id.clone();
                        let group = group.clone();
                        c.statements().iter().filter_map(move |s| {
                            let at = StatementAt {
                                policy: id.clone()?,
                                kind,
                                via_group: group.clone(),
                                attached_to: None,
                                statement: s.index,
                                sid: s.sid.as_deref().map(str::to_owned),
                                effect: s.effect,
                            };
                            Some((at, c, s))
                        })
                    })
            })
    }

    /// The `Allow` statements of `p`'s identity policies in effect.
    fn grants(&self, p: &Principal, pick: &Pick) -> Vec<Grant> {
        let mut denies = Vec::new();
        let mut bounds = Vec::new();
        let mut allows = Vec::new();
        for (at, c, s) in self.statements_of(p) {
            match (at.kind, at.effect) {
                (_, Effect::Deny) => denies.push(Scope::of(c, s, at)),
                (PolicyKind::Boundary, Effect::Allow) if grants(s) => {
                    bounds.push(Scope::of(c, s, at))
                }
                (PolicyKind::Identity, Effect::Allow) if grants(s) && picked(pick, c, s) => {
                    allows.push(Scope::of(c, s, at))
                }
                _ => {}
            }
        }
        // An SCP's deny narrows every grant of the account's principals.
        if let Some(chain) = self.scp_chain(p).filter(|c| c.scps.is_some()) {
            for (level, ids) in chain.scp_ids.iter().enumerate() {
                for &i in ids {
                    let Some(stored) = self.policies.get(i) else {
                        continue;
                    };
                    let Some(c) = stored.compiled.as_ref() else {
                        continue;
                    };
                    for s in c.statements().iter().filter(|s| s.effect == Effect::Deny) {
                        let at = StatementAt {
                            policy: stored.id.clone(),
                            kind: PolicyKind::Scp,
                            via_group: None,
                            attached_to: chain.targets.get(level).cloned(),
                            statement: s.index,
                            sid: s.sid.as_deref().map(str::to_owned),
                            effect: s.effect,
                        };
                        denies.push(Scope::of(c, s, at));
                    }
                }
            }
        }
        let has_boundary = p.boundary.is_some();
        allows
            .into_iter()
            .filter_map(|a| {
                let (actions, boundary) = if has_boundary {
                    a.within(&bounds)?
                } else {
                    (a.actions.patterns.clone(), BoundaryFit::None)
                };
                let narrowed_by = denies
                    .iter()
                    .filter(|d| d.overlaps(&a))
                    .map(|d| d.at.clone())
                    .collect();
                Some(Grant {
                    actions,
                    not_action: a.actions.not,
                    resources: a.resources.patterns,
                    not_resource: a.resources.not,
                    conditional: a.conditional,
                    boundary,
                    narrowed_by,
                    statement: a.at,
                })
            })
            .collect()
    }
}

fn picked(pick: &Pick, c: &CompiledPolicy, s: &CompiledStatement) -> bool {
    match pick {
        Pick::All => true,
        Pick::Pattern(p) => actions_of(c, s).overlaps(&Set::one(p, true)),
        Pick::Exact { req, resource } => {
            action_matches(s, &c.pool, req) && (!resource || resource_matches(s, &c.pool, req))
        }
    }
}
