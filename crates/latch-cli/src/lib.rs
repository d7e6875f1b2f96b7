//! The `latch` command line. `latch server` runs the control plane; every
//! other subcommand is a client of its HTTP API.
#![warn(missing_docs)]

pub mod cli;
mod client;
mod commands;
mod creds;
mod private_file;
pub mod env;

use std::process::ExitCode;

use clap::Parser as _;

use cli::{AdminCommand, Cli, Command};

/// Exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It worked (or access is active).
    Success,
    /// It failed; the reason is on stderr.
    Failure,
    /// The request was denied.
    Denied,
    /// Waiting for a decision timed out.
    TimedOut,
    /// A command run by `latch aws exec` exited with this status.
    Code(i32),
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Denied => ExitCode::from(2),
            ExitStatus::TimedOut => ExitCode::from(4),
            ExitStatus::Code(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        }
    }
}

/// An error that ends the program with a particular status.
#[derive(Debug)]
pub struct Exit(pub ExitStatus, pub String);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for Exit {}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // `latch aws --help` shows the commands your accounts use.
    if commands::aws::help::print_if_asked(&std::env::args_os().collect::<Vec<_>>()) {
        return ExitStatus::Success.into();
    }
    let cli = Cli::parse();
    // Cached AWS credentials are printed before any runtime starts.
    if commands::aws::cached(&cli) {
        return ExitStatus::Success.into();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitStatus::Failure.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => report(&e).into(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Server(args) => commands::server::run(args).await,
        Command::Login { org } => commands::login::run(g, &org).await,
        Command::Logout { all } => commands::logout::run(g, all).await,
        Command::Enroll { token, password_stdin } => commands::enroll::run(g, &token, password_stdin).await,
        Command::Whoami { json } => commands::whoami::run(g, json).await,
        Command::Request(args) => commands::requests::create(g, args).await,
        Command::Requests { mine, to_approve, state, json } => commands::requests::list(g, mine, to_approve, state, json).await,
        Command::Approve { id, reason } => commands::requests::decide(g, &id, "approve", &reason).await,
        Command::Deny { id, reason } => commands::requests::decide(g, &id, "deny", &reason).await,
        Command::Cancel { id } => commands::requests::decide(g, &id, "cancel", "").await,
        Command::Revoke { id, reason } => commands::requests::decide(g, &id, "revoke", &reason).await,
        Command::Relinquish { id } => commands::requests::decide(g, &id, "relinquish", "").await,
        Command::Extend { id, by } => commands::requests::extend(g, &id, &by).await,
        Command::Aws(args) => commands::aws::run(g, args).await,
        Command::Ls(args) => commands::ls::run(g, args).await,
        Command::Completions { shell } => {
            commands::completions::run(shell);
            Ok(())
        }
        Command::Iam { command } => commands::iam::run(g, command).await,
        Command::Admin { command } => match command {
            AdminCommand::Policy { command } => commands::admin::policy::run(g, command).await,
            AdminCommand::Users { command } => commands::admin::users::run(g, command).await,
            AdminCommand::Groups { command } => commands::admin::groups::run(g, command).await,
            AdminCommand::Tokens { command } => commands::admin::tokens::run(g, command).await,
            AdminCommand::Sso { command } => commands::admin::sso::run(g, command).await,
            AdminCommand::Audit { command } => commands::admin::audit::run(g, command).await,
            AdminCommand::Aws { command } => commands::admin::aws::run(g, command).await,
            AdminCommand::Sync { account, json } => commands::admin::aws::sync(g, &account, json).await,
        },
    }
}

/// Prints `error: …` and the causes; a broken pipe is not an error (the
/// reader went away, as with `latch … | head`).
fn report(e: &anyhow::Error) -> ExitStatus {
    if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
        return ExitStatus::Success;
    }
    if let Some(Exit(status @ ExitStatus::Code(_), msg)) = e.downcast_ref::<Exit>() {
        if !msg.is_empty() {
            eprintln!("error: {msg}");
        }
        return *status;
    }
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  Caused by: {cause}");
    }
    e.downcast_ref::<Exit>().map_or(ExitStatus::Failure, |x| x.0)
}
