//! AWS jobs: the inventory sync of one account (`aws_sync`, subject = the
//! account id), which queues its next run when it finishes, and the
//! reconciliation that follows each sync (`aws_reconcile`). A management
//! account's sync also queues one sync per active member account of its
//! organization, reached through its role hop ([`latch_aws::member`]).

use std::time::Duration;

use latch_core::audit::NewAuditEvent;
use latch_core::access::lifecycle::State;
use latch_core::access::request::RequestFilter;
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus};
use latch_core::jobs::{Job, NewJob};
use latch_core::Timestamp;
use serde_json::json;

use super::Failure;
use crate::state::AppState;

/// Queues the scheduled sync of `account` at `at` (one job per time).
pub(crate) fn sync_job(org_id: &str, account: &str, at: Timestamp) -> NewJob {
    NewJob { org_id: org_id.to_owned(), kind: "aws_sync".into(), subject: account.to_owned(), idempotency_key: format!("aws_sync:{account}:{}", at.millis()), run_at: at, max_attempts: 8, leased: None }
}

/// Queues a sync someone asked for now (never merged with the schedule's).
pub(crate) fn sync_now_job(org_id: &str, account: &str, at: Timestamp) -> NewJob {
    NewJob { idempotency_key: latch_core::id::new_id("aws_sync"), ..sync_job(org_id, account, at) }
}

/// What a job's account is to Latch.
enum Target {
    /// Connected through its own integration.
    Own(AwsIntegration),
    /// An active member account of the organization `mgmt` runs, reached
    /// through `mgmt`'s role hop.
    Member { mgmt: AwsIntegration, account: String },
}

impl Target {
    /// The account's installed integration, or the active member account
    /// the org's management account reaches; `None`: nothing to do (not
    /// verified, disconnected, or no longer an active member).
    async fn of(state: &AppState, org_id: &str, account: &str) -> Result<Option<Target>, Failure> {
        if let Some(i) = state.store.aws_integration(org_id, account).await? {
            return Ok((i.status == IntegrationStatus::Installed).then_some(Target::Own(i)));
        }
        Ok(match latch_aws::member::management_of(state.store.as_ref(), org_id, account).await? {
            Some((mgmt, m)) if m.is_active() => Some(Target::Member { mgmt, account: m.id }),
            _ => None,
        })
    }

    /// The integration the account is treated by.
    fn integration(&self) -> AwsIntegration {
        match self {
            Target::Own(i) => i.clone(),
            Target::Member { mgmt, account } => latch_aws::member::as_member(mgmt, account),
        }
    }

    /// Clients acting in the account.
    async fn clients(&self, state: &AppState) -> Result<latch_aws::Clients, Failure> {
        match self {
            Target::Own(i) => state.aws.integration(i).await.map_err(|e| Failure::Retry(e.to_string())),
            Target::Member { mgmt, account } => latch_aws::member::clients(&state.aws, mgmt, account).await.map_err(|e| Failure::Retry(e.to_string())),
        }
    }
}

pub(crate) async fn sync(state: &AppState, job: &Job) -> Result<(), Failure> {
    let Some(target) = Target::of(state, &job.org_id, &job.subject).await? else { return Ok(()) };
    let i = target.integration();
    let result = match &target {
        Target::Own(i) => match state.aws.integration(i).await {
            Ok(clients) => latch_aws::sync::sync_account(&clients, i, state.store.clone(), state.clock.as_ref()).await.map_err(|e| (e.is_retryable(), e.to_string())),
            Err(e) => Err((e.is_retryable(), e.to_string())),
        },
        Target::Member { mgmt, account } => {
            latch_aws::sync::sync_member(&state.aws, mgmt, account, state.store.clone(), state.clock.as_ref()).await.map_err(|e| (e.is_retryable(), e.to_string()))
        }
    };
    let run = match result {
        Ok(run) => run,
        Err((true, e)) if job.attempts < job.max_attempts => return Err(Failure::Retry(e)),
        Err((_, e)) => {
            // The last try: the schedule goes on, so a role fixed (or AWS
            // calmed) later is synced again. (A member account is synced
            // again with its management account.)
            state.audit(&job.org_id, NewAuditEvent::new("system", "aws.sync.failed", &i.account_id).with(json!({"error": e}))).await?;
            if let Target::Own(_) = target {
                schedule_next(state, &job.org_id, &i.account_id).await?;
            }
            return Err(Failure::Permanent(e));
        }
    };
    // With a fresh inventory, compare what is granted with what AWS has.
    state
        .enqueue(NewJob {
            kind: "aws_reconcile".into(),
            idempotency_key: format!("aws_reconcile:{}:{}", i.account_id, run.version),
            max_attempts: 5,
            ..sync_job(&job.org_id, &i.account_id, state.now())
        })
        .await?;
    state
        .audit(
            &job.org_id,
            NewAuditEvent::new("system", "aws.sync.done", &i.account_id)
                .with(json!({"version": run.version, "items": run.items, "appeared": run.appeared, "changed": run.changed, "vanished": run.vanished})),
        )
        .await?;
    let Target::Own(i) = target else { return Ok(()) };
    if latch_aws::member::reaches_members(&i) {
        sync_members(state, &i, run.version).await?;
    }
    schedule_next(state, &job.org_id, &i.account_id).await
}

/// Queues a sync of each active member account the management account's
/// sync `version` found, each its own job: one member failing (its role
/// missing, say) is reported for that account while the others go on.
async fn sync_members(state: &AppState, mgmt: &AwsIntegration, version: i64) -> Result<(), Failure> {
    let items = state.store.items(&mgmt.org_id, &mgmt.account_id, Some(latch_aws::member::ACCOUNT_KIND)).await?;
    for m in latch_aws::member::members(&items, &mgmt.account_id) {
        // A member connected on its own is synced through its integration.
        if !m.is_active() || state.store.aws_integration(&mgmt.org_id, &m.id).await?.is_some() {
            continue;
        }
        let key = format!("aws_sync:{}:member-of:{}:{version}", m.id, mgmt.account_id);
        state.enqueue(NewJob { idempotency_key: key, ..sync_job(&mgmt.org_id, &m.id, state.now()) }).await?;
    }
    Ok(())
}

async fn schedule_next(state: &AppState, org_id: &str, account: &str) -> Result<(), Failure> {
    let every = Duration::from_secs(state.aws.settings().sync_interval_secs.max(60));
    state.enqueue(sync_job(org_id, account, state.now().plus(every))).await?;
    Ok(())
}

/// Compares the account with what Latch has granted: access removed outside
/// Latch is granted again, Latch's own leftovers (grant policies no grant
/// holds, lapsed session cut-offs) are removed. Each repair is audited.
pub(crate) async fn reconcile(state: &AppState, job: &Job, worker: &str) -> Result<(), Failure> {
    let Some(target) = Target::of(state, &job.org_id, &job.subject).await? else { return Ok(()) };
    let i = target.integration();
    let active = state.store.list_requests(&job.org_id, &RequestFilter { requester_id: None, states: vec![State::Active], limit: i64::MAX }).await?;
    for r in active.iter().filter(|r| r.targets.iter().any(|t| t.integration == "aws" && t.account == i.account_id)) {
        super::access::repair(state, r, &i.account_id, worker).await?;
    }
    if i.mode != AwsMode::IamUsers {
        return Ok(());
    }
    let mut items = state.store.items(&job.org_id, &i.account_id, Some("iam-user")).await?;
    items.extend(state.store.items(&job.org_id, &i.account_id, Some("iam-role")).await?);
    let held = state.store.entitlements(&job.org_id).await?;
    let found = latch_aws::reconcile::leftovers(&items, &i.user_lookup, &held, &latch_aws::provision::iso(state.now()));
    if found.is_empty() {
        return Ok(());
    }
    let clients = target.clients(state).await?;
    for leftover in found {
        latch_aws::reconcile::remove(&clients, &leftover).await.map_err(|e| Failure::Retry(e.to_string()))?;
        let (what, name, policy) = match &leftover {
            latch_aws::reconcile::Leftover::GrantPolicy { user, policy } => ("grant policy no grant holds", user, policy),
            latch_aws::reconcile::Leftover::LapsedSessionDeny { role, policy } => ("lapsed session cut-off", role, policy),
        };
        tracing::warn!(account = %i.account_id, %name, %policy, "removed a leftover: {what}");
        state.audit(&job.org_id, NewAuditEvent::new("system", "aws.leftover.removed", &i.account_id).with(json!({"what": what, "on": name, "policy": policy}))).await?;
    }
    Ok(())
}
