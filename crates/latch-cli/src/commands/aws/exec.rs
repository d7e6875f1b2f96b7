//! `latch aws exec NAME -- CMD…`: runs a command with the credentials of a
//! role or permission set in its environment, and exits as it does.

use anyhow::Context as _;

use super::assume::{obtain, Options, Spec};
use crate::cli::GlobalArgs;
use crate::{Exit, ExitStatus};

/// Runs `command` with the credentials for `name`.
pub async fn run(global: &GlobalArgs, opts: &Options, name: &str, request: bool, wait_timeout: &str, command: &[String]) -> anyhow::Result<()> {
    let limit = humantime::parse_duration(wait_timeout).with_context(|| format!("`{wait_timeout}` is not a duration\nhelp: write it like `5m`"))?;
    let spec = Spec { command: "", name: name.to_owned(), request };
    let (entry, _) = obtain(global, opts, &spec, limit, wait_timeout).await?;
    let (program, args) = command.split_first().context("name the command to run after `--`")?;
    let c = &entry.credentials;
    let status = tokio::process::Command::new(program)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &c.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
        .env("AWS_SESSION_TOKEN", &c.session_token)
        .env("AWS_SECURITY_TOKEN", &c.session_token)
        .env("AWS_CREDENTIAL_EXPIRATION", super::rfc3339(c.expiration))
        .env_remove("AWS_PROFILE")
        .status()
        .await
        .with_context(|| format!("could not run `{program}`"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Exit(ExitStatus::Code(code), String::new()).into()),
        None => Err(Exit(ExitStatus::Failure, format!("`{program}` was killed by a signal")).into()),
    }
}
