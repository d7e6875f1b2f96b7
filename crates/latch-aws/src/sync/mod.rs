//! Inventory sync of one account: what exists (IAM users, groups, roles,
//! policies, credentials; Identity Center users, groups, permission sets
//! and assignments; Organizations accounts, hierarchy, SCPs and RCPs;
//! resources, from the tagging API and Resource Explorer, and the
//! resource-based policies of S3 buckets, SQS queues, SNS topics, KMS keys,
//! Lambda functions and Secrets Manager secrets), written as a versioned
//! snapshot with a diff against the previous one.
//!
//! Stages run concurrently; each pages through its API, retries throttling
//! with backoff, and records its page marker after every page so a sync
//! that crashed resumes where it stopped (pages are written idempotently).
//!
//! A member account of an organization is synced through its management
//! account ([`sync_member`]): its IAM inventory is its own snapshot, as if
//! it were connected.

mod iam;
mod identity_center;
mod org_policies;
mod organizations;
mod resource_policies;
mod resources;
pub mod retry;

use std::sync::Arc;

use futures_util::future::join_all;
use latch_core::integration::{AwsIntegration, AwsMode};
use latch_core::inventory::{Item, SyncRun};
use latch_core::store::{Store, StoreError};
use latch_core::Clock;
use serde_json::{json, Value};
use thiserror::Error;
use tokio::sync::Mutex;

use crate::error::AwsError;
use crate::factory::{ClientFactory, Clients};
use crate::member::{self, MemberError};

/// Why a sync stopped.
#[derive(Debug, Error)]
pub enum SyncError {
    /// AWS refused or failed.
    #[error("{stage}: {source}")]
    Aws {
        /// The stage.
        stage: &'static str,
        /// What AWS said.
        source: AwsError,
    },
    /// The database failed.
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    /// A member account could not be reached from its management account.
    #[error(transparent)]
    Unreachable(MemberError),
    /// A member account's sync failed once reached.
    #[error("member account `{account}` (reached from AWS account `{management}` through `{role_arn}`): {source}")]
    InMember {
        /// The member account.
        account: String,
        /// Its management account.
        management: String,
        /// The member role Latch acted as.
        role_arn: String,
        /// What failed.
        source: Box<SyncError>,
    },
}

impl SyncError {
    /// Whether running the sync again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Aws { source, .. } => source.is_retryable(),
            SyncError::Store(_) => true,
            SyncError::Unreachable(e) => e.is_retryable(),
            SyncError::InMember { source, .. } => source.is_retryable(),
        }
    }
}

/// The stages an integration's components call for, in a stable order.
pub fn stages(i: &AwsIntegration) -> Vec<&'static str> {
    let mut s = vec!["iam", "credential-report", "aliases"];
    if i.organizations {
        s.extend(["organizations", "org-tree", "org-policies"]);
    }
    if i.mode == AwsMode::IdentityCenter {
        s.push("identity-center");
    }
    if i.inventory {
        s.push("resources");
        s.extend(resource_policies::STAGES);
    }
    s
}

/// Where a running sync writes, and its cursor.
///
/// A stage's pages are written while the stage fetches the next ones: up to
/// [`WRITES_IN_FLIGHT`] per stage, each write starting once the one before
/// it is saved, so pages and their cursor are saved in order. Stages share
/// one database writer; a stage whose page waits behind another stage's
/// large page keeps fetching instead of waiting with it.
pub(crate) struct Sink {
    store: Arc<dyn Store>,
    org_id: String,
    account_id: String,
    version: i64,
    cursor: Arc<Mutex<Value>>,
    writes: Mutex<std::collections::HashMap<String, Writes>>,
}

/// Pages of one stage a sync may have written while it fetches on.
const WRITES_IN_FLIGHT: usize = 4;

/// A stage's writes in flight: the last one (which waits for those before
/// it and passes on their failure), and a permit per write.
struct Writes {
    last: tokio::task::JoinHandle<Result<(), StoreError>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl Sink {
    /// The stage's saved page marker, if it was interrupted mid-way.
    pub(crate) async fn marker(&self, stage: &str) -> Option<String> {
        self.cursor.lock().await.pointer(&format!("/{stage}/marker")).and_then(Value::as_str).map(str::to_owned)
    }

    async fn done(&self, stage: &str) -> bool {
        self.cursor.lock().await.pointer(&format!("/{stage}/done")).and_then(Value::as_bool) == Some(true)
    }

    /// Waits for `stage`'s writes in flight, if any.
    async fn settle(&self, stage: &str) -> Result<(), StoreError> {
        let pending = self.writes.lock().await.remove(stage);
        match pending {
            Some(w) => w.last.await.map_err(|e| StoreError::Internal(Box::new(e)))?,
            None => Ok(()),
        }
    }

    /// Writes a page of items, then remembers `next` (the marker of the
    /// page after it) for `stage`, after the stage's earlier pages; returns
    /// once fewer than [`WRITES_IN_FLIGHT`] of its pages are unsaved.
    pub(crate) async fn page(&self, stage: &str, items: Vec<Item>, next: Option<&str>) -> Result<(), StoreError> {
        // Each stage writes from one task: its entry changes only here and
        // in `settle`, both called by that task. The map is not held while
        // waiting for a permit, so other stages go on writing.
        let permits = match self.writes.lock().await.get(stage) {
            Some(w) => w.permits.clone(),
            None => Arc::new(tokio::sync::Semaphore::new(WRITES_IN_FLIGHT)),
        };
        // The semaphore is never closed.
        let permit = permits.clone().acquire_owned().await.map_err(|e| StoreError::Internal(Box::new(e)))?;
        let mut writes = self.writes.lock().await;
        let mut before = writes.remove(stage).map(|w| w.last);
        // A failed write stops the stage at its next page, not at its end.
        if before.as_ref().is_some_and(tokio::task::JoinHandle::is_finished) {
            if let Some(done) = before.take() {
                done.await.map_err(|e| StoreError::Internal(Box::new(e)))??;
            }
        }
        let (store, cursor) = (self.store.clone(), self.cursor.clone());
        let (org, account, version) = (self.org_id.clone(), self.account_id.clone(), self.version);
        let (stage_name, next) = (stage.to_owned(), next.map(str::to_owned));
        let write = tokio::spawn(async move {
            let _permit = permit;
            // INVARIANT: a page is saved only after every earlier page of
            // its stage, and not at all if one of them failed, so the
            // cursor never moves past a page that is not in the store.
            if let Some(before) = before {
                before.await.map_err(|e| StoreError::Internal(Box::new(e)))??;
            }
            store.put_items(&org, &account, version, &items).await?;
            let mut cursor = cursor.lock().await;
            let at = json!({"marker": next, "done": false});
            // A stage that keeps no marker (it restarts whole) leaves the
            // cursor as its first page saved it: nothing to save again.
            if cursor.get(&stage_name) == Some(&at) {
                return Ok(());
            }
            if let Some(obj) = cursor.as_object_mut() {
                obj.insert(stage_name, at);
            }
            store.save_cursor(&org, &account, version, &cursor).await
        });
        writes.insert(stage.to_owned(), Writes { last: write, permits });
        Ok(())
    }

    async fn finish_stage(&self, stage: &str) -> Result<(), StoreError> {
        self.settle(stage).await?;
        let mut cursor = self.cursor.lock().await;
        if let Some(obj) = cursor.as_object_mut() {
            obj.insert(stage.to_owned(), json!({"done": true}));
        }
        self.store.save_cursor(&self.org_id, &self.account_id, self.version, &cursor).await
    }
}

/// Syncs `i`'s account through `clients`; resumes a sync a crash left running.
pub async fn sync_account(clients: &Clients, i: &AwsIntegration, store: Arc<dyn Store>, clock: &dyn Clock) -> Result<SyncRun, SyncError> {
    sync_in(clients, i, store, clock, |e| e).await
}

/// Syncs member account `account` of the organization `mgmt` runs, through
/// the role hop ([`member::clients`]), into the member's own versioned
/// snapshot. A member that cannot be reached gets a failed sync saying
/// which role could not be assumed from which management account.
pub async fn sync_member(factory: &ClientFactory, mgmt: &AwsIntegration, account: &str, store: Arc<dyn Store>, clock: &dyn Clock) -> Result<SyncRun, SyncError> {
    let clients = match member::clients(factory, mgmt, account).await {
        Ok(c) => c,
        Err(e) => {
            let err = SyncError::Unreachable(e);
            if !err.is_retryable() {
                let run = store.begin_sync(&mgmt.org_id, account, clock.now()).await?;
                store.fail_sync(&mgmt.org_id, account, run.version, &err.to_string(), clock.now()).await?;
            }
            return Err(err);
        }
    };
    let [_, member_hop] = member::hops(factory, mgmt, account);
    let context = |source| SyncError::InMember { account: account.to_owned(), management: mgmt.account_id.clone(), role_arn: member_hop.role_arn.clone(), source: Box::new(source) };
    sync_in(&clients, &member::as_member(mgmt, account), store, clock, context).await
}

/// The sync of `i`'s account; a failure is reported (and recorded) as
/// `context` makes it.
async fn sync_in(clients: &Clients, i: &AwsIntegration, store: Arc<dyn Store>, clock: &dyn Clock, context: impl Fn(SyncError) -> SyncError) -> Result<SyncRun, SyncError> {
    let run = store.begin_sync(&i.org_id, &i.account_id, clock.now()).await?;
    let cursor = if run.cursor.is_object() { run.cursor.clone() } else { json!({}) };
    let sink = Sink {
        store: store.clone(),
        org_id: i.org_id.clone(),
        account_id: i.account_id.clone(),
        version: run.version,
        cursor: Arc::new(Mutex::new(cursor)),
        writes: Mutex::new(std::collections::HashMap::new()),
    };
    let results = join_all(stages(i).into_iter().map(|stage| {
        let sink = &sink;
        async move {
            if sink.done(stage).await {
                return Ok(());
            }
            let started = std::time::Instant::now();
            let result = match stage {
                "iam" => iam::authorization_details(clients, sink).await,
                "credential-report" => iam::credential_report(clients, sink).await,
                "aliases" => iam::aliases(clients, sink).await,
                "organizations" => organizations::accounts(clients, sink).await,
                "org-tree" => org_policies::tree(clients, sink).await,
                "org-policies" => org_policies::policies(clients, sink).await,
                s if resource_policies::STAGES.contains(&s) => resource_policies::sync(s, clients, sink).await,
                "identity-center" => identity_center::sync(clients, sink).await,
                _ => resources::sync(clients, sink).await,
            };
            tracing::debug!(stage, ms = started.elapsed().as_millis(), ok = result.is_ok(), "sync stage fetched");
            match result {
                Ok(()) => sink.finish_stage(stage).await.map_err(SyncError::from),
                Err(stop) => {
                    // Let the page in flight land (it is valid) before
                    // reporting; the stage's own failure is what is reported.
                    if let Err(e) = sink.settle(stage).await {
                        tracing::warn!(stage, error = %e, "a page in flight was not saved; the resumed sync writes it again");
                    }
                    match stop {
                        Stop::Aws(source) => Err(SyncError::Aws { stage, source }),
                        Stop::Store(e) => Err(SyncError::Store(e)),
                    }
                }
            }
        }
    }))
    .await;
    if let Some(err) = results.into_iter().find_map(Result::err).map(context) {
        // A retryable failure leaves the sync running, to be resumed.
        if !err.is_retryable() {
            store.fail_sync(&i.org_id, &i.account_id, run.version, &err.to_string(), clock.now()).await?;
        }
        return Err(err);
    }
    Ok(store.finish_sync(&i.org_id, &i.account_id, run.version, clock.now()).await?)
}

/// Why a stage stopped.
pub(crate) enum Stop {
    Aws(AwsError),
    Store(StoreError),
}

impl From<AwsError> for Stop {
    fn from(e: AwsError) -> Self {
        Stop::Aws(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

/// An AWS timestamp as RFC 3339.
pub(crate) fn time(t: Option<&aws_smithy_types::DateTime>) -> Value {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()).map_or(Value::Null, Value::String)
}

/// A policy document (URL-encoded by IAM) as JSON, or its text if unreadable.
pub(crate) fn document(doc: Option<&str>) -> Value {
    let text = doc.map(crate::trust::decode_document).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}
