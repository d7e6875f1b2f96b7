//! The audit chain: appends are serialised per org by the head row, so
//! replicas on one PostgreSQL never fork the chain.

use async_trait::async_trait;
use latch_core::audit::{AuditRecord, NewAuditEvent};
use latch_core::store::{AuditStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::{Engine, SqlStore};
use crate::error::MapErr;
use crate::rows::{self, AUDIT_COLS};

/// Appends `event` to the org's chain inside the caller's transaction.
pub(crate) async fn append_in(tx: &mut sqlx::AnyConnection, engine: Engine, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<AuditRecord> {
    // INVARIANT: bumping the head first takes its row lock (PostgreSQL) or
    // the write lock (SQLite) before anything is read, so two appends to
    // one org are strictly ordered. The RETURNING hash is still the
    // previous record's: it is updated below.
    let head = sqlx::query("UPDATE audit_heads SET seq = seq + 1 WHERE org_id = $1 RETURNING seq, hash")
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .db()?
        .ok_or(StoreError::NotFound)?;
    let seq: i64 = head.try_get("seq").db()?;
    let prev: String = head.try_get("hash").db()?;
    let record = AuditRecord::chain(org_id, seq, now, event, &prev);
    // The record and the head's new hash: one statement on PostgreSQL (a
    // data-modifying CTE), two on SQLite (which has none, and no round trip).
    const INSERT: &str = "INSERT INTO audit_log (org_id, seq, at, actor, action, target, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    const INSERT_AND_HEAD: &str = "WITH appended AS (INSERT INTO audit_log (org_id, seq, at, actor, action, target, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))
         UPDATE audit_heads SET hash = $9 WHERE org_id = $1";
    let postgres = engine == Engine::Postgres;
    sqlx::query(if postgres { INSERT_AND_HEAD } else { INSERT })
    .bind(&record.org_id)
    .bind(record.seq)
    .bind(record.at.millis())
    .bind(&record.actor)
    .bind(&record.action)
    .bind(&record.target)
    .bind(&record.detail)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .execute(&mut *tx)
    .await
    .db()?;
    if !postgres {
        sqlx::query("UPDATE audit_heads SET hash = $2 WHERE org_id = $1").bind(org_id).bind(&record.hash).execute(&mut *tx).await.db()?;
    }
    Ok(record)
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<AuditRecord> {
        let mut tx = self.write.begin().await.db()?;
        let record = append_in(&mut tx, self.engine, org_id, event, now).await?;
        tx.commit().await.db()?;
        Ok(record)
    }

    async fn audit_page(&self, org_id: &str, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        sqlx::query(&format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
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
        let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE org_id = $1")
            .bind(org_id)
            .fetch_optional(&self.read)
            .await
            .db()?;
        row.map(|r| Ok((r.try_get("seq").db()?, r.try_get("hash").db()?))).transpose()
    }
}
