//! "Who can": every user and role the engine allows to make one request,
//! with the statements that allowed it and, for roles, who can assume them.

use super::assume::Assume;
use super::build::arn_account;
use super::err::QueryError;
use super::inventory::{Inventory, Resource};
use super::keys::{merged, request_keys};
use super::report::{Entity, Finding};
use crate::eval::{Context, Request};

impl Inventory {
    /// Every user and role allowed to perform `action` on `resource`, given
    /// the request's condition keys in `context` (`aws:SourceIp`,
    /// `aws:MultiFactorAuthPresent`, resource tags, …). Each principal's own
    /// keys (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:username`,
    /// `aws:userid`, `aws:PrincipalTag/*`, `aws:PrincipalType`) are filled
    /// in from the inventory; values `context` gives for them are ignored.
    ///
    /// Each principal is decided by the engine with its identity policies
    /// (its groups' included), its permissions boundary, and the resource's
    /// policy if the inventory has one (for an S3 object, its bucket's). A
    /// role acts through a session named [`super::SESSION_NAME`].
    /// Principals whose policies cannot grant the action's service, and
    /// whom the resource policy does not name, are skipped unevaluated.
    ///
    /// The resource's account is the one its resource policy was given
    /// with, else the account in its ARN. When neither says (an S3 ARN with
    /// no bucket policy in the inventory), the resource is taken to be in
    /// every caller's own account, so callers from other accounts are
    /// reported on their identity policies alone.
    ///
    /// For each role found, [`Finding::assumed_by`] lists the users and
    /// roles that can assume it, directly or through other roles (at most
    /// [`super::MAX_HOPS`] hops). Findings are sorted by principal ARN.
    pub fn who_can(
        &self,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<Vec<Finding>, QueryError> {
        self.find(action, resource, context, true)
    }

    /// [`Inventory::who_can`] without looking for who can assume the roles
    /// found (every [`Finding::assumed_by`] is empty): the principals
    /// allowed in their own right, at a fraction of the cost when many
    /// principals may assume roles.
    pub fn who_can_directly(
        &self,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<Vec<Finding>, QueryError> {
        self.find(action, resource, context, false)
    }

    fn find(
        &self,
        action: &str,
        resource: &str,
        context: &Context,
        paths: bool,
    ) -> Result<Vec<Finding>, QueryError> {
        let (target, template) = self.template(action, resource)?;
        let service = action
            .split_once(':')
            .map_or(String::new(), |(s, _)| s.to_ascii_lowercase());
        let keys = request_keys(context);
        let policy = target.map(|t| t.policy);
        let mut findings = Vec::new();
        let mut assume = Assume::new(self, &keys);
        for i in self.candidates(&service, target, template.resource_account.as_deref()) {
            let Some(p) = self.principals.get(i) else {
                continue;
            };
            let req = Request {
                principal: p.caller.clone(),
                context: merged(&p.context, &keys),
                ..template.clone()
            };
            let Some(d) = self.decision(p, &req, policy, false) else {
                continue;
            };
            let mut caveats = p.caveats.clone();
            caveats.extend(self.org_caveats(p, &req));
            caveats.extend(target.map(|t| t.caveats.as_slice()).unwrap_or(&[]));
            caveats.sort_unstable();
            caveats.dedup();
            findings.push(Finding {
                principal: p.arn.clone(),
                entity: p.entity,
                reason: d.reason,
                statements: self.statements(p, &req, policy, &d.statements),
                assumed_by: match p.entity {
                    Entity::Role if paths => assume.paths_to(i),
                    Entity::Role | Entity::User => Vec::new(),
                },
                caveats: self.problem_list(&caveats),
            });
        }
        findings.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(findings)
    }

    /// The resource policy governing `resource`, and a request for `action`
    /// on it (in the resource's account) whose principal each caller fills in.
    pub(super) fn template(
        &self,
        action: &str,
        resource: &str,
    ) -> Result<(Option<&Resource>, Request), QueryError> {
        if let Some(types) = crate::validate::services::mismatched_resource_types(action, resource)
        {
            return Err(QueryError::NotItsResource {
                action: action.to_owned(),
                resource: resource.to_owned(),
                acts_on: types
                    .into_iter()
                    .map(|(n, a)| (n.to_owned(), a.to_owned()))
                    .collect(),
            });
        }
        let target = self.target(resource);
        let account = target
            .and_then(|t| t.account.clone())
            .or_else(|| arn_account(resource));
        let template = Request::new(
            action,
            resource,
            account.as_deref(),
            "*",
            Context::default(),
        )?;
        Ok((target, template))
    }

    /// The resource policy that governs `resource`: its own, or for an S3
    /// object its bucket's.
    pub(super) fn target(&self, resource: &str) -> Option<&Resource> {
        if let Some(r) = self.resources.get(resource) {
            return Some(r);
        }
        let object = resource.strip_prefix("arn:")?;
        let mut parts = object.splitn(5, ':');
        let (_, Some("s3"), Some(""), Some(""), Some(key)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (bucket, _) = key.split_once('/')?;
        self.resources
            .get(resource.get(..resource.len() - key.len() + bucket.len())?)
    }

    /// Principals that may be allowed: those whose identity policies may
    /// grant `service`, and those the resource policy names. A resource
    /// policy that names everyone reaches, without identity policies, only
    /// the principals of the resource's account (`account`; `None`: every
    /// principal's).
    pub(super) fn candidates(
        &self,
        service: &str,
        target: Option<&Resource>,
        account: Option<&str>,
    ) -> Vec<usize> {
        let mut out: Vec<usize> = self.by_service.get(service).cloned().unwrap_or_default();
        out.extend(&self.any_service);
        if let Some(t) = target {
            if t.reach.all {
                let Some(account) = account else {
                    return (0..self.principals.len()).collect();
                };
                let local = self.principals.iter().enumerate();
                out.extend(local.filter(|(_, p)| p.account == account).map(|(i, _)| i));
            }
            out.extend(&t.reach.principals);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
