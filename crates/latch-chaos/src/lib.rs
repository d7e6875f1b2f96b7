//! Crash and throughput tests of Latch's request machinery.
//!
//! `latch-chaos-server` is `latch server` with one difference: integration
//! `aws` is a [`JournalProvisioner`] (when `LATCH_CHAOS_JOURNAL` names a
//! file) whose grants live on disk and so outlive a killed server, or an
//! in-memory recording provisioner (for throughput benchmarks, where AWS's
//! own latency is not what is measured). The tests in `tests/` kill it at
//! random points and check what the journal says against what Latch says.

pub mod journal;

pub use journal::{Episode, Faults, Journal, JournalProvisioner, Record};

/// The variable naming the journal file.
pub const LATCH_CHAOS_JOURNAL: &str = "LATCH_CHAOS_JOURNAL";
