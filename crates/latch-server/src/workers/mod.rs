//! Background workers: each claims due jobs from the shared job table, keeps
//! its lease alive while working, and completes, retries or buries the job.
//! Idle workers sleep until the next job falls due (never more than a second,
//! so work queued by another replica is picked up promptly), or until this
//! replica queues something. A crashed replica's work is not left to its
//! leases: every replica holds a liveness lock, and the others (or its own
//! restart) free what it held as soon as they find the lock free.

mod access;
mod audit;
mod aws;
mod handoff;

use std::time::Duration;

use latch_core::access::request::Request;
use latch_core::jobs::{backoff, Claimed, Job};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

pub(crate) use aws::{sync_job, sync_now_job};
pub use handoff::Handoff;
pub(crate) use access::{due_soon, deprovision_job, expire_job, extend_job, pending_timeout_job, provision_job_here, Failure};

/// How long a claimed job is leased; renewed every third of it.
pub(crate) const LEASE: Duration = Duration::from_secs(30);
/// Longest idle sleep.
pub(crate) const POLL: Duration = Duration::from_secs(1);
/// How often a replica looks for crashed ones.
const REAP_EVERY: Duration = Duration::from_secs(1);
/// How often a replica forgets old finished jobs, and how many at a time.
const FORGET_EVERY: Duration = Duration::from_secs(3600);
const FORGET_BATCH: i64 = 1000;
/// Workers per replica. Jobs wait on the database far more than they
/// compute, so more workers than cores keep expiries on time under bursts
/// (bench/revocation_lag: with 2, PostgreSQL fell behind 10,000 ends a minute).
const WORKERS: usize = 8;

/// The running workers.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    replica: String,
    state: AppState,
}

impl Workers {
    /// Stops claiming and waits for the jobs in hand to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.state.handoff.close().await;
        for h in self.handles {
            let _ = h.await;
        }
        if let Err(e) = self.state.store.leave(&self.replica).await {
            tracing::warn!(error = %e, "could not deregister this replica; the next one to look will");
        }
    }
}

/// Starts this replica's workers.
pub fn spawn(state: AppState) -> Workers {
    let (stop, rx) = watch::channel(false);
    let replica = latch_core::id::new_id("wrk");
    let handles = vec![tokio::spawn(audit::seal(state.clone(), rx.clone())), tokio::spawn(liveness(state.clone(), replica.clone(), rx))];
    Workers { stop, handles, replica, state }
}

/// Joins the replicas (before any worker claims a job, so every lease is
/// traceable to a registered replica), starts the workers, then keeps
/// looking for crashed replicas and frees what they held: at start-up
/// first, so a restart after `kill -9` takes back overdue access at once
/// instead of when the dead leases lapse.
async fn liveness(state: AppState, replica: String, mut stop: watch::Receiver<bool>) {
    loop {
        match state.store.join(&replica, state.now()).await {
            Ok(()) => break,
            Err(e) => tracing::warn!(error = %e, "could not register this replica; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(REAP_EVERY) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
    state.handoff.open(&replica);
    let workers: Vec<JoinHandle<()>> = (0..WORKERS).map(|i| tokio::spawn(run(state.clone(), format!("{replica}-{i}"), stop.clone()))).collect();
    let mut forget_at = state.now();
    loop {
        if state.now() >= forget_at {
            forget_done(&state, &stop).await;
            forget_at = state.now().plus(FORGET_EVERY);
        }
        match state.store.reap(state.now()).await {
            Ok(reaped) if !reaped.is_empty() => {
                tracing::warn!(replicas = ?reaped, "freed the work of replicas that stopped without finishing it");
                state.wake.notify_waiters();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not look for crashed replicas"),
        }
        tokio::select! {
            () = tokio::time::sleep(REAP_EVERY) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    for w in workers {
        let _ = w.await;
    }
}

/// Forgets the jobs finished longer ago than `access.done_jobs_kept_days`,
/// a batch at a time (every replica does it; the deletes do not conflict).
async fn forget_done(state: &AppState, stop: &watch::Receiver<bool>) {
    let kept = Duration::from_secs(state.config.access.done_jobs_kept_days.saturating_mul(24 * 3600));
    let before = state.now().minus(kept);
    let mut forgot = 0;
    loop {
        match state.store.forget_done(before, FORGET_BATCH).await {
            Ok(n) => {
                forgot += n;
                if n < u64::try_from(FORGET_BATCH).unwrap_or(0) || *stop.borrow() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not forget old finished jobs; trying again later");
                break;
            }
        }
    }
    if forgot > 0 {
        tracing::info!(jobs = forgot, "forgot finished jobs past their keeping");
    }
}

async fn run(state: AppState, worker: String, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let now = state.now();
        let wait = match state.store.claim_or_next_due(&worker, now, now.plus(LEASE)).await {
            Ok(Claimed::Job(job, request)) => {
                handle(&state, &worker, job, request.map(|r| *r)).await;
                continue;
            }
            Ok(Claimed::Idle { next_due: Some(due) }) => Duration::from_millis(u64::try_from((due.millis() - state.now().millis()).max(0)).unwrap_or(0)).min(POLL),
            Ok(Claimed::Idle { next_due: None }) => POLL,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a job");
                POLL
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.wake.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

/// How a job that succeeded is marked done.
pub(crate) enum Finished {
    /// By the change it made, in that change's transaction.
    WithChange,
    /// Here, now.
    Now,
}

/// Runs `job`; `request`: the request it works on, if read with the claim.
async fn handle(state: &AppState, worker: &str, job: Job, request: Option<Request>) {
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, subject = %job.subject, attempt = job.attempts);
    let _enter = span.enter();
    if job.attempts > job.max_attempts {
        bury(state, worker, &job, &format!("gave up after {} attempts: {}", job.max_attempts, job.last_error.clone().unwrap_or_default())).await;
        return;
    }
    // Keep the lease while working, so no other replica takes the job over.
    let beat = {
        let (state, worker, id) = (state.clone(), worker.to_owned(), job.id.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE / 3).await;
                let _ = state.store.heartbeat(&id, &worker, state.now().plus(LEASE)).await;
            }
        })
    };
    let result = match job.kind.as_str() {
        "notify" => crate::notify::deliver(state, &job).await.map(|()| Finished::Now),
        "aws_sync" => aws::sync(state, &job).await.map(|()| Finished::Now),
        "aws_reconcile" => aws::reconcile(state, &job, worker).await.map(|()| Finished::Now),
        _ => access::run(state, &job, worker, request).await,
    };
    beat.abort();
    let now = state.now();
    let outcome = match result {
        Ok(Finished::Now) => state.store.complete(&job.id, worker, now).await,
        Ok(Finished::WithChange) => Ok(true),
        // Waiting on another change to the same access is not a failure:
        // it must not use up the job's attempts.
        Err(Failure::Busy) => state.store.postpone(&job.id, worker, now.plus(Duration::from_millis(200)), now).await,
        Err(Failure::Retry(msg)) => {
            tracing::warn!(error = %msg, "job failed; will retry");
            state.store.retry(&job.id, worker, now.plus(backoff(job.attempts)), &msg, now).await
        }
        Err(Failure::Permanent(msg)) => {
            bury(state, worker, &job, &msg).await;
            return;
        }
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "could not record the job's outcome; its lease will expire and it will run again");
    }
}

async fn bury(state: &AppState, worker: &str, job: &Job, error: &str) {
    // A dead job is an alert: it is logged at error level, audited, and
    // listed by the API.
    tracing::error!(job = %job.id, kind = %job.kind, subject = %job.subject, error, "job is dead");
    // Access that could not be granted must not stay half-granted: the
    // request fails, and what was granted is taken back.
    if let Err(e) = access::gave_up(state, job, error).await {
        tracing::error!(job = %job.id, error = ?e, "could not fail the request of a dead job");
        return;
    }
    let _ = state.store.bury(&job.id, worker, error, state.now()).await;
    let event = latch_core::audit::NewAuditEvent::new("system", "job.dead", &job.id)
        .with(serde_json::json!({"kind": job.kind, "subject": job.subject, "error": error}));
    if let Err(e) = state.audit(&job.org_id, event).await {
        tracing::error!(error = %e, "could not audit a dead job");
    }
}
