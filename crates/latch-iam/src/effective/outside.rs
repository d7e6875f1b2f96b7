//! "Who from outside": the callers a resource policy lets in that the
//! inventory does not hold — everyone (`*`), other AWS accounts, and users
//! and roles of accounts the inventory does not cover. Their own identity
//! policies are out of sight, so each is decided as if its own account
//! allowed everything: what is reported is what the resource's side lets
//! through (its resource policy, less the RCPs above its account).

use std::collections::HashSet;

use super::err::{Problem, QueryError};
use super::inventory::Inventory;
use super::keys::request_keys;
use super::report::StatementAt;
use super::scan::{self, Named};
use crate::eval::{
    decide, evaluate, Context, ContextValue, EvalInput, Identity, Outcome, PolicyKind, Request,
};

/// Who outside the inventory a resource policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outsider {
    /// `*`: every AWS principal (and, where the service allows it,
    /// anonymous callers).
    Anyone,
    /// An AWS account none of whose principals the inventory holds: any of
    /// its users and roles its own policies allow.
    Account,
    /// A user, role or role session of such an account.
    Principal,
}

impl Outsider {
    /// A lowercase name (`anyone`, `account`, `principal`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outsider::Anyone => "anyone",
            Outsider::Account => "account",
            Outsider::Principal => "principal",
        }
    }
}

/// A caller outside the inventory that a resource policy lets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideAccess {
    /// As the policy names it: `*`, an account id, or an ARN.
    pub principal: String,
    /// What kind of caller.
    pub kind: Outsider,
    /// The resource policy's statements that let it in.
    pub statements: Vec<StatementAt>,
    /// Problems of the resource policy and RCPs: the answer may be wrong
    /// where they hold a deny.
    pub caveats: Vec<Problem>,
}

impl Inventory {
    /// Callers outside the inventory that the resource policy governing
    /// `resource` (for an S3 object, its bucket's) lets perform `action`,
    /// given the request's condition keys in `context`, sorted by
    /// principal. A caller from another account is allowed only if its own
    /// identity policies allow the request too; the inventory cannot see
    /// them, so the answer is what the resource's side lets through.
    ///
    /// Empty when the inventory has no resource policy for `resource`, or
    /// the policy cannot be read (it then allows nothing).
    pub fn who_can_from_outside(
        &self,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<Vec<OutsideAccess>, QueryError> {
        let (target, template) = self.template(action, resource)?;
        let Some(t) = target else {
            return Ok(Vec::new());
        };
        let Some(policy) = self.compiled(t.policy) else {
            return Ok(Vec::new());
        };
        let inside: HashSet<&str> = self.principals.iter().map(|p| p.account.as_str()).collect();
        let partition = resource.split(':').nth(1).unwrap_or("aws");
        let account = template.resource_account.as_deref().unwrap_or_default();
        let chain = self.rcp_chain_of(action, account);
        let keys = request_keys(context);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for named in scan::named(policy, Some(action)) {
            let (principal, kind, caller, its_account) = match named {
                Named::All => ("*", Outsider::Anyone, "*".to_owned(), None),
                Named::Account(a) if !inside.contains(a) => (
                    a,
                    Outsider::Account,
                    format!("arn:{partition}:iam::{a}:root"),
                    Some(a),
                ),
                Named::Arn { arn, account, .. } if !inside.contains(account) => {
                    (arn, Outsider::Principal, arn.to_owned(), Some(account))
                }
                Named::Account(_) | Named::Arn { .. } | Named::Other(_) => continue,
            };
            if !seen.insert(principal) {
                continue;
            }
            let mut ctx = Context::default();
            if let Some(a) = its_account {
                ctx.insert("aws:PrincipalAccount", ContextValue::One(a.to_owned()));
                ctx.insert(
                    "aws:PrincipalIsAWSService",
                    ContextValue::One("false".into()),
                );
            }
            if kind == Outsider::Principal {
                ctx.insert("aws:PrincipalArn", ContextValue::One(principal.to_owned()));
            }
            for (k, v) in &keys {
                ctx.insert(k, v.clone());
            }
            let req = Request {
                principal: Identity::parse(&caller),
                context: ctx,
                ..template.clone()
            };
            let identity = [&self.anything];
            let input = EvalInput {
                request: &req,
                identity_policies: identity.as_slice(),
                resource_policy: Some(policy),
                permission_boundaries: &[],
                session_policy: None,
                scps: None,
                rcps: chain.and_then(|c| c.rcps.as_deref()),
            };
            if decide(&input) != Outcome::Allowed {
                continue;
            }
            let decision = evaluate(&input);
            let id = self.policies.get(t.policy).map(|p| p.id.clone());
            let statements = decision
                .statements
                .iter()
                .filter(|r| r.policy.kind == PolicyKind::Resource)
                .filter_map(|r| {
                    Some(StatementAt {
                        policy: id.clone()?,
                        kind: PolicyKind::Resource,
                        via_group: None,
                        attached_to: None,
                        statement: r.statement,
                        sid: r.sid.clone(),
                        effect: r.effect,
                    })
                })
                .collect();
            let mut caveats = t.caveats.clone();
            caveats.extend(chain.map(|c| c.caveats.as_slice()).unwrap_or(&[]));
            caveats.sort_unstable();
            caveats.dedup();
            out.push(OutsideAccess {
                principal: principal.to_owned(),
                kind,
                statements,
                caveats: self.problem_list(&caveats),
            });
        }
        out.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(out)
    }
}
