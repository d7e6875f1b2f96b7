//! Dead jobs (admins): work that gave up after its retries. Each one was
//! also logged at error level and audited (`job.dead`) when it died; this is
//! where an operator sees what is still outstanding.

use axum::extract::State;
use latch_core::model::Scope;
use serde::Serialize;

use crate::api::openapi::AuthErrors;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

/// A job that gave up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadJob {
    /// Its id (`job_…`).
    id: String,
    /// What it was to do: `provision`, `expire`, `deprovision`, `aws_sync`, `notify`, …
    kind: String,
    /// What it was to do it to (a request id, an AWS account id, …).
    subject: String,
    /// Attempts made.
    attempts: i64,
    /// Why the last attempt failed.
    #[schema(required = true)]
    last_error: Option<String>,
}

/// The org's dead jobs, most recent first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadJobs {
    /// The jobs.
    jobs: Vec<DeadJob>,
}

/// `GET /v1/jobs/dead`.
#[utoipa::path(
    get,
    path = "/v1/jobs/dead",
    operation_id = "list_dead_jobs",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Jobs that gave up after their retries. A dead `provision` job has failed its request and taken back what was granted.", body = DeadJobs),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn dead(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<DeadJobs>> {
    caller.require(Scope::Admin)?;
    let jobs = state.store.dead_jobs(&caller.org_id).await?;
    let jobs = jobs.into_iter().map(|j| DeadJob { id: j.id, kind: j.kind, subject: j.subject, attempts: j.attempts, last_error: j.last_error }).collect();
    Ok(axum::Json(DeadJobs { jobs }))
}
