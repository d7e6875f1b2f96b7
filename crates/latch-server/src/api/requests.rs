//! Access requests over the API: ask (one request, one approval, one grant
//! per account), list, show, approve, deny, cancel. Every decision is checked
//! against the policy rule the request was made under, with the approver's
//! groups as they are at the moment of deciding.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::access::approval::{self, Outcome};
use latch_core::access::lifecycle::{self, EndReason, Event, State as RequestState};
use latch_core::access::policy::{Approval, Person, Policy, Rule};
use latch_core::access::request::{Changes, Decision, Effects, Extension, NewRequest, Request, RequestFilter};
use latch_core::access::target::{Kind, Level, Target};
use latch_core::audit::NewAuditEvent;
use latch_core::model::{Principal, Role, Scope};
use serde::Deserialize;
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};

use crate::state::AppState;
use crate::workers;

/// What to request: one entitlement in one or more accounts.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Create {
    #[serde(default = "aws")]
    integration: String,
    accounts: Vec<String>,
    kind: Kind,
    name: String,
    #[serde(default)]
    level: Option<Level>,
    #[serde(default)]
    reason: String,
    /// Seconds; the rule's default when absent.
    #[serde(default)]
    duration_secs: Option<u64>,
}

fn aws() -> String {
    "aws".to_owned()
}

pub(crate) async fn person(state: &AppState, p: &Principal) -> ApiResult<Person> {
    if let Some(groups) = &p.groups {
        return Ok(Person { email: p.email.clone(), groups: groups.clone() });
    }
    let groups = state.store.user_groups(&p.org_id, &p.user_id).await?;
    Ok(Person { email: p.email.clone(), groups: groups.into_iter().map(|g| g.name).collect() })
}

async fn policy_at(state: &AppState, org_id: &str, version: i64) -> ApiResult<Arc<Policy>> {
    if let Some(p) = state.policies.get(org_id, version) {
        return Ok(p);
    }
    let source = state.store.policy_version(org_id, version).await?.ok_or(ApiError::NotFound("policy"))?;
    parsed(state, org_id, version, &source)
}

/// Version `version` of the org's policy, parsed from `source` unless cached.
fn parsed(state: &AppState, org_id: &str, version: i64, source: &str) -> ApiResult<Arc<Policy>> {
    if let Some(p) = state.policies.get(org_id, version) {
        return Ok(p);
    }
    let policy = Arc::new(Policy::parse(source).map_err(|e| ApiError::Internal(format!("stored policy v{version} no longer parses: {e}").into()))?);
    state.policies.put(org_id, version, policy.clone());
    Ok(policy)
}

/// The org's current policy: the version read with the caller's
/// credential, parsed once per version; read from the store otherwise.
async fn current_policy(state: &AppState, caller: &Principal) -> ApiResult<(i64, Arc<Policy>)> {
    if let Some(p) = caller.policy_version.and_then(|v| state.policies.get(&caller.org_id, v).map(|p| (v, p))) {
        return Ok(p);
    }
    let (version, source) = state
        .store
        .current_policy(&caller.org_id)
        .await?
        .ok_or_else(|| ApiError::NoAccess("the org has no access policy yet, so nothing can be requested".to_owned()))?;
    Ok((version, parsed(state, &caller.org_id, version, &source)?))
}

fn describe(t: &Target) -> String {
    let level = t.level.map(|l| format!(" ({l:?})").to_lowercase()).unwrap_or_default();
    format!("{} `{}`{level} in account {}", t.kind.as_str(), t.name, t.account)
}

fn check_target(t: &Target) -> ApiResult<()> {
    if t.integration == "aws" && !(t.account.len() == 12 && t.account.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::InvalidRequest(format!("`{}` is not an AWS account id: use the 12-digit account number", t.account)));
    }
    if t.name.trim().is_empty() || t.name.len() > 2048 || t.name.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest("the name must be 1 to 2048 printable characters".to_owned()));
    }
    match (t.kind, t.level) {
        (Kind::Resource, None) => Err(ApiError::InvalidRequest("a resource request needs a `level`: read, write or admin".to_owned())),
        (Kind::Resource, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(ApiError::InvalidRequest("`level` applies to resource requests only".to_owned())),
    }
}

/// `POST /v1/requests`.
#[utoipa::path(
    post,
    path = "/v1/requests",
    operation_id = "create_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = Create,
    responses(
        (status = 201, description = "The request: `pending`, or `approved` when its rule approves automatically.", body = Request),
        (status = 400, description = "`invalid_json`; or `invalid_request`: a bad account id, name, level, duration or missing reason, or accounts under different rules.", body = ErrorBody),
        (status = 403, description = "`no_access`: no policy rule gives the caller this, or the rule denies it; `forbidden`: the token lacks the `request` scope; or `csrf_failed`.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn create(State(state): State<AppState>, caller: Caller, Json(body): Json<Create>) -> ApiResult<(StatusCode, axum::Json<Request>)> {
    caller.require(Scope::Request)?;
    if body.accounts.is_empty() || body.accounts.len() > 50 {
        return Err(ApiError::InvalidRequest("name between 1 and 50 accounts".to_owned()));
    }
    let mut accounts = body.accounts.clone();
    accounts.sort();
    accounts.dedup();
    let targets: Vec<Target> = accounts
        .iter()
        .map(|a| Target { integration: body.integration.clone(), account: a.clone(), kind: body.kind, name: body.name.clone(), level: body.level })
        .collect();
    for t in &targets {
        check_target(t)?;
    }
    let (version, policy) = current_policy(&state, &caller).await?;
    let me = person(&state, &caller).await?;
    let mut rule: Option<&Rule> = None;
    for t in &targets {
        let tags = if policy.reads_tags(&me) { crate::resource_tags::for_target(&state, &caller.org_id, t).await? } else { BTreeMap::new() };
        let r = policy.rule_for(&me, t, &tags).ok_or_else(|| ApiError::NoAccess(format!("no policy rule lets you request {}", describe(t))))?;
        if rule.is_some_and(|prev| prev.name != r.name) {
            return Err(ApiError::InvalidRequest(format!("these accounts fall under different policy rules (`{}` and `{}`); request them separately", rule.map(|p| p.name.as_str()).unwrap_or_default(), r.name)));
        }
        rule = Some(r);
    }
    let rule = rule.ok_or_else(|| ApiError::InvalidRequest("nothing to request".to_owned()))?;
    if rule.approval == Approval::Deny {
        return Err(ApiError::NoAccess(format!("policy rule `{}` does not allow this request", rule.name)));
    }
    if rule.require_reason && body.reason.trim().is_empty() {
        return Err(ApiError::InvalidRequest(format!("policy rule `{}` requires a reason", rule.name)));
    }
    if body.reason.chars().count() > 2000 {
        return Err(ApiError::InvalidRequest("the reason is too long: use at most 2000 characters".to_owned()));
    }
    let duration = body.duration_secs.map_or(rule.default_duration, Duration::from_secs);
    if duration.is_zero() || duration > rule.max_duration {
        return Err(ApiError::InvalidRequest(format!(
            "the duration must be between 1 second and {} (policy rule `{}`)",
            humanize(rule.max_duration),
            rule.name
        )));
    }
    let initial = if rule.approval == Approval::Auto { RequestState::Approved } else { RequestState::Pending };
    let now = state.now();
    let new = NewRequest {
        id: latch_core::id::new_id("req"),
        requester_id: caller.user_id.clone(),
        requester_email: caller.email.clone(),
        rule: rule.name.clone(),
        policy_version: version,
        reason: body.reason.trim().to_owned(),
        duration,
        state: initial,
        pending_until: now.plus(Duration::from_secs(state.config.access.pending_timeout_secs)),
        targets,
    };
    let detail = json!({"rule": new.rule, "targets": new.targets, "duration_secs": new.duration.as_secs(), "reason": new.reason});
    let event = if initial == RequestState::Approved { "request.approved" } else { "request.created" };
    let mut handoff = None;
    let mut effects = Effects::default().audit(NewAuditEvent::new(&caller.user_id, "request.created", &new.id).with(detail));
    if let Some(n) = crate::notify::notice(&state, event, now, &new.created(&caller.org_id, now)).await? {
        effects = effects.notice(n);
    }
    effects = if initial == RequestState::Approved {
        let (job, slot) = workers::provision_job_here(&state, &caller.org_id, &new.id);
        handoff = slot.map(|s| (s, job.clone()));
        effects.audit(NewAuditEvent::new("system", "request.approved", &new.id).with(json!({"by": "policy", "rule": new.rule}))).job(job)
    } else {
        effects.job(workers::pending_timeout_job(&caller.org_id, &new.id, new.pending_until))
    };
    let request = state.store.create_request(&caller.org_id, &new, now, &effects).await?;
    state.request_changed(&request.id, workers::due_soon(&state, &effects));
    if request.state == RequestState::Pending {
        state.created.put(&request);
    }
    if let Some((slot, job)) = handoff {
        slot.run(&state, &job, request.clone());
    }
    Ok((StatusCode::CREATED, axum::Json(request)))
}

fn humanize(d: Duration) -> String {
    humantime_like(d.as_secs())
}

fn humantime_like(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// Query of `GET /v1/requests`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the caller's own.
    #[serde(default)]
    mine: bool,
    /// Only pending requests the caller may approve now.
    #[serde(default)]
    to_approve: bool,
    /// Only in this state.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// Policy versions parsed once per call, however many requests share them.
#[derive(Default)]
struct Policies(std::collections::HashMap<i64, Arc<Policy>>);

impl Policies {
    async fn rule_eligible(&mut self, state: &AppState, org_id: &str, r: &Request, me: &Person) -> ApiResult<bool> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(r.policy_version) {
            slot.insert(policy_at(state, org_id, r.policy_version).await?);
        }
        Ok(self.0.get(&r.policy_version).and_then(|p| p.rule(&r.rule)).is_some_and(|rule| rule.approval.eligible(me)))
    }

    /// Whether `caller` may see `r`: theirs, an eligible approver's, or an admin's.
    async fn visible(&mut self, state: &AppState, caller: &Principal, r: &Request, me: &Person) -> ApiResult<bool> {
        if r.requester_id == caller.user_id || caller.role == Role::Admin {
            return Ok(true);
        }
        self.rule_eligible(state, &caller.org_id, r, me).await
    }
}

/// `GET /v1/requests`.
#[utoipa::path(
    get,
    path = "/v1/requests",
    operation_id = "list_requests",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Requests the caller may see (their own, those they may approve, all for admins), newest first.", body = Vec<Request>),
        (status = 400, description = "`invalid_request`: an unknown state.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller, Query(q): Query<ListQuery>) -> ApiResult<axum::Json<Vec<Request>>> {
    caller.require(Scope::Read)?;
    let mut filter = RequestFilter { limit: q.limit.unwrap_or(100), ..RequestFilter::default() };
    if let Some(s) = &q.state {
        filter.states = vec![RequestState::parse(s).ok_or_else(|| ApiError::InvalidRequest(format!("`{s}` is not a request state")))?];
    }
    if q.to_approve {
        filter.states = vec![RequestState::Pending];
    }
    if q.mine {
        filter.requester_id = Some(caller.user_id.clone());
    }
    let me = person(&state, &caller).await?;
    let mut policies = Policies::default();
    let mut out = Vec::new();
    for r in state.store.list_requests(&caller.org_id, &filter).await? {
        let shown = if q.to_approve {
            r.requester_id != caller.user_id
                && !r.decisions.iter().any(|d| d.approver_id == caller.user_id)
                && policies.rule_eligible(&state, &caller.org_id, &r, &me).await?
        } else {
            policies.visible(&state, &caller, &r, &me).await?
        };
        if shown {
            out.push(r);
        }
    }
    Ok(axum::Json(out))
}

/// A request the caller may see, with the caller as the policy sees them.
pub(crate) async fn load(state: &AppState, caller: &Principal, id: &str) -> ApiResult<Request> {
    let r = state.store.request(&caller.org_id, id).await?.ok_or(ApiError::NotFound("request"))?;
    shown(state, caller, r).await
}

/// `r` (of the caller's org), if `caller` may see it; as [`load`] would.
pub(crate) async fn shown(state: &AppState, caller: &Principal, r: Request) -> ApiResult<Request> {
    // The requester's and an admin's own right: no need to know their groups.
    if r.requester_id == caller.user_id || caller.role == Role::Admin {
        return Ok(r);
    }
    let me = person(state, caller).await?;
    if !Policies::default().visible(state, caller, &r, &me).await? {
        return Err(ApiError::NotFound("request"));
    }
    Ok(r)
}

/// [`load`], with the caller as the policy sees them (for decisions).
async fn load_with_person(state: &AppState, caller: &Principal, id: &str) -> ApiResult<(Request, Person)> {
    let r = state.store.request(&caller.org_id, id).await?.ok_or(ApiError::NotFound("request"))?;
    let me = person(state, caller).await?;
    if !Policies::default().visible(state, caller, &r, &me).await? {
        return Err(ApiError::NotFound("request"));
    }
    Ok((r, me))
}

/// `GET /v1/requests/{id}`.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}",
    operation_id = "get_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`).")),
    responses(
        (status = 200, description = "The request.", body = Request),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<axum::Json<Request>> {
    caller.require(Scope::Read)?;
    Ok(axum::Json(load(&state, &caller, &id).await?))
}

/// Body of approve, deny and cancel.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[serde(default)]
    reason: String,
}

/// Applies a lifecycle event, failing clearly if the request moved meanwhile.
async fn apply(state: &AppState, caller: &Principal, r: &Request, event: Event, changes: &Changes) -> ApiResult<RequestState> {
    let to = lifecycle::next(r.state, event).map_err(|e| ApiError::InvalidState(e.to_string()))?;
    if !state.store.transition(&caller.org_id, &r.id, r.state, to, changes, state.now()).await? {
        return Err(ApiError::InvalidState("the request changed while you were deciding; reload it".to_owned()));
    }
    state.request_changed(&r.id, workers::due_soon(state, &changes.effects));
    Ok(to)
}

/// `POST /v1/requests/{id}/approve`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/approve",
    operation_id = "approve_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body(content = Reason, description = "`{}` or a reason; a reason is required for a break-glass approval of one's own request."),
    responses(
        (status = 200, description = "The request: still `pending` if more approvals are needed, else `approved`.", body = Request),
        (status = 403, description = "`forbidden`: not an eligible approver now, self-approval not allowed, already decided, or the token lacks the scope; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not pending.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn approve(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Reason>) -> ApiResult<axum::Json<Request>> {
    // A request created here is decided from what it was created with when
    // one approval settles it; anything else (more approvals to count, or
    // it moved meanwhile) reads it.
    if let Some(r) = state.created.get(&caller.org_id, &id) {
        let me = person(&state, &caller).await?;
        if Policies::default().visible(&state, &caller, &r, &me).await? {
            if let Some(done) = decide_approval(&state, &caller, &r, &me, &body.reason, true).await? {
                return Ok(axum::Json(done));
            }
        }
    }
    let (r, me) = load_with_person(&state, &caller, &id).await?;
    let done = decide_approval(&state, &caller, &r, &me, &body.reason, false).await?;
    Ok(axum::Json(done.ok_or_else(|| ApiError::Internal("an approval of a request read just now did not settle".into()))?))
}

/// Approves `r` as `me`; the request as of this decision. `as_created`:
/// `r` is as it was created, not read now; then `None` when that cannot
/// settle it (more than one approval counts, or it moved: nothing was
/// recorded) and it must be read.
async fn decide_approval(state: &AppState, caller: &Caller, r: &Request, me: &Person, reason: &str, as_created: bool) -> ApiResult<Option<Request>> {
    // Deciding others' requests takes the approver role (and an API token's
    // `approve` scope); approving one's own, where a rule allows it, does not.
    caller.require(if r.requester_id == caller.user_id { Scope::Request } else { Scope::Approve })?;
    if r.state != RequestState::Pending {
        return Err(ApiError::InvalidState(format!("the request is {}, not pending", r.state)));
    }
    let policy = policy_at(state, &caller.org_id, r.policy_version).await?;
    let rule = policy.rule(&r.rule).ok_or_else(|| ApiError::Internal(format!("rule `{}` missing from policy v{}", r.rule, r.policy_version).into()))?;
    let already: Vec<String> = r.decisions.iter().filter(|d| d.decision == "approve").map(|d| d.approver_email.clone()).collect();
    let outcome = approval::approve(rule, &r.requester_email, me, &already, Some(reason)).map_err(|e| ApiError::ForbiddenBecause(e.to_string()))?;
    let decision = Decision { approver_id: caller.user_id.clone(), approver_email: caller.email.clone(), decision: "approve".to_owned(), reason: reason.to_owned(), at: state.now() };
    let need = match &rule.approval {
        Approval::Approvers { required, .. } => *required,
        Approval::Auto | Approval::Deny => 1,
    };
    let break_glass = matches!(outcome, Outcome::Approved { break_glass: true });
    // INVARIANT: when it takes more than one approval, the count that
    // decides is taken after this decision is stored, from the database, so
    // two approvers deciding at once cannot both see themselves as the
    // first of two and leave it pending. One approval needs no count: it is
    // recorded with the move it makes, or not at all if another decision
    // moved the request first.
    let enough_alone = need <= 1 || break_glass;
    if as_created && (need > 1 || break_glass) {
        // Earlier approvals (which a break-glass answer lists) are not in
        // the request as created.
        return Ok(None);
    }
    let (mut fresh, have) = if enough_alone {
        (r.clone(), need)
    } else {
        state.store.add_decision(&caller.org_id, &r.id, &decision).await.map_err(|e| match ApiError::from(e) {
            ApiError::Conflict(_) => ApiError::ForbiddenBecause("you have already decided this request".to_owned()),
            other => other,
        })?;
        let fresh = state.store.request(&caller.org_id, &r.id).await?.ok_or(ApiError::NotFound("request"))?;
        let have = u32::try_from(fresh.decisions.iter().filter(|d| d.decision == "approve").count()).unwrap_or(u32::MAX);
        (fresh, have)
    };
    // Another approver may have completed it between our decision and this
    // read: then our decision is recorded and there is nothing left to move.
    if have >= need && fresh.state == RequestState::Pending {
        let to = lifecycle::next(fresh.state, Event::Approve).map_err(|e| ApiError::InvalidState(e.to_string()))?;
        let mut changes = Changes { decided_at: Some(state.now()), break_glass: Some(break_glass), decision: enough_alone.then_some(decision), ..Changes::default() };
        // The answer is the request as of this decision; workers may
        // already be moving it on.
        let approved = fresh.moved(to, &changes);
        let (job, slot) = workers::provision_job_here(state, &caller.org_id, &r.id);
        let mut notices = Vec::new();
        if break_glass {
            changes.effects = changes
                .effects
                .audit(NewAuditEvent::new(&caller.user_id, "request.break_glass", &r.id).with(json!({"reason": reason, "review": "required"})));
            notices.push("request.break_glass");
        }
        changes.effects = changes
            .effects
            .audit(NewAuditEvent::new(&caller.user_id, "request.approved", &r.id).with(json!({"break_glass": break_glass})))
            .job(job.clone());
        notices.push("request.approved");
        for event in notices {
            if let Some(n) = crate::notify::notice(state, event, state.now(), &approved).await? {
                changes.effects = changes.effects.notice(n);
            }
        }
        // Of concurrent deciders exactly one moves it; the others find it
        // approved already, which is what they wanted.
        if state.store.transition(&caller.org_id, &r.id, fresh.state, to, &changes, state.now()).await? {
            state.created.forget(&r.id);
            state.request_changed(&r.id, workers::due_soon(state, &changes.effects));
            if break_glass {
                tracing::warn!(request = %r.id, requester = %r.requester_email, "break-glass self-approval");
            }
            if let Some(slot) = slot {
                slot.run(state, &job, approved.clone());
            }
            fresh = approved;
        } else if as_created {
            // It moved since it was created: nothing was recorded.
            state.created.forget(&r.id);
            return Ok(None);
        } else if enough_alone {
            // Another decision moved it first: answer with where it is now.
            fresh = state.store.request(&caller.org_id, &r.id).await?.ok_or(ApiError::NotFound("request"))?;
        }
    } else if fresh.state == RequestState::Pending {
        state
            .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "request.approval_recorded", &r.id).with(json!({"have": have, "need": need})))
            .await?;
    }
    Ok(Some(fresh))
}

/// `POST /v1/requests/{id}/deny`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/deny",
    operation_id = "deny_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body(content = Reason, description = "Why."),
    responses(
        (status = 200, description = "The request, `denied`.", body = Request),
        (status = 403, description = "`forbidden`: not an eligible approver (or admin), one's own request, or the token lacks the `approve` scope; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not pending.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn deny(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Reason>) -> ApiResult<axum::Json<Request>> {
    let reason = body.reason;
    let (r, me) = load_with_person(&state, &caller, &id).await?;
    if r.requester_id == caller.user_id {
        return Err(ApiError::ForbiddenBecause("you cannot deny your own request\nhelp: cancel it instead".to_owned()));
    }
    caller.require(Scope::Approve)?;
    let policy = policy_at(&state, &caller.org_id, r.policy_version).await?;
    let eligible = policy.rule(&r.rule).is_some_and(|rule| rule.approval.eligible(&me));
    if !eligible && caller.role != Role::Admin {
        return Err(ApiError::ForbiddenBecause("you are not an approver for this request".to_owned()));
    }
    let decision = Decision { approver_id: caller.user_id.clone(), approver_email: caller.email.clone(), decision: "deny".to_owned(), reason: reason.clone(), at: state.now() };
    let to = lifecycle::next(r.state, Event::Deny).map_err(|e| ApiError::InvalidState(e.to_string()))?;
    // A person who approved earlier and now denies keeps one decision: the first.
    let mut changes = Changes { decided_at: Some(state.now()), decision: Some(decision), ..Changes::default() };
    let denied = r.moved(to, &changes);
    changes.effects = Effects::default().audit(NewAuditEvent::new(&caller.user_id, "request.denied", &r.id).with(json!({"reason": reason})));
    if let Some(n) = crate::notify::notice(&state, "request.denied", state.now(), &denied).await? {
        changes.effects = changes.effects.notice(n);
    }
    apply(&state, &caller, &r, Event::Deny, &changes).await?;
    state.created.forget(&r.id);
    Ok(axum::Json(denied))
}

/// `POST /v1/requests/{id}/cancel`: the requester withdraws it before access is granted.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/cancel",
    operation_id = "cancel_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    responses(
        (status = 200, description = "The request, `cancelled`.", body = Request),
        (status = 403, description = "`forbidden`: only the requester may cancel; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: access was already granted or the request is decided.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn cancel(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<axum::Json<Request>> {
    let r = load(&state, &caller, &id).await?;
    if r.requester_id != caller.user_id {
        return Err(ApiError::ForbiddenBecause("only the requester can cancel a request".to_owned()));
    }
    let effects = Effects::default().audit(NewAuditEvent::new(&caller.user_id, "request.cancelled", &r.id));
    apply(&state, &caller, &r, Event::Cancel, &Changes { effects, ..Changes::default() }).await?;
    state.created.forget(&r.id);
    Ok(axum::Json(state.store.request(&caller.org_id, &r.id).await?.ok_or(ApiError::NotFound("request"))?))
}

#[cfg(test)]
mod tests {
    use super::humantime_like;

    #[test]
    fn durations_read_short() {
        for (secs, want) in [(30, "30s"), (1800, "30m"), (3600, "1h"), (5400, "1h30m"), (3661, "1h1m1s")] {
            assert_eq!(humantime_like(secs), want);
        }
    }
}

/// Ends a request's access early (`reason`: revoked or relinquished),
/// queueing the work that takes it away and auditing `event` with it.
async fn end(state: &AppState, caller: &Principal, r: &Request, reason: EndReason, event: NewAuditEvent) -> ApiResult<Request> {
    let effects = Effects::default().job(workers::deprovision_job(r)).audit(event);
    let changes = Changes { end_reason: Some(reason), effects, ..Changes::default() };
    let to = apply(state, caller, r, Event::End(reason), &changes).await?;
    Ok(r.moved(to, &changes))
}

/// `POST /v1/requests/{id}/revoke`: an approver of the request (or an admin)
/// takes access away early.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/revoke",
    operation_id = "revoke_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body(content = Reason, description = "Why."),
    responses(
        (status = 200, description = "The request, `expiring`: access is being taken away.", body = Request),
        (status = 403, description = "`forbidden`: not an approver of this request nor an admin; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request holds no access to revoke.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Reason>) -> ApiResult<axum::Json<Request>> {
    let (r, me) = load_with_person(&state, &caller, &id).await?;
    caller.require(Scope::Approve)?;
    let policy = policy_at(&state, &caller.org_id, r.policy_version).await?;
    let eligible = policy.rule(&r.rule).is_some_and(|rule| rule.approval.eligible(&me));
    if !eligible && caller.role != Role::Admin {
        return Err(ApiError::ForbiddenBecause("only an approver of this request or an admin can revoke it".to_owned()));
    }
    let event = NewAuditEvent::new(&caller.user_id, "request.revoking", &r.id).with(json!({"reason": body.reason}));
    let ending = end(&state, &caller, &r, EndReason::Revoked, event).await?;
    Ok(axum::Json(ending))
}

/// `POST /v1/requests/{id}/relinquish`: the requester gives access back early.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/relinquish",
    operation_id = "relinquish_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    responses(
        (status = 200, description = "The request, `expiring`: access is being taken away.", body = Request),
        (status = 403, description = "`forbidden`: only the requester may relinquish; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request holds no access to give back.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn relinquish(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<axum::Json<Request>> {
    let r = load(&state, &caller, &id).await?;
    if r.requester_id != caller.user_id {
        return Err(ApiError::ForbiddenBecause("only the requester can relinquish a request".to_owned()));
    }
    let ending = end(&state, &caller, &r, EndReason::Relinquished, NewAuditEvent::new(&caller.user_id, "request.relinquishing", &r.id)).await?;
    Ok(axum::Json(ending))
}

/// Body of `POST /v1/requests/{id}/extend`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    /// Seconds to add to the end of access.
    by_secs: u64,
}

/// `POST /v1/requests/{id}/extend`: the requester keeps active access longer,
/// within the rule's `max_duration` counted from when it became active.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/extend",
    operation_id = "extend_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body = Extend,
    responses(
        (status = 200, description = "The request with its new `expires_at`.", body = Request),
        (status = 400, description = "`invalid_request`: the extension would pass the rule's `max_duration`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: only the requester may extend; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not active.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn extend(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<Extend>) -> ApiResult<axum::Json<Request>> {
    let r = load(&state, &caller, &id).await?;
    if r.requester_id != caller.user_id {
        return Err(ApiError::ForbiddenBecause("only the requester can extend a request".to_owned()));
    }
    caller.require(Scope::Request)?;
    let policy = policy_at(&state, &caller.org_id, r.policy_version).await?;
    let rule = policy.rule(&r.rule).ok_or_else(|| ApiError::Internal(format!("rule `{}` missing from policy v{}", r.rule, r.policy_version).into()))?;
    let (Some(expires_at), RequestState::Active) = (r.expires_at, r.state) else {
        return Err(ApiError::InvalidState(format!("the request is {}, not active", r.state)));
    };
    let by = Duration::from_secs(body.by_secs);
    let total = r.duration + by;
    if by.is_zero() || total > rule.max_duration {
        return Err(ApiError::InvalidRequest(format!(
            "access may last at most {} under policy rule `{}`; it has {} already",
            humanize(rule.max_duration),
            rule.name,
            humanize(r.duration)
        )));
    }
    let new_end = expires_at.plus(by);
    // INVARIANT: the new end's expiry is queued with the extension itself.
    let effects = Effects::default()
        .job(workers::expire_job(&r, new_end))
        .job(workers::extend_job(&r, new_end))
        .audit(NewAuditEvent::new(&caller.user_id, "request.extended", &r.id).with(json!({"by_secs": body.by_secs, "expires_at": new_end})));
    let extension = Extension { from: expires_at, to: new_end, duration: total, effects };
    if !state.store.extend(&caller.org_id, &r.id, &extension, state.now()).await? {
        return Err(ApiError::InvalidState("the request changed meanwhile; reload it".to_owned()));
    }
    state.request_changed(&r.id, workers::due_soon(&state, &extension.effects));
    Ok(axum::Json(state.store.request(&caller.org_id, &r.id).await?.ok_or(ApiError::NotFound("request"))?))
}
