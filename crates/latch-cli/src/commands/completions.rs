//! `latch completions bash|zsh|fish`: the shell's completion script on stdout.

use clap::CommandFactory as _;

use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub fn run(shell: clap_complete::Shell) {
    clap_complete::generate(shell, &mut Cli::command(), "latch", &mut std::io::stdout());
}
