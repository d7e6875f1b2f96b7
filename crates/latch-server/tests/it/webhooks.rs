//! Webhooks against a local HTTP receiver: Slack-shaped and signed generic
//! payloads, delivered as retried jobs that never block the request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::{assert_error, TestApp};

#[derive(Default)]
struct Received {
    calls: Vec<(HeaderMap, String)>,
    fail_first: usize,
}

async fn receiver() -> (String, Arc<Mutex<Received>>) {
    let got = Arc::new(Mutex::new(Received::default()));
    let shared = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let shared = shared.clone();
            async move {
                let mut g = shared.lock().unwrap();
                if g.fail_first > 0 {
                    g.fail_first -= 1;
                    return AxumStatus::INTERNAL_SERVER_ERROR;
                }
                g.calls.push((headers, body));
                AxumStatus::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn wait_for(app: &TestApp, got: &Arc<Mutex<Received>>, n: usize) -> Vec<(HeaderMap, String)> {
    for _ in 0..600 {
        app.kick();
        if got.lock().unwrap().calls.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    got.lock().unwrap().calls.clone()
}

const POLICY: &str = "[[rule]]\nname = \"ro\"\nrequesters = \"any\"\nresource = { names = [\"ReadOnly\"] }\napproval = \"auto\"\n\n[[rule]]\nname = \"admin\"\nrequesters = \"any\"\nresource = { names = [\"Admin\"] }\napproval = { users = [\"admin@acme.io\"] }\n";

async fn generic_webhooks_are_signed_and_slack_ones_are_slack_shaped(app: TestApp) {
    let admin = app.admin().await;
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let (url, got) = receiver().await;
    let (s, generic) = admin.call(Method::POST, "/v1/webhooks", Some(json!({"url": url, "kind": "generic", "events": ["request.created", "request.approved"]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{generic}");
    let secret = generic["secret"].as_str().unwrap().to_owned();
    let (s, slack) = admin.call(Method::POST, "/v1/webhooks", Some(json!({"url": url, "kind": "slack", "events": ["request.created"]}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(slack.get("secret").is_none());
    let listed = admin.call(Method::GET, "/v1/webhooks", None).await.1;
    assert!(!listed.to_string().contains(&secret), "secrets are shown once");

    let alice = app.add_user(&admin, "alice@acme.io", "member").await;
    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": ["111111111111"], "reason": "deploy"}))).await;
    let calls = wait_for(&app, &got, 2).await;
    assert_eq!(calls.len(), 2, "one generic, one slack");
    let (headers, body) = calls.iter().find(|(h, _)| h.contains_key("x-latch-signature")).unwrap();
    let ts: i64 = headers["x-latch-timestamp"].to_str().unwrap().parse().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let want = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-latch-signature"].to_str().unwrap(), want, "an independent HMAC check");
    assert_eq!(headers["x-latch-event"], "request.created");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["request"]["id"], r["id"]);
    let (_, slack_body) = calls.iter().find(|(h, _)| !h.contains_key("x-latch-signature")).unwrap();
    let slack: Value = serde_json::from_str(slack_body).unwrap();
    assert!(slack["text"].as_str().unwrap().contains("latch approve"), "{slack}");
    assert_eq!(slack["blocks"][0]["type"], "section");

    // The receiver fails twice: delivery is retried, and the request was never blocked.
    got.lock().unwrap().fail_first = 2;
    let id = r["id"].as_str().unwrap();
    let (s, approved) = admin.call(Method::POST, &format!("/v1/requests/{id}/approve"), Some(json!({}))).await;
    assert_eq!((s, approved["state"].as_str()), (StatusCode::OK, Some("approved")));
    for _ in 0..20 {
        app.advance(Duration::from_secs(10));
        if got.lock().unwrap().calls.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls = wait_for(&app, &got, 3).await;
    assert_eq!(calls.last().unwrap().0["x-latch-event"], "request.approved");
}

async fn webhook_settings_are_validated(app: TestApp) {
    let admin = app.admin().await;
    let bad = admin.call(Method::POST, "/v1/webhooks", Some(json!({"url": "http://example.com/x", "kind": "generic"}))).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_request");
    let bad = admin.call(Method::POST, "/v1/webhooks", Some(json!({"url": "https://example.com/x", "kind": "teams"}))).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_request");
    let bad = admin.call(Method::POST, "/v1/webhooks", Some(json!({"url": "https://example.com/x", "kind": "slack", "events": ["lunch"]}))).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_request");
    assert_error(&admin.call(Method::DELETE, "/v1/webhooks/whk_nope", None).await, StatusCode::NOT_FOUND, "not_found");
}

crate::both_engines!(generic_webhooks_are_signed_and_slack_ones_are_slack_shaped, webhook_settings_are_validated);
