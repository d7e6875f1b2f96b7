//! The Latch side of `… assume`: an active grant the person already holds,
//! or a new request followed until it is active, denied or the wait ends.

use std::time::Duration;

use serde_json::{json, Value};

use crate::client::{seg, Api};
use crate::commands::admin::field;
use crate::commands::requests::{follow, Waited};
use crate::{Exit, ExitStatus};

/// An active grant: the request holding it and when it ends (epoch seconds).
#[derive(Debug, Clone)]
pub struct Grant {
    /// The request id.
    pub request_id: String,
    /// When the grant ends.
    pub ends_at: i64,
}

fn ends_at(r: &Value) -> i64 {
    r.get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or(0, |t| t.timestamp())
}

fn covers(r: &Value, account_id: &str, kind: &str, name: &str) -> bool {
    r.get("targets")
        .and_then(Value::as_array)
        .is_some_and(|ts| ts.iter().any(|t| field(t, "account") == account_id && field(t, "kind") == kind && field(t, "name") == name))
}

/// The caller's active requests in `account_id`.
async fn active(api: &Api) -> anyhow::Result<Vec<Value>> {
    api.get("/v1/requests?mine=true&state=active").await
}

/// The caller's active grant of `kind`/`name` in the account, the one that
/// lasts longest.
pub async fn find(api: &Api, account_id: &str, kind: &str, name: &str) -> anyhow::Result<Option<Grant>> {
    let held = active(api).await?;
    Ok(held
        .iter()
        .filter(|r| covers(r, account_id, kind, name))
        .map(|r| Grant { request_id: field(r, "id"), ends_at: ends_at(r) })
        .max_by_key(|g| g.ends_at))
}

/// Role `name`'s ARN in the account as Latch's synced inventory knows it
/// (with its path), if it does.
pub async fn role_arn(api: &Api, account_id: &str, name: &str) -> anyhow::Result<Option<String>> {
    let entries: Vec<Value> = api.get(&format!("/v1/access?account={}&kind=role", seg(account_id))).await?;
    Ok(entries.iter().find(|e| field(e, "name") == name).and_then(|e| e.get("arn")).and_then(Value::as_str).map(str::to_owned))
}

/// The names of `kind` the caller holds in the account now.
pub async fn held_names(api: &Api, account_id: &str, kind: &str) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = active(api)
        .await?
        .iter()
        .flat_map(|r| r.get("targets").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter(|t| field(t, "account") == account_id && field(t, "kind") == kind)
        .map(|t| field(&t, "name"))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Asks for `kind`/`name` in the account and waits up to `limit` for it to
/// be active.
pub async fn request(api: &Api, account_id: &str, kind: &str, name: &str, reason: &str, limit: Duration, limit_text: &str) -> anyhow::Result<Grant> {
    let body = json!({"kind": kind, "name": name, "accounts": [account_id], "reason": reason});
    let r: Value = api.post("/v1/requests", &body).await?;
    let id = field(&r, "id");
    eprintln!("Requested {kind} {name} in {account_id} ({id}); waiting for approval…");
    match follow(api, &id, limit).await? {
        Waited::Active(r) => Ok(Grant { request_id: id, ends_at: ends_at(&r) }),
        Waited::Denied(why) => {
            let why = if why.trim().is_empty() { String::new() } else { format!("\nThe approver said: {why}") };
            Err(Exit(ExitStatus::Denied, format!("Your request was denied{why}\nhelp: contact your approver or request with a different reason")).into())
        }
        Waited::Ended(state, failure) => {
            let why = failure.map(|f| format!(": {f}")).unwrap_or_default();
            Err(Exit(ExitStatus::Failure, format!("Your request {id} ended {state}{why}")).into())
        }
        Waited::TimedOut => Err(Exit(
            ExitStatus::TimedOut,
            format!("Your request did not complete within {limit_text}.\nhelp: request {id} is still open; check your notification channel for approval status, or follow it with `latch requests --mine`"),
        )
        .into()),
    }
}
