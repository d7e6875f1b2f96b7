//! Grants and reference-counted entitlements. The per-entitlement lock is a
//! lease in the row (`busy_by`/`busy_until`), so it works the same on both
//! engines and across replicas, and a crashed holder's lock simply expires.

use async_trait::async_trait;
use latch_core::store::{GrantStore, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;

impl SqlStore {
    /// Runs `sql` on one entitlement: `$1..$3` name it, `$4` is `value`.
    async fn on_entitlement(&self, sql: &str, org_id: &str, user_id: &str, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(sql).bind(org_id).bind(user_id).bind(key).bind(value).execute(&self.write).await.db()?;
        Ok(())
    }
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn lock_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<Option<Option<String>>> {
        sqlx::query("INSERT INTO entitlements (org_id, user_id, ent_key) VALUES ($1, $2, $3) ON CONFLICT (org_id, user_id, ent_key) DO NOTHING")
            .bind(org_id)
            .bind(user_id)
            .bind(key)
            .execute(&self.write)
            .await
            .db()?;
        let row = sqlx::query(
            "UPDATE entitlements SET busy_by = $4, busy_until = $6
             WHERE org_id = $1 AND user_id = $2 AND ent_key = $3 AND (busy_until IS NULL OR busy_until < $5 OR busy_by = $4)
             RETURNING applied",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(key)
        .bind(holder)
        .bind(now.millis())
        .bind(until.millis())
        .fetch_optional(&self.write)
        .await
        .db()?;
        row.map(|r| r.try_get::<Option<String>, _>("applied").db()).transpose()
    }

    async fn unlock_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str) -> StoreResult<()> {
        self.on_entitlement("UPDATE entitlements SET busy_by = NULL, busy_until = NULL WHERE org_id = $1 AND user_id = $2 AND ent_key = $3 AND busy_by = $4", org_id, user_id, key, holder).await
    }

    async fn set_applied(&self, org_id: &str, user_id: &str, key: &str, applied: &str) -> StoreResult<()> {
        self.on_entitlement("UPDATE entitlements SET applied = $4 WHERE org_id = $1 AND user_id = $2 AND ent_key = $3", org_id, user_id, key, applied).await
    }

    async fn drop_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str) -> StoreResult<()> {
        self.on_entitlement("DELETE FROM entitlements WHERE org_id = $1 AND user_id = $2 AND ent_key = $3 AND busy_by = $4", org_id, user_id, key, holder).await
    }

    async fn hold_grant(&self, org_id: &str, request_id: &str, idx: i64, user_id: &str, key: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO grants (org_id, request_id, idx, user_id, ent_key, state, held_at) VALUES ($1, $2, $3, $4, $5, 'held', $6)
             ON CONFLICT (request_id, idx) DO NOTHING",
        )
        .bind(org_id)
        .bind(request_id)
        .bind(idx)
        .bind(user_id)
        .bind(key)
        .bind(now.millis())
        .execute(&self.write)
        .await
        .db()?;
        Ok(())
    }

    async fn grant_key(&self, org_id: &str, request_id: &str, idx: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT ent_key FROM grants WHERE org_id = $1 AND request_id = $2 AND idx = $3")
            .bind(org_id)
            .bind(request_id)
            .bind(idx)
            .fetch_optional(&self.write)
            .await
            .db()?;
        row.map(|r| r.try_get::<String, _>("ent_key").db()).transpose()
    }

    async fn release_grant(&self, org_id: &str, request_id: &str, idx: i64, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET state = 'released', released_at = $4 WHERE org_id = $1 AND request_id = $2 AND idx = $3 AND state = 'held'")
            .bind(org_id)
            .bind(request_id)
            .bind(idx)
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    async fn holders(&self, org_id: &str, user_id: &str, key: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM grants WHERE org_id = $1 AND user_id = $2 AND ent_key = $3 AND state = 'held'")
            .bind(org_id)
            .bind(user_id)
            .bind(key)
            .fetch_one(&self.write)
            .await
            .db()?;
        row.try_get("n").db()
    }

    async fn entitlements(&self, org_id: &str) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT u.email, e.ent_key FROM entitlements e JOIN users u ON u.id = e.user_id AND u.org_id = e.org_id WHERE e.org_id = $1 ORDER BY u.email, e.ent_key")
            .bind(org_id)
            .fetch_all(&self.write)
            .await
            .db()?;
        rows.iter().map(|r| Ok((r.try_get::<String, _>("email").db()?, r.try_get::<String, _>("ent_key").db()?))).collect()
    }
}
