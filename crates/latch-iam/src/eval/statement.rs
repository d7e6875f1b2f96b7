//! Whether one statement applies to a request: action, resource, principal
//! and condition all must match.

use super::condition::{arn_match3, Tri};
use super::principal::{entry_grant, Grant};
use super::Request;
use crate::ast::Effect;
use crate::compile::{CompiledPrincipal, CompiledStatement, HotStatement, Pool, Span, View};

/// Which kind of policy a statement is in; decides how `Principal` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Identity-based, boundary, session and SCP: `Principal` is not part of
    /// these policies and is not matched.
    Identity,
    /// Resource-based policy: `Principal` is required and matched.
    Resource {
        /// Whether the caller has a permissions boundary (see the
        /// `NotPrincipal` rule in [`principal_grant`]).
        has_boundary: bool,
    },
    /// Resource control policy: `Principal` (always `"*"`) is matched.
    Rcp,
}

/// The result of matching a statement: `None` if it does not apply, else how
/// the principal was named (always `Direct` outside resource policies).
/// `action_lc` is the request's action lowercased, if at hand.
// Inlined into the statement loop, so that the fields of a statement's
// record are read only where they are used.
#[inline(always)]
pub(crate) fn applies(
    s: &HotStatement,
    pool: &View<'_>,
    req: &Request,
    action_lc: Option<&[u8]>,
    role: Role,
) -> Option<Grant> {
    // A statement that cannot be evaluated never allows.
    if s.effect == Effect::Allow && s.broken {
        return None;
    }
    if !actions_match(
        s.service_mask,
        s.not_action,
        s.actions,
        pool,
        req,
        action_lc,
    ) || !resources_match(s.resources(), pool, req)
    {
        return None;
    }
    let grant = grant_from(s.effect, s.principal, role, || {
        pool.principals(s.principals)
            .filter_map(|(kind, value)| entry_grant(kind, value, &req.principal))
            .max()
    })?;
    if !pool
        .conditions(s.conditions)
        .all(|c| c.holds(pool, &req.context))
    {
        return None;
    }
    Some(grant)
}

pub(crate) fn action_matches(s: &CompiledStatement, pool: &Pool, req: &Request) -> bool {
    actions_match(
        s.service_mask,
        s.not_action,
        s.actions,
        &pool.view(),
        req,
        None,
    )
}

fn actions_match(
    mask: u64,
    not_action: bool,
    actions: Span,
    pool: &View<'_>,
    req: &Request,
    action_lc: Option<&[u8]>,
) -> bool {
    if mask & req.service_bit == 0 {
        return false;
    }
    let arena = pool.arena;
    let any = pool.patterns(actions).any(|p| match action_lc {
        Some(lc) => p.matches_lowercase_bytes(arena, &req.action, lc, &req.context),
        None => p.matches(arena, &req.action, &req.context),
    });
    any != not_action
}

pub(crate) fn resource_matches(s: &CompiledStatement, pool: &Pool, req: &Request) -> bool {
    resources_match(s.resources, &pool.view(), req)
}

fn resources_match(resources: Option<(bool, Span)>, pool: &View<'_>, req: &Request) -> bool {
    let arena = pool.arena;
    match resources {
        // No `Resource` (trust policies): the statement covers the resource
        // the policy is attached to.
        None => true,
        // "If AWS cannot resolve a variable, this might cause the entire
        // statement to be invalid" (IAM User Guide, "IAM policy elements:
        // Variables and tags"). A `NotResource` entry that needs a variable
        // with no value cannot show that the resource is outside the set
        // (unless another part of the ARN already differs), so the statement
        // does not apply. In `Resource`, such an entry matches nothing.
        Some((true, span)) => pool
            .patterns(span)
            .all(|p| arn_match3(&p, arena, &req.resource, &req.context) == Tri::NoMatch),
        Some((false, span)) => pool
            .patterns(span)
            .any(|p| p.matches(arena, &req.resource, &req.context)),
    }
}

pub(crate) fn principal_grant(s: &CompiledStatement, req: &Request, role: Role) -> Option<Grant> {
    let principal = s.principal.as_ref().map(|p| (p.negated, p.star));
    grant_from(s.effect, principal, role, || {
        s.principal.as_ref().and_then(|p| best_grant(p, req))
    })
}

/// How a statement's `Principal` (negated, `*`) names the caller outside
/// identity-based policies; `named` gives the strongest grant among its
/// entries.
fn grant_from(
    effect: Effect,
    principal: Option<(bool, bool)>,
    role: Role,
    named: impl FnOnce() -> Option<Grant>,
) -> Option<Grant> {
    let has_boundary = match role {
        Role::Identity => return Some(Grant::Direct),
        Role::Resource { has_boundary } => has_boundary,
        Role::Rcp => false,
    };
    let Some((negated, star)) = principal else {
        // Fail closed: a resource-policy statement without a principal
        // cannot allow, but it still denies.
        return match (effect, role) {
            (Effect::Deny, _) | (_, Role::Rcp) => Some(Grant::Direct),
            _ => None,
        };
    };
    let named = if star { Some(Grant::Anyone) } else { named() };
    if negated {
        // "The NotPrincipal element with a Deny effect will always deny any
        // IAM principal that has a permissions boundary policy attached,
        // regardless of the values specified in the NotPrincipal element."
        // (IAM User Guide, Permissions boundaries for IAM entities)
        if effect == Effect::Deny && has_boundary {
            return Some(Grant::Direct);
        }
        return match named {
            Some(_) => None,
            None => Some(Grant::Direct),
        };
    }
    named
}

fn best_grant(p: &CompiledPrincipal, req: &Request) -> Option<Grant> {
    if p.star {
        return Some(Grant::Anyone);
    }
    p.entries
        .iter()
        .filter_map(|(kind, value)| entry_grant(*kind, value.as_bytes(), &req.principal))
        .max()
}
