//! The server's API, in-process on a free port, on SQLite and PostgreSQL,
//! with an injected clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

mod audit;
mod aws;
mod auth;
mod device;
mod grants;
mod input;
mod isolation;
mod openapi;
mod requests;
mod saml;
mod signing_keys;
mod sso;
mod support;
mod tokens;
mod ui;
mod webhooks;

/// Declares `sqlite::NAME` and `postgres::NAME` tests around an async
/// `fn NAME(app: TestApp)`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::support::TestApp::spawn("sqlite").await else { return };
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::support::TestApp::spawn("postgres").await else { return };
                    super::$name(app).await;
                }
            )*
        }
    };
}
