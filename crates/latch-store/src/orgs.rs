//! Orgs, and the store-wide calls (`ping`, `engine`).

use async_trait::async_trait;
use latch_core::audit::GENESIS;
use latch_core::id::new_id;
use latch_core::model::Org;
use latch_core::store::{OrgStore, Store, StoreResult};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;
use crate::rows::{self, ORG_COLS};

#[async_trait]
impl OrgStore for SqlStore {
    async fn create_org(&self, slug: &str, name: &str, now: Timestamp) -> StoreResult<Org> {
        let org = Org { id: new_id("org"), slug: slug.to_owned(), name: name.to_owned(), created_at: now };
        let mut tx = self.write.begin().await.db()?;
        sqlx::query("INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&org.id)
            .bind(&org.slug)
            .bind(&org.name)
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2)")
            .bind(&org.id)
            .bind(GENESIS)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(org)
    }

    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<Org>> {
        sqlx::query(&format!("SELECT {ORG_COLS} FROM orgs WHERE slug = $1"))
            .bind(slug)
            .fetch_optional(&self.read)
            .await
            .db()?
            .as_ref()
            .map(rows::org)
            .transpose()
    }

    async fn count_orgs(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM orgs").fetch_one(&self.read).await.db()?;
        row.try_get("n").db()
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await.db()?;
        Ok(())
    }

    fn engine(&self) -> &'static str {
        self.engine.as_str()
    }
}
