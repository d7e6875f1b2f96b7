//! The `latch` binary: `latch server` runs the control plane, every other
//! subcommand is the client.

fn main() -> std::process::ExitCode {
    latch_cli::main()
}
