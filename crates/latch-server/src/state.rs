//! Shared handler state. Holds no per-user or per-request memory: every
//! replica on one PostgreSQL sees the same service.

use std::sync::Arc;

use latch_core::audit::NewAuditEvent;
use latch_core::access::provision::Provisioner;
use latch_core::jobs::NewJob;
use latch_core::store::Store;
use latch_core::{Clock, Timestamp};

use crate::config::Config;
use crate::error::ApiResult;
use crate::metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Config,
    /// Request counters.
    pub metrics: Metrics,
    /// Where access is granted, by integration name (`aws`).
    pub provisioners: Provisioners,
    /// Makes AWS clients (Latch's own identity, and customer accounts
    /// through their integration roles).
    pub aws: Arc<latch_aws::ClientFactory>,
    /// Wakes this replica's workers when it queues due work (other replicas
    /// find it at their next poll, within a second).
    pub wake: tokio::sync::Notify,
    /// Wakes this replica's audit sealer when it records audit events
    /// (events of other replicas are chained by theirs, or by this one's
    /// next look, within a second).
    pub audit_written: tokio::sync::Notify,
    /// Ids of requests this replica just changed, for watch streams to wake
    /// on at once (changes made by other replicas are seen at their next
    /// look).
    pub request_changes: tokio::sync::broadcast::Sender<RequestChange>,
    /// Seals the secrets kept in the database.
    pub sealer: crate::sealing::Sealer,
    /// The effective-access inventory last built per org, with the syncs it
    /// was built from (rebuilt when one moves on; the same on every replica
    /// as it follows the database).
    pub inventories: crate::api::InventoryCache,
    /// Access policies parsed, by org and version.
    pub policies: crate::policy_cache::PolicyCache,
    /// Provision jobs of requests approved here, run here at once.
    pub handoff: crate::workers::Handoff,
    /// Requests created here, as created (approving one need not read it).
    pub(crate) created: crate::created::Created,
}

/// A request this replica created or changed.
#[derive(Debug, Clone)]
pub struct RequestChange {
    /// Its id.
    pub id: Arc<str>,
    /// The request as it now stands, when known without reading it.
    pub now: Option<Arc<latch_core::access::request::Request>>,
}

/// The provisioners the server knows, by integration name.
#[derive(Clone, Default)]
pub struct Provisioners(pub std::collections::BTreeMap<String, Arc<dyn Provisioner>>);

impl Provisioners {
    /// The provisioner of `integration`, if installed.
    pub fn get(&self, integration: &str) -> Option<&Arc<dyn Provisioner>> {
        self.0.get(integration)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config, provisioners: Provisioners, aws: Arc<latch_aws::ClientFactory>, sealer: crate::sealing::Sealer) -> Self {
        let (request_changes, _) = tokio::sync::broadcast::channel(1024);
        Self(Arc::new(Inner { store, clock, config, metrics: Metrics::default(), provisioners, aws, wake: tokio::sync::Notify::new(), audit_written: tokio::sync::Notify::new(), request_changes, sealer, inventories: Default::default(), policies: Default::default(), handoff: Default::default(), created: Default::default() }))
    }

    /// Request `id` was created or changed with `jobs` jobs queued
    /// alongside: wakes that many of this replica's workers (not all of
    /// them: a herd of idle workers each polling the job table cost more
    /// than the work itself) and whoever watches the request.
    pub fn request_changed(&self, id: &str, jobs: usize) {
        self.wake_workers(jobs);
        self.audit_written.notify_one();
        let _ = self.request_changes.send(RequestChange { id: Arc::from(id), now: None });
    }

    /// [`AppState::request_changed`], when the request as it now stands is
    /// known exactly (a transition from a state it was read in): watchers
    /// take it from here instead of reading it again.
    pub fn request_moved(&self, now: &latch_core::access::request::Request, jobs: usize) {
        self.wake_workers(jobs);
        self.audit_written.notify_one();
        let now = Arc::new(now.clone());
        self.handoff.moved(&now);
        let _ = self.request_changes.send(RequestChange { id: Arc::from(now.id.as_str()), now: Some(now) });
    }

    /// Wakes up to `n` idle workers of this replica.
    pub fn wake_workers(&self, n: usize) {
        for _ in 0..n {
            self.wake.notify_one();
        }
    }

    /// Queues a job and wakes this replica's workers.
    pub async fn enqueue(&self, job: NewJob) -> ApiResult<()> {
        self.store.enqueue(&job, self.now()).await?;
        self.wake_workers(1);
        Ok(())
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Appends to the org's audit chain. Failing to record a security event
    /// fails the request: an unaudited change is worse than a retried one.
    pub async fn audit(&self, org_id: &str, event: NewAuditEvent) -> ApiResult<()> {
        self.store.append_audit(org_id, &event, self.now()).await?;
        self.audit_written.notify_one();
        Ok(())
    }
}
