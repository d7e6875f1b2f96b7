//! `latch request`, `latch requests`, `latch approve|deny|cancel|revoke|relinquish`.

use std::time::Duration;

use anyhow::{bail, Context as _};
use reqwest::Method;
use serde_json::{json, Value};

use crate::cli::{GlobalArgs, RequestArgs};
use crate::client::{seg, Api};
use crate::commands::admin::{field, table};
use crate::{Exit, ExitStatus};

pub(crate) fn parse_duration(s: &str) -> anyhow::Result<u64> {
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
    let wait_for = if a.wait { Some(Duration::from_secs(parse_duration(&a.wait_timeout)?)) } else { None };
    let api = Api::connect(global).await?;
    let r: Value = api.post("/v1/requests", &Value::Object(body)).await?;
    if let Some(limit) = wait_for {
        eprintln!("Request {} for {} is {}; waiting up to {}…", field(&r, "id"), summary(&r), field(&r, "state"), a.wait_timeout);
        let done = wait(&api, &field(&r, "id"), limit).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&done)?);
        } else {
            println!("{}", field(&done, "id"));
        }
        return Ok(());
    }
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
    if matches!(verb, "revoke" | "relinquish" | "cancel") {
        // Credentials cached from this grant would only meet AWS's refusal.
        crate::commands::aws::cache::wipe_request(id)?;
    }
    Ok(())
}

/// How waiting on a request ended.
pub(crate) enum Waited {
    /// Access is active: the request as the server last sent it.
    Active(Value),
    /// Denied, with the approver's reason.
    Denied(String),
    /// It ended some other way (`failed`, `expired`, …), with the failure if any.
    Ended(String, Option<String>),
    /// The time ran out; the request is still open.
    TimedOut,
}

/// Waits on `id` and turns every outcome but active access into an error
/// with its exit status.
async fn wait(api: &Api, id: &str, limit: Duration) -> anyhow::Result<Value> {
    match follow(api, id, limit).await? {
        Waited::Active(r) => Ok(r),
        Waited::Denied(why) => Err(Exit(ExitStatus::Denied, format!("request {id} was denied: {why}")).into()),
        Waited::Ended(s, failure) => {
            let why = failure.map(|f| format!(": {f}")).unwrap_or_default();
            Err(Exit(ExitStatus::Failure, format!("request {id} ended: {s}{why}")).into())
        }
        Waited::TimedOut => Err(Exit(
            ExitStatus::TimedOut,
            format!("gave up waiting after {}s; request {id} is still open\nhelp: follow it with `latch requests --mine`", limit.as_secs()),
        )
        .into()),
    }
}

/// Follows the request's watch stream until access is active, the request
/// ends, or `limit` passes. A dropped stream is reopened (the request is never
/// submitted twice). Progress goes to stderr. The server ends the stream once
/// the request is active or further along (`until=active`).
pub(crate) async fn follow(api: &Api, id: &str, limit: Duration) -> anyhow::Result<Waited> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut backoff = Duration::from_millis(250);
    let mut last_state = String::new();
    loop {
        let opened = tokio::time::timeout_at(deadline, api.send(Method::GET, &format!("/v1/requests/{}/watch?until=active", seg(id)), None)).await;
        let resp = match opened {
            Err(_) => return Ok(Waited::TimedOut),
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                eprintln!("warning: lost the connection ({e:#}); retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let mut stream = resp.bytes_stream();
        let mut buf = String::new();
        loop {
            let next = match tokio::time::timeout_at(deadline, futures_util::StreamExt::next(&mut stream)).await {
                Err(_) => return Ok(Waited::TimedOut),
                Ok(n) => n,
            };
            let Some(Ok(chunk)) = next else { break };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(nl) = buf.find('\n') {
                let line: String = buf.drain(..=nl).collect();
                let Ok(event) = serde_json::from_str::<Value>(&line) else { continue };
                let Some(r) = event.get("request") else { continue };
                match field(r, "state").as_str() {
                    "active" => {
                        eprintln!("Access is active until {}.", field(r, "expires_at"));
                        return Ok(Waited::Active(r.clone()));
                    }
                    "denied" => {
                        let why = r.get("decisions").and_then(Value::as_array).and_then(|d| d.iter().find(|d| field(d, "decision") == "deny")).map(|d| field(d, "reason")).unwrap_or_default();
                        return Ok(Waited::Denied(why));
                    }
                    // `expiring`: past `active`, so the stream ends there; access is being removed.
                    s @ ("expiring" | "failed" | "expired" | "cancelled" | "revoked" | "relinquished") => {
                        return Ok(Waited::Ended(s.to_owned(), r.get("failure").and_then(Value::as_str).map(str::to_owned)));
                    }
                    s => {
                        if s != last_state {
                            eprintln!("Request {id} is {s}…");
                            s.clone_into(&mut last_state);
                        }
                    }
                }
            }
        }
        // The stream ended without a final state (server limit or a drop): reopen.
        tokio::time::sleep(backoff).await;
    }
}

/// `latch extend ID --by 1h`.
pub async fn extend(global: &GlobalArgs, id: &str, by: &str) -> anyhow::Result<()> {
    let secs = parse_duration(by)?;
    let api = Api::connect(global).await?;
    let r: Value = api.send(Method::POST, &format!("/v1/requests/{}/extend", seg(id)), Some(&json!({"by_secs": secs}))).await?.json().await?;
    eprintln!("Request {} now ends at {}.", field(&r, "id"), field(&r, "expires_at"));
    Ok(())
}
