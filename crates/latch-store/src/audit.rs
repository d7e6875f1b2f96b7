//! The audit chain. An event is written unchained (`audit_pending`), in the
//! transaction of the change it records; a sealer chains what is waiting
//! onto the org's head in batches, holding the head's row lock, so
//! replicas never fork the chain and no change waits for the head (every
//! writer of an org used to, one at a time). Reading the chain seals first:
//! what a caller wrote is in the chain it reads.

use async_trait::async_trait;
use latch_core::audit::{chain_hash, AuditRecord, NewAuditEvent};
use latch_core::store::{AuditStore, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::{Engine, SqlStore};
use crate::error::MapErr;
use crate::rows::{self, AUDIT_COLS};

/// Events chained per sealing transaction.
const SEAL_BATCH: usize = 500;
/// Rows per multi-row statement (parameters stay well under both engines'
/// limits).
const ROWS_PER_STATEMENT: usize = 50;

/// `$first, …` for `n` parameters starting at `$first`, in parentheses.
fn tuple(first: usize, n: usize) -> String {
    let params: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!("({})", params.join(", "))
}

/// Writes `events` unchained inside the caller's transaction.
pub(crate) async fn append_in(tx: &mut sqlx::AnyConnection, org_id: &str, events: &[NewAuditEvent], now: Timestamp) -> StoreResult<()> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len()).map(|i| tuple(i * 6 + 1, 6)).collect();
        let sql = format!("INSERT INTO audit_pending (org_id, at, actor, action, target, detail) VALUES {}", values.join(", "));
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q.bind(org_id).bind(now.millis()).bind(&e.actor).bind(&e.action).bind(&e.target).bind(e.detail.to_string());
        }
        q.execute(&mut *tx).await.db()?;
    }
    Ok(())
}

impl SqlStore {
    /// Chains everything waiting for `org_id`; how many events.
    async fn seal_org(&self, org_id: &str) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let n = self.seal_batch(org_id).await?;
            total += n;
            if n < SEAL_BATCH {
                return Ok(total);
            }
        }
    }

    /// Chains up to [`SEAL_BATCH`] waiting events of `org_id` in one
    /// transaction that holds the head's row lock.
    async fn seal_batch(&self, org_id: &str) -> StoreResult<usize> {
        let mut tx = self.write.begin().await.db()?;
        // INVARIANT: the head is locked before anything waiting is read, so
        // two sealers of one org take turns, and the second sees neither
        // the events the first chained nor a stale head.
        let lock = match self.engine {
            Engine::Postgres => "SELECT seq, hash FROM audit_heads WHERE org_id = $1 FOR UPDATE",
            // A write takes SQLite's one write lock before anything is read.
            Engine::Sqlite => "UPDATE audit_heads SET seq = seq WHERE org_id = $1 RETURNING seq, hash",
        };
        // No head, no org: nothing to chain onto.
        let Some(head) = sqlx::query(lock).bind(org_id).fetch_optional(&mut *tx).await.db()? else { return Ok(0) };
        let mut seq: i64 = head.try_get("seq").db()?;
        let mut hash: String = head.try_get("hash").db()?;
        let waiting = sqlx::query("SELECT id, at, actor, action, target, detail FROM audit_pending WHERE org_id = $1 ORDER BY id LIMIT $2")
            .bind(org_id)
            .bind(i64::try_from(SEAL_BATCH).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await
            .db()?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let mut ids = Vec::with_capacity(waiting.len());
        let mut records = Vec::with_capacity(waiting.len());
        for row in &waiting {
            ids.push(row.try_get::<i64, _>("id").db()?);
            seq += 1;
            let (at, actor, action, target, detail): (i64, String, String, String, String) =
                (row.try_get("at").db()?, row.try_get("actor").db()?, row.try_get("action").db()?, row.try_get("target").db()?, row.try_get("detail").db()?);
            let next = chain_hash(org_id, seq, Timestamp(at), &actor, &action, &target, &detail, &hash);
            records.push(AuditRecord { org_id: org_id.to_owned(), seq, at: Timestamp(at), actor, action, target, detail, prev_hash: std::mem::replace(&mut hash, next.clone()), hash: next });
        }
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len()).map(|i| tuple(i * 9 + 1, 9)).collect();
            let sql = format!("INSERT INTO audit_log ({AUDIT_COLS}) VALUES {}", values.join(", "));
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(&r.org_id).bind(r.seq).bind(r.at.millis()).bind(&r.actor).bind(&r.action).bind(&r.target).bind(&r.detail).bind(&r.prev_hash).bind(&r.hash);
            }
            q.execute(&mut *tx).await.db()?;
        }
        // By id, never by range: an event written before the newest one
        // sealed may commit only now, and it is still waiting.
        for chunk in ids.chunks(SEAL_BATCH) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("DELETE FROM audit_pending WHERE id IN ({})", list.join(", "));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await.db()?;
        }
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1").bind(org_id).bind(seq).bind(&hash).execute(&mut *tx).await.db()?;
        tx.commit().await.db()?;
        Ok(records.len())
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<()> {
        let mut conn = self.write.acquire().await.db()?;
        append_in(&mut conn, org_id, std::slice::from_ref(event), now).await
    }

    async fn seal_audit(&self, org_id: Option<&str>) -> StoreResult<usize> {
        if let Some(org_id) = org_id {
            return self.seal_org(org_id).await;
        }
        let orgs = sqlx::query("SELECT DISTINCT org_id FROM audit_pending").fetch_all(&self.write).await.db()?;
        let mut total = 0;
        for row in orgs {
            total += self.seal_org(&row.try_get::<String, _>("org_id").db()?).await?;
        }
        Ok(total)
    }

    async fn audit_page(&self, org_id: &str, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        self.seal_org(org_id).await?;
        sqlx::query(&format!("SELECT {AUDIT_COLS} FROM audit_log WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"))
            .bind(org_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(rows::audit)
            .collect()
    }

    async fn audit_head(&self, org_id: &str) -> StoreResult<Option<(i64, String)>> {
        self.seal_org(org_id).await?;
        let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE org_id = $1").bind(org_id).fetch_optional(&self.read).await.db()?;
        row.map(|r| Ok((r.try_get("seq").db()?, r.try_get("hash").db()?))).transpose()
    }
}
