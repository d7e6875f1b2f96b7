//! Per-org OpenID Connect provider settings and sign-ins in flight.

use async_trait::async_trait;
use latch_core::model::{Role, SsoConfig};
use latch_core::store::{SsoState, SsoStore, StoreError, StoreResult};
use latch_core::token::TokenHash;
use latch_core::{Secret, Timestamp};
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;

#[async_trait]
impl SsoStore for SqlStore {
    async fn set_sso(&self, org_id: &str, c: &SsoConfig, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO org_sso (org_id, issuer, client_id, client_secret, groups_claim, auto_create, default_role, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (org_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
               client_secret = excluded.client_secret, groups_claim = excluded.groups_claim,
               auto_create = excluded.auto_create, default_role = excluded.default_role, updated_at = excluded.updated_at",
        )
        .bind(org_id)
        .bind(&c.issuer)
        .bind(&c.client_id)
        .bind(c.client_secret.expose())
        .bind(&c.groups_claim)
        .bind(i64::from(c.auto_create))
        .bind(c.default_role.as_str())
        .bind(now.millis())
        .execute(&self.write)
        .await
        .db()?;
        Ok(())
    }

    async fn sso(&self, org_id: &str) -> StoreResult<Option<SsoConfig>> {
        let row = sqlx::query(
            "SELECT issuer, client_id, client_secret, groups_claim, auto_create, default_role FROM org_sso WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.read)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("default_role").db()?;
        Ok(Some(SsoConfig {
            issuer: row.try_get("issuer").db()?,
            client_id: row.try_get("client_id").db()?,
            client_secret: Secret::new(row.try_get::<String, _>("client_secret").db()?),
            groups_claim: row.try_get("groups_claim").db()?,
            auto_create: row.try_get::<i64, _>("auto_create").db()? != 0,
            default_role: Role::parse(&role).ok_or_else(|| StoreError::Internal(format!("unexpected role `{role}`").into()))?,
        }))
    }

    async fn delete_sso(&self, org_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM org_sso WHERE org_id = $1").bind(org_id).execute(&self.write).await.db()?;
        Ok(())
    }

    async fn create_sso_state(&self, state_hash: &TokenHash, s: &SsoState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sso_states (state_hash, org_id, nonce, pkce_verifier, next, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&state_hash.0)
        .bind(&s.org_id)
        .bind(&s.nonce)
        .bind(&s.pkce_verifier)
        .bind(&s.next)
        .bind(s.expires_at.millis())
        .execute(&self.write)
        .await
        .db()?;
        Ok(())
    }

    async fn take_sso_state(&self, state_hash: &TokenHash, now: Timestamp) -> StoreResult<Option<SsoState>> {
        let mut tx = self.write.begin().await.db()?;
        // Expired states are swept here, so the table stays small.
        sqlx::query("DELETE FROM sso_states WHERE expires_at <= $1").bind(now.millis()).execute(&mut *tx).await.db()?;
        let row = sqlx::query(
            "DELETE FROM sso_states WHERE state_hash = $1 RETURNING org_id, nonce, pkce_verifier, next, expires_at",
        )
        .bind(&state_hash.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SsoState {
            org_id: row.try_get("org_id").db()?,
            nonce: row.try_get("nonce").db()?,
            pkce_verifier: row.try_get("pkce_verifier").db()?,
            next: row.try_get("next").db()?,
            expires_at: Timestamp(row.try_get("expires_at").db()?),
        }))
    }
}
