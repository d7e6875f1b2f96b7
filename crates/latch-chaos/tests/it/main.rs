//! Crash tests: real `latch-chaos-server` processes killed with SIGKILL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

mod crash;
mod hang;
mod replicas;
mod support;
