//! Jobs handed straight to this replica: a request approved here is
//! provisioned here, at once, without waiting for a worker to claim the
//! job from the table. The job is still queued, in the transaction that
//! approves, but already leased to a holder of this replica's own
//! (`{replica}-h{n}`, one per job, so that entitlement locks taken under
//! it exclude each other as workers' do); the replica then runs it. The
//! table stays the record: if this replica dies first, its leases are freed
//! by whoever finds it dead (or lapse), and any worker claims the job.
//!
//! Only so many jobs are in hand at once; past that, and before this
//! replica has joined (so every lease is traceable to a registered
//! replica), jobs are queued for the workers to claim as before.
//!
//! While a request's job is in hand, the replica knows where the request
//! stands as well as the database does, short of a change another replica
//! makes meanwhile (a cancellation or revocation, which the job's own next
//! move then fails on): it is the one moving it. [`Handoff::in_hand`] gives
//! the request as this replica last moved it, so a watch opened meanwhile
//! starts from it without a read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use latch_core::access::request::Request;
use latch_core::jobs::{Lease, Leased, NewJob};
use latch_core::Timestamp;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::state::AppState;

/// Jobs in hand at once, per replica (on top of its claiming workers).
const SLOTS: u32 = 16;

/// This replica's handed-off jobs.
#[derive(Debug)]
pub struct Handoff {
    /// This replica, once it has joined.
    replica: OnceLock<String>,
    slots: Arc<Semaphore>,
    next: AtomicU64,
    stopping: AtomicBool,
    /// The requests whose jobs are in hand, as this replica last moved them.
    in_hand: Mutex<HashMap<String, Arc<Request>>>,
}

impl Default for Handoff {
    fn default() -> Self {
        Self {
            replica: OnceLock::new(),
            slots: Arc::new(Semaphore::new(SLOTS as usize)),
            next: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            in_hand: Mutex::new(HashMap::new()),
        }
    }
}

/// A slot for one job, and the lease it is queued under.
#[derive(Debug)]
pub(crate) struct Reserved {
    slot: OwnedSemaphorePermit,
    leased: Leased,
}

impl Handoff {
    /// Starts handing jobs to `replica`, which has joined.
    pub(crate) fn open(&self, replica: &str) {
        let _ = self.replica.set(replica.to_owned());
    }

    /// Stops handing jobs over and waits for those in hand.
    pub(crate) async fn close(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.slots.acquire_many(SLOTS).await;
    }

    /// A slot for a job queued `now`; `None` when none is free (or the
    /// replica has not joined, or is stopping): queue the job for claiming.
    pub(crate) fn reserve(&self, now: Timestamp) -> Option<Reserved> {
        let replica = self.replica.get()?;
        if self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let slot = self.slots.clone().try_acquire_owned().ok()?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let lease = Lease { job_id: latch_core::id::new_id("job"), worker: format!("{replica}-h{n}") };
        Some(Reserved { slot, leased: Leased { lease, until: now.plus(super::LEASE) } })
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Request>>> {
        self.in_hand.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Request `id` of `org_id` as this replica last moved it, while a job
    /// of its is in hand here.
    pub(crate) fn in_hand(&self, org_id: &str, id: &str) -> Option<Arc<Request>> {
        self.requests().get(id).filter(|r| r.org_id == org_id).cloned()
    }

    /// This replica moved a request to `now`: kept if its job is in hand
    /// (and `now` is not behind what is kept: moves made concurrently here
    /// may be told out of order).
    pub(crate) fn moved(&self, now: &Arc<Request>) {
        if let Some(kept) = self.requests().get_mut(&now.id) {
            if kept.org_id == now.org_id && now.state.progress() >= kept.state.progress() {
                kept.clone_from(now);
            }
        }
    }
}

impl Reserved {
    /// `job`, to be queued leased to this slot's holder.
    pub(crate) fn lease(&self, job: NewJob) -> NewJob {
        NewJob { leased: Some(self.leased.clone()), ..job }
    }

    /// Runs `job` (queued with [`Reserved::lease`], in a change that was
    /// made) on `request` as it now stands.
    pub(crate) fn run(self, state: &AppState, job: &NewJob, request: Request) {
        let Some((job, lease)) = job.as_leased() else { return };
        let state = state.clone();
        let id = request.id.clone();
        state.handoff.requests().insert(id.clone(), Arc::new(request.clone()));
        tokio::spawn(async move {
            super::handle(&state, &lease.worker, job, Some(request)).await;
            state.handoff.requests().remove(&id);
            drop(self.slot);
        });
    }
}
