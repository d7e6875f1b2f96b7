//! Two `latch server` processes on one PostgreSQL behave as one service:
//! sessions, device sign-ins, refresh rotation, throttling and the audit
//! chain are shared, with nothing kept in one process's memory.

use latch_testkit::ServerProcess;
use serde_json::{json, Value};

use crate::support::{Browser, PASSWORD};

async fn form(http: &reqwest::Client, url: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let resp = http.post(url).form(fields).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_are_one_service() {
    let url = tokio::task::spawn_blocking(latch_testkit::fresh_postgres_url).await.unwrap().unwrap();
    let u1 = url.clone();
    let a = tokio::task::spawn_blocking(move || ServerProcess::start_on(Some(u1))).await.unwrap().unwrap();
    let b = tokio::task::spawn_blocking(move || ServerProcess::start_on(Some(url))).await.unwrap().unwrap();
    assert!(b.enroll_token.is_none(), "the second replica must not bootstrap again");
    let browser = Browser::enroll(&a).await;
    let http = reqwest::Client::new();

    // An API token made on A works on B.
    let created: Value = browser
        .http
        .post(format!("{}/v1/tokens", a.url))
        .header("x-csrf-token", &browser.csrf)
        .json(&json!({"name": "ci", "scopes": ["read", "admin"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["secret"].as_str().unwrap().to_owned();
    let me: Value = http.get(format!("{}/v1/me", b.url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], "admin@acme.io");

    // A device sign-in started on B, approved through A, finished on B,
    // refreshed on A; the spent refresh token replayed on B revokes it all.
    let (_, code) = form(&http, &format!("{}/v1/orgs/acme/device/code", b.url), &[("client_id", "latch-cli")]).await;
    browser.approve(code["user_code"].as_str().unwrap()).await;
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let (status, tokens) = form(&http, &format!("{}/v1/orgs/acme/token", b.url), &[("grant_type", grant), ("device_code", code["device_code"].as_str().unwrap()), ("client_id", "latch-cli")]).await;
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, fresh) = form(&http, &format!("{}/v1/orgs/acme/token", a.url), &[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await;
    assert_eq!(status, 200, "{fresh}");
    let (_, replay) = form(&http, &format!("{}/v1/orgs/acme/token", b.url), &[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await;
    assert_eq!(replay["error"], "invalid_grant");
    let after = http.get(format!("{}/v1/me", a.url)).bearer_auth(fresh["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(after.status().as_u16(), 401);

    // Throttling counts failures on both replicas together.
    for i in 0..5 {
        let target = if i % 2 == 0 { &a.url } else { &b.url };
        let r = http.post(format!("{target}/v1/orgs/acme/login")).json(&json!({"email": "admin@acme.io", "password": "wrong password!"})).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = http.post(format!("{}/v1/orgs/acme/login", b.url)).json(&json!({"email": "admin@acme.io", "password": PASSWORD})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);

    // Concurrent writes through both replicas keep one unbroken audit chain.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let target = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        let (http, token) = (http.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let r = http.post(format!("{target}/v1/groups")).bearer_auth(&token).json(&json!({"name": format!("g{i}")})).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 201);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let page: Value = http.get(format!("{}/v1/audit?limit=5000", b.url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let records: Vec<latch_core::audit::AuditRecord> = serde_json::from_value(page["records"].clone()).unwrap();
    let head = (page["head"]["seq"].as_i64().unwrap(), page["head"]["hash"].as_str().unwrap().to_owned());
    assert_eq!(latch_core::audit::verify(&records, Some((head.0, &head.1))), Ok(records.len()));
    assert!(records.iter().filter(|r| r.action == "group.created").count() == 20);
}
