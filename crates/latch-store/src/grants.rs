//! Grants and reference-counted entitlements. The per-entitlement lock is a
//! lease in the row (`busy_by`/`busy_until`), so it works the same on both
//! engines and across replicas, and a crashed holder's lock simply expires.

use async_trait::async_trait;
use latch_core::access::request::Effects;
use latch_core::store::{GrantStore, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::compose::Composed;
use crate::connect::{Engine, SqlStore};
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
        // One statement: a new entitlement is created locked; a known one
        // is locked unless another holder's lock is still live.
        let row = sqlx::query(
            "INSERT INTO entitlements (org_id, user_id, ent_key, busy_by, busy_until) VALUES ($1, $2, $3, $4, $6)
             ON CONFLICT (org_id, user_id, ent_key) DO UPDATE SET busy_by = excluded.busy_by, busy_until = excluded.busy_until
             WHERE entitlements.busy_until IS NULL OR entitlements.busy_until < $5 OR entitlements.busy_by = $4
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

    #[allow(clippy::too_many_arguments, reason = "the entitlement, its holder, what was applied and what is recorded with it")]
    async fn finish_grant(&self, org_id: &str, user_id: &str, key: &str, holder: &str, applied: &str, effects: &Effects, now: Timestamp) -> StoreResult<()> {
        // What was applied is recorded even if the lock lapsed meanwhile: a
        // later revoke must undo exactly what is in place.
        const FINISH: &str = "UPDATE entitlements SET applied = {applied},
               busy_by = CASE WHEN busy_by = {holder} THEN NULL ELSE busy_by END,
               busy_until = CASE WHEN busy_by = {holder} THEN NULL ELSE busy_until END
             WHERE org_id = {org} AND user_id = {user} AND ent_key = {key} RETURNING ent_key";
        if self.engine == Engine::Postgres {
            let mut c = Composed::default();
            let (org, user, k, holder, applied) = (c.text(org_id), c.text(user_id), c.text(key), c.text(holder), c.text(applied));
            c.with("finished", &FINISH.replace("{applied}", &applied).replace("{holder}", &holder).replace("{org}", &org).replace("{user}", &user).replace("{key}", &k));
            c.effects("finished", org_id, effects, now);
            c.fetch("SELECT COUNT(*) AS n FROM finished", &self.write).await?;
            return Ok(());
        }
        let mut tx = self.write.begin().await.db()?;
        let sql = FINISH.replace("{applied}", "$4").replace("{holder}", "$5").replace("{org}", "$1").replace("{user}", "$2").replace("{key}", "$3");
        let done = sqlx::query(&sql).bind(org_id).bind(user_id).bind(key).bind(applied).bind(holder).fetch_optional(&mut *tx).await.db()?;
        if done.is_some() {
            crate::access::record_effects(&mut tx, org_id, effects, now).await?;
        }
        tx.commit().await.db()?;
        Ok(())
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
