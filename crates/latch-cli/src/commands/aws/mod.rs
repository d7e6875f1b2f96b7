//! `latch aws …`: assume a role or permission set (requesting access when
//! needed), run a command with it, write AWS CLI profiles.

pub mod account;
mod assume;
pub mod cache;
mod configure;
mod exec;
mod grant;
pub mod help;
mod output;
mod retry;
pub mod sso;
mod sts;

use serde::{Deserialize, Serialize};

use crate::cli::{AwsArgs, AwsCommand, GlobalArgs, PermissionSetCommand, RoleCommand};
use crate::client::Api;

pub use assume::cached;

/// Temporary AWS credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`ASIA…`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: String,
    /// When they stop working, epoch seconds.
    pub expiration: i64,
}

/// The wall clock in epoch seconds.
pub fn now_secs() -> i64 {
    use latch_core::Clock as _;
    latch_core::SystemClock.now().millis() / 1000
}

/// Epoch seconds as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// Runs `latch aws …`.
pub async fn run(global: &GlobalArgs, args: AwsArgs) -> anyhow::Result<()> {
    let opts = assume::Options { account: args.account.clone(), reason: args.reason.clone().unwrap_or_default(), debug: args.debug };
    match args.command {
        None => overview(global).await,
        Some(AwsCommand::Role { command: RoleCommand::Assume { role, no_request, output, .. } }) => {
            assume::run(global, &opts, assume::Spec { command: "role", name: role, request: !no_request }, &output).await
        }
        Some(AwsCommand::PermissionSet { command: PermissionSetCommand::Assume { permission_set, output } }) => {
            assume::run(global, &opts, assume::Spec { command: "permission-set", name: permission_set, request: true }, &output).await
        }
        Some(AwsCommand::Exec { name, no_request, wait_timeout, command }) => exec::run(global, &opts, &name, !no_request, &wait_timeout, &command).await,
        Some(AwsCommand::Configure { prefix, print }) => configure::run(global, &prefix, print).await,
    }
}

/// `latch aws` alone: which command applies to each of the person's accounts.
async fn overview(global: &GlobalArgs) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    let accounts = account::list(&api).await?;
    if accounts.is_empty() {
        anyhow::bail!("Latch is not installed on any AWS account\nhelp: ask your Latch administrator to install the AWS integration");
    }
    println!("Your AWS accounts and the command for each:");
    for a in &accounts {
        let what = if a.command == "role" { "ROLE" } else { "PERMISSION_SET" };
        println!("  {:<24} {:<16} latch aws --account {} {} assume {what}", a.label(), a.mode, a.label(), a.command);
    }
    println!("\nSee `latch ls aws` for what you can request, and `latch aws --help` for options.");
    Ok(())
}
