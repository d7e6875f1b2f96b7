//! Schema migrations, applied at start. The list is append-only; a database
//! whose schema is newer than this binary knows is refused, so an old replica
//! can never write to a schema it does not understand.

use sqlx::{Acquire, Executor, Row};
use thiserror::Error;

use crate::connect::{Engine, SqlStore};

/// One schema step: `sql` is portable; `postgres` runs after it on
/// PostgreSQL only.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    postgres: Option<&'static str>,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "foundation", sql: include_str!("../migrations/0001_foundation.sql"), postgres: None },
    Migration { version: 2, name: "totp_replay", sql: include_str!("../migrations/0002_totp_replay.sql"), postgres: None },
    Migration { version: 3, name: "sso", sql: include_str!("../migrations/0003_sso.sql"), postgres: None },
    Migration { version: 4, name: "access", sql: include_str!("../migrations/0004_access.sql"), postgres: None },
    Migration { version: 5, name: "jobs_grants", sql: include_str!("../migrations/0005_jobs_grants.sql"), postgres: None },
    Migration { version: 6, name: "webhooks", sql: include_str!("../migrations/0006_webhooks.sql"), postgres: None },
    Migration { version: 7, name: "aws_integrations", sql: include_str!("../migrations/0007_aws_integrations.sql"), postgres: None },
    Migration { version: 8, name: "request_failure", sql: include_str!("../migrations/0008_request_failure.sql"), postgres: None },
    Migration { version: 9, name: "inventory", sql: include_str!("../migrations/0009_inventory.sql"), postgres: None },
    Migration { version: 10, name: "signing_keys", sql: include_str!("../migrations/0010_signing_keys.sql"), postgres: None },
    Migration { version: 11, name: "sso_start_url", sql: include_str!("../migrations/0011_sso_start_url.sql"), postgres: None },
    Migration { version: 12, name: "replicas", sql: include_str!("../migrations/0012_replicas.sql"), postgres: None },
    Migration { version: 13, name: "federation_protocol", sql: include_str!("../migrations/0013_federation_protocol.sql"), postgres: None },
    Migration { version: 14, name: "notification_documents", sql: include_str!("../migrations/0014_notification_documents.sql"), postgres: None },
    Migration {
        version: 15,
        name: "hot_paths",
        sql: include_str!("../migrations/0015_hot_paths.sql"),
        postgres: Some(include_str!("../migrations/0015_hot_paths.postgres.sql")),
    },
    Migration {
        version: 16,
        name: "audit_pending",
        sql: include_str!("../migrations/0016_audit_pending.sql"),
        postgres: Some(include_str!("../migrations/0016_audit_pending.postgres.sql")),
    },
    Migration {
        version: 17,
        name: "remembered",
        sql: include_str!("../migrations/0017_remembered.sql"),
        postgres: Some(include_str!("../migrations/0017_remembered.postgres.sql")),
    },
];

/// Why migrating failed.
#[derive(Debug, Error)]
pub enum MigrateError {
    /// The database was migrated by a newer Latch.
    #[error("the database schema is at version {found}, newer than this binary's {known}\nhelp: run a Latch release at least as new as the one that last migrated this database")]
    NewerSchema {
        /// Version found in the database.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
    /// A statement failed.
    #[error("migration {version} (`{name}`) failed")]
    Failed {
        /// Version of the failing migration.
        version: i64,
        /// Its name.
        name: &'static str,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },
    /// The migration bookkeeping itself failed.
    #[error("could not read the schema version")]
    Bookkeeping(#[source] sqlx::Error),
}

/// The newest schema version this binary knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies pending migrations, holding a lock so that replicas starting
/// together migrate once.
pub(crate) async fn run(store: &SqlStore) -> Result<(), MigrateError> {
    let mut conn = store.write.acquire().await.map_err(MigrateError::Bookkeeping)?;
    if store.engine == Engine::Postgres {
        // Session-level advisory lock: released when this connection ends
        // or explicitly below.
        conn.execute("SELECT pg_advisory_lock(7283824)").await.map_err(MigrateError::Bookkeeping)?;
    }
    let result = apply(&mut conn, store.engine).await;
    if store.engine == Engine::Postgres {
        conn.execute("SELECT pg_advisory_unlock(7283824)").await.map_err(MigrateError::Bookkeeping)?;
    }
    result
}

async fn apply(conn: &mut sqlx::AnyConnection, engine: Engine) -> Result<(), MigrateError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS latch_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    )
    .await
    .map_err(MigrateError::Bookkeeping)?;
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM latch_schema")
        .fetch_one(&mut *conn)
        .await
        .map_err(MigrateError::Bookkeeping)?;
    let current: i64 = row.try_get("v").map_err(MigrateError::Bookkeeping)?;
    if current > latest() {
        return Err(MigrateError::NewerSchema { found: current, known: latest() });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let failed = |source| MigrateError::Failed { version: m.version, name: m.name, source };
        let mut tx = conn.begin().await.map_err(failed)?;
        sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(failed)?;
        if let (Some(sql), Engine::Postgres) = (m.postgres, engine) {
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(failed)?;
        }
        sqlx::query("INSERT INTO latch_schema (version, name) VALUES ($1, $2)")
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(())
}
