//! Every environment variable the server reads, in one place.

/// Prefix of configuration variables: `LATCH_LISTEN`, `LATCH_DATA_DIR`, …
/// (nested keys join with `__`).
pub const PREFIX: &str = "LATCH_";
/// `tracing` filter for the server's logs (`info`, `latch_server=debug`, …).
pub const LATCH_LOG: &str = "LATCH_LOG";
/// Log format: `json` or `text` (default: text on a terminal, else JSON).
pub const LATCH_LOG_FORMAT: &str = "LATCH_LOG_FORMAT";
