//! The audit chain: appends are serialised per org by the head row, so
//! replicas on one PostgreSQL never fork the chain.

use async_trait::async_trait;
use latch_core::audit::{encode_fields, AuditRecord, NewAuditEvent};
use latch_core::store::{AuditStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::{Engine, SqlStore};
use crate::error::MapErr;
use crate::rows::{self, AUDIT_COLS};

/// Appends `event` to the org's chain inside the caller's transaction.
pub(crate) async fn append_in(tx: &mut sqlx::AnyConnection, engine: Engine, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<AuditRecord> {
    match engine {
        Engine::Postgres => append_postgres(tx, org_id, event, now).await,
        Engine::Sqlite => append_sqlite(tx, org_id, event, now).await,
    }
}

/// PostgreSQL: one statement moves the head and writes the record, hashing
/// in the database (`sha256`), so the head's row lock is held for that
/// statement and the commit only. Every field but the sequence number and
/// the previous hash is encoded here ([`encode_fields`]); the statement
/// adds those two, which only the locked head knows.
async fn append_postgres(tx: &mut sqlx::AnyConnection, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<AuditRecord> {
    const APPEND: &str = "WITH head AS (
           UPDATE audit_heads SET seq = seq + 1, prev_hash = hash,
             hash = encode(sha256($2 || int8send(octet_length((seq + 1)::TEXT)::BIGINT) || convert_to((seq + 1)::TEXT, 'UTF8')
                                  || $3 || int8send(octet_length(hash)::BIGINT) || convert_to(hash, 'UTF8')), 'hex')
           WHERE org_id = $1
           RETURNING seq, prev_hash, hash)
         INSERT INTO audit_log (org_id, seq, at, actor, action, target, detail, prev_hash, hash)
         SELECT $1, seq, $4, $5, $6, $7, $8, prev_hash, hash FROM head
         RETURNING seq, prev_hash, hash";
    let detail = event.detail.to_string();
    let at = now.millis().to_string();
    let before = encode_fields(&[org_id]);
    let after = encode_fields(&[&at, &event.actor, &event.action, &event.target, &detail]);
    let row = sqlx::query(APPEND)
        .bind(org_id)
        .bind(before)
        .bind(after)
        .bind(now.millis())
        .bind(&event.actor)
        .bind(&event.action)
        .bind(&event.target)
        .bind(&detail)
        .fetch_optional(&mut *tx)
        .await
        .db()?
        .ok_or(StoreError::NotFound)?;
    let seq: i64 = row.try_get("seq").db()?;
    let prev: String = row.try_get("prev_hash").db()?;
    let hash: String = row.try_get("hash").db()?;
    let record = AuditRecord::chain(org_id, seq, now, event, &prev);
    // The database's hash must be the one verification recomputes; if not,
    // the caller's transaction fails rather than commit a broken chain.
    if record.hash != hash {
        return Err(StoreError::Internal(format!("audit record {seq}: the database hashed it as {hash}, expected {}", record.hash).into()));
    }
    Ok(record)
}

/// SQLite: a single writer at a time, and no round trips; the head is
/// bumped first, which takes the write lock before anything is read.
async fn append_sqlite(tx: &mut sqlx::AnyConnection, org_id: &str, event: &NewAuditEvent, now: Timestamp) -> StoreResult<AuditRecord> {
    let head = sqlx::query("UPDATE audit_heads SET seq = seq + 1 WHERE org_id = $1 RETURNING seq, hash")
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .db()?
        .ok_or(StoreError::NotFound)?;
    let seq: i64 = head.try_get("seq").db()?;
    let prev: String = head.try_get("hash").db()?;
    let record = AuditRecord::chain(org_id, seq, now, event, &prev);
    sqlx::query(
        "INSERT INTO audit_log (org_id, seq, at, actor, action, target, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
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
    sqlx::query("UPDATE audit_heads SET hash = $2 WHERE org_id = $1").bind(org_id).bind(&record.hash).execute(&mut *tx).await.db()?;
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
