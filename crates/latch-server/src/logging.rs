//! Structured logs to stderr: JSON when stderr is not a terminal (or
//! `LATCH_LOG_FORMAT=json`), human text otherwise; filter from `LATCH_LOG`.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::env::{LATCH_LOG, LATCH_LOG_FORMAT};

/// Installs the global subscriber (idempotent: a second call is ignored).
pub fn init() {
    let filter = EnvFilter::try_from_env(LATCH_LOG).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var(LATCH_LOG_FORMAT).as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}
