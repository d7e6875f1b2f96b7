//! The `latch` binary: `latch server` runs the control plane, every other
//! subcommand is the client.

// The server allocates briefly and often (a request's JSON, rows, SQL);
// mimalloc spent about 5 % less of a request cycle's CPU than glibc's
// allocator (crates/latch-server/benches/cycles.rs, which uses it too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    latch_cli::main()
}
