//! Webhooks and queued notifications.

use async_trait::async_trait;
use latch_core::access::notice::{self, Notice};
use latch_core::id::new_id;
use latch_core::jobs::NewJob;
use latch_core::model::Webhook;
use latch_core::store::{QueuedNotification, StoreError, StoreResult, WebhookStore};
use latch_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;

const COLS: &str = "w.id, w.org_id, w.url, w.kind, w.events, w.created_at";

fn webhook(row: &AnyRow) -> StoreResult<Webhook> {
    let events: String = row.try_get("events").db()?;
    Ok(Webhook {
        id: row.try_get("id").db()?,
        org_id: row.try_get("org_id").db()?,
        url: row.try_get("url").db()?,
        kind: row.try_get("kind").db()?,
        events: events.split_whitespace().map(str::to_owned).collect(),
        created_at: Timestamp(row.try_get("created_at").db()?),
    })
}

/// An org's webhooks, oldest first (bind the org id).
fn org_hooks_sql() -> String {
    format!("SELECT {COLS} FROM webhooks w WHERE w.org_id = $1 ORDER BY w.created_at, w.id")
}

/// `notifications.format` of a row holding a [`Notice`] document.
const DOCUMENT: &str = "document";

/// Queues `notices` for the org's webhooks that want them, inside the
/// caller's transaction: one notification and one delivery job each.
pub(crate) async fn queue_in(tx: &mut sqlx::AnyConnection, org_id: &str, notices: &[Notice], now: Timestamp) -> StoreResult<usize> {
    if notices.is_empty() {
        return Ok(0);
    }
    let hooks: Vec<Webhook> = sqlx::query(&org_hooks_sql())
        .bind(org_id)
        .fetch_all(&mut *tx)
        .await
        .db()?
        .iter()
        .map(webhook)
        .collect::<StoreResult<_>>()?;
    let mut queued = 0;
    for notice in notices {
        for hook in hooks.iter().filter(|h| notice.wanted_by(&h.events)) {
            let id = new_id("ntf");
            sqlx::query("INSERT INTO notifications (id, org_id, webhook_id, event, payload, created_at, format) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id)
                .bind(org_id)
                .bind(&hook.id)
                .bind(&notice.event)
                .bind(&notice.document)
                .bind(now.millis())
                .bind(DOCUMENT)
                .execute(&mut *tx)
                .await
                .db()?;
            let job = NewJob { org_id: org_id.to_owned(), kind: notice::JOB_KIND.into(), idempotency_key: format!("notify:{id}"), subject: id, run_at: now, max_attempts: notice::MAX_ATTEMPTS, leased: None };
            crate::jobs::enqueue_in(tx, &job, now).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, org_id: &str, url: &str, kind: &str, secret: &str, events: &[String], now: Timestamp) -> StoreResult<Webhook> {
        let id = new_id("whk");
        sqlx::query("INSERT INTO webhooks (id, org_id, url, kind, secret, events, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(org_id)
            .bind(url)
            .bind(kind)
            .bind(secret)
            .bind(events.join(" "))
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        self.org_changed(org_id);
        Ok(Webhook { id, org_id: org_id.to_owned(), url: url.to_owned(), kind: kind.to_owned(), events: events.to_vec(), created_at: now })
    }

    async fn list_webhooks(&self, org_id: &str) -> StoreResult<Vec<Webhook>> {
        sqlx::query(&org_hooks_sql())
            .bind(org_id)
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(webhook)
            .collect()
    }

    async fn delete_webhook(&self, org_id: &str, id: &str) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM webhooks WHERE org_id = $1 AND id = $2").bind(org_id).bind(id).execute(&self.write).await.db()?.rows_affected();
        self.org_changed(org_id);
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn hears(&self, org_id: &str, event: &str, now: Timestamp) -> StoreResult<bool> {
        let lookup = match self.remembered.hooks(org_id, now) {
            Ok(hooks) => return Ok(hooks.iter().any(|events| notice::wants(events, event))),
            Err(lookup) => lookup,
        };
        let rows = sqlx::query("SELECT events FROM webhooks WHERE org_id = $1").bind(org_id).fetch_all(&self.read).await.db()?;
        let hooks: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("events").map(|e| e.split_whitespace().map(str::to_owned).collect()))
            .collect::<Result<_, _>>()
            .db()?;
        let heard = hooks.iter().any(|events| notice::wants(events, event));
        self.remembered.keep_hooks(lookup, org_id, std::sync::Arc::new(hooks), now);
        Ok(heard)
    }

    async fn queue_notices(&self, org_id: &str, notices: &[Notice], now: Timestamp) -> StoreResult<usize> {
        let mut tx = self.write.begin().await.db()?;
        let n = queue_in(&mut tx, org_id, notices, now).await?;
        tx.commit().await.db()?;
        Ok(n)
    }

    async fn notification(&self, org_id: &str, id: &str) -> StoreResult<Option<QueuedNotification>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS}, w.secret, n.payload, n.format FROM notifications n JOIN webhooks w ON w.id = n.webhook_id WHERE n.org_id = $1 AND n.id = $2"
        ))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        let format: String = row.try_get("format").db()?;
        Ok(Some(QueuedNotification {
            webhook: webhook(&row)?,
            secret: row.try_get("secret").db()?,
            payload: row.try_get("payload").db()?,
            is_document: format == DOCUMENT,
        }))
    }
}
