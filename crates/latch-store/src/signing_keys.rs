//! Orgs' signing keys for the tokens Latch issues.

use async_trait::async_trait;
use latch_core::store::{SigningKeyStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;

#[async_trait]
impl SigningKeyStore for SqlStore {
    async fn signing_key(&self, org_id: &str) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT kid, private_pem FROM signing_keys WHERE org_id = $1").bind(org_id).fetch_optional(&self.write).await.db()?;
        row.map(|r| Ok((r.try_get("kid").db()?, r.try_get("private_pem").db()?))).transpose()
    }

    async fn put_signing_key(&self, org_id: &str, kid: &str, private_pem: &str, now: Timestamp) -> StoreResult<(String, String)> {
        sqlx::query("INSERT INTO signing_keys (org_id, kid, private_pem, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO NOTHING")
            .bind(org_id)
            .bind(kid)
            .bind(private_pem)
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        self.signing_key(org_id).await?.ok_or(StoreError::NotFound)
    }

    async fn reseal_signing_key(&self, org_id: &str, kid: &str, from: &str, to: &str) -> StoreResult<bool> {
        let n = sqlx::query("UPDATE signing_keys SET private_pem = $4 WHERE org_id = $1 AND kid = $2 AND private_pem = $3")
            .bind(org_id)
            .bind(kid)
            .bind(from)
            .bind(to)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        Ok(n == 1)
    }
}
