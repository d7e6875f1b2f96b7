//! Connected AWS accounts.

use async_trait::async_trait;
use latch_core::integration::{AwsIntegration, AwsMode, FederationProtocol, IntegrationStatus, UserLookup};
use latch_core::store::{IntegrationStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;

const COLS: &str = "org_id, account_id, alias, mode, user_lookup, inventory, organizations, role_name, external_id, status, missing, verified_at, created_at, sso_start_url, federation";

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("unreadable {what} in aws_integrations").into())
}

fn integration(row: &AnyRow) -> StoreResult<AwsIntegration> {
    let mode: String = row.try_get("mode").db()?;
    let lookup: String = row.try_get("user_lookup").db()?;
    let status: String = row.try_get("status").db()?;
    let missing: String = row.try_get("missing").db()?;
    let federation: String = row.try_get("federation").db()?;
    Ok(AwsIntegration {
        org_id: row.try_get("org_id").db()?,
        account_id: row.try_get("account_id").db()?,
        alias: row.try_get("alias").db()?,
        mode: AwsMode::parse(&mode).ok_or_else(|| corrupt("mode"))?,
        user_lookup: UserLookup::parse(&lookup).ok_or_else(|| corrupt("user_lookup"))?,
        inventory: row.try_get::<i64, _>("inventory").db()? != 0,
        organizations: row.try_get::<i64, _>("organizations").db()? != 0,
        role_name: row.try_get("role_name").db()?,
        external_id: row.try_get("external_id").db()?,
        status: IntegrationStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        missing: missing.split_whitespace().map(str::to_owned).collect(),
        verified_at: row.try_get::<Option<i64>, _>("verified_at").db()?.map(Timestamp),
        created_at: Timestamp(row.try_get("created_at").db()?),
        sso_start_url: row.try_get("sso_start_url").db()?,
        federation: FederationProtocol::parse(&federation).ok_or_else(|| corrupt("federation"))?,
    })
}

#[async_trait]
impl IntegrationStore for SqlStore {
    async fn put_aws_integration(&self, i: &AwsIntegration) -> StoreResult<AwsIntegration> {
        // INVARIANT: the ExternalId is issued once per org x account; a
        // re-install keeps it, or the customer's trust policy would break.
        sqlx::query(&format!(
            "INSERT INTO aws_integrations ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (org_id, account_id) DO UPDATE SET
               alias = excluded.alias, user_lookup = excluded.user_lookup,
               status = CASE WHEN aws_integrations.mode = excluded.mode
                              AND aws_integrations.inventory = excluded.inventory
                              AND aws_integrations.organizations = excluded.organizations
                              AND aws_integrations.role_name = excluded.role_name
                              AND aws_integrations.federation = excluded.federation
                         THEN aws_integrations.status ELSE 'pending' END,
               mode = excluded.mode, inventory = excluded.inventory,
               organizations = excluded.organizations, role_name = excluded.role_name,
               sso_start_url = excluded.sso_start_url, federation = excluded.federation"
        ))
        .bind(&i.org_id)
        .bind(&i.account_id)
        .bind(&i.alias)
        .bind(i.mode.as_str())
        .bind(i.user_lookup.as_string())
        .bind(i64::from(i.inventory))
        .bind(i64::from(i.organizations))
        .bind(&i.role_name)
        .bind(&i.external_id)
        .bind(i.status.as_str())
        .bind(i.missing.join(" "))
        .bind(i.verified_at.map(|t| t.millis()))
        .bind(i.created_at.millis())
        .bind(&i.sso_start_url)
        .bind(i.federation.as_str())
        .execute(&self.write)
        .await
        .db()?;
        self.aws_integration(&i.org_id, &i.account_id).await?.ok_or(StoreError::NotFound)
    }

    async fn aws_integration(&self, org_id: &str, account_or_alias: &str) -> StoreResult<Option<AwsIntegration>> {
        sqlx::query(&format!("SELECT {COLS} FROM aws_integrations WHERE org_id = $1 AND (account_id = $2 OR alias = $2) ORDER BY account_id LIMIT 1"))
            .bind(org_id)
            .bind(account_or_alias)
            .fetch_optional(&self.read)
            .await
            .db()?
            .as_ref()
            .map(integration)
            .transpose()
    }

    async fn list_aws_integrations(&self, org_id: &str) -> StoreResult<Vec<AwsIntegration>> {
        sqlx::query(&format!("SELECT {COLS} FROM aws_integrations WHERE org_id = $1 ORDER BY account_id"))
            .bind(org_id)
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(integration)
            .collect()
    }

    async fn set_aws_status(&self, org_id: &str, account_id: &str, status: IntegrationStatus, missing: &[String], now: Timestamp) -> StoreResult<()> {
        let verified = (status == IntegrationStatus::Installed).then_some(now.millis());
        let n = sqlx::query("UPDATE aws_integrations SET status = $3, missing = $4, verified_at = COALESCE($5, verified_at) WHERE org_id = $1 AND account_id = $2")
            .bind(org_id)
            .bind(account_id)
            .bind(status.as_str())
            .bind(missing.join(" "))
            .bind(verified)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn delete_aws_integration(&self, org_id: &str, account_id: &str) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM aws_integrations WHERE org_id = $1 AND account_id = $2")
            .bind(org_id)
            .bind(account_id)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
