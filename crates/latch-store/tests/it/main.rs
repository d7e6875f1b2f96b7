//! The store conformance suite: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

mod access;
mod audit;
mod credentials;
mod engines;
mod integrations;
mod inventory;
mod jobs;
mod people;
mod replicas;
mod schema;

/// Declares `sqlite_NAME` and `postgres_NAME` tests around an async
/// `fn NAME(store: SqlStore)`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = $crate::engines::sqlite().await else { return };
                    super::$name(store.0.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = $crate::engines::postgres().await else { return };
                    super::$name(store.0.clone()).await;
                }
            )*
        }
    };
}
