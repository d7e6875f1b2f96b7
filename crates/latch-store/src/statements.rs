//! PostgreSQL connections for single statements, lent without sqlx's pool's
//! test on return. sqlx's pool sends every connection it takes back a
//! `Sync` and waits for PostgreSQL's answer, in case an abandoned query left
//! it mid-way: a round trip after every statement, which doubled the round
//! trips of the request path (and PostgreSQL's wake-ups with them). Here a
//! connection whose statement ran to its end goes straight back to the idle
//! list. One left mid-way (the statement failed, the caller stopped reading
//! rows or was cancelled) is tested exactly as sqlx would, in a task of its
//! own, before it is lent again; if the test fails it is closed. Statements
//! here run outside transactions, so one left mid-way holds no locks once
//! PostgreSQL has run it. Transactions stay on sqlx's pool ([`Db::begin`]).
//!
//! As with the pool (`test_before_acquire(false)`), a connection that died
//! while idle fails one statement and is then closed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_util::TryStreamExt as _;
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection as _, Describe, Either, Execute, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections lent one statement at a time.
#[derive(Debug, Clone)]
pub(crate) struct Statements(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    url: String,
    idle: Mutex<Vec<AnyConnection>>,
    /// One per connection lent (or being tested): `max`. A connection is
    /// opened only when none is idle, so no more than `max` are ever open.
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl Shared {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<AnyConnection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A lent connection. Back to the idle list when dropped: at once if its
/// statement ran to the end, after a test otherwise.
struct Lent {
    conn: Option<AnyConnection>,
    /// Whether the statement ran to its end.
    finished: bool,
    home: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Lent {
    fn drop(&mut self) {
        let (Some(mut conn), permit) = (self.conn.take(), self.permit.take()) else { return };
        if self.home.permits.is_closed() {
            return;
        }
        if self.finished {
            self.home.idle().push(conn);
            drop(permit);
            return;
        }
        // What sqlx's pool does on every return: read whatever is left of
        // the statement's answer, then a `Sync` round trip.
        let home = Arc::clone(&self.home);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                match conn.ping().await {
                    Ok(()) if !home.permits.is_closed() => home.idle().push(conn),
                    Ok(()) => {}
                    Err(error) => tracing::warn!(%error, "a database connection left mid-statement failed its test; closed"),
                }
                drop(permit);
            });
        }
    }
}

impl Statements {
    /// Up to `max` connections to `url`, opened as needed.
    pub(crate) fn new(url: &str, max: u32, acquire_timeout: Duration) -> Self {
        let permits = Arc::new(Semaphore::new(usize::try_from(max).unwrap_or(usize::MAX)));
        Self(Arc::new(Shared { url: url.to_owned(), idle: Mutex::new(Vec::new()), permits, acquire_timeout }))
    }

    async fn lend(&self) -> Result<Lent, sqlx::Error> {
        let shared = &self.0;
        let waited = tokio::time::timeout(shared.acquire_timeout, Arc::clone(&shared.permits).acquire_owned()).await;
        let permit = waited.map_err(|_| sqlx::Error::PoolTimedOut)?.map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = shared.idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => tokio::time::timeout(shared.acquire_timeout, AnyConnection::connect(&shared.url)).await.map_err(|_| sqlx::Error::PoolTimedOut)??,
        };
        Ok(Lent { conn: Some(conn), finished: false, home: Arc::clone(shared), permit: Some(permit) })
    }

    /// Closes every connection: those lent are closed as they come back.
    pub(crate) async fn close(&self) {
        self.0.permits.close();
        let idle: Vec<AnyConnection> = std::mem::take(&mut *self.0.idle());
        for conn in idle {
            let _ = conn.close().await;
        }
    }

    /// Connections lent now (or being tested) of `max`, and idle.
    #[cfg(test)]
    fn counts(&self, max: usize) -> (usize, usize) {
        (max - self.0.permits.available_permits(), self.0.idle().len())
    }
}

impl Lent {
    fn conn(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }
}

impl Statements {
    /// As [`Executor::fetch_many`], on a lent connection.
    fn fetch_many<'e, 'q: 'e, E>(&self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let this = self.clone();
        Box::pin(sqlx_core::try_stream! {
            let mut lent = this.lend().await?;
            {
                let mut rows = lent.conn()?.fetch_many(query);
                while let Some(v) = rows.try_next().await? {
                    r#yield!(v);
                }
            }
            lent.finished = true;
            Ok(())
        })
    }

    /// As [`Executor::fetch_optional`], on a lent connection.
    fn fetch_optional<'e, 'q: 'e, E>(&self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let this = self.clone();
        Box::pin(async move {
            let mut lent = this.lend().await?;
            // Reads the answer to its end (PostgreSQL's `ReadyForQuery`).
            let row = lent.conn()?.fetch_optional(query).await?;
            lent.finished = true;
            Ok(row)
        })
    }
}

/// A database: sqlx's pool for transactions and connections held for
/// several statements, and, on PostgreSQL, [`Statements`] for single
/// statements (`&Db` is an executor).
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pool: AnyPool,
    statements: Option<Statements>,
}

impl Db {
    /// Everything through `pool`.
    pub(crate) fn pooled(pool: AnyPool) -> Self {
        Self { pool, statements: None }
    }

    /// Transactions through `pool`, single statements through `statements`.
    pub(crate) fn with_statements(pool: AnyPool, statements: Statements) -> Self {
        Self { pool, statements: Some(statements) }
    }

    /// A transaction on one of the pool's connections.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        self.pool.begin().await
    }

    /// One of the pool's connections, for several statements.
    pub(crate) async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        if let Some(s) = &self.statements {
            s.close().await;
        }
        self.pool.close().await;
    }
}

impl<'p> Executor<'p> for &'_ Db {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.statements {
            Some(s) => s.fetch_many(query),
            None => (&self.pool).fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.statements {
            Some(s) => s.fetch_optional(query),
            None => (&self.pool).fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(self, sql: &'q str, parameters: &'e [AnyTypeInfo]) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        // Not a statement run: nothing to gain from a lent connection.
        (&self.pool).prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        (&self.pool).describe(sql)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
    use super::*;
    use sqlx::Row as _;

    /// A database whose single statements go through `Statements` of `max`.
    async fn statements(max: u32) -> (Db, Statements) {
        sqlx::any::install_default_drivers();
        let url = tokio::task::spawn_blocking(|| latch_testkit::fresh_postgres_url().expect("PostgreSQL for tests")).await.unwrap();
        let s = Statements::new(&url, max, Duration::from_secs(5));
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        (Db::with_statements(pool, s.clone()), s)
    }

    async fn backend(s: &Db) -> i32 {
        sqlx::query("SELECT pg_backend_pid() AS pid").fetch_one(s).await.unwrap().get("pid")
    }

    /// Waits until nothing is lent (a test of a connection left mid-way runs in a task).
    async fn settled(s: &Statements, max: usize) -> usize {
        for _ in 0..500 {
            let (lent, idle) = s.counts(max);
            if lent == 0 {
                return idle;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a connection was never given back: {:?}", s.counts(max));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_finished_statement_gives_its_connection_straight_back() {
        let (db, s) = statements(4).await;
        let first = backend(&db).await;
        for _ in 0..20 {
            assert_eq!(backend(&db).await, first, "one connection serves statements one after another");
            assert_eq!(s.counts(4), (0, 1));
        }
        // Several at once open several, up to the most allowed.
        let many: Vec<_> = (0..12).map(|_| {
            let db = db.clone();
            tokio::spawn(async move { sqlx::query("SELECT pg_sleep(0.05)").execute(&db).await.unwrap() })
        }).collect();
        for m in many {
            m.await.unwrap();
        }
        let (lent, idle) = s.counts(4);
        assert_eq!(lent, 0);
        assert!((2..=4).contains(&idle), "{idle} idle");
        db.close().await;
        assert!(matches!(sqlx::query("SELECT 1").execute(&db).await, Err(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_left_mid_way_is_tested_before_it_is_lent_again() {
        let (db, s) = statements(1).await;
        let pid = backend(&db).await;
        // Rows left unread: the next statement must not see them.
        {
            let mut rows = sqlx::query("SELECT g AS n FROM generate_series(1, 100000) g").fetch(&db);
            let first = rows.try_next().await.unwrap().unwrap();
            assert_eq!(first.get::<i32, _>("n"), 1);
        }
        assert_eq!(settled(&s, 1).await, 1);
        let n: i64 = sqlx::query("SELECT 7::BIGINT AS n").fetch_one(&db).await.unwrap().get("n");
        assert_eq!(n, 7);
        assert_eq!(backend(&db).await, pid, "the connection was kept");
        // A statement cancelled while PostgreSQL runs it.
        let slow = sqlx::query("SELECT pg_sleep(0.3)").execute(&db);
        assert!(tokio::time::timeout(Duration::from_millis(50), slow).await.is_err());
        assert_eq!(settled(&s, 1).await, 1);
        assert_eq!(backend(&db).await, pid);
        // A statement that fails leaves the connection usable.
        assert!(sqlx::query("SELECT no_such_column FROM pg_class").execute(&db).await.is_err());
        assert_eq!(backend(&db).await, pid);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_that_died_idle_fails_one_statement_and_is_replaced() {
        let (db, s) = statements(2).await;
        let pid = backend(&db).await;
        // Another connection to the same database ends this one's backend.
        let mut admin = AnyConnection::connect(&s.0.url).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut admin).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(sqlx::query("SELECT 1").execute(&db).await.is_err(), "the dead connection fails its statement");
        settled(&s, 2).await;
        assert_ne!(backend(&db).await, pid, "a new connection replaced it");
    }
}
