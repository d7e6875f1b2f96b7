//! Grants and reference-counted entitlements. The per-entitlement lock is a
//! lease in the row (`busy_by`/`busy_until`), so it works the same on both
//! engines and across replicas, and a crashed holder's lock simply expires.

use std::sync::OnceLock;

use async_trait::async_trait;
use latch_core::store::{Finish, GrantStore, StoreError, StoreResult, Take, Taken};
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

/// Takes the lock of an entitlement (`{org}`, `{user}`, `{key}`) for
/// `{holder}` until `{until}` unless another holder's is live at `{now}`:
/// a new entitlement is created locked. Returns what is applied, one row
/// if taken. `{from}` is a clause the lock depends on, or empty.
const LOCK: &str = "INSERT INTO entitlements (org_id, user_id, ent_key, busy_by, busy_until)
     SELECT {org}, {user}, {key}, {holder}, {until}{from} WHERE true
     ON CONFLICT (org_id, user_id, ent_key) DO UPDATE SET busy_by = excluded.busy_by, busy_until = excluded.busy_until
     WHERE entitlements.busy_until IS NULL OR entitlements.busy_until < {now} OR entitlements.busy_by = {holder}
     RETURNING applied";

/// Records that target `{idx}` of request `{rid}` holds the entitlement
/// (idempotent); `{from}` as in [`LOCK`].
const HOLD: &str = "INSERT INTO grants (org_id, request_id, idx, user_id, ent_key, state, held_at)
     SELECT {org}, {rid}, {idx}, {user}, {key}, 'held', {now}{from} WHERE true
     ON CONFLICT (request_id, idx) DO NOTHING";

/// Records what was applied (even if the lock lapsed meanwhile: a later
/// revoke must undo exactly what is in place) and releases `{holder}`'s lock.
const FINISH: &str = "UPDATE entitlements SET applied = {applied},
       busy_by = CASE WHEN busy_by = {holder} THEN NULL ELSE busy_by END,
       busy_until = CASE WHEN busy_by = {holder} THEN NULL ELSE busy_until END
     WHERE org_id = {org} AND user_id = {user} AND ent_key = {key} RETURNING ent_key";

/// `sql` with each `{name}` replaced as `names` says.
fn fill(sql: &str, names: &[(&str, &str)]) -> String {
    names.iter().fold(sql.to_owned(), |s, (name, value)| s.replace(&format!("{{{name}}}"), value))
}

/// The bound placeholders of an entitlement statement on SQLite, in bind order.
const SQLITE: [(&str, &str); 9] = [("org", "$1"), ("user", "$2"), ("key", "$3"), ("holder", "$4"), ("now", "$5"), ("until", "$6"), ("rid", "$7"), ("idx", "$8"), ("from", "")];

static LOCK_SQLITE: OnceLock<String> = OnceLock::new();
static HOLD_SQLITE: OnceLock<String> = OnceLock::new();

/// `template` with [`SQLITE`]'s placeholders, filled once.
fn sqlite(cell: &'static OnceLock<String>, template: &str) -> &'static str {
    cell.get_or_init(|| fill(template, &SQLITE))
}

impl SqlStore {
    /// Runs `sql` (placeholders as [`SQLITE`]) on `t`'s entitlement in `tx`.
    async fn on_take(tx: &mut sqlx::AnyConnection, sql: &str, t: &Take<'_>) -> StoreResult<Option<sqlx::any::AnyRow>> {
        sqlx::query(sql)
            .bind(t.org_id)
            .bind(t.user_id)
            .bind(t.key)
            .bind(t.holder)
            .bind(t.now.millis())
            .bind(t.until.millis())
            .bind(t.request_id)
            .bind(t.idx)
            .fetch_optional(&mut *tx)
            .await
            .db()
    }

    async fn take_postgres(&self, t: &Take<'_>) -> StoreResult<Taken> {
        let mut c = Composed::default();
        let from = if let Some(m) = t.first {
            crate::access::move_clause(&mut c, "moved", t.org_id, &m.id, m.from, m.to, &m.changes, t.now);
            " FROM moved"
        } else {
            ""
        };
        let names = [
            ("org", c.text(t.org_id)),
            ("user", c.text(t.user_id)),
            ("key", c.text(t.key)),
            ("holder", c.text(t.holder)),
            ("now", c.int(t.now.millis())),
            ("until", c.int(t.until.millis())),
            ("rid", c.text(t.request_id)),
            ("idx", c.int(t.idx)),
        ];
        let mut names: Vec<(&str, &str)> = names.iter().map(|(n, v)| (*n, v.as_str())).collect();
        names.push(("from", from));
        c.with("locked", &fill(LOCK, &names));
        names.pop();
        names.push(("from", " FROM locked"));
        c.with("held", &fill(HOLD, &names));
        let moved = if t.first.is_some() { "(SELECT COUNT(*) FROM moved)" } else { "1" };
        let rows = c.fetch(&format!("SELECT {moved} AS moved, (SELECT COUNT(*) FROM locked) AS locked, (SELECT applied FROM locked) AS applied"), &self.write).await?;
        let row = rows.first().ok_or_else(|| StoreError::Internal("the lock statement returned no row".into()))?;
        Ok(if row.try_get::<i64, _>("moved").db()? == 0 {
            Taken::Stale
        } else if row.try_get::<i64, _>("locked").db()? == 0 {
            Taken::Busy
        } else {
            Taken::Held(row.try_get("applied").db()?)
        })
    }
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn lock_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str, now: Timestamp, until: Timestamp) -> StoreResult<Option<Option<String>>> {
        let row = sqlx::query(sqlite(&LOCK_SQLITE, LOCK))
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

    async fn take_entitlement(&self, t: &Take<'_>) -> StoreResult<Taken> {
        if self.engine == Engine::Postgres {
            return self.take_postgres(t).await;
        }
        let mut tx = self.write.begin().await.db()?;
        if let Some(m) = t.first {
            if !crate::access::move_in(&mut tx, t.org_id, &m.id, m.from, m.to, &m.changes, t.now).await? {
                return Ok(Taken::Stale);
            }
        }
        let taken = match Self::on_take(&mut tx, sqlite(&LOCK_SQLITE, LOCK), t).await? {
            None => Taken::Busy,
            Some(row) => {
                Self::on_take(&mut tx, sqlite(&HOLD_SQLITE, HOLD), t).await?;
                Taken::Held(row.try_get("applied").db()?)
            }
        };
        tx.commit().await.db()?;
        Ok(taken)
    }

    async fn finish_grant(&self, f: &Finish<'_>) -> StoreResult<bool> {
        if self.engine == Engine::Postgres {
            let mut c = Composed::default();
            let names = [("org", c.text(f.org_id)), ("user", c.text(f.user_id)), ("key", c.text(f.key)), ("holder", c.text(f.holder)), ("applied", c.text(f.applied))];
            let names: Vec<(&str, &str)> = names.iter().map(|(n, v)| (*n, v.as_str())).collect();
            c.with("finished", &fill(FINISH, &names));
            c.effects("finished", f.org_id, f.effects, f.now);
            let moved = if let Some(m) = f.then {
                crate::access::move_clause(&mut c, "moved", f.org_id, &m.id, m.from, m.to, &m.changes, f.now);
                "(SELECT COUNT(*) FROM moved)"
            } else {
                "0"
            };
            let rows = c.fetch(&format!("SELECT (SELECT COUNT(*) FROM finished) AS n, {moved} AS moved"), &self.write).await?;
            return Ok(rows.first().map(|r| r.try_get::<i64, _>("moved")).transpose().db()? == Some(1));
        }
        let mut tx = self.write.begin().await.db()?;
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| fill(FINISH, &[("org", "$1"), ("user", "$2"), ("key", "$3"), ("applied", "$4"), ("holder", "$5")]));
        let done = sqlx::query(sql).bind(f.org_id).bind(f.user_id).bind(f.key).bind(f.applied).bind(f.holder).fetch_optional(&mut *tx).await.db()?;
        if done.is_some() {
            crate::access::record_effects(&mut tx, f.org_id, f.effects, f.now).await?;
        }
        let moved = match f.then {
            Some(m) => crate::access::move_in(&mut tx, f.org_id, &m.id, m.from, m.to, &m.changes, f.now).await?,
            None => false,
        };
        tx.commit().await.db()?;
        Ok(moved)
    }

    async fn drop_entitlement(&self, org_id: &str, user_id: &str, key: &str, holder: &str) -> StoreResult<()> {
        self.on_entitlement("DELETE FROM entitlements WHERE org_id = $1 AND user_id = $2 AND ent_key = $3 AND busy_by = $4", org_id, user_id, key, holder).await
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
