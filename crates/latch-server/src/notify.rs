//! Notifications: every request event worth telling people about goes to
//! the org's webhooks, as a job (retried, never blocking the request). The
//! notice is queued in the transaction of the change it reports (a
//! [`Notice`](latch_core::access::notice::Notice) in its effects), so a
//! crash cannot lose it; this module delivers it.
//!
//! - `slack`: Slack incoming-webhook JSON (`text` and `blocks`), with the
//!   request's link and the commands to approve or deny it.
//! - `generic`: `{"event", "at", "request"}`, signed: `X-Latch-Timestamp`
//!   (Unix seconds) and `X-Latch-Signature: v1=HEX` where HEX is
//!   HMAC-SHA256(secret, "TIMESTAMP.BODY"). Receivers should refuse a
//!   timestamp more than five minutes from their clock (replays), and compare
//!   signatures in constant time.

use std::time::Duration;

use hmac::{Hmac, Mac};
use latch_core::access::request::Request;
use latch_core::jobs::Job;
use serde_json::json;
use sha2::Sha256;

use crate::state::AppState;
use crate::workers::Failure;

pub use latch_core::access::notice::EVENTS;

/// `event` about `r` (as the change leaves it) at `at`, to queue with the
/// change, if any of the org's webhooks wants it.
pub(crate) async fn notice(state: &AppState, event: &str, at: latch_core::Timestamp, r: &Request) -> Result<Option<latch_core::access::notice::Notice>, latch_core::store::StoreError> {
    Ok(state.store.hears(&r.org_id, event, at).await?.then(|| latch_core::access::notice::Notice::new(event, at, r)))
}

fn slack_payload(state: &AppState, event: &str, r: &Request) -> serde_json::Value {
    let what: Vec<String> = r.targets.iter().map(|t| format!("{} `{}` in {}", t.kind.as_str(), t.name, t.account)).collect();
    let loud = if event == "request.break_glass" { ":rotating_light: BREAK-GLASS " } else { "" };
    let headline = format!("{loud}{} — {} asks for {} ({}s): {}", event, r.requester_email, what.join(", "), r.duration.as_secs(), r.reason);
    let link = format!("{}/v1/requests/{}", state.config.public_url(), r.id);
    let mut text = format!("{headline}\n<{link}|{}> is {}", r.id, r.state);
    if event == "request.created" {
        text.push_str(&format!("\nApprove: `latch approve {id}`  Deny: `latch deny {id} --reason …`", id = r.id));
    }
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("rule `{}` · policy v{}", r.rule, r.policy_version)}]}
        ]
    })
}

/// The body to send for a queued notification: a stored notice document
/// as is (generic) or rendered as a Slack message; a body queued already
/// rendered by an earlier Latch as it is.
fn body(state: &AppState, kind: &str, payload: String, is_document: bool) -> Result<String, Failure> {
    if !is_document || kind != "slack" {
        return Ok(payload);
    }
    let unreadable = |e: serde_json::Error| Failure::Permanent(format!("the queued notification cannot be read: {e}"));
    let mut doc: serde_json::Value = serde_json::from_str(&payload).map_err(unreadable)?;
    let event = doc.get("event").and_then(|e| e.as_str()).unwrap_or_default().to_owned();
    let r: Request = serde_json::from_value(doc.get_mut("request").map(serde_json::Value::take).unwrap_or_default()).map_err(unreadable)?;
    Ok(slack_payload(state, &event, &r).to_string())
}

/// The signature header value for `body` sent at `ts` (Unix seconds).
pub fn signature(secret: &str, ts: i64, body: &str) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{ts}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers one queued notification (a `notify` job).
pub(crate) async fn deliver(state: &AppState, job: &Job) -> Result<(), Failure> {
    let Some(queued) = state.store.notification(&job.org_id, &job.subject).await? else {
        return Ok(()); // the webhook was removed
    };
    let (hook, secret) = (queued.webhook, queued.secret);
    let payload = body(state, &hook.kind, queued.payload, queued.is_document)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::Retry(e.to_string()))?;
    let mut req = client.post(&hook.url).header("content-type", "application/json").header("user-agent", concat!("latch/", env!("CARGO_PKG_VERSION")));
    if hook.kind == "generic" {
        let ts = state.now().millis() / 1000;
        let event = serde_json::from_str::<serde_json::Value>(&payload).ok().and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_owned)).unwrap_or_default();
        req = req
            .header("x-latch-event", event)
            .header("x-latch-delivery", &job.subject)
            .header("x-latch-timestamp", ts.to_string())
            .header("x-latch-signature", signature(&secret, ts, &payload));
    }
    match req.body(payload).send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(Failure::Retry(format!("the webhook answered {}", resp.status()))),
        Err(e) => Err(Failure::Retry(format!("could not reach the webhook: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 shape: key "Jefe"; our message is "TS.BODY".
        let sig = signature("Jefe", 1, "what do ya want for nothing?");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert_ne!(sig, signature("Jefe", 2, "what do ya want for nothing?"), "the timestamp is signed");
        assert_ne!(sig, signature("Jeff", 1, "what do ya want for nothing?"), "the secret matters");
    }
}
