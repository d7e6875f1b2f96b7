//! Latch's domain: orgs, people and their roles, credentials, the audit chain,
//! and the ports (`Store`, `Clock`) that the server and the store plug into.
//!
//! Nothing here does I/O: the store and the HTTP layer live in their own crates.
#![warn(missing_docs)]

pub mod access;
pub mod audit;
pub mod clock;
pub mod id;
pub mod integration;
pub mod inventory;
pub mod jobs;
pub mod model;
pub mod password;
pub mod secret;
pub mod store;
pub mod token;
pub mod totp;
pub mod validate;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use secret::Secret;
