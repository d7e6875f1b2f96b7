//! `latch ls [aws [KIND]]`: what the person can request in the installed
//! AWS accounts and what they hold now (`--json`: the API's entries as is).

use serde_json::Value;

use crate::cli::{GlobalArgs, LsArgs};
use crate::client::{seg, Api};
use crate::commands::admin::{field, table};

/// Lists entitlements.
pub async fn run(global: &GlobalArgs, a: LsArgs) -> anyhow::Result<()> {
    if let Some(i) = a.integration.as_deref().filter(|i| *i != "aws") {
        anyhow::bail!("`{i}` is not an integration\nhelp: Latch manages access to `aws`");
    }
    let mut q = Vec::new();
    if let Some(k) = &a.kind {
        q.push(format!("kind={}", seg(k)));
    }
    if let Some(acct) = &a.account {
        q.push(format!("account={}", seg(acct)));
    }
    let path = if q.is_empty() { "/v1/access".to_owned() } else { format!("/v1/access?{}", q.join("&")) };
    let api = Api::connect(global).await?;
    let mut entries: Vec<Value> = api.get(&path).await?;
    if a.active {
        entries.retain(|e| e.get("active").and_then(Value::as_array).is_some_and(|v| !v.is_empty()));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    if entries.is_empty() {
        eprintln!("Nothing to show: no rule lets you request anything here, and you hold nothing.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let account = e.get("alias").and_then(Value::as_str).map_or_else(|| field(e, "account_id"), str::to_owned);
            let until = e
                .get("active")
                .and_then(Value::as_array)
                .and_then(|v| v.iter().filter_map(|h| h.get("expires_at").and_then(Value::as_str)).max().map(str::to_owned))
                .map(|t| format!("* until {t}"))
                .unwrap_or_default();
            let how = match field(e, "approval").as_str() {
                "auto" => "auto-approved".to_owned(),
                "approval" => "needs approval".to_owned(),
                _ => "-".to_owned(),
            };
            vec![account, field(e, "kind"), field(e, "name"), how, until]
        })
        .collect();
    table(&["ACCOUNT", "KIND", "NAME", "REQUEST", "ACTIVE"], &rows);
    Ok(())
}
