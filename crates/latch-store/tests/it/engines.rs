//! Fresh stores for each test, on each engine.

use latch_store::{connect, sqlite_url_in, SqlStore, StoreOptions};
use latch_testkit::env::LATCH_TEST_ENGINES;

/// A store and whatever keeps its database alive.
pub struct TestStore(pub SqlStore, #[allow(dead_code, reason = "keeps the temp dir alive")] pub Option<tempfile::TempDir>);

fn enabled(engine: &str) -> bool {
    match std::env::var(LATCH_TEST_ENGINES).as_deref() {
        Ok("both") | Err(_) => true,
        Ok(only) => only == engine,
    }
}

/// A store on a new SQLite file, or `None` when the run excludes SQLite.
pub async fn sqlite() -> Option<TestStore> {
    if !enabled("sqlite") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap();
    Some(TestStore(store, Some(dir)))
}

/// A store on a new PostgreSQL database, or `None` when the run excludes it.
pub async fn postgres() -> Option<TestStore> {
    if !enabled("postgres") {
        return None;
    }
    let url = tokio::task::spawn_blocking(latch_testkit::fresh_postgres_url).await.unwrap().unwrap();
    let store = connect(&url, &StoreOptions::default()).await.unwrap();
    Some(TestStore(store, None))
}

/// A new database's URL on `engine`, with whatever keeps it alive; `None`
/// when the run excludes the engine. For tests that open it twice, as two
/// replicas do.
pub async fn url(engine: &str) -> Option<(String, Option<tempfile::TempDir>)> {
    if !enabled(engine) {
        return None;
    }
    if engine == "sqlite" {
        let dir = tempfile::tempdir().unwrap();
        return Some((sqlite_url_in(dir.path()), Some(dir)));
    }
    let url = tokio::task::spawn_blocking(latch_testkit::fresh_postgres_url).await.unwrap().unwrap();
    Some((url, None))
}
