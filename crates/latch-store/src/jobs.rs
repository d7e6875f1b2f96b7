//! The job table. Claiming is one conditional UPDATE; on PostgreSQL the
//! candidate row is taken `FOR UPDATE SKIP LOCKED`, so replicas claiming at
//! once take different jobs instead of queueing behind each other.

use async_trait::async_trait;
use latch_core::id::new_id;
use latch_core::jobs::{Claimed, Job, Lease, NewJob};
use latch_core::store::{JobStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connect::{Engine, SqlStore};
use crate::error::MapErr;

const JOB_COLS: &str = "id, org_id, kind, subject, attempts, max_attempts, state, last_error, run_at";

fn job(row: &AnyRow) -> StoreResult<Job> {
    job_as(row, "")
}

/// The job in `row`, whose columns are [`JOB_COLS`] named with `prefix`.
fn job_as(row: &AnyRow, prefix: &str) -> StoreResult<Job> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Job {
        id: row.try_get(col("id").as_str()).db()?,
        org_id: row.try_get(col("org_id").as_str()).db()?,
        kind: row.try_get(col("kind").as_str()).db()?,
        subject: row.try_get(col("subject").as_str()).db()?,
        attempts: row.try_get(col("attempts").as_str()).db()?,
        max_attempts: row.try_get(col("max_attempts").as_str()).db()?,
        state: row.try_get(col("state").as_str()).db()?,
        last_error: row.try_get(col("last_error").as_str()).db()?,
        run_at: Timestamp(row.try_get(col("run_at").as_str()).db()?),
    })
}

/// Queues `j` on `conn` (inside the caller's transaction, if any); false if
/// its idempotency key was queued before.
pub(crate) async fn enqueue_in(conn: &mut sqlx::AnyConnection, j: &NewJob, now: Timestamp) -> StoreResult<bool> {
    let (id, state, attempts) = match &j.leased {
        Some(l) => (l.lease.job_id.clone(), "running", 1),
        None => (new_id("job"), "queued", 0),
    };
    let n = sqlx::query(
        "INSERT INTO jobs (id, org_id, kind, subject, idempotency_key, state, attempts, max_attempts, run_at, lease_owner, lease_until, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $9, $10, $6, $7, $11, $12, $8, $8)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(id)
    .bind(&j.org_id)
    .bind(&j.kind)
    .bind(&j.subject)
    .bind(&j.idempotency_key)
    .bind(j.max_attempts)
    .bind(j.run_at.millis())
    .bind(now.millis())
    .bind(state)
    .bind(attempts)
    .bind(j.leased.as_ref().map(|l| l.lease.worker.clone()))
    .bind(j.leased.as_ref().map(|l| l.until.millis()))
    .execute(&mut *conn)
    .await
    .db()?
    .rows_affected();
    Ok(n == 1)
}

/// Leases the most overdue due job: `$1` the worker, `$2` now, `$3` the
/// lease's end. Two candidates, each the first entry of its partial index:
/// the earliest due queued job and the earliest lapsed lease; the earlier
/// of the two by run time is taken. On PostgreSQL the candidates are
/// locked `SKIP LOCKED`, so concurrent claims take different jobs.
fn claim_sql(engine: Engine) -> String {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $3, attempts = attempts + 1, updated_at = $2
         WHERE id = (SELECT id FROM (
                       SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state = 'queued' AND run_at <= $2
                                               ORDER BY run_at, id LIMIT 1{lock}) due
                       UNION ALL
                       SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state = 'running' AND lease_until < $2
                                               ORDER BY lease_until LIMIT 1{lock}) lapsed
                     ) candidates ORDER BY run_at, id LIMIT 1)
         RETURNING {JOB_COLS}"
    )
}

/// Marks the leased job done on `conn` (inside the caller's transaction);
/// false if its worker no longer holds it.
pub(crate) async fn complete_in(conn: &mut sqlx::AnyConnection, lease: &Lease, now: Timestamp) -> StoreResult<bool> {
    let n = sqlx::query(COMPLETE).bind(&lease.job_id).bind(&lease.worker).bind(now.millis()).execute(&mut *conn).await.db()?.rows_affected();
    Ok(n == 1)
}

/// Marks job `$1` done if worker `$2` holds it, at `$3`.
const COMPLETE: &str = "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, updated_at = $3
     WHERE id = $1 AND lease_owner = $2 AND state = 'running'";

impl SqlStore {
    /// Ends `worker`'s lease on a job, moving it to `state`; false if the
    /// worker no longer holds the lease (another took the job over).
    async fn release(&self, job_id: &str, worker: &str, state: &str, run_at: Option<Timestamp>, error: Option<&str>, now: Timestamp) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET state = $3, lease_owner = NULL, lease_until = NULL, updated_at = $6,
               run_at = COALESCE($4, run_at), last_error = COALESCE($5, last_error)
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(worker)
        .bind(state)
        .bind(run_at.map(Timestamp::millis))
        .bind(error.map(str::to_owned))
        .bind(now.millis())
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        Ok(n == 1)
    }
}

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue(&self, j: &NewJob, now: Timestamp) -> StoreResult<bool> {
        let mut conn = self.write.acquire().await.db()?;
        enqueue_in(&mut conn, j, now).await
    }

    async fn claim(&self, worker: &str, now: Timestamp, lease_until: Timestamp) -> StoreResult<Option<Job>> {
        let row = sqlx::query(&claim_sql(self.engine)).bind(worker).bind(now.millis()).bind(lease_until.millis()).fetch_optional(&self.write).await.db()?;
        row.as_ref().map(job).transpose()
    }

    async fn claim_or_next_due(&self, worker: &str, now: Timestamp, lease_until: Timestamp) -> StoreResult<Claimed> {
        if self.engine == Engine::Sqlite {
            return match self.claim(worker, now, lease_until).await? {
                Some(job) => Ok(Claimed::Job(job, None)),
                None => Ok(Claimed::Idle { next_due: self.next_due(now).await? }),
            };
        }
        // The claimed job's columns (NULL if none), the next run time after
        // `now` (read before the claim; only used if none), and the request
        // the job works on if its subject is one, joined as
        // `AccessStore::request` reads it: one row per target and decision.
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            let cols: Vec<String> = JOB_COLS.split(", ").map(|c| format!("c.{c} AS job_{c}")).collect();
            format!(
                "WITH claimed AS ({}) SELECT {}, (SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND run_at > $2) AS next_due, {}
                 FROM (SELECT 1 AS one) o LEFT JOIN claimed c ON true
                 LEFT JOIN requests r ON r.id = c.subject AND r.org_id = c.org_id {}
                 ORDER BY {}",
                claim_sql(Engine::Postgres),
                cols.join(", "),
                crate::access::request_select(),
                crate::access::REQUEST_JOINS,
                crate::access::REQUEST_ORDER
            )
        });
        let rows = sqlx::query(sql).bind(worker).bind(now.millis()).bind(lease_until.millis()).fetch_all(&self.write).await.db()?;
        let first = rows.first().ok_or_else(|| StoreError::Internal("the claim returned no row".into()))?;
        if first.try_get::<Option<String>, _>("job_id").db()?.is_some() {
            return Ok(Claimed::Job(job_as(first, "job_")?, crate::access::one_request(&rows)?.map(Box::new)));
        }
        Ok(Claimed::Idle { next_due: first.try_get::<Option<i64>, _>("next_due").db()?.map(Timestamp) })
    }

    async fn heartbeat(&self, job_id: &str, worker: &str, lease_until: Timestamp) -> StoreResult<bool> {
        let n = sqlx::query("UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND state = 'running'")
            .bind(job_id)
            .bind(worker)
            .bind(lease_until.millis())
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        Ok(n == 1)
    }

    async fn complete(&self, job_id: &str, worker: &str, now: Timestamp) -> StoreResult<bool> {
        self.release(job_id, worker, "done", None, None, now).await
    }

    async fn retry(&self, job_id: &str, worker: &str, run_at: Timestamp, error: &str, now: Timestamp) -> StoreResult<bool> {
        self.release(job_id, worker, "queued", Some(run_at), Some(error), now).await
    }

    async fn postpone(&self, job_id: &str, worker: &str, run_at: Timestamp, now: Timestamp) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $4, run_at = $3, attempts = attempts - 1
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(worker)
        .bind(run_at.millis())
        .bind(now.millis())
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        Ok(n == 1)
    }

    async fn bury(&self, job_id: &str, worker: &str, error: &str, now: Timestamp) -> StoreResult<bool> {
        self.release(job_id, worker, "dead", None, Some(error), now).await
    }

    async fn next_due(&self, after: Timestamp) -> StoreResult<Option<Timestamp>> {
        // INVARIANT: the bound starts the index scan after every job that
        // was claimed already (all were due by `after`): a queue table's
        // index keeps their dead entries until vacuum, and an unbounded MIN
        // walked through all of them on every call.
        let row = sqlx::query("SELECT MIN(run_at) AS t FROM jobs WHERE state = 'queued' AND run_at > $1")
            .bind(after.millis())
            .fetch_one(&self.read)
        .await
        .db()?;
        Ok(row.try_get::<Option<i64>, _>("t").db()?.map(Timestamp))
    }

    async fn forget_done(&self, before: Timestamp, limit: i64) -> StoreResult<u64> {
        // `run_at` comes no later than the end of a done job: the due index
        // (`state`, `run_at`) finds the candidates.
        let n = sqlx::query(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' AND run_at < $1 AND updated_at < $1 LIMIT $2)",
        )
        .bind(before.millis())
        .bind(limit)
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        Ok(n)
    }

    async fn dead_jobs(&self, org_id: &str) -> StoreResult<Vec<Job>> {
        sqlx::query(&format!("SELECT {JOB_COLS} FROM jobs WHERE org_id = $1 AND state = 'dead' ORDER BY updated_at DESC"))
            .bind(org_id)
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(job)
            .collect::<Result<Vec<_>, StoreError>>()
    }
}
