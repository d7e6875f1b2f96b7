//! The policy evaluation logic of the IAM User Guide ("How AWS enforcement
//! code logic evaluates requests to allow or deny access" and "Cross-account
//! policy evaluation logic"), step by step.

use super::kms;
use super::prefetch::byte_lines;
use super::principal::{Grant, PrincipalType};
use super::statement::{applies, Role};
use super::{
    Decision, EvalInput, Outcome, PolicyKind, PolicyList, PolicySlot, Reason, StatementRef,
};
use crate::ast::Effect;
use crate::compile::{CompiledPolicy, View};

/// Decides a request and reports the statements that decided it.
pub fn evaluate<P: PolicyList + ?Sized>(input: &EvalInput<'_, P>) -> Decision {
    let mut hits = Vec::new();
    let (outcome, reason) = run(input, &mut hits);
    let statements = decisive(outcome, reason, hits);
    Decision {
        outcome,
        reason,
        statements,
    }
}

/// Decides a request without recording statements: no allocation.
pub fn decide<P: PolicyList + ?Sized>(input: &EvalInput<'_, P>) -> Outcome {
    run(input, &mut NoHits).0
}

/// Receives every matching statement.
trait Sink {
    fn hit(&mut self, slot: PolicySlot, index: usize, sid: Option<&str>, effect: Effect);
    /// Whether evaluation may stop at the first explicit deny (nothing is
    /// being recorded, and a deny settles the decision).
    fn stop_at_deny(&self) -> bool;
    /// Whether statements with this effect are left out of this walk.
    fn skips(&self, _: Effect) -> bool {
        false
    }
}

/// Not recording, after [`any_deny`] found no matching Deny statement:
/// only Allow statements are left to look at.
struct NoHits;

impl Sink for NoHits {
    fn hit(&mut self, _: PolicySlot, _: usize, _: Option<&str>, _: Effect) {}
    fn stop_at_deny(&self) -> bool {
        true
    }
    fn skips(&self, effect: Effect) -> bool {
        effect == Effect::Deny
    }
}

/// The first walk when not recording: Deny statements only.
struct DeniesOnly;

impl Sink for DeniesOnly {
    fn hit(&mut self, _: PolicySlot, _: usize, _: Option<&str>, _: Effect) {}
    fn stop_at_deny(&self) -> bool {
        true
    }
    fn skips(&self, effect: Effect) -> bool {
        effect == Effect::Allow
    }
}

impl Sink for Vec<StatementRef> {
    fn hit(&mut self, slot: PolicySlot, index: usize, sid: Option<&str>, effect: Effect) {
        self.push(StatementRef {
            policy: slot,
            statement: index,
            sid: sid.map(str::to_owned),
            effect,
        });
    }
    fn stop_at_deny(&self) -> bool {
        false
    }
}

/// What the statements of a set of policies say.
#[derive(Default, Clone, Copy)]
struct Verdict {
    deny: bool,
    allow: bool,
    /// The strongest way an allowing resource-policy statement names the caller.
    grant: Option<Grant>,
}

impl Verdict {
    fn merge(&mut self, other: Verdict) {
        self.deny |= other.deny;
        self.allow |= other.allow;
        self.grant = self.grant.max(other.grant);
    }
}

/// The sections of `p`'s pool: `last` again when `p` shares its pool (as
/// the policies of a batch case do), so they are found once per decision.
fn view<'v, 'a>(p: &'a CompiledPolicy, last: &'v mut Option<View<'a>>) -> &'v View<'a> {
    if !last.as_ref().is_some_and(|v| p.pool.is(v)) {
        *last = None;
    }
    last.get_or_insert_with(|| p.pool.view())
}

/// The verdict of policy `p`'s statements. When not recording, `before` is
/// what the other policies of its set said so far: Allow statements that
/// cannot change the decision are skipped, and the first matching deny
/// ends the walk (any explicit deny settles the decision).
#[expect(clippy::too_many_arguments, reason = "the steps of one walk")]
fn policy<'a, P: ?Sized>(
    p: &'a CompiledPolicy,
    views: &mut Option<View<'a>>,
    input: &EvalInput<'_, P>,
    action_lc: Option<&[u8]>,
    role: Role,
    slot: PolicySlot,
    sink: &mut impl Sink,
    before: Verdict,
) -> Verdict {
    let mut v = Verdict::default();
    let quick = sink.stop_at_deny();
    // Not recording: once an allow with the strongest grant is found (in
    // this policy or an earlier one of its set), further Allow statements
    // cannot change the decision; nor can any in an RCP, which only denies.
    let mut skip_allows = quick && (before.grant == Some(Grant::Direct) || role == Role::Rcp);
    let pool = view(p, views);
    // A statement's record is at its position in the policy.
    for (index, s) in pool.hots(p.hot).enumerate() {
        if sink.skips(s.effect) || skip_allows && s.effect == Effect::Allow {
            continue;
        }
        if let Some(g) = applies(&s, pool, input.request, action_lc, role) {
            if !quick {
                let sid = p.statements.get(index).and_then(|c| c.sid.as_deref());
                sink.hit(slot, index, sid, s.effect);
            }
            match s.effect {
                Effect::Deny => {
                    v.deny = true;
                    if quick {
                        return v;
                    }
                }
                Effect::Allow => {
                    v.allow = true;
                    v.grant = v.grant.max(Some(g));
                    skip_allows |= quick && v.grant == Some(Grant::Direct);
                }
            }
        }
    }
    v
}

#[expect(clippy::too_many_arguments, reason = "the steps of one walk")]
fn set<'a, L: PolicyList + ?Sized, P: ?Sized>(
    ps: &'a L,
    views: &mut Option<View<'a>>,
    input: &EvalInput<'_, P>,
    action_lc: Option<&[u8]>,
    role: Role,
    kind: PolicyKind,
    level: Option<usize>,
    sink: &mut impl Sink,
) -> Verdict {
    let mut v = Verdict::default();
    for (index, p) in ps.policies().enumerate() {
        let slot = PolicySlot { kind, level, index };
        v.merge(policy(p, views, input, action_lc, role, slot, sink, v));
        if v.deny && sink.stop_at_deny() {
            break;
        }
    }
    v
}

/// Reads one value in every cache line of the arrays a decision will read,
/// before reading any of them in earnest. These loads do not depend on one another, so when
/// the data is not in cache (a service deciding for many principals in
/// turn) their misses overlap instead of coming one after another as the
/// evaluation follows pointers.
fn touch<P: PolicyList + ?Sized>(input: &EvalInput<'_, P>) {
    use std::hint::black_box;
    let r = input.request;
    let mut last: *const u8 = std::ptr::null();
    if let Some(pool) = &r.read_ahead.0 {
        last = pool.bytes().as_ptr();
        byte_lines(pool.bytes());
    }
    // Values, not references: a reference would not read the memory.
    byte_lines(r.action.as_bytes());
    byte_lines(r.resource.as_bytes());
    black_box(
        r.resource_account
            .as_ref()
            .map(|a| a.as_bytes().first().copied()),
    );
    black_box(
        r.principal
            .account
            .as_ref()
            .map(|a| a.as_bytes().first().copied()),
    );
    r.context.touch();
    let mut pool = |p: &CompiledPolicy| {
        let bytes = p.pool.bytes();
        if !std::ptr::eq(bytes.as_ptr(), last) {
            last = bytes.as_ptr();
            // Every line: a case's pool is one run of a few kilobytes, and
            // most of it is read.
            byte_lines(bytes);
        }
    };
    input.identity_policies.policies().for_each(&mut pool);
    input.permission_boundaries.policies().for_each(&mut pool);
    input.session_policy.into_iter().for_each(&mut pool);
    input.resource_policy.into_iter().for_each(&mut pool);
    for level in input
        .scps
        .unwrap_or(&[])
        .iter()
        .chain(input.rcps.unwrap_or(&[]))
    {
        level.iter().for_each(&mut pool);
    }
}

/// Whether any Deny statement that the evaluation logic looks at matches:
/// then nothing else counts. Not recording, this walk comes first, so that
/// a denied request is settled without matching any Allow statement.
fn any_deny<'a, P: PolicyList + ?Sized>(
    input: &EvalInput<'a, P>,
    views: &mut Option<View<'a>>,
    action_lc: Option<&[u8]>,
    has_boundary: bool,
) -> bool {
    let slot = PolicySlot {
        kind: PolicyKind::Identity,
        level: None,
        index: 0,
    };
    let mut denies = |p: &'a CompiledPolicy, role: Role| {
        policy(
            p,
            views,
            input,
            action_lc,
            role,
            slot,
            &mut DeniesOnly,
            Verdict::default(),
        )
        .deny
    };
    let identity = Role::Identity;
    // As in `run`: SCPs do not apply to service principals.
    let scps = match input.request.principal.kind {
        PrincipalType::Service => &[],
        _ => input.scps.unwrap_or(&[]),
    };
    input
        .identity_policies
        .policies()
        .chain(input.permission_boundaries.policies())
        .chain(input.session_policy)
        .any(|p| denies(p, identity))
        || input
            .resource_policy
            .is_some_and(|p| denies(p, Role::Resource { has_boundary }))
        || scps.iter().flatten().any(|p| denies(p, identity))
        || input
            .rcps
            .unwrap_or(&[])
            .iter()
            .flatten()
            .any(|p| denies(p, Role::Rcp))
}

fn run<P: PolicyList + ?Sized>(
    input: &EvalInput<'_, P>,
    sink: &mut impl Sink,
) -> (Outcome, Reason) {
    touch(input);
    let req = input.request;
    // Action patterns are lowercase: comparing them with the action
    // lowercased once is comparing without regard to case, in fewer steps.
    let mut buf = [0u8; 128];
    let action_lc = lowercase(&req.action, &mut buf);
    let has_boundary = !input.permission_boundaries.is_empty();
    let mut views = None;
    let explicit = (Outcome::ExplicitlyDenied, Reason::ExplicitDeny);
    if sink.stop_at_deny() && any_deny(input, &mut views, action_lc, has_boundary) {
        return explicit;
    }
    let identity = set(
        input.identity_policies,
        &mut views,
        input,
        action_lc,
        Role::Identity,
        PolicyKind::Identity,
        None,
        sink,
    );
    if identity.deny && sink.stop_at_deny() {
        return explicit;
    }
    // Not recording, no Deny statement matched (`any_deny`): without an
    // identity-based allow and without a resource-based policy, nothing
    // else can allow. (Only the outcome counts here: evaluate, which
    // records, reports the reason of the full walk.)
    let root = req.principal.kind == PrincipalType::Root;
    if sink.stop_at_deny() && !identity.allow && !root && input.resource_policy.is_none() {
        return (Outcome::ImplicitlyDenied, Reason::NoIdentityAllow);
    }
    let boundary = set(
        input.permission_boundaries,
        &mut views,
        input,
        action_lc,
        Role::Identity,
        PolicyKind::Boundary,
        None,
        sink,
    );
    if boundary.deny && sink.stop_at_deny() {
        return explicit;
    }
    let session = match input.session_policy {
        Some(p) => {
            let slot = PolicySlot {
                kind: PolicyKind::Session,
                level: None,
                index: 0,
            };
            Some(policy(
                p,
                &mut views,
                input,
                action_lc,
                Role::Identity,
                slot,
                sink,
                Verdict::default(),
            ))
        }
        None => None,
    };
    if session.is_some_and(|s| s.deny) && sink.stop_at_deny() {
        return explicit;
    }
    let resource = match input.resource_policy {
        Some(p) => {
            let slot = PolicySlot {
                kind: PolicyKind::Resource,
                level: None,
                index: 0,
            };
            policy(
                p,
                &mut views,
                input,
                action_lc,
                Role::Resource { has_boundary },
                slot,
                sink,
                Verdict::default(),
            )
        }
        None => Verdict::default(),
    };
    let mut denied =
        identity.deny || boundary.deny || resource.deny || session.is_some_and(|s| s.deny);
    if denied && sink.stop_at_deny() {
        return explicit;
    }
    // SCP levels: every level must allow (checked after denies). "SCPs
    // affect only IAM users and roles that are managed by accounts that are
    // part of the organization": not service principals.
    let mut scp_gap = None;
    let scps = match req.principal.kind {
        PrincipalType::Service => &[],
        _ => input.scps.unwrap_or(&[]),
    };
    for (level, ps) in scps.iter().enumerate() {
        let v = set(
            ps.as_slice(),
            &mut views,
            input,
            action_lc,
            Role::Identity,
            PolicyKind::Scp,
            Some(level),
            sink,
        );
        denied |= v.deny;
        if denied && sink.stop_at_deny() {
            return explicit;
        }
        if !v.allow && scp_gap.is_none() {
            scp_gap = Some(level);
            // Not recording, no Deny statement matched: this settles it.
            if sink.stop_at_deny() {
                return (Outcome::ImplicitlyDenied, Reason::ScpNoAllow { level });
            }
        }
    }
    // RCPs: "RCPFullAWSAccess … is automatically attached to every root, OU
    // and account … and cannot be detached", so every level allows and only
    // explicit denies in RCPs change a decision.
    // Not recording, `any_deny` has already looked at their Deny
    // statements.
    let rcps = match sink.stop_at_deny() {
        true => &[],
        false => input.rcps.unwrap_or(&[]),
    };
    for (level, ps) in rcps.iter().enumerate() {
        if denied && sink.stop_at_deny() {
            return explicit;
        }
        denied |= set(
            ps.as_slice(),
            &mut views,
            input,
            action_lc,
            Role::Rcp,
            PolicyKind::Rcp,
            Some(level),
            sink,
        )
        .deny;
    }

    // "If the enforcement code finds even one explicit deny that applies, the
    // enforcement code returns a final decision of Deny."
    if denied {
        return explicit;
    }
    // "If the enforcement code does not find any applicable Allow statements
    // in the SCPs, the request is implicitly denied."
    if let Some(level) = scp_gap {
        return (Outcome::ImplicitlyDenied, Reason::ScpNoAllow { level });
    }

    let boundary_ok = !has_boundary || boundary.allow;
    let session_ok = session.is_none_or(|s| s.allow);
    // "By default, all requests are implicitly denied with the exception of
    // the AWS account root user, which has full access."
    let identity_ok = identity.allow || req.principal.kind == PrincipalType::Root;
    let limits = || {
        if !boundary_ok {
            Some(Reason::BoundaryNoAllow)
        } else if !session_ok {
            Some(Reason::SessionNoAllow)
        } else {
            None
        }
    };
    let deny = |r| (Outcome::ImplicitlyDenied, r);
    let allow = |r| (Outcome::Allowed, r);

    // Service principals act on a resource only through its resource policy.
    if req.principal.kind == PrincipalType::Service {
        return match resource.grant {
            Some(_) => allow(Reason::ResourcePolicyAllows),
            None => deny(Reason::NoResourcePolicyAllow),
        };
    }

    if !req.same_account() {
        // "For requests made from one account to another, the requester in
        // account A must have an identity-based policy that allows them to
        // make a request to the resource in account B. Also, the
        // resource-based policy in account B must allow the requester in
        // account A to access the resource."
        if !identity_ok {
            return deny(Reason::NoIdentityAllow);
        }
        if let Some(r) = limits() {
            return deny(r);
        }
        return match resource.grant {
            Some(_) => allow(Reason::IdentityAllows),
            None => deny(Reason::NoResourcePolicyAllow),
        };
    }

    // Same account: "If either the identity-based policy or the
    // resource-based policy within the same account allows the request and
    // the other doesn't, the request is still allowed" — with these
    // limits from "Permissions boundaries for IAM entities":
    match resource.grant {
        Some(Grant::Direct) => {
            // "Within the same account, resource-based policies that grant
            // permissions to an IAM user ARN (that is not a federated user
            // session) are not limited by an implicit deny in an
            // identity-based policy or permissions boundary."
            // "Resource-based policies that grant permissions to an IAM role
            // session ARN … [or] federated user session ARN grant
            // permissions directly to the … session. Permissions granted
            // directly to a session are not limited by an implicit deny in an
            // identity-based policy, a permissions boundary, or session
            // policy."
            if req.principal.is_session() {
                return allow(Reason::ResourcePolicyAllowsSession);
            }
            if input.session_policy.is_none() {
                return allow(Reason::ResourcePolicyAllows);
            }
            // An IAM user ARN used through a session (GetFederationToken):
            // "limited by an implicit deny in a permissions boundary or
            // session policy".
            if limits().is_none() {
                return allow(Reason::ResourcePolicyAllowsRole);
            }
        }
        Some(Grant::Anyone) => {
            // `*` names no ARN in particular. It reaches the caller the way a
            // grant to the user or role does ("the permissions from the
            // resource-based policy are added to the role or user's
            // identity-based policy before the session is created. The
            // session policy limits the total permissions"), so a session
            // policy limits it; like a grant to an IAM user ARN it is not
            // limited by the permissions boundary.
            if session_ok {
                return allow(Reason::ResourcePolicyAllows);
            }
        }
        Some(Grant::Parent) => {
            // "Resource-based policies that grant permissions to an IAM role
            // ARN are limited by an implicit deny in a permissions boundary
            // or session policy."
            if limits().is_none() {
                return allow(Reason::ResourcePolicyAllowsRole);
            }
        }
        // Naming the account delegates to the account's identity policies.
        Some(Grant::Account) | None => {}
    }
    // A key policy that does not allow the account: "IAM policies that
    // allow permissions have no effect".
    if resource.grant.is_none() && input.resource_policy.is_some() && kms::on_key(req) {
        return deny(Reason::KeyPolicyNoAllow);
    }
    if !identity_ok {
        return deny(
            limits()
                .filter(|_| resource.grant.is_some())
                .unwrap_or(Reason::NoIdentityAllow),
        );
    }
    if let Some(r) = limits() {
        return deny(r);
    }
    allow(Reason::IdentityAllows)
}

/// `s` with ASCII letters lowercased, in `buf`; `None` if it does not fit.
fn lowercase<'b>(s: &str, buf: &'b mut [u8; 128]) -> Option<&'b [u8]> {
    let out = buf.get_mut(..s.len())?;
    out.copy_from_slice(s.as_bytes());
    out.make_ascii_lowercase();
    Some(out)
}

/// Picks the statements that decided the outcome from all matching ones.
fn decisive(outcome: Outcome, reason: Reason, hits: Vec<StatementRef>) -> Vec<StatementRef> {
    match outcome {
        Outcome::ImplicitlyDenied => Vec::new(),
        Outcome::ExplicitlyDenied => hits
            .into_iter()
            .filter(|h| h.effect == Effect::Deny)
            .collect(),
        Outcome::Allowed => {
            let wanted = |k: PolicyKind| match reason {
                Reason::ResourcePolicyAllows | Reason::ResourcePolicyAllowsSession => {
                    k == PolicyKind::Resource || k == PolicyKind::Scp
                }
                Reason::ResourcePolicyAllowsRole => k != PolicyKind::Identity,
                _ => true,
            };
            hits.into_iter()
                .filter(|h| h.effect == Effect::Allow && wanted(h.policy.kind))
                .collect()
        }
    }
}
