//! The inventory: current items, and per sync version what changed.

use std::collections::HashMap;

use async_trait::async_trait;
use latch_core::inventory::{Change, ChangeKind, Item, SyncRun};
use latch_core::store::{InventoryStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;

/// Rows per statement: far below SQLite's 32,766 parameters at 5 per row.
const CHUNK: usize = 500;

const SYNC_COLS: &str = "version, status, cursor, items, appeared, changed, vanished, error, started_at, finished_at";

fn sync_row(row: &AnyRow) -> StoreResult<SyncRun> {
    let cursor: String = row.try_get("cursor").db()?;
    Ok(SyncRun {
        version: row.try_get("version").db()?,
        status: row.try_get("status").db()?,
        cursor: serde_json::from_str(&cursor).unwrap_or_default(),
        items: row.try_get("items").db()?,
        appeared: row.try_get("appeared").db()?,
        changed: row.try_get("changed").db()?,
        vanished: row.try_get("vanished").db()?,
        error: row.try_get("error").db()?,
        started_at: Timestamp(row.try_get("started_at").db()?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at").db()?.map(Timestamp),
    })
}

fn hash(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

impl SqlStore {
    async fn sync_run(&self, org_id: &str, account_id: &str, version: i64) -> StoreResult<SyncRun> {
        let row = sqlx::query(&format!("SELECT {SYNC_COLS} FROM inventory_syncs WHERE org_id = $1 AND account_id = $2 AND version = $3"))
            .bind(org_id)
            .bind(account_id)
            .bind(version)
            .fetch_optional(&self.read)
            .await
            .db()?;
        row.as_ref().map(sync_row).transpose()?.ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl InventoryStore for SqlStore {
    async fn begin_sync(&self, org_id: &str, account_id: &str, now: Timestamp) -> StoreResult<SyncRun> {
        let running = sqlx::query(&format!(
            "SELECT {SYNC_COLS} FROM inventory_syncs WHERE org_id = $1 AND account_id = $2 AND status = 'running' ORDER BY version DESC LIMIT 1"
        ))
        .bind(org_id)
        .bind(account_id)
        .fetch_optional(&self.write)
        .await
        .db()?;
        if let Some(row) = running {
            return sync_row(&row);
        }
        let row = sqlx::query(
            "INSERT INTO inventory_syncs (org_id, account_id, version, status, cursor, started_at)
             SELECT $1, $2, COALESCE(MAX(version), 0) + 1, 'running', '{}', $3 FROM inventory_syncs WHERE org_id = $1 AND account_id = $2
             RETURNING version",
        )
        .bind(org_id)
        .bind(account_id)
        .bind(now.millis())
        .fetch_one(&self.write)
        .await
        .db()?;
        let version: i64 = row.try_get("version").db()?;
        self.sync_run(org_id, account_id, version).await
    }

    async fn put_items(&self, org_id: &str, account_id: &str, version: i64, items: &[Item]) -> StoreResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        // One row per item: a page naming an item twice keeps the last.
        let mut unique: HashMap<(&str, &str), &Item> = HashMap::with_capacity(items.len());
        for item in items {
            unique.insert((item.kind.as_str(), item.id.as_str()), item);
        }
        let items: Vec<&Item> = unique.into_values().collect();
        let mut tx = self.write.begin().await.db()?;
        for chunk in items.chunks(CHUNK) {
            // What is there now, in one query.
            let placeholders: Vec<String> = (0..chunk.len()).map(|n| format!("${}", n + 3)).collect();
            let sql = format!("SELECT kind, id, hash FROM inventory_items WHERE org_id = $1 AND account_id = $2 AND id IN ({})", placeholders.join(", "));
            let mut q = sqlx::query_as::<_, (String, String, String)>(&sql).bind(org_id).bind(account_id);
            for item in chunk {
                q = q.bind(&item.id);
            }
            let known: HashMap<(String, String), String> = q.fetch_all(&mut *tx).await.db()?.into_iter().map(|(k, i, h)| ((k, i), h)).collect();
            let mut fresh = Vec::new();
            let mut changed = Vec::new();
            let mut same = Vec::new();
            for &item in chunk {
                let data = item.data.to_string();
                let h = hash(&data);
                match known.get(&(item.kind.clone(), item.id.clone())) {
                    None => fresh.push((item, h, data)),
                    Some(old) if *old != h => changed.push((item, h, data)),
                    Some(_) => same.push(item),
                }
            }
            // INVARIANT: a page written twice (a retry after a crash) finds
            // its own rows with the same hash and records no second change.
            if !fresh.is_empty() {
                let rows: Vec<String> = (0..fresh.len()).map(|n| format!("($1, $2, ${}, ${}, ${}, ${}, ${})", 3 + n * 5, 4 + n * 5, 5 + n * 5, 6 + n * 5, 7 + n * 5)).collect();
                let sql = format!("INSERT INTO inventory_items (org_id, account_id, kind, id, hash, data, seen) VALUES {}", rows.join(", "));
                let mut q = sqlx::query(&sql).bind(org_id).bind(account_id);
                for (item, h, data) in &fresh {
                    q = q.bind(&item.kind).bind(&item.id).bind(h).bind(data).bind(version);
                }
                q.execute(&mut *tx).await.db()?;
            }
            for (item, h, data) in &changed {
                sqlx::query("UPDATE inventory_items SET seen = $5, hash = $6, data = $7 WHERE org_id = $1 AND account_id = $2 AND kind = $3 AND id = $4")
                    .bind(org_id)
                    .bind(account_id)
                    .bind(&item.kind)
                    .bind(&item.id)
                    .bind(version)
                    .bind(h)
                    .bind(data)
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            let mut kinds: Vec<&str> = same.iter().map(|i| i.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            for kind in kinds {
                let of_kind: Vec<&&Item> = same.iter().filter(|i| i.kind == kind).collect();
                let ids: Vec<String> = (0..of_kind.len()).map(|n| format!("${}", n + 5)).collect();
                let sql = format!("UPDATE inventory_items SET seen = $3 WHERE org_id = $1 AND account_id = $2 AND kind = $4 AND id IN ({})", ids.join(", "));
                let mut q = sqlx::query(&sql).bind(org_id).bind(account_id).bind(version).bind(kind);
                for item in of_kind {
                    q = q.bind(&item.id);
                }
                q.execute(&mut *tx).await.db()?;
            }
            let changes: Vec<(&Item, ChangeKind)> =
                fresh.iter().map(|(i, _, _)| (*i, ChangeKind::Appeared)).chain(changed.iter().map(|(i, _, _)| (*i, ChangeKind::Changed))).collect();
            if !changes.is_empty() {
                let rows: Vec<String> = (0..changes.len()).map(|n| format!("($1, $2, $3, ${}, ${}, ${})", 4 + n * 3, 5 + n * 3, 6 + n * 3)).collect();
                let sql = format!(
                    "INSERT INTO inventory_changes (org_id, account_id, version, change, kind, id) VALUES {} ON CONFLICT (org_id, account_id, version, kind, id) DO NOTHING",
                    rows.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(org_id).bind(account_id).bind(version);
                for (item, change) in &changes {
                    q = q.bind(change.as_str()).bind(&item.kind).bind(&item.id);
                }
                q.execute(&mut *tx).await.db()?;
            }
        }
        sqlx::query("UPDATE inventory_syncs SET items = items + $4 WHERE org_id = $1 AND account_id = $2 AND version = $3")
            .bind(org_id)
            .bind(account_id)
            .bind(version)
            .bind(i64::try_from(items.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()
    }

    async fn save_cursor(&self, org_id: &str, account_id: &str, version: i64, cursor: &serde_json::Value) -> StoreResult<()> {
        sqlx::query("UPDATE inventory_syncs SET cursor = $4 WHERE org_id = $1 AND account_id = $2 AND version = $3 AND status = 'running'")
            .bind(org_id)
            .bind(account_id)
            .bind(version)
            .bind(cursor.to_string())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    async fn finish_sync(&self, org_id: &str, account_id: &str, version: i64, now: Timestamp) -> StoreResult<SyncRun> {
        let mut tx = self.write.begin().await.db()?;
        sqlx::query(
            "INSERT INTO inventory_changes (org_id, account_id, version, change, kind, id)
             SELECT org_id, account_id, $3, 'vanished', kind, id FROM inventory_items WHERE org_id = $1 AND account_id = $2 AND seen < $3
             ON CONFLICT (org_id, account_id, version, kind, id) DO NOTHING",
        )
        .bind(org_id)
        .bind(account_id)
        .bind(version)
        .execute(&mut *tx)
        .await
        .db()?;
        sqlx::query("DELETE FROM inventory_items WHERE org_id = $1 AND account_id = $2 AND seen < $3")
            .bind(org_id)
            .bind(account_id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query(
            "UPDATE inventory_syncs SET status = 'done', finished_at = $4,
               items = (SELECT COUNT(*) FROM inventory_items WHERE org_id = $1 AND account_id = $2),
               appeared = (SELECT COUNT(*) FROM inventory_changes WHERE org_id = $1 AND account_id = $2 AND version = $3 AND change = 'appeared'),
               changed = (SELECT COUNT(*) FROM inventory_changes WHERE org_id = $1 AND account_id = $2 AND version = $3 AND change = 'changed'),
               vanished = (SELECT COUNT(*) FROM inventory_changes WHERE org_id = $1 AND account_id = $2 AND version = $3 AND change = 'vanished')
             WHERE org_id = $1 AND account_id = $2 AND version = $3",
        )
        .bind(org_id)
        .bind(account_id)
        .bind(version)
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        self.sync_run(org_id, account_id, version).await
    }

    async fn fail_sync(&self, org_id: &str, account_id: &str, version: i64, error: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE inventory_syncs SET status = 'failed', error = $4, finished_at = $5 WHERE org_id = $1 AND account_id = $2 AND version = $3")
            .bind(org_id)
            .bind(account_id)
            .bind(version)
            .bind(error)
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    async fn last_sync(&self, org_id: &str, account_id: &str) -> StoreResult<Option<SyncRun>> {
        let row = sqlx::query(&format!("SELECT {SYNC_COLS} FROM inventory_syncs WHERE org_id = $1 AND account_id = $2 ORDER BY version DESC LIMIT 1"))
            .bind(org_id)
            .bind(account_id)
            .fetch_optional(&self.read)
            .await
            .db()?;
        row.as_ref().map(sync_row).transpose()
    }

    async fn items(&self, org_id: &str, account_id: &str, kind: Option<&str>) -> StoreResult<Vec<Item>> {
        let rows = sqlx::query("SELECT kind, id, data FROM inventory_items WHERE org_id = $1 AND account_id = $2 AND ($3 IS NULL OR kind = $3) ORDER BY kind, id")
            .bind(org_id)
            .bind(account_id)
            .bind(kind)
            .fetch_all(&self.read)
            .await
            .db()?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data").db()?;
                Ok(Item { kind: r.try_get("kind").db()?, id: r.try_get("id").db()?, data: serde_json::from_str(&data).unwrap_or_default() })
            })
            .collect()
    }

    async fn items_ending(&self, org_id: &str, account_id: &str, kind: &str, suffix: &str) -> StoreResult<Vec<Item>> {
        // `LIKE` narrows the rows in the database (SQLite's ignores ASCII
        // case); the exact test is here.
        let escaped: String = suffix.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
        let rows = sqlx::query("SELECT kind, id, data FROM inventory_items WHERE org_id = $1 AND account_id = $2 AND kind = $3 AND id LIKE $4 ESCAPE '\\' ORDER BY id")
            .bind(org_id)
            .bind(account_id)
            .bind(kind)
            .bind(format!("%{escaped}"))
            .fetch_all(&self.read)
            .await
            .db()?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id").db()?;
            if id.ends_with(suffix) {
                let data: String = r.try_get("data").db()?;
                items.push(Item { kind: r.try_get("kind").db()?, id, data: serde_json::from_str(&data).unwrap_or_default() });
            }
        }
        Ok(items)
    }

    async fn changes(&self, org_id: &str, account_id: &str, version: i64) -> StoreResult<Vec<Change>> {
        let rows = sqlx::query("SELECT change, kind, id FROM inventory_changes WHERE org_id = $1 AND account_id = $2 AND version = $3 ORDER BY change, kind, id")
            .bind(org_id)
            .bind(account_id)
            .bind(version)
            .fetch_all(&self.read)
            .await
            .db()?;
        rows.iter()
            .map(|r| {
                let change: String = r.try_get("change").db()?;
                Ok(Change {
                    version,
                    change: ChangeKind::parse(&change).ok_or_else(|| StoreError::Internal(format!("unknown change `{change}`").into()))?,
                    kind: r.try_get("kind").db()?,
                    id: r.try_get("id").db()?,
                })
            })
            .collect()
    }
}
