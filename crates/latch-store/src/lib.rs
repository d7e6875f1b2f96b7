//! SQLite (embedded default) and PostgreSQL (scale-out) implementations of
//! Latch's [`Store`](latch_core::store::Store) port.
//!
//! One piece of SQL serves both engines wherever they agree (they agree on
//! everything the foundation needs: `$n` parameters, `RETURNING`,
//! `ON CONFLICT`); the engine-specific parts are connection set-up and
//! migration locking, in [`connect`].
#![warn(missing_docs)]

mod access;
mod audit;
mod compose;
mod connect;
mod credentials;
mod error;
mod grants;
mod jobs;
mod migrate;
mod orgs;
mod people;
mod remembered;
mod replicas;
mod rows;
mod sso;
mod webhooks;
mod integrations;
mod signing_keys;
mod statements;
mod inventory;

pub use connect::{connect, redact, sqlite_url_in, ConnectError, Engine, SqlStore, StoreOptions};
pub use migrate::MigrateError;
