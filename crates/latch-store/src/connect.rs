//! Opening the database: engine detection from the URL, pool set-up, SQLite
//! pragmas, and migrations at start.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

use crate::statements::{Db, Statements};
use thiserror::Error;

use crate::migrate::{self, MigrateError};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite in WAL mode: one server process.
    Sqlite,
    /// PostgreSQL: any number of server replicas.
    Postgres,
}

impl Engine {
    /// The engine a database URL names.
    pub fn of_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }

    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// Why the store could not be opened.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// The URL names no engine Latch supports.
    #[error("`{0}` is not a supported database URL\nhelp: use `sqlite://PATH` or `postgres://USER@HOST/DB`")]
    UnsupportedUrl(String),
    /// The database did not answer.
    #[error("could not connect to the {engine} database")]
    Unreachable {
        /// Which engine.
        engine: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed or the schema is newer than this binary.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections: readers, for SQLite (its one writer apart); for
    /// PostgreSQL, those lent for single statements, plus a quarter as many
    /// (at least 2) for transactions.
    pub max_connections: u32,
    /// How long a query waits for a connection before the store reports the
    /// database unavailable.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

/// The SQL store. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    /// Pool for reads.
    pub(crate) read: Db,
    /// Pool for writes: for SQLite a single connection, so writers queue in
    /// the pool instead of failing with `SQLITE_BUSY`; for PostgreSQL the same
    /// pool as reads.
    pub(crate) write: Db,
    pub(crate) engine: Engine,
    /// The SQLite file, when the database is one (replicas' lock files live
    /// next to it).
    pub(crate) sqlite_path: Option<std::path::PathBuf>,
    /// The liveness locks this process holds, by replica.
    pub(crate) liveness: crate::replicas::Liveness,
    /// Answers remembered (PostgreSQL only): credentials, webhook events.
    pub(crate) remembered: crate::remembered::Remembered,
    /// Hears changes for `remembered` while any clone of the store lives.
    listener: Option<std::sync::Arc<crate::remembered::AbortOnDrop>>,
}

impl SqlStore {
    /// The engine in use.
    pub fn engine_kind(&self) -> Engine {
        self.engine
    }

    /// Closes the pools.
    pub async fn close(&self) {
        if let Some(l) = &self.listener {
            l.0.abort();
        }
        self.write.close().await;
        self.read.close().await;
    }
}

static DRIVERS: Once = Once::new();

type ConnectHook<'c> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Per-connection SQLite settings: WAL (readers never block the writer),
/// `synchronous = NORMAL` (durable at checkpoints, the WAL recommendation),
/// foreign keys on, and a busy timeout instead of immediate `SQLITE_BUSY`.
fn sqlite_pragmas<'c>(conn: &'c mut sqlx::AnyConnection, _meta: sqlx::pool::PoolConnectionMetadata) -> ConnectHook<'c> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .await?;
        Ok(())
    })
}

/// The URL of a SQLite file in `dir`, created if missing.
pub fn sqlite_url_in(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("latch.db").display())
}

/// Opens the database at `url`, applies migrations and returns the store.
pub async fn connect(url: &str, opts: &StoreOptions) -> Result<SqlStore, ConnectError> {
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let engine = Engine::of_url(url).ok_or_else(|| ConnectError::UnsupportedUrl(redact(url)))?;
    let unreachable = |source| ConnectError::Unreachable { engine: engine.as_str(), source };
    // No ping before every query: it doubled the round trips on the hottest
    // path (bench/auth-me); a dead connection fails one query (503, retried
    // by clients) and is then discarded.
    let pool = |max: u32| AnyPoolOptions::new().test_before_acquire(false).max_connections(max).acquire_timeout(opts.acquire_timeout);
    let store = match engine {
        Engine::Sqlite => {
            let write = Db::pooled(pool(1).after_connect(sqlite_pragmas).connect(url).await.map_err(unreachable)?);
            let read = Db::pooled(pool(opts.max_connections).after_connect(sqlite_pragmas).connect(url).await.map_err(unreachable)?);
            SqlStore { read, write, engine, sqlite_path: sqlite_path(url), liveness: crate::replicas::Liveness::default(), remembered: Default::default(), listener: None }
        }
        Engine::Postgres => {
            let transactions = pool((opts.max_connections / 4).max(2)).connect(url).await.map_err(unreachable)?;
            let shared = Db::with_statements(transactions, Statements::new(url, opts.max_connections, opts.acquire_timeout));
            let remembered = crate::remembered::Remembered::default();
            let listener = Some(std::sync::Arc::new(crate::remembered::AbortOnDrop(remembered.listen(url.to_owned()))));
            SqlStore { read: shared.clone(), write: shared, engine, sqlite_path: None, liveness: crate::replicas::Liveness::default(), remembered, listener }
        }
    };
    migrate::run(&store).await?;
    Ok(store)
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// A URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = url.get(scheme_end + 3..at).unwrap_or_default();
            let user = userinfo.split(':').next().unwrap_or_default();
            let scheme = url.get(..scheme_end + 3).unwrap_or_default();
            let rest = url.get(at..).unwrap_or_default();
            if userinfo.contains(':') { format!("{scheme}{user}:***{rest}") } else { url.to_owned() }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_from_urls() {
        assert_eq!(Engine::of_url("sqlite://x.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::of_url("postgres://u@h/db"), Some(Engine::Postgres));
        assert_eq!(Engine::of_url("postgresql://u@h/db"), Some(Engine::Postgres));
        assert_eq!(Engine::of_url("mysql://u@h/db"), None);
    }

    #[test]
    fn sqlite_files_from_urls() {
        assert_eq!(sqlite_path("sqlite:///d/latch.db?mode=rwc"), Some("/d/latch.db".into()));
        assert_eq!(sqlite_path("sqlite://x.db"), Some("x.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://bob:s3cret@db:5432/latch"), "postgres://bob:***@db:5432/latch");
        assert_eq!(redact("postgres://bob@db/latch"), "postgres://bob@db/latch");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
