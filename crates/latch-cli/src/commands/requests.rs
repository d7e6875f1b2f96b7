//! `latch request`, `latch requests`, `latch approve|deny|cancel|revoke|relinquish`.

use anyhow::{bail, Context as _};
use reqwest::Method;
use serde_json::{json, Value};

use crate::cli::{GlobalArgs, RequestArgs};
use crate::client::{seg, Api};
use crate::commands::admin::{field, table};

fn parse_duration(s: &str) -> anyhow::Result<u64> {
    let d = humantime::parse_duration(s).with_context(|| format!("`{s}` is not a duration\nhelp: write it like `30m`, `1h` or `1h 30m`"))?;
    Ok(d.as_secs())
}

fn summary(r: &Value) -> String {
    let targets = r.get("targets").and_then(Value::as_array).cloned().unwrap_or_default();
    let accounts: Vec<String> = targets.iter().map(|t| field(t, "account")).collect();
    let first = targets.first().cloned().unwrap_or_default();
    format!("{} {} in {}", field(&first, "kind"), field(&first, "name"), accounts.join(","))
}

/// `latch request KIND NAME --account …`.
pub async fn create(global: &GlobalArgs, a: RequestArgs) -> anyhow::Result<()> {
    let mut body = serde_json::Map::new();
    body.insert("kind".into(), json!(a.kind));
    body.insert("name".into(), json!(a.name));
    body.insert("accounts".into(), json!(a.accounts));
    body.insert("reason".into(), json!(a.reason));
    if let Some(l) = &a.level {
        body.insert("level".into(), json!(l));
    }
    if let Some(d) = &a.duration {
        body.insert("duration_secs".into(), json!(parse_duration(d)?));
    }
    let api = Api::connect(global).await?;
    let r: Value = api.post("/v1/requests", &Value::Object(body)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{}", field(&r, "id"));
        eprintln!("Request {} for {} is {} (policy rule `{}`).", field(&r, "id"), summary(&r), field(&r, "state"), field(&r, "rule"));
    }
    Ok(())
}

/// `latch requests`.
pub async fn list(global: &GlobalArgs, mine: bool, to_approve: bool, state: Option<String>, json: bool) -> anyhow::Result<()> {
    let mut q = vec![];
    if mine {
        q.push("mine=true".to_owned());
    }
    if to_approve {
        q.push("to_approve=true".to_owned());
    }
    if let Some(s) = state {
        q.push(format!("state={}", seg(&s)));
    }
    let path = if q.is_empty() { "/v1/requests".to_owned() } else { format!("/v1/requests?{}", q.join("&")) };
    let api = Api::connect(global).await?;
    let rs: Vec<Value> = api.get(&path).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rs)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = rs
        .iter()
        .map(|r| vec![field(r, "id"), field(r, "state"), field(r, "requester_email"), summary(r), field(r, "rule"), field(r, "created_at")])
        .collect();
    table(&["ID", "STATE", "REQUESTER", "ACCESS", "RULE", "CREATED"], &rows);
    Ok(())
}

/// `latch approve|deny|cancel ID`.
pub async fn decide(global: &GlobalArgs, id: &str, verb: &str, reason: &str) -> anyhow::Result<()> {
    if matches!(verb, "deny" | "revoke") && reason.trim().is_empty() {
        bail!("say why with --reason");
    }
    let api = Api::connect(global).await?;
    let body = if matches!(verb, "cancel" | "relinquish") { None } else { Some(json!({"reason": reason})) };
    let r: Value = api.send(Method::POST, &format!("/v1/requests/{}/{verb}", seg(id)), body.as_ref()).await?.json().await?;
    eprintln!("Request {} is {}.", field(&r, "id"), field(&r, "state"));
    Ok(())
}
