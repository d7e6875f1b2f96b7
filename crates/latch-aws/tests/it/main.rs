//! The AWS integration against moto (a real, independent implementation of
//! the AWS APIs) with IAM enforcement on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

mod effective;
mod identity_center;
mod iam_users;
mod install;
mod crash;
mod lifecycle;
mod resource_explorer;
mod sync;
