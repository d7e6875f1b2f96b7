//! Durable background work: a job table shared by every replica. A worker
//! leases a due job, heartbeats while it works, and completes, retries (with
//! exponential backoff and jitter) or buries it as dead. A job whose lease
//! ran out (its worker died) is due again, so no job is lost; idempotency
//! keys keep the same work from being queued twice.

use std::time::Duration;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// A job as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Opaque id.
    pub id: String,
    /// The org it works for.
    pub org_id: String,
    /// What to do (`provision`, `deprovision`, `expire`, `pending_timeout`, …).
    pub kind: String,
    /// What to do it to (a request id, …).
    pub subject: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Attempts before it is buried.
    pub max_attempts: i64,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was (or is) due.
    pub run_at: Timestamp,
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The org.
    pub org_id: String,
    /// What to do.
    pub kind: String,
    /// What to do it to.
    pub subject: String,
    /// Unique per piece of work: queuing the same key twice queues once.
    pub idempotency_key: String,
    /// Not before.
    pub run_at: Timestamp,
    /// Attempts before it is buried.
    pub max_attempts: i64,
    /// Queued already leased, for the replica queuing it to run at once
    /// without a claim; `None`: queued for any worker to claim.
    pub leased: Option<Leased>,
}

/// A job queued already leased: inserted `running` under `lease.job_id`,
/// its first attempt counted, held by `lease.worker` until `until`. When
/// the holder does not get to it (a crash), the lease lapses and any
/// worker claims it as it would a job whose worker died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The job's id and holder.
    pub lease: Lease,
    /// The lease's end.
    pub until: Timestamp,
}

impl NewJob {
    /// The job as its holder runs it, when queued [`NewJob::leased`].
    pub fn as_leased(&self) -> Option<(Job, Lease)> {
        let l = self.leased.as_ref()?;
        let job = Job {
            id: l.lease.job_id.clone(),
            org_id: self.org_id.clone(),
            kind: self.kind.clone(),
            subject: self.subject.clone(),
            attempts: 1,
            max_attempts: self.max_attempts,
            state: "running".to_owned(),
            last_error: None,
            run_at: self.run_at,
        };
        Some((job, l.lease.clone()))
    }
}

/// The delay before retry number `attempt` (1-based): exponential from one
/// second, capped at five minutes, with ±25 % jitter so that a burst of
/// failures does not retry in lockstep.
pub fn backoff(attempt: i64) -> Duration {
    let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    let base = 1000u64.saturating_mul(1u64 << exp.min(16)).min(300_000);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        for (attempt, lo, hi) in [(1, 750, 1250), (2, 1500, 2500), (5, 12_000, 20_000), (30, 225_000, 375_000)] {
            let d = backoff(attempt).as_millis();
            assert!((lo..=hi).contains(&d), "attempt {attempt}: {d}");
        }
    }
}

/// What a worker's claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// A job, leased to the worker, with the request it works on when the
    /// store read it with the claim (`None`: not read, or none).
    Job(Job, Option<Box<crate::access::request::Request>>),
    /// Nothing due now; the earliest queued job's run time, if any.
    Idle {
        /// See [`crate::store::JobStore::next_due`].
        next_due: Option<Timestamp>,
    },
}

/// A job as leased to a worker: a change the job makes can mark it done in
/// the change's own transaction ([`crate::access::request::Effects::completing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: String,
    /// The worker holding it (marking it done is a no-op for anyone else).
    pub worker: String,
}
