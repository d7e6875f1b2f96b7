//! Which installed AWS account a command is for, with the messages people
//! know from the `aws role|permission-set assume` error tables.

use serde::Deserialize;

use crate::client::Api;

/// An installed account as `GET /v1/aws/accounts` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// The 12-digit id.
    pub account_id: String,
    /// Its alias.
    #[serde(default)]
    pub alias: Option<String>,
    /// `iam-users`, `identity-center` or `federated`.
    pub mode: String,
    /// `role` or `permission-set`.
    pub command: String,
    /// Identity Center's access portal URL.
    #[serde(default)]
    pub sso_start_url: Option<String>,
    /// Federated accounts: `oidc` or `saml`.
    #[serde(default)]
    pub federation: Option<String>,
    /// Region of STS and Identity Center.
    pub region: String,
}

impl Account {
    /// How the account is shown: its alias, else its id.
    pub fn label(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.account_id)
    }
}

/// The org's installed accounts.
pub async fn list(api: &Api) -> anyhow::Result<Vec<Account>> {
    api.get("/v1/aws/accounts").await
}

/// Picks the account named by `wanted` (id or alias), or the only one.
pub fn select(accounts: &[Account], wanted: Option<&str>) -> anyhow::Result<Account> {
    if wanted == Some("") {
        anyhow::bail!("Could not find an AWS account ID for this access request\nhelp: specify the account with `--account <id>`");
    }
    if accounts.is_empty() {
        anyhow::bail!("Latch is not installed on any AWS account\nhelp: ask your Latch administrator to install the AWS integration");
    }
    match wanted {
        Some(w) => accounts
            .iter()
            .find(|a| a.account_id == w || a.alias.as_deref() == Some(w))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("Latch is not installed on AWS account {w}\nhelp: verify the account ID or alias; `latch ls aws` lists them")),
        None => match accounts {
            [only] => Ok(only.clone()),
            _ => {
                let mut names: Vec<&str> = accounts.iter().map(Account::label).collect();
                names.sort_unstable();
                anyhow::bail!("Please select a unique AWS account with --account\nhelp: one of {} (or set LATCH_AWS_ACCOUNT)", names.join(", "))
            }
        },
    }
}

/// Fails unless `account` assumes access with `command` (`role` or
/// `permission-set`), naming the command that works there.
pub fn require_command(account: &Account, command: &str) -> anyhow::Result<()> {
    if account.command == command {
        return Ok(());
    }
    let other = &account.command;
    let help = format!("help: this account requires `latch aws {other} assume`. Run `latch aws --help` to see available commands for your account.");
    if command == "permission-set" {
        anyhow::bail!("Unexpected login type. Expected IDC to be enabled for account {}\n{help}", account.account_id)
    }
    anyhow::bail!("Account {} is not configured for role login.\n{help}", account.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, alias: Option<&str>, command: &str) -> Account {
        Account { account_id: id.into(), alias: alias.map(Into::into), mode: "federated".into(), command: command.into(), sso_start_url: None, federation: None, region: "us-east-1".into() }
    }

    #[test]
    fn selection_follows_the_seed_messages() {
        let none: Vec<Account> = vec![];
        assert_eq!(select(&none, None).unwrap_err().to_string().lines().next(), Some("Latch is not installed on any AWS account"));
        let two = vec![account("111111111111", Some("prod"), "role"), account("222222222222", None, "permission-set")];
        assert_eq!(select(&two, None).unwrap_err().to_string().lines().next(), Some("Please select a unique AWS account with --account"));
        assert_eq!(select(&two, Some("333333333333")).unwrap_err().to_string().lines().next(), Some("Latch is not installed on AWS account 333333333333"));
        assert_eq!(select(&two, Some("")).unwrap_err().to_string().lines().next(), Some("Could not find an AWS account ID for this access request"));
        assert_eq!(select(&two, Some("prod")).unwrap().account_id, "111111111111");
        assert_eq!(select(&two[..1], None).unwrap().account_id, "111111111111");
    }

    #[test]
    fn the_wrong_command_names_the_right_one() {
        let idc = account("222222222222", None, "permission-set");
        let e = require_command(&idc, "role").unwrap_err().to_string();
        assert!(e.starts_with("Account 222222222222 is not configured for role login."), "{e}");
        assert!(e.contains("`latch aws permission-set assume`"), "{e}");
        let role = account("111111111111", Some("prod"), "role");
        let e = require_command(&role, "permission-set").unwrap_err().to_string();
        assert!(e.starts_with("Unexpected login type. Expected IDC to be enabled for account 111111111111"), "{e}");
        assert!(require_command(&role, "role").is_ok());
    }
}
