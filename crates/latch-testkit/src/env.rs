//! Environment variables the test rig reads; each is set by `scripts/test`.

/// A running PostgreSQL server shared by the whole test run:
/// `postgres://USER@127.0.0.1:PORT`. Without it, each test process starts
/// its own throwaway cluster.
pub const LATCH_TEST_PG: &str = "LATCH_TEST_PG";

/// Which engines store tests run on: `sqlite`, `postgres` or `both`
/// (default `both`).
pub const LATCH_TEST_ENGINES: &str = "LATCH_TEST_ENGINES";

/// Path of the `latch` binary under test (defaults to the one cargo built).
pub const LATCH_BIN: &str = "LATCH_BIN";
