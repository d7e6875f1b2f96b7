//! Latch's AWS integration: one client factory with an endpoint override,
//! the permission catalog the install documents and `verify` share, and
//! the provisioners per user mode.
#![warn(missing_docs)]

pub mod catalog;
pub mod effective;
pub mod error;
pub mod factory;
pub mod install;
pub mod lifecycle;
pub mod member;
pub mod provision;
pub mod reconcile;
pub mod resource_access;
pub mod settings;
pub mod sync;
pub mod trust;
pub mod verify;

pub use error::AwsError;
pub use factory::{ClientFactory, Clients, RoleHop};
pub use settings::AwsSettings;
