//! AWS jobs: the inventory sync of one account (`aws_sync`, subject = the
//! account id), which queues its next run when it finishes.

use std::time::Duration;

use latch_core::audit::NewAuditEvent;
use latch_core::integration::IntegrationStatus;
use latch_core::jobs::{Job, NewJob};
use latch_core::Timestamp;
use serde_json::json;

use super::Failure;
use crate::state::AppState;

/// Queues the scheduled sync of `account` at `at` (one job per time).
pub(crate) fn sync_job(org_id: &str, account: &str, at: Timestamp) -> NewJob {
    NewJob { org_id: org_id.to_owned(), kind: "aws_sync".into(), subject: account.to_owned(), idempotency_key: format!("aws_sync:{account}:{}", at.millis()), run_at: at, max_attempts: 8 }
}

/// Queues a sync someone asked for now (never merged with the schedule's).
pub(crate) fn sync_now_job(org_id: &str, account: &str, at: Timestamp) -> NewJob {
    NewJob { idempotency_key: latch_core::id::new_id("aws_sync"), ..sync_job(org_id, account, at) }
}

pub(crate) async fn sync(state: &AppState, job: &Job) -> Result<(), Failure> {
    let Some(i) = state.store.aws_integration(&job.org_id, &job.subject).await? else { return Ok(()) };
    if i.status != IntegrationStatus::Installed {
        return Ok(());
    }
    let hop = latch_aws::verify::integration_hop(&state.aws, &i.account_id, &i.role_name, &i.external_id);
    let clients = state.aws.assume(&[hop]).await.map_err(|e| if e.is_retryable() { Failure::Retry(e.to_string()) } else { Failure::Permanent(e.to_string()) })?;
    let result = latch_aws::sync::sync_account(&clients, &i, state.store.clone(), state.clock.as_ref()).await;
    let run = match result {
        Ok(run) => run,
        Err(e) if e.is_retryable() => return Err(Failure::Retry(e.to_string())),
        Err(e) => {
            state.audit(&job.org_id, NewAuditEvent::new("system", "aws.sync.failed", &i.account_id).with(json!({"error": e.to_string()}))).await?;
            schedule_next(state, &job.org_id, &i.account_id).await?;
            return Err(Failure::Permanent(e.to_string()));
        }
    };
    state
        .audit(
            &job.org_id,
            NewAuditEvent::new("system", "aws.sync.done", &i.account_id)
                .with(json!({"version": run.version, "items": run.items, "appeared": run.appeared, "changed": run.changed, "vanished": run.vanished})),
        )
        .await?;
    schedule_next(state, &job.org_id, &i.account_id).await
}

async fn schedule_next(state: &AppState, org_id: &str, account: &str) -> Result<(), Failure> {
    let every = Duration::from_secs(state.aws.settings().sync_interval_secs.max(60));
    state.enqueue(sync_job(org_id, account, state.now().plus(every))).await?;
    Ok(())
}
