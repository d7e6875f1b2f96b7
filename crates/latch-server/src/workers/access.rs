//! Jobs of access requests: provision (approved → provisioning → active),
//! expire (active → expiring at `expires_at`), deprovision (expiring → its
//! final state), and the pending timeout.
//!
//! Every step is safe to repeat after a crash at any point: grants are
//! recorded idempotently, the provisioner's calls are idempotent, and access
//! to an entitlement is removed only when no grant holds it any more
//! (reference counting across overlapping requests).

use std::time::Duration;

use latch_core::access::lifecycle::{self, EndReason, Event, State};
use latch_core::access::notice::Notice;
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::access::request::{Changes, Effects, Move, Request};
use latch_core::audit::NewAuditEvent;
use latch_core::jobs::{Job, Lease, NewJob};
use latch_core::store::{Finish, StoreError, Take, Taken};
use serde_json::json;

use super::handoff::Reserved;
use super::Finished;
use crate::error::ApiError;
use crate::state::AppState;

/// How long one job may hold an entitlement's lock.
const LOCK: Duration = Duration::from_secs(60);

/// Why a job did not finish.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Try again after a backoff.
    Retry(String),
    /// Another job holds the same entitlement: try again shortly.
    Busy,
    /// Retrying will not help.
    Permanent(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Retry(format!("database: {e}"))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Retry(e.to_string())
    }
}

/// Queues the job that grants an approved request.
fn provision_job(org_id: &str, id: &str) -> NewJob {
    NewJob { org_id: org_id.to_owned(), kind: "provision".into(), subject: id.to_owned(), idempotency_key: format!("provision:{id}"), run_at: latch_core::Timestamp(0), max_attempts: 10, leased: None }
}

/// [`provision_job`], handed to this replica to run as soon as the
/// approval is made when it has a slot free ([`Reserved::run`]).
pub(crate) fn provision_job_here(state: &AppState, org_id: &str, id: &str) -> (NewJob, Option<Reserved>) {
    let job = provision_job(org_id, id);
    match state.handoff.reserve(state.now()) {
        Some(slot) => (slot.lease(job), Some(slot)),
        None => (job, None),
    }
}

/// Queues the job that takes access away from a request that is ending.
pub(crate) fn deprovision_job(r: &Request) -> NewJob {
    NewJob { org_id: r.org_id.clone(), kind: "deprovision".into(), subject: r.id.clone(), idempotency_key: format!("deprovision:{}", r.id), run_at: latch_core::Timestamp(0), max_attempts: 20, leased: None }
}

/// Queues the expiry of a request's access at `at` (one job per end time, so
/// an extension queues a new one and the old one finds nothing due).
pub(crate) fn expire_job(r: &Request, at: latch_core::Timestamp) -> NewJob {
    NewJob { org_id: r.org_id.clone(), kind: "expire".into(), subject: r.id.clone(), idempotency_key: format!("expire:{}:{}", r.id, at.millis()), run_at: at, max_attempts: 20, leased: None }
}

/// Queues the job that moves the integration's own time bound of an
/// extended request's grants to its new end.
pub(crate) fn extend_job(r: &Request, to: latch_core::Timestamp) -> NewJob {
    NewJob { org_id: r.org_id.clone(), kind: "extend".into(), subject: r.id.clone(), idempotency_key: format!("extend:{}:{}", r.id, to.millis()), run_at: latch_core::Timestamp(0), max_attempts: 20, leased: None }
}

/// Queues the pending timeout of a new request.
pub(crate) fn pending_timeout_job(org_id: &str, id: &str, pending_until: latch_core::Timestamp) -> NewJob {
    NewJob { org_id: org_id.to_owned(), kind: "pending_timeout".into(), subject: id.to_owned(), idempotency_key: format!("pending_timeout:{id}"), run_at: pending_until, max_attempts: 10, leased: None }
}

/// How many of `effects`' jobs fall due before an idle worker would look
/// anyway: only those are worth waking a worker for. Each notice is
/// delivered by jobs due at once (one per webhook that wants it, and a
/// notice is made only when one does).
pub(crate) fn due_soon(state: &AppState, effects: &Effects) -> usize {
    let soon = state.now().plus(super::POLL);
    // A job queued leased is run by its holder, not claimed.
    effects.jobs.iter().filter(|j| j.run_at <= soon && j.leased.is_none()).count() + effects.notices.len()
}

/// Runs one job; `read`: its request, if read with the claim.
pub(crate) async fn run(state: &AppState, job: &Job, worker: &str, read: Option<Request>) -> Result<Finished, Failure> {
    let r = match read {
        Some(r) if r.id == job.subject && r.org_id == job.org_id => r,
        _ => match state.store.request(&job.org_id, &job.subject).await? {
            Some(r) => r,
            None => return Ok(Finished::Now),
        },
    };
    if job.kind == "provision" {
        return provision(state, r, &Lease { job_id: job.id.clone(), worker: worker.to_owned() }).await;
    }
    match job.kind.as_str() {
        "expire" => expire(state, r, worker).await,
        "deprovision" => deprovision(state, r, worker).await,
        "pending_timeout" => pending_timeout(state, r).await,
        "extend" => extend(state, r, worker).await,
        "expiring_soon" => {
            // At least once: a crash between queueing and finishing this
            // job queues the notice again when the job is retried.
            if r.state == State::Active {
                state.store.queue_notices(&r.org_id, &[Notice::new("request.expiring_soon", state.now(), &r)], state.now()).await?;
            }
            Ok(())
        }
        other => Err(Failure::Permanent(format!("unknown job kind `{other}`"))),
    }
    .map(|()| Finished::Now)
}

/// Moves `r` on by `event` with `changes`; with `notice`, the org's webhooks
/// hear of it (queued in the same transaction). `None` if it had moved.
async fn step(state: &AppState, r: &Request, event: Event, changes: Changes, notice: Option<&str>) -> Result<Option<Request>, Failure> {
    let (m, fresh) = prepare(state, r, event, changes, notice).await?;
    if !state.store.transition(&r.org_id, &r.id, m.from, m.to, &m.changes, state.now()).await? {
        return Ok(None);
    }
    moved(state, &m, &fresh);
    Ok(Some(fresh))
}

/// The move of `r` by `event` with `changes` (and `notice`, as in
/// [`step`]), and the request as it leaves it: the store moves exactly
/// this row from exactly `r.state`, so it is not read again.
async fn prepare(state: &AppState, r: &Request, event: Event, mut changes: Changes, notice: Option<&str>) -> Result<(Move, Request), Failure> {
    let to = lifecycle::next(r.state, event).map_err(|e| Failure::Permanent(e.to_string()))?;
    let fresh = r.moved(to, &changes);
    if let Some(event) = notice {
        if let Some(n) = crate::notify::notice(state, event, state.now(), &fresh).await? {
            changes.effects.notices.push(n);
        }
    }
    Ok((Move { id: r.id.clone(), from: r.state, to, changes }, fresh))
}

/// Tells watchers and workers that `m` was made.
fn moved(state: &AppState, m: &Move, fresh: &Request) {
    state.request_moved(fresh, due_soon(state, &m.changes.effects));
}

fn spec(r: &Request, idx: usize) -> Option<GrantSpec> {
    let target = r.targets.get(idx)?.clone();
    let expires_at = r.expires_at.unwrap_or_else(|| r.created_at.plus(r.duration));
    Some(GrantSpec { org_id: r.org_id.clone(), user_id: r.requester_id.clone(), email: r.requester_email.clone(), target, expires_at })
}

/// The provisioner for `spec`'s integration; `missing` says how its absence fails.
fn provisioner<'a>(state: &'a AppState, spec: &GrantSpec, missing: fn(String) -> Failure) -> Result<&'a std::sync::Arc<dyn Provisioner>, Failure> {
    state.provisioners.get(&spec.target.integration).ok_or_else(|| missing(format!("integration `{}` is not installed", spec.target.integration)))
}

/// The entitlement key of a request's target: the one it was held under, or,
/// before it is first held, the one its integration gives.
async fn entitlement_key(state: &AppState, r: &Request, idx: usize, spec: &GrantSpec, held_before: bool) -> Result<String, Failure> {
    if held_before {
        if let Some(key) = state.store.grant_key(&r.org_id, &r.id, i64::try_from(idx).unwrap_or(0)).await? {
            return Ok(key);
        }
    }
    provisioner(state, spec, Failure::Permanent)?.entitlement_key(spec).await.map_err(|e| match e {
        ProvisionError::Retryable(m) => Failure::Retry(m),
        ProvisionError::Permanent(m) => Failure::Permanent(m),
    })
}

/// Grants an approved request and makes it active; the job `lease` ends
/// in the transaction that does. The move to `provisioning` is made with
/// the first target's lock, and the move to `active` with the last
/// target's record of what was applied.
async fn provision(state: &AppState, r: Request, lease: &Lease) -> Result<Finished, Failure> {
    let worker = lease.worker.as_str();
    // Whether an earlier attempt may have held grants already.
    let (mut start, r, resumed) = match r.state {
        State::Approved => {
            let (m, fresh) = prepare(state, &r, Event::StartProvisioning, Changes::default(), None).await?;
            (Some((m, fresh.clone())), fresh, false)
        }
        // A retry after a crash mid-way: carry on, every step is idempotent.
        State::Provisioning => (None, r, true),
        _ => return Ok(Finished::Now),
    };
    let expires_at = state.now().plus(r.duration);
    // Warn a quarter of the way before the end, at most 15 minutes before.
    let lead = (r.duration / 4).min(Duration::from_secs(900));
    let expiring_soon = NewJob { org_id: r.org_id.clone(), kind: "expiring_soon".into(), subject: r.id.clone(), idempotency_key: format!("expiring_soon:{}:{}", r.id, expires_at.millis()), run_at: expires_at.minus(lead), max_attempts: 5, leased: None };
    // INVARIANT: the expiry is queued in the transaction that makes the
    // request active; a crash in between cannot leave access with no end.
    let mut effects = Effects::default().job(expire_job(&r, expires_at));
    // The warning is a notice only: queued when a webhook would hear it.
    if state.store.hears(&r.org_id, "request.expiring_soon", state.now()).await? {
        effects = effects.job(expiring_soon);
    }
    let effects = effects
        .audit(NewAuditEvent::new("system", "request.active", &r.id).with(json!({"expires_at": expires_at})))
        .completing(lease.clone());
    let changes = Changes { expires_at: Some(expires_at), effects, ..Changes::default() };
    let mut activate = Some(prepare(state, &r, Event::Provisioned, changes, Some("request.active")).await?);
    let last = (0..r.targets.len()).rev().find(|&idx| spec(&r, idx).is_some());
    for idx in 0..r.targets.len() {
        let Some(mut spec) = spec(&r, idx) else { continue };
        spec.expires_at = expires_at;
        let steps = Steps { first: start.take(), then: if Some(idx) == last { activate.take() } else { None } };
        match grant_one(state, &r, idx, &spec, worker, resumed, steps).await {
            // Made active with the last grant.
            Ok(true) => return Ok(Finished::WithChange),
            Ok(false) => {}
            Err(Failure::Permanent(msg)) => return fail_now(state, &r.org_id, &r.id, &msg).await.map(|()| Finished::Now),
            Err(other) => return Err(other),
        }
    }
    // Nothing to grant (no target): the moves are made on their own.
    if let Some((m, fresh)) = start {
        if !state.store.transition(&r.org_id, &r.id, m.from, m.to, &m.changes, state.now()).await? {
            return Err(Failure::Retry("the request moved; looking again".into()));
        }
        moved(state, &m, &fresh);
    }
    // Moved meanwhile (the change and the job's end did not happen): the
    // job is marked done as any other.
    let Some((m, fresh)) = activate else { return Ok(Finished::Now) };
    Ok(if state.store.transition(&r.org_id, &r.id, m.from, m.to, &m.changes, state.now()).await? {
        moved(state, &m, &fresh);
        Finished::WithChange
    } else {
        Finished::Now
    })
}

/// Moves of the request made with a grant's own steps: `first` with its
/// lock, `then` with its record of what was applied. Each is the move and
/// the request as it leaves it.
#[derive(Default)]
struct Steps {
    first: Option<(Move, Request)>,
    then: Option<(Move, Request)>,
}

/// Grants target `idx` of `r`; `held_before`: whether it may have been held
/// under a key already (a resumed or repeated grant), which is then reused.
/// True if `steps.then` moved the request.
async fn grant_one(state: &AppState, r: &Request, idx: usize, spec: &GrantSpec, worker: &str, held_before: bool, steps: Steps) -> Result<bool, Failure> {
    let key = entitlement_key(state, r, idx, spec, held_before).await?;
    let now = state.now();
    let take = Take {
        org_id: &r.org_id,
        user_id: &r.requester_id,
        key: &key,
        holder: worker,
        now,
        until: now.plus(LOCK),
        request_id: &r.id,
        idx: i64::try_from(idx).unwrap_or(0),
        first: steps.first.as_ref().map(|(m, _)| m),
    };
    let taken = state.store.take_entitlement(&take).await?;
    if let (Some((m, fresh)), false) = (&steps.first, taken == Taken::Stale) {
        moved(state, m, fresh);
    }
    let applied = match taken {
        Taken::Stale => return Err(Failure::Retry("the request moved; looking again".into())),
        Taken::Busy => return Err(Failure::Busy),
        Taken::Held(applied) => applied,
    };
    let result = async {
        // Another grant may already hold this access: it is counted, and the
        // grant is asserted again so that the integration's own time bound
        // (a policy condition in AWS) reaches the later of the two ends; an
        // integration never shortens a bound it already set.
        let p = provisioner(state, spec, Failure::Permanent)?;
        let outcome = bounded(state, p.grant(spec)).await?.map_err(|e| match e {
            ProvisionError::Retryable(m) => Failure::Retry(m),
            ProvisionError::Permanent(m) => Failure::Permanent(m),
        })?;
        let (new_applied, fresh) = match outcome {
            GrantOutcome::Granted(a) => (a, true),
            GrantOutcome::AlreadyGranted(a) => (a, false),
        };
        // What was applied, its audit event, the unlock and the request's
        // next move: one transaction.
        let effects = if applied.is_some() && !fresh {
            Effects::default()
        } else {
            let action = if fresh { "grant.applied" } else { "grant.already_applied" };
            Effects::default().audit(NewAuditEvent::new("system", action, &r.id).with(json!({"target": spec.target, "applied": new_applied.0})))
        };
        let applied = new_applied.0.to_string();
        let finish = Finish { org_id: &r.org_id, user_id: &r.requester_id, key: &key, holder: worker, applied: &applied, effects: &effects, then: steps.then.as_ref().map(|(m, _)| m), now: state.now() };
        let then_moved = state.store.finish_grant(&finish).await?;
        if let (Some((m, fresh)), true) = (&steps.then, then_moved) {
            moved(state, m, fresh);
        }
        state.audit_written.notify_one();
        Ok(then_moved)
    }
    .await;
    if result.is_err() {
        state.store.unlock_entitlement(&r.org_id, &r.requester_id, &key, worker).await?;
    }
    result
}

/// One integration call, abandoned (and so retried: calls are idempotent)
/// when it takes longer than `access.provision_timeout_secs`.
async fn bounded<T>(state: &AppState, call: impl std::future::Future<Output = T>) -> Result<T, Failure> {
    let limit = Duration::from_secs(state.config.access.provision_timeout_secs);
    tokio::time::timeout(limit, call).await.map_err(|_| Failure::Retry(format!("the integration did not answer within {} s", limit.as_secs())))
}

/// A job gave up for good: a request it was provisioning fails (and what
/// was granted is taken back) rather than staying `provisioning` forever.
pub(crate) async fn gave_up(state: &AppState, job: &Job, error: &str) -> Result<(), Failure> {
    if job.kind != "provision" {
        return Ok(());
    }
    fail_now(state, &job.org_id, &job.subject, &format!("provisioning gave up: {error}")).await
}

/// Fails a request being provisioned, from where it is now: a failure may
/// come before its move to `provisioning` was made.
async fn fail_now(state: &AppState, org_id: &str, id: &str, msg: &str) -> Result<(), Failure> {
    let Some(r) = state.store.request(org_id, id).await? else { return Ok(()) };
    let r = match r.state {
        State::Approved => match step(state, &r, Event::StartProvisioning, Changes::default(), None).await? {
            Some(fresh) => fresh,
            None => return Ok(()),
        },
        State::Provisioning => r,
        _ => return Ok(()),
    };
    fail(state, &r, msg).await
}

/// Provisioning cannot succeed: take back whatever was granted, then fail.
async fn fail(state: &AppState, r: &Request, msg: &str) -> Result<(), Failure> {
    tracing::warn!(request = %r.id, error = %msg, "provisioning failed");
    let effects = Effects::default().job(deprovision_job(r)).audit(NewAuditEvent::new("system", "request.failing", &r.id).with(json!({"error": msg})));
    let changes = Changes { end_reason: Some(EndReason::Failed), failure: Some(msg.to_owned()), effects, ..Changes::default() };
    step(state, r, Event::End(EndReason::Failed), changes, None).await?;
    Ok(())
}

async fn expire(state: &AppState, r: Request, worker: &str) -> Result<(), Failure> {
    let due = r.expires_at.is_some_and(|t| t <= state.now());
    match r.state {
        State::Active if due => {
            let changes = Changes { end_reason: Some(EndReason::Expired), ..Changes::default() };
            match step(state, &r, Event::End(EndReason::Expired), changes, None).await? {
                Some(ending) => deprovision(state, ending, worker).await,
                None => Err(Failure::Retry("the request moved; looking again".into())),
            }
        }
        State::Expiring => deprovision(state, r, worker).await,
        // Extended (a later expire job exists), or already ended.
        _ => Ok(()),
    }
}

async fn deprovision(state: &AppState, r: Request, worker: &str) -> Result<(), Failure> {
    if r.state != State::Expiring {
        return Ok(());
    }
    for idx in 0..r.targets.len() {
        let Some(spec) = spec(&r, idx) else { continue };
        release_one(state, &r, idx, &spec, worker).await?;
    }
    let reason = r.end_reason.unwrap_or(EndReason::Expired);
    let action = match reason {
        EndReason::Expired => "request.expired",
        EndReason::Relinquished => "request.relinquished",
        EndReason::Revoked => "request.revoked",
        EndReason::Failed => "request.failed",
    };
    let changes = Changes { effects: Effects::default().audit(NewAuditEvent::new("system", action, &r.id)), ..Changes::default() };
    step(state, &r, Event::Deprovisioned(reason), changes, Some(action)).await?;
    Ok(())
}

async fn release_one(state: &AppState, r: &Request, idx: usize, spec: &GrantSpec, worker: &str) -> Result<(), Failure> {
    // A target never held was never granted: nothing to take back.
    let Some(key) = state.store.grant_key(&r.org_id, &r.id, i64::try_from(idx).unwrap_or(0)).await? else {
        return Ok(());
    };
    let now = state.now();
    let Some(applied) = state.store.lock_entitlement(&r.org_id, &r.requester_id, &key, worker, now, now.plus(LOCK)).await? else {
        return Err(Failure::Busy);
    };
    let result = async {
        state.store.release_grant(&r.org_id, &r.id, i64::try_from(idx).unwrap_or(0), now).await?;
        // INVARIANT: access is removed only when no grant holds it any more;
        // the holder count is read under the entitlement's lock.
        if state.store.holders(&r.org_id, &r.requester_id, &key).await? > 0 {
            return Ok(false);
        }
        let Some(applied) = applied else { return Ok(true) };
        let applied: Applied = Applied(serde_json::from_str(&applied).unwrap_or_default());
        let p = provisioner(state, spec, |m| Failure::Retry(format!("{m}; cannot revoke")))?;
        let outcome = bounded(state, p.revoke(spec, &applied)).await?.map_err(|e| match e {
            ProvisionError::Retryable(m) | ProvisionError::Permanent(m) => Failure::Retry(m),
        })?;
        let action = match outcome {
            RevokeOutcome::Revoked => "grant.removed",
            RevokeOutcome::AlreadyRevoked => "grant.already_removed",
        };
        state.audit(&r.org_id, NewAuditEvent::new("system", action, &r.id).with(json!({"target": spec.target, "applied": applied.0}))).await?;
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => state.store.drop_entitlement(&r.org_id, &r.requester_id, &key, worker).await?,
        _ => state.store.unlock_entitlement(&r.org_id, &r.requester_id, &key, worker).await?,
    }
    result.map(|_| ())
}

/// Reconciliation: asserts an active request's grant in `account` again.
/// Access removed outside Latch comes back (`grant.repaired`); access in
/// place is left as it is.
pub(crate) async fn repair(state: &AppState, r: &Request, account: &str, worker: &str) -> Result<(), Failure> {
    for (idx, target) in r.targets.iter().enumerate() {
        if target.integration != "aws" || target.account != account {
            continue;
        }
        let Some(spec) = spec(r, idx) else { continue };
        // Not held yet: provisioning will grant it.
        let Some(key) = state.store.grant_key(&r.org_id, &r.id, i64::try_from(idx).unwrap_or(0)).await? else { continue };
        let now = state.now();
        // A change in flight owns the entitlement: the next pass looks again.
        match state.store.lock_entitlement(&r.org_id, &r.requester_id, &key, worker, now, now.plus(LOCK)).await? {
            None => continue,
            Some(None) => {
                // Not granted yet: provisioning will do it.
                state.store.unlock_entitlement(&r.org_id, &r.requester_id, &key, worker).await?;
                continue;
            }
            Some(Some(_)) => {}
        }
        let result = async {
            let p = provisioner(state, &spec, Failure::Retry)?;
            match bounded(state, p.grant(&spec)).await? {
                Ok(GrantOutcome::Granted(applied)) => {
                    tracing::warn!(request = %r.id, target = %key, "access was removed outside Latch; granted again");
                    let event = NewAuditEvent::new("system", "grant.repaired", &r.id).with(json!({"target": spec.target, "applied": applied.0, "why": "removed outside Latch"}));
                    let (applied, effects) = (applied.0.to_string(), Effects::default().audit(event));
                    let finish = Finish { org_id: &r.org_id, user_id: &r.requester_id, key: &key, holder: worker, applied: &applied, effects: &effects, then: None, now: state.now() };
                    state.store.finish_grant(&finish).await?;
                    state.audit_written.notify_one();
                    Ok(true)
                }
                Ok(GrantOutcome::AlreadyGranted(_)) => Ok(false),
                Err(ProvisionError::Retryable(m) | ProvisionError::Permanent(m)) => Err(Failure::Retry(m)),
            }
        }
        .await;
        // A repair unlocked as it finished; otherwise unlock here.
        if !matches!(result, Ok(true)) {
            state.store.unlock_entitlement(&r.org_id, &r.requester_id, &key, worker).await?;
        }
        result?;
    }
    Ok(())
}

/// An active request was extended: assert its grants again with the new end.
async fn extend(state: &AppState, r: Request, worker: &str) -> Result<(), Failure> {
    if r.state != State::Active {
        return Ok(());
    }
    for idx in 0..r.targets.len() {
        let Some(spec) = spec(&r, idx) else { continue };
        match grant_one(state, &r, idx, &spec, worker, true, Steps::default()).await {
            Ok(_) => {}
            // The access itself is in place; only its bound could not move.
            // The job is retried and, if it dies, shows among dead jobs.
            Err(Failure::Permanent(msg)) => return Err(Failure::Retry(msg)),
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

async fn pending_timeout(state: &AppState, r: Request) -> Result<(), Failure> {
    if r.state != State::Pending || r.pending_until > state.now() {
        return Ok(());
    }
    let effects = Effects::default().audit(NewAuditEvent::new("system", "request.expired", &r.id).with(json!({"why": "not decided in time"})));
    step(state, &r, Event::PendingTimeout, Changes { effects, ..Changes::default() }, Some("request.expired")).await?;
    Ok(())
}
