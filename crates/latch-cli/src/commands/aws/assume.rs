//! `latch aws role assume` and `latch aws permission-set assume`:
//!
//! 1. Cached credentials for this server × org × account × name that are
//!    still good are printed at once (no network).
//! 2. Otherwise, under the entry's lock (so concurrent shells make one
//!    request), the Latch session is checked, the account resolved, an
//!    active grant reused or a request made and followed until it is active.
//! 3. AWS credentials are obtained as the account's mode says (web identity
//!    token, the person's IAM user, or Identity Center), for no longer than
//!    the grant, cached, and printed.

use std::time::Duration;

use anyhow::Context as _;
use aws_config::{BehaviorVersion, Region};
use serde_json::Value;

use super::account::{self, Account};
use super::cache::{self, Entry, Key, Lock};
use super::retry::Retry;
use super::{grant, now_secs, output, sso, sts};
use crate::cli::{AssumeOutput, Cli, Command, GlobalArgs};
use crate::client::Api;
use crate::creds::Logins;
use crate::env::LATCH_TOKEN;

/// Options of `latch aws` itself.
pub struct Options {
    /// `--account` / `LATCH_AWS_ACCOUNT`.
    pub account: Option<String>,
    /// `--reason`.
    pub reason: String,
    /// `--debug`.
    pub debug: bool,
}

/// What to assume.
pub struct Spec {
    /// `role` or `permission-set`; empty for "whatever the account uses".
    pub command: &'static str,
    /// Its name.
    pub name: String,
    /// Request access when none is held.
    pub request: bool,
}

/// The server and org the cache is keyed by, read locally.
fn identity(global: &GlobalArgs) -> anyhow::Result<(String, String)> {
    if let Ok(token) = std::env::var(LATCH_TOKEN) {
        let server = global.server.clone().context("LATCH_TOKEN is set but no server is\nhelp: set LATCH_SERVER or pass --server")?;
        let print = cache::digest(&[&token]);
        return Ok((server.trim_end_matches('/').to_owned(), format!("token:{print}")));
    }
    let logins = Logins::load()?;
    let l = logins
        .select(global.server.as_deref(), global.org.as_deref())
        .context("you are not logged in\nhelp: run `latch login ORG --server URL`, or set LATCH_TOKEN")?;
    Ok((l.server.clone(), l.org.clone()))
}

fn key(global: &GlobalArgs, account: Option<&str>, name: &str) -> anyhow::Result<Key> {
    if account == Some("") {
        account::select(&[], Some(""))?;
    }
    let (server, org) = identity(global)?;
    // An account is either role or permission-set, so the name alone says
    // what is cached; `exec` shares the entries of `assume`.
    Ok(Key { server, org, account: account.unwrap_or_default().to_owned(), kind: "aws".into(), name: name.to_owned() })
}

/// The fast path, before any runtime or network: when the command line is
/// an `assume` whose credentials are cached and good, prints them and
/// returns true.
pub fn cached(cli: &Cli) -> bool {
    let Command::Aws(args) = &cli.command else { return false };
    let (command, name, out) = match &args.command {
        Some(crate::cli::AwsCommand::Role { command: crate::cli::RoleCommand::Assume { role, output, .. } }) => ("role", role, output),
        Some(crate::cli::AwsCommand::PermissionSet { command: crate::cli::PermissionSetCommand::Assume { permission_set, output } }) => ("permission-set", permission_set, output),
        _ => return false,
    };
    let Ok(k) = key(&cli.global, args.account.as_deref(), name) else { return false };
    let Some(e) = cache::get(&k, now_secs()) else { return false };
    let format = output::resolve(out.format, std::env::var("SHELL").ok().as_deref());
    output::print(&e.credentials, format, &e.account_id, name, &assume_words(args.account.as_deref(), command, name));
    true
}

fn assume_words(account: Option<&str>, command: &str, name: &str) -> String {
    match account {
        Some(a) if !a.is_empty() => format!("--account {a} {command} assume {name}"),
        _ => format!("{command} assume {name}"),
    }
}

/// `… assume`: obtains and prints.
pub async fn run(global: &GlobalArgs, opts: &Options, spec: Spec, out: &AssumeOutput) -> anyhow::Result<()> {
    let limit = humantime::parse_duration(&out.wait_timeout).with_context(|| format!("`{}` is not a duration\nhelp: write it like `5m`", out.wait_timeout))?;
    let (entry, account) = obtain(global, opts, &spec, limit, &out.wait_timeout).await?;
    let format = output::resolve(out.format, std::env::var("SHELL").ok().as_deref());
    let command = account.map_or(spec.command.to_owned(), |a| a.command);
    output::print(&entry.credentials, format, &entry.account_id, &spec.name, &assume_words(opts.account.as_deref(), &command, &spec.name));
    Ok(())
}

/// Says a wait limit the way people do: "5 minutes", "90 seconds".
fn spoken(limit: Duration, written: &str) -> String {
    let s = limit.as_secs();
    match s {
        60 => "1 minute".to_owned(),
        _ if s.is_multiple_of(60) && s > 0 => format!("{} minutes", s / 60),
        1 => "1 second".to_owned(),
        _ if s < 600 => format!("{s} seconds"),
        _ => written.to_owned(),
    }
}

/// Credentials for `spec`: cached, or fetched under the cache entry's lock.
/// Also returns the account when it had to be looked up.
pub async fn obtain(global: &GlobalArgs, opts: &Options, spec: &Spec, limit: Duration, written_limit: &str) -> anyhow::Result<(Entry, Option<Account>)> {
    let k = key(global, opts.account.as_deref(), &spec.name)?;
    if let Some(e) = cache::get(&k, now_secs()) {
        return Ok((e, None));
    }
    let lock_key = k.clone();
    let _lock: Lock = tokio::task::spawn_blocking(move || Lock::acquire(&lock_key)).await.context("the cache lock task failed")??;
    // Another process may have fetched them while this one waited.
    if let Some(e) = cache::get(&k, now_secs()) {
        if opts.debug {
            eprintln!("debug: another latch fetched these credentials meanwhile");
        }
        return Ok((e, None));
    }
    let api = Api::connect(global).await?;
    let accounts = account::list(&api).await?;
    let account = account::select(&accounts, opts.account.as_deref())?;
    let command = if spec.command.is_empty() { account.command.clone() } else { spec.command.to_owned() };
    account::require_command(&account, &command)?;
    if opts.debug {
        eprintln!("debug: account {} ({}), mode {}, region {}", account.account_id, account.label(), account.mode, account.region);
    }
    let held = grant::find(&api, &account.account_id, &command, &spec.name).await?;
    let g = match held {
        Some(g) => {
            eprintln!("Using your active access ({}) until {}.", g.request_id, super::rfc3339(g.ends_at));
            g
        }
        None if !spec.request => {
            let names = grant::held_names(&api, &account.account_id, &command).await?;
            let list = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            let noun = if command == "role" { "Role" } else { "Permission set" };
            let plural = if command == "role" { "roles" } else { "permission sets" };
            anyhow::bail!(
                "{noun} {} not available. Available {plural}: {list}\nhelp: request it with `latch aws --account {} {command} assume {}`",
                spec.name,
                account.label(),
                spec.name
            );
        }
        None => grant::request(&api, &account.account_id, &command, &spec.name, &opts.reason, limit, &spoken(limit, written_limit)).await?,
    };

    let conf = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(account.region.clone())).load().await;
    let mut retry = Retry::new(sts::credentials_timeout()?, opts.debug);
    let secs = sts::session_secs(now_secs(), g.ends_at);
    let creds = match account.mode.as_str() {
        "federated" => {
            let me: Value = api.get("/v1/me").await?;
            let who = me.get("email").and_then(Value::as_str).unwrap_or("latch").to_owned();
            match account.federation.as_deref() {
                Some("saml") => sts::saml(&api, &conf, &account, &g.request_id, &mut retry).await?,
                _ => sts::web_identity(&api, &conf, &account, &g.request_id, &who, secs, &mut retry).await?,
            }
        }
        "iam-users" => {
            let arn = grant::role_arn(&api, &account.account_id, &spec.name).await?;
            sts::assume_role(&conf, &account, &spec.name, arn.as_deref(), secs, &mut retry).await?
        }
        "identity-center" => sso::credentials(&conf, &account, &spec.name, &mut retry).await?,
        other => anyhow::bail!("account {} uses mode `{other}`, which this latch does not know\nhelp: upgrade latch", account.label()),
    };
    let entry = Entry {
        server: k.server.clone(),
        org: k.org.clone(),
        account_id: account.account_id.clone(),
        request_id: g.request_id.clone(),
        valid_until: creds.expiration.min(g.ends_at),
        credentials: creds,
    };
    cache::put(&k, &entry)?;
    Ok((entry, Some(account)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_spoken_as_in_the_messages() {
        assert_eq!(spoken(Duration::from_secs(300), "5m"), "5 minutes");
        assert_eq!(spoken(Duration::from_secs(60), "1m"), "1 minute");
        assert_eq!(spoken(Duration::from_secs(2), "2s"), "2 seconds");
        assert_eq!(spoken(Duration::from_secs(5400), "90m"), "90 minutes");
    }
}
