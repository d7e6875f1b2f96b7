//! Builds an [`Inventory`] from [`Sources`]: compiles every document once,
//! records what cannot be read, wires policies to principals, and builds
//! the service and trust indexes.

use std::collections::{HashMap, HashSet};

use super::err::{BuildError, Problem};
use super::inventory::{
    Attached, Boundary, Chain, Inventory, Principal, Reach, Resource, Stored, Trust,
};
use super::keys::{caller_arn, name_of, principal_context, Who};
use super::model::{InlinePolicy, OrgPolicyKind, Organization, Sources};
use super::report::{Entity, PolicyId};
use super::scan::{self, Named};
use crate::ast::{OneOrMany, Policy};
use crate::compile::CompiledPolicy;
use crate::eval::{Identity, PrincipalType};
use crate::json::Loc;
use crate::validate::PolicyType;

/// The action whose trust statements let a principal assume a role.
const ASSUME: &str = "sts:assumerole";

impl Inventory {
    /// Compiles every policy once and indexes the inventory.
    ///
    /// A policy that cannot be read, or a statement that cannot be
    /// evaluated, is listed in [`Inventory::problems`] and never allows; a
    /// boundary that cannot be read (or is missing) lets nothing through.
    /// Fails only on input that is not an inventory: a user or role ARN
    /// that is not one, something given twice, or one managed policy ARN
    /// with two documents.
    pub fn build(src: &Sources) -> Result<Inventory, BuildError> {
        let mut b = Builder::default();
        let mut managed: HashMap<&str, (usize, &str)> = HashMap::new();
        for m in &src.managed_policies {
            match managed.get(m.arn.as_str()) {
                Some((_, doc)) if *doc == m.document => {}
                Some(_) => return Err(BuildError::ConflictingPolicy { arn: m.arn.clone() }),
                None => {
                    let i = b.add(
                        PolicyId::Managed(m.arn.clone()),
                        &m.document,
                        PolicyType::Identity,
                    );
                    managed.insert(&m.arn, (i, &m.document));
                }
            }
        }
        let managed: HashMap<&str, usize> = managed.into_iter().map(|(k, (i, _))| (k, i)).collect();

        let mut groups: HashMap<&str, usize> = HashMap::new();
        let mut group_policies: Vec<(Vec<Attached>, Vec<usize>)> = Vec::new();
        for g in &src.groups {
            if groups.insert(&g.arn, b.groups.len()).is_some() {
                return Err(BuildError::Duplicate { arn: g.arn.clone() });
            }
            b.groups.push(g.arn.clone());
            group_policies.push(b.attach(
                &g.arn,
                &g.inline_policies,
                &g.managed_policies,
                &managed,
            ));
        }

        for u in &src.users {
            let (mut policies, mut caveats) =
                b.attach(&u.arn, &u.inline_policies, &u.managed_policies, &managed);
            for g in &u.groups {
                let Some((gi, (gp, gc))) = groups
                    .get(g.as_str())
                    .and_then(|&gi| Some((gi, group_policies.get(gi)?)))
                else {
                    caveats.push(b.problem(Problem::MissingGroup {
                        user: u.arn.clone(),
                        group: g.clone(),
                    }));
                    continue;
                };
                for &Attached { policy, .. } in gp {
                    if !policies.iter().any(|a: &Attached| a.policy == policy) {
                        policies.push(Attached {
                            policy,
                            via_group: Some(gi),
                        });
                    }
                }
                caveats.extend(gc);
            }
            let entity = Entity::User;
            let boundary = b.boundary(
                &u.arn,
                u.permissions_boundary.as_deref(),
                &managed,
                &mut caveats,
            );
            let who = Who {
                entity,
                arn: &u.arn,
                account: "",
                id: u.id.as_deref(),
                tags: &u.tags,
            };
            b.principal(who, policies, boundary, None, caveats)?;
        }
        for r in &src.roles {
            let (policies, mut caveats) =
                b.attach(&r.arn, &r.inline_policies, &r.managed_policies, &managed);
            let boundary = b.boundary(
                &r.arn,
                r.permissions_boundary.as_deref(),
                &managed,
                &mut caveats,
            );
            let trust = b.add(
                PolicyId::Trust(r.arn.clone()),
                &r.trust_policy,
                PolicyType::Trust,
            );
            caveats.extend(b.stored_problems(trust));
            let trust = b.readable(trust);
            let who = Who {
                entity: Entity::Role,
                arn: &r.arn,
                account: "",
                id: r.id.as_deref(),
                tags: &r.tags,
            };
            b.principal(who, policies, boundary, trust, caveats)?;
        }

        let mut pending = Vec::new();
        for rp in &src.resource_policies {
            if pending
                .iter()
                .any(|(arn, _, _): &(&str, _, _)| *arn == rp.resource)
            {
                return Err(BuildError::Duplicate {
                    arn: rp.resource.clone(),
                });
            }
            let document = rp
                .unreadable
                .as_deref()
                .map_or(Ok(rp.document.as_str()), Err);
            let i = b.add_or(
                PolicyId::Resource(rp.resource.clone()),
                document,
                PolicyType::Resource,
            );
            let account = rp.account.clone().or_else(|| arn_account(&rp.resource));
            pending.push((rp.resource.as_str(), i, account));
        }
        let chains = b.organizations(&src.organizations)?;
        Ok(b.finish(pending, chains))
    }
}

/// The account part of an ARN, if it has one.
pub(super) fn arn_account(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then(|| account.to_owned())
}

#[derive(Default)]
struct Builder {
    policies: Vec<Stored>,
    principals: Vec<Principal>,
    groups: Vec<String>,
    by_arn: HashMap<String, usize>,
    problems: Vec<Problem>,
}

impl Builder {
    fn problem(&mut self, p: Problem) -> usize {
        self.problems.push(p);
        self.problems.len() - 1
    }

    /// Compiles and stores one document.
    fn add(&mut self, id: PolicyId, document: &str, kind: PolicyType) -> usize {
        self.add_or(id, Ok(document), kind)
    }

    /// [`Self::add`] for a policy whose document may be known only to
    /// exist (`Err`: why it could not be read).
    fn add_or(&mut self, id: PolicyId, document: Result<&str, &str>, kind: PolicyType) -> usize {
        let mut problems = Vec::new();
        let compiled = match document.map(|d| Policy::parse(d).map_err(|e| e.to_string())) {
            Ok(Ok(policy)) => {
                let mut c = CompiledPolicy::for_type(policy, kind);
                c.repack();
                for s in c.statements() {
                    if let Some(broken) = s.broken.first() {
                        problems.push(self.problem(Problem::Unevaluable {
                            policy: id.clone(),
                            statement: s.index,
                            message: broken.to_string(),
                        }));
                    }
                }
                Some(c)
            }
            Ok(Err(message)) => {
                problems.push(self.problem(Problem::Unreadable {
                    policy: id.clone(),
                    message,
                }));
                None
            }
            Err(why) => {
                problems.push(self.problem(Problem::Unreadable {
                    policy: id.clone(),
                    message: why.to_owned(),
                }));
                None
            }
        };
        let services = compiled.as_ref().map(scan::services).unwrap_or_default();
        self.policies.push(Stored {
            id,
            compiled,
            services,
            problems,
        });
        self.policies.len() - 1
    }

    fn stored_problems(&self, policy: usize) -> Vec<usize> {
        self.policies
            .get(policy)
            .map(|s| s.problems.clone())
            .unwrap_or_default()
    }

    /// `policy` if it could be read.
    fn readable(&self, policy: usize) -> Option<usize> {
        self.policies.get(policy)?.compiled.as_ref().map(|_| policy)
    }

    /// Stores an owner's inline policies and resolves its managed ones:
    /// the readable policies, and the problems of all of them.
    fn attach(
        &mut self,
        owner: &str,
        inline: &[InlinePolicy],
        attached: &[String],
        managed: &HashMap<&str, usize>,
    ) -> (Vec<Attached>, Vec<usize>) {
        let mut policies = Vec::new();
        let mut caveats = Vec::new();
        for p in inline {
            let id = PolicyId::Inline {
                owner: owner.to_owned(),
                name: p.name.clone(),
            };
            let i = self.add(id, &p.document, PolicyType::Identity);
            caveats.extend(self.stored_problems(i));
            policies.extend(self.readable(i));
        }
        for arn in attached {
            match managed.get(arn.as_str()) {
                Some(&i) => {
                    caveats.extend(self.stored_problems(i));
                    policies.extend(self.readable(i));
                }
                None => caveats.push(self.problem(Problem::MissingPolicy {
                    arn: arn.clone(),
                    owner: owner.to_owned(),
                })),
            }
        }
        let mut seen = HashSet::new();
        policies.retain(|p| seen.insert(*p));
        let policies = policies
            .into_iter()
            .map(|policy| Attached {
                policy,
                via_group: None,
            })
            .collect();
        (policies, caveats)
    }

    fn boundary(
        &mut self,
        owner: &str,
        arn: Option<&str>,
        managed: &HashMap<&str, usize>,
        caveats: &mut Vec<usize>,
    ) -> Option<Boundary> {
        let arn = arn?;
        let Some(&i) = managed.get(arn) else {
            caveats.push(self.problem(Problem::MissingPolicy {
                arn: arn.to_owned(),
                owner: owner.to_owned(),
            }));
            return Some(Boundary::Unknown);
        };
        caveats.extend(self.stored_problems(i));
        Some(self.readable(i).map_or(Boundary::Unknown, Boundary::Policy))
    }

    fn principal(
        &mut self,
        who: Who<'_>,
        policies: Vec<Attached>,
        boundary: Option<Boundary>,
        trust: Option<usize>,
        mut caveats: Vec<usize>,
    ) -> Result<(), BuildError> {
        let (want, expected) = match who.entity {
            Entity::User => (PrincipalType::User, "user"),
            Entity::Role => (PrincipalType::Role, "role"),
        };
        let id = Identity::parse(who.arn);
        let account = match (&id.account, id.kind == want) {
            (Some(a), true) if !a.is_empty() => a.clone(),
            _ => {
                return Err(BuildError::NotAnEntity {
                    arn: who.arn.to_owned(),
                    expected,
                })
            }
        };
        if self
            .by_arn
            .insert(who.arn.to_owned(), self.principals.len())
            .is_some()
        {
            return Err(BuildError::Duplicate {
                arn: who.arn.to_owned(),
            });
        }
        caveats.sort_unstable();
        caveats.dedup();
        let context = principal_context(&Who {
            account: &account,
            ..who
        });
        self.principals.push(Principal {
            arn: who.arn.to_owned(),
            entity: who.entity,
            caller: Identity::parse(&caller_arn(who.entity, who.arn, &id.partition, &account)),
            account,
            policies,
            boundary,
            // Reach is resolved once every principal is known.
            trust: trust.map(|policy| Trust {
                policy,
                reach: Reach::default(),
            }),
            context,
            caveats,
        });
        Ok(())
    }

    /// Resolves the principals a policy names to the inventory.
    fn reach(
        &self,
        policy: usize,
        action: Option<&str>,
        roles_by_name: &HashMap<(String, String), usize>,
    ) -> Reach {
        let mut reach = Reach::default();
        let Some(c) = self.policies.get(policy).and_then(|p| p.compiled.as_ref()) else {
            return reach;
        };
        for n in scan::named(c, action) {
            match n {
                Named::All => reach.all = true,
                Named::Account(a) => reach.accounts.push(a.to_owned()),
                Named::Arn {
                    arn,
                    account,
                    session_role,
                } => {
                    let found = match session_role {
                        Some(role) => roles_by_name.get(&(account.to_owned(), role.to_owned())),
                        None => self.by_arn.get(arn).or_else(|| {
                            // A trust may name a role without its path.
                            roles_by_name.get(&(account.to_owned(), name_of(arn).to_owned()))
                        }),
                    };
                    reach.principals.extend(found);
                }
                Named::Other(_) => {}
            }
        }
        reach.accounts.sort_unstable();
        reach.accounts.dedup();
        reach.principals.sort_unstable();
        reach.principals.dedup();
        reach
    }

    /// Compiles the organizations' SCPs and RCPs and lays out, for each
    /// member account, the levels above it as the engine takes them.
    fn organizations(
        &mut self,
        orgs: &[Organization],
    ) -> Result<HashMap<String, Chain>, BuildError> {
        let mut chains = HashMap::new();
        for org in orgs {
            let mut by_arn: HashMap<&str, (usize, OrgPolicyKind)> = HashMap::new();
            for p in &org.policies {
                let (id, kind) = match p.kind {
                    OrgPolicyKind::Scp => (PolicyId::Scp(p.arn.clone()), PolicyType::Scp),
                    OrgPolicyKind::Rcp => (PolicyId::Rcp(p.arn.clone()), PolicyType::Rcp),
                };
                let i = self.add(id, &p.document, kind);
                if by_arn.insert(&p.arn, (i, p.kind)).is_some() {
                    return Err(BuildError::Duplicate { arn: p.arn.clone() });
                }
            }
            for a in &org.accounts {
                // "SCPs don't affect users or roles in the management
                // account"; RCPs do not apply to its resources either.
                if a.account == org.management_account {
                    continue;
                }
                let mut chain = Chain {
                    scps: org.scps_enabled.then(Vec::new),
                    rcps: org.rcps_enabled.then(Vec::new),
                    ..Chain::default()
                };
                for level in &a.levels {
                    let (mut scps, mut rcps) = (Vec::new(), Vec::new());
                    let (mut scp_ids, mut rcp_ids) = (Vec::new(), Vec::new());
                    for arn in &level.policies {
                        let Some(&(i, kind)) = by_arn.get(arn.as_str()) else {
                            // Not knowing which kind it is, it cannot stand
                            // in for an allow: the level may then allow
                            // nothing (fail closed).
                            chain.caveats.push(self.problem(Problem::MissingPolicy {
                                arn: arn.clone(),
                                owner: level.target.clone(),
                            }));
                            continue;
                        };
                        chain.caveats.extend(self.stored_problems(i));
                        let compiled = self
                            .policies
                            .get(i)
                            .and_then(|s| s.compiled.clone())
                            .unwrap_or_else(nothing);
                        match kind {
                            OrgPolicyKind::Scp => {
                                scps.push(compiled);
                                scp_ids.push(i);
                            }
                            OrgPolicyKind::Rcp => {
                                rcps.push(compiled);
                                rcp_ids.push(i);
                            }
                        }
                    }
                    if let Some(l) = chain.scps.as_mut() {
                        l.push(scps);
                    }
                    if let Some(l) = chain.rcps.as_mut() {
                        l.push(rcps);
                    }
                    chain.scp_ids.push(scp_ids);
                    chain.rcp_ids.push(rcp_ids);
                    chain.targets.push(level.target.clone());
                }
                chain.caveats.sort_unstable();
                chain.caveats.dedup();
                if chains.insert(a.account.clone(), chain).is_some() {
                    return Err(BuildError::Duplicate {
                        arn: a.account.clone(),
                    });
                }
            }
        }
        Ok(chains)
    }

    fn finish(
        mut self,
        pending: Vec<(&str, usize, Option<String>)>,
        chains: HashMap<String, Chain>,
    ) -> Inventory {
        let roles_by_name: HashMap<(String, String), usize> = self
            .principals
            .iter()
            .enumerate()
            .filter(|(_, p)| p.entity == Entity::Role)
            .map(|(i, p)| ((p.account.clone(), name_of(&p.arn).to_owned()), i))
            .collect();
        let reaches: Vec<Option<Reach>> = self
            .principals
            .iter()
            .map(|p| {
                p.trust
                    .as_ref()
                    .map(|t| self.reach(t.policy, Some(ASSUME), &roles_by_name))
            })
            .collect();
        let mut inv = Inventory {
            policies: Vec::new(),
            principals: Vec::new(),
            groups: Vec::new(),
            by_arn: HashMap::new(),
            roles_by_name,
            by_service: HashMap::new(),
            any_service: Vec::new(),
            may_assume: Vec::new(),
            resources: HashMap::new(),
            trusted_by_all: Vec::new(),
            trusted_by_account: HashMap::new(),
            trusted_by_principal: HashMap::new(),
            chains,
            problems: Vec::new(),
            nothing: nothing(),
            anything: anything(),
        };
        for (arn, policy, account) in pending {
            let reach = self.reach(policy, None, &inv.roles_by_name);
            let caveats = self.stored_problems(policy);
            inv.resources.insert(
                arn.to_owned(),
                Resource {
                    account,
                    policy,
                    reach,
                    caveats,
                },
            );
        }
        for (i, (p, reach)) in self.principals.iter_mut().zip(reaches).enumerate() {
            if let (Some(t), Some(reach)) = (p.trust.as_mut(), reach) {
                if reach.all {
                    inv.trusted_by_all.push(i);
                }
                for a in &reach.accounts {
                    inv.trusted_by_account.entry(a.clone()).or_default().push(i);
                }
                for &q in &reach.principals {
                    inv.trusted_by_principal.entry(q).or_default().push(i);
                }
                t.reach = reach;
            }
            let mut services = scan::Services::default();
            let mut assume = false;
            for a in &p.policies {
                if let Some(s) = self.policies.get(a.policy) {
                    services.merge(&s.services);
                    assume |= s
                        .compiled
                        .as_ref()
                        .is_some_and(|c| scan::may_grant(c, ASSUME));
                }
            }
            // What the identity policies grant passes the boundary only
            // where the boundary may allow it too. A service the boundary
            // cannot allow is reached only through a resource policy that
            // names the principal, and the resource's reach adds those.
            let bound = match p.boundary {
                None => None,
                Some(Boundary::Policy(b)) => Some(self.policies.get(b).map_or_else(
                    || (scan::Services::default(), false),
                    |s| {
                        let assume = s
                            .compiled
                            .as_ref()
                            .is_some_and(|c| scan::may_grant(c, ASSUME));
                        (s.services.clone(), assume)
                    },
                )),
                Some(Boundary::Unknown) => Some((scan::Services::default(), false)),
            };
            if let Some((within, may)) = bound {
                services = services.intersect(&within);
                assume &= may;
            }
            if assume {
                inv.may_assume.push(i);
            }
            if services.any {
                inv.any_service.push(i);
            } else {
                for name in services.names {
                    inv.by_service.entry(name).or_default().push(i);
                }
            }
        }
        inv.policies = self.policies;
        inv.principals = self.principals;
        inv.groups = self.groups;
        inv.by_arn = self.by_arn;
        inv.problems = self.problems;
        inv
    }
}

/// A policy allowing every action on every resource.
fn anything() -> CompiledPolicy {
    let text =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    // INVARIANT: a constant, well-formed policy.
    Policy::parse(text).map_or_else(|_| nothing(), CompiledPolicy::new)
}

/// A policy with no statements: as a boundary, it lets nothing through.
fn nothing() -> CompiledPolicy {
    CompiledPolicy::new(Policy {
        version: None,
        id: None,
        statements: OneOrMany {
            items: Vec::new(),
            array: true,
        },
        loc: Loc::default(),
    })
}
