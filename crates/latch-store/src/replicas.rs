//! Replica liveness. A replica first takes a lock that lives exactly as long
//! as its process — a PostgreSQL session advisory lock on a connection kept
//! out of the pool, or an exclusive lock on a file next to the SQLite
//! database — and only then registers. Whoever later finds a registered
//! replica's lock free knows its process is gone (`kill -9` included: the
//! kernel drops the file lock, PostgreSQL ends the session and its locks) and
//! frees what its workers held, so the work resumes at once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use latch_core::store::{ReplicaStore, StoreError, StoreResult};
use latch_core::Timestamp;
use sqlx::{Acquire as _, AnyConnection, Connection as _, Row as _};

use crate::connect::{Engine, SqlStore};
use crate::error::MapErr;

/// A held liveness lock.
enum Held {
    /// The dedicated PostgreSQL session holding the advisory lock.
    Session(AnyConnection),
    /// The locked file.
    File(File),
}

/// The liveness locks this process holds, by replica.
#[derive(Clone, Default)]
pub(crate) struct Liveness(Arc<Mutex<BTreeMap<String, Held>>>);

impl std::fmt::Debug for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_list().entries(held.keys()).finish()
    }
}

impl Liveness {
    fn keep(&self, replica: &str, held: Held) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(replica.to_owned(), held);
    }

    fn take(&self, replica: &str) -> Option<Held> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(replica)
    }

    fn holds(&self, replica: &str) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).contains_key(replica)
    }
}

/// The advisory-lock key of a replica (FNV-1a of its id).
fn lock_key(replica: &str) -> i64 {
    let hash = replica.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

fn io(e: std::io::Error, what: &str) -> StoreError {
    StoreError::Internal(format!("{what}: {e}").into())
}

impl SqlStore {
    /// The directory of replica lock files next to the SQLite database.
    fn lock_dir(&self) -> Option<PathBuf> {
        let db = self.sqlite_path.as_ref()?;
        let name = db.file_name()?.to_string_lossy().into_owned();
        Some(db.with_file_name(format!("{name}-replicas")))
    }

    fn lock_file(dir: &Path, replica: &str) -> PathBuf {
        dir.join(format!("{replica}.lock"))
    }

    /// Takes `replica`'s liveness lock; `None` when the database has no
    /// place for one (an in-memory SQLite database: one process only).
    async fn take_lock(&self, replica: &str) -> StoreResult<Option<Held>> {
        match self.engine {
            Engine::Postgres => {
                let mut conn = self.write.acquire().await.db()?.detach();
                let ok: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS ok").bind(lock_key(replica)).fetch_one(&mut conn).await.db()?.try_get("ok").db()?;
                if !ok {
                    return Err(StoreError::Conflict);
                }
                Ok(Some(Held::Session(conn)))
            }
            Engine::Sqlite => {
                let Some(dir) = self.lock_dir() else { return Ok(None) };
                create_private_dir(&dir)?;
                let file = OpenOptions::new().create(true).truncate(false).write(true).open(Self::lock_file(&dir, replica)).map_err(|e| io(e, "while creating a replica lock file"))?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(Held::File(file))),
                    Err(TryLockError::WouldBlock) => Err(StoreError::Conflict),
                    Err(TryLockError::Error(e)) => Err(io(e, "while locking a replica lock file")),
                }
            }
        }
    }

    /// Whether `replica`'s process is gone: its liveness lock can be taken.
    /// The probe's own lock is released at once.
    async fn is_dead(&self, replica: &str) -> StoreResult<bool> {
        match self.engine {
            Engine::Postgres => {
                let mut pooled = self.write.acquire().await.db()?;
                let conn = pooled.acquire().await.db()?;
                let key = lock_key(replica);
                let free: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS ok").bind(key).fetch_one(&mut *conn).await.db()?.try_get("ok").db()?;
                if free {
                    sqlx::query("SELECT pg_advisory_unlock($1) AS ok").bind(key).fetch_one(&mut *conn).await.db()?;
                }
                Ok(free)
            }
            Engine::Sqlite => {
                let Some(dir) = self.lock_dir() else { return Ok(false) };
                let path = Self::lock_file(&dir, replica);
                let file = match OpenOptions::new().write(true).open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
                    Err(e) => return Err(io(e, "while opening a replica lock file")),
                };
                match file.try_lock() {
                    Ok(()) => {
                        let _ = std::fs::remove_file(&path);
                        Ok(true)
                    }
                    Err(TryLockError::WouldBlock) => Ok(false),
                    Err(TryLockError::Error(e)) => Err(io(e, "while probing a replica lock file")),
                }
            }
        }
    }

    /// Checks this process's own liveness sessions: one whose connection
    /// broke lost its lock (and may have been reaped), so it is taken again
    /// and the replica registered again.
    async fn keep_alive(&self, registered: &[String], now: Timestamp) -> StoreResult<()> {
        let mine: Vec<String> = self.liveness.0.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        for replica in mine {
            let healthy = match self.liveness.take(&replica) {
                Some(Held::Session(mut conn)) => {
                    let ok = conn.ping().await.is_ok();
                    if ok {
                        self.liveness.keep(&replica, Held::Session(conn));
                    }
                    ok
                }
                Some(file) => {
                    self.liveness.keep(&replica, file);
                    true
                }
                None => continue,
            };
            if healthy && registered.contains(&replica) {
                continue;
            }
            tracing::warn!(replica, "this replica's liveness lock was lost; taking it again");
            if !healthy {
                if let Some(held) = self.take_lock(&replica).await? {
                    self.liveness.keep(&replica, held);
                }
            }
            if !registered.contains(&replica) {
                self.register(&replica, now).await?;
            }
        }
        Ok(())
    }

    async fn register(&self, replica: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO replicas (id, lock_key, joined_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(replica)
            .bind(lock_key(replica))
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    /// Frees what `replica`'s workers (`{replica}-N`) held and forgets it.
    async fn free(&self, replica: &str) -> StoreResult<()> {
        // Worker names are `{replica}-{n}`: the range [`{replica}-`, `{replica}.`)
        // holds exactly them ('.' follows '-'), with no LIKE wildcards to escape.
        let (lo, hi) = (format!("{replica}-"), format!("{replica}."));
        let mut tx = self.write.begin().await.db()?;
        sqlx::query("UPDATE jobs SET lease_until = 0 WHERE state = 'running' AND lease_owner >= $1 AND lease_owner < $2")
            .bind(&lo)
            .bind(&hi)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("UPDATE entitlements SET busy_by = NULL, busy_until = NULL WHERE busy_by >= $1 AND busy_by < $2")
            .bind(&lo)
            .bind(&hi)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("DELETE FROM replicas WHERE id = $1").bind(replica).execute(&mut *tx).await.db()?;
        tx.commit().await.db()
    }
}

fn create_private_dir(dir: &Path) -> StoreResult<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(e, "while creating the replica lock directory")),
    }
}

#[async_trait]
impl ReplicaStore for SqlStore {
    async fn join(&self, replica: &str, now: Timestamp) -> StoreResult<()> {
        // INVARIANT: the lock is taken before the row exists, so a
        // registered replica whose lock is free is certainly gone.
        if let Some(held) = self.take_lock(replica).await? {
            self.liveness.keep(replica, held);
        }
        self.register(replica, now).await
    }

    async fn reap(&self, now: Timestamp) -> StoreResult<Vec<String>> {
        let ids: Vec<String> = sqlx::query("SELECT id FROM replicas ORDER BY joined_at, id")
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(|r| r.try_get::<String, _>("id").db())
            .collect::<StoreResult<_>>()?;
        self.keep_alive(&ids, now).await?;
        let mut reaped = Vec::new();
        for id in ids {
            if self.liveness.holds(&id) || !self.is_dead(&id).await? {
                continue;
            }
            self.free(&id).await?;
            reaped.push(id);
        }
        Ok(reaped)
    }

    async fn leave(&self, replica: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM replicas WHERE id = $1").bind(replica).execute(&self.write).await.db()?;
        match self.liveness.take(replica) {
            Some(Held::Session(conn)) => {
                let _ = conn.close().await;
            }
            Some(Held::File(file)) => {
                drop(file);
                if let Some(dir) = self.lock_dir() {
                    let _ = std::fs::remove_file(Self::lock_file(&dir, replica));
                }
            }
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key("wrk_a"), lock_key("wrk_a"));
        assert_ne!(lock_key("wrk_a"), lock_key("wrk_b"));
    }
}
