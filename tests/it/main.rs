//! End to end: the real `latch` binary as client and as server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

mod aws_cli;
mod cli;
mod demo;
mod failure;
mod iam;
mod replicas;
mod support;
