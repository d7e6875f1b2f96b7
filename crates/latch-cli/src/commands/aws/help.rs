//! `latch aws --help` for your accounts: when you are signed in, it shows
//! only the assume commands your installed accounts use (`role` for
//! iam-users and federated accounts, `permission-set` for Identity Center)
//! and lists the accounts with the command each needs. Signed out, or when
//! the server cannot be reached quickly, it is the full static help.

use std::ffi::OsString;
use std::time::Duration;

use clap::CommandFactory as _;

use super::account::{self, Account};
use crate::cli::{Cli, GlobalArgs};
use crate::client::Api;

/// How long help waits for the server before showing the static text.
const PATIENCE: Duration = Duration::from_secs(2);

/// Whether `args` ask for `latch aws`'s own help (not a subcommand's).
fn asks_aws_help(args: &[OsString]) -> bool {
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let Some(pos) = words.iter().position(|w| !w.starts_with('-')) else { return false };
    if words.get(pos) != Some(&"aws") {
        return false;
    }
    let rest = words.get(pos + 1..).unwrap_or_default();
    let wants_help = rest.iter().any(|w| *w == "--help" || *w == "-h") || rest.first() == Some(&"help") && rest.len() == 1;
    // Only `latch aws [options] --help`: a subcommand's help is clap's.
    let subcommand = rest.iter().any(|w| matches!(*w, "role" | "permission-set" | "exec" | "configure"));
    wants_help && !subcommand
}

/// The help text tailored to `accounts`.
pub fn tailored(accounts: &[Account]) -> String {
    let uses = |c: &str| accounts.iter().any(|a| a.command == c);
    let mut cmd = Cli::command();
    cmd = cmd.mut_subcommand("aws", |aws| {
        let mut aws = aws;
        for (name, used) in [("role", uses("role")), ("permission-set", uses("permission-set"))] {
            if !used && !accounts.is_empty() {
                aws = aws.mut_subcommand(name, |c| c.hide(true));
            }
        }
        let mut after = String::from("Your AWS accounts:\n");
        if accounts.is_empty() {
            after.push_str("  none: Latch is not installed on any AWS account\n");
        }
        for a in accounts {
            let label = a.alias.as_deref().map_or_else(|| a.account_id.clone(), |al| format!("{al} ({})", a.account_id));
            after.push_str(&format!("  {label}: latch aws --account {} {} assume NAME\n", a.label(), a.command));
        }
        aws.after_help(after)
    });
    let mut aws = cmd.find_subcommand_mut("aws").cloned().unwrap_or_else(|| clap::Command::new("aws"));
    aws.set_bin_name("latch aws");
    aws.render_help().to_string()
}

/// The accounts of the signed-in person, if the server answers in time.
fn accounts(global: &GlobalArgs) -> Option<Vec<Account>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    runtime.block_on(async {
        tokio::time::timeout(PATIENCE, async {
            let api = Api::connect(global).await.ok()?;
            account::list(&api).await.ok()
        })
        .await
        .ok()
        .flatten()
    })
}

/// Prints the tailored help if `args` ask for it and the accounts are known;
/// true if it did (the caller exits).
pub fn print_if_asked(args: &[OsString]) -> bool {
    if !asks_aws_help(args) {
        return false;
    }
    let global = GlobalArgs { server: std::env::var(crate::env::LATCH_SERVER).ok(), org: std::env::var(crate::env::LATCH_ORG).ok() };
    match accounts(&global) {
        Some(list) => {
            print!("{}", tailored(&list));
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn account(id: &str, alias: Option<&str>, command: &str) -> Account {
        Account {
            account_id: id.into(),
            alias: alias.map(Into::into),
            mode: if command == "role" { "federated".into() } else { "identity-center".into() },
            command: command.into(),
            sso_start_url: None,
            federation: None,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn only_latch_aws_own_help_is_tailored() {
        assert!(asks_aws_help(&os(&["latch", "aws", "--help"])));
        assert!(asks_aws_help(&os(&["latch", "aws", "-h"])));
        assert!(asks_aws_help(&os(&["latch", "aws", "--account", "prod", "--help"])));
        assert!(!asks_aws_help(&os(&["latch", "aws", "role", "--help"])));
        assert!(!asks_aws_help(&os(&["latch", "aws", "role", "assume", "-h"])));
        assert!(!asks_aws_help(&os(&["latch", "ls", "--help"])));
        assert!(!asks_aws_help(&os(&["latch", "aws"])));
    }

    #[test]
    fn help_shows_the_commands_your_accounts_use() {
        let roles = tailored(&[account("111111111111", Some("prod"), "role")]);
        assert!(roles.contains("  role ") && !roles.contains("permission-set "), "{roles}");
        assert!(roles.contains("prod (111111111111): latch aws --account prod role assume NAME"), "{roles}");
        let ic = tailored(&[account("222222222222", None, "permission-set")]);
        assert!(ic.contains("  permission-set ") && !ic.contains("  role "), "{ic}");
        let both = tailored(&[account("111111111111", None, "role"), account("222222222222", None, "permission-set")]);
        assert!(both.contains("  role ") && both.contains("  permission-set "), "{both}");
        let none = tailored(&[]);
        assert!(none.contains("Latch is not installed on any AWS account"), "{none}");
    }
}
