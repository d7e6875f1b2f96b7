//! Approve → credentials: a person's `latch aws role assume Deploy` waits on
//! its request; an approver approves; how long until the CLI has printed
//! working credentials. Federated mode on moto, the real `latch` binary as
//! client and server (release build).
//!
//! Anchor, in the same run against the same moto: the bare AWS calls that
//! mode needs for the same outcome — the grant's check (`iam:GetRole`) and
//! the exchange (`sts:AssumeRoleWithWebIdentity`). Target (issue 5):
//! latch ≤ 1.5 × anchor + 50 ms.
//!
//!     cargo bench --bench approve_credentials
//!     BENCH_ROUNDS=50 cargo bench --bench approve_credentials
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "a benchmark fails loudly")]

use std::time::{Duration, Instant};

use latch_testkit::aws::{apply_integration, AwsWorld, HOST_ACCOUNT};
use latch_testkit::ServerProcess;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";
const POLICY: &str = "[[rule]]\nname = \"deploy\"\nrequesters = \"any\"\nresource = { kinds = [\"role\"], names = [\"Deploy\"] }\napproval = { users = [\"admin@acme.io\"] }\ndefault_duration = \"1h\"\n";

struct Web {
    http: reqwest::Client,
    url: String,
    csrf: Option<String>,
    bearer: Option<String>,
}

impl Web {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(c) = &self.csrf {
            req = req.header("x-csrf-token", c);
        }
        if let Some(b) = &self.bearer {
            req = req.bearer_auth(b);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn enroll(url: &str, token: &str) -> Web {
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let mut w = Web { http, url: url.to_owned(), csrf: None, bearer: None };
        let v = w.call(reqwest::Method::POST, "/v1/orgs/acme/enroll", Some(json!({"token": token, "password": PASSWORD}))).await;
        w.csrf = v["csrf_token"].as_str().map(str::to_owned);
        w
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let latch = env!("CARGO_BIN_EXE_latch");
    let w = AwsWorld::build().await.unwrap();
    let (endpoint, id, secret) = (w.endpoint.clone(), w.latch.id.clone(), w.latch.secret.clone());
    let server = tokio::task::spawn_blocking(move || {
        std::env::set_var(latch_testkit::env::LATCH_BIN, latch);
        ServerProcess::start_on_aws(&endpoint, &id, &secret)
    })
    .await
    .unwrap()
    .unwrap();
    let admin = Web::enroll(&server.url, server.enroll_token.as_deref().unwrap()).await;
    admin.call(reqwest::Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let user = admin.call(reqwest::Method::POST, "/v1/users", Some(json!({"email": "alice@acme.io", "role": "member"}))).await;
    let alice_web = Web::enroll(&server.url, user["enrollment"]["token"].as_str().unwrap()).await;
    let alice_token = alice_web.call(reqwest::Method::POST, "/v1/tokens", Some(json!({"name": "bench", "scopes": ["read", "request"]}))).await["secret"].as_str().unwrap().to_owned();
    let alice = Web { http: reqwest::Client::new(), url: server.url.clone(), csrf: None, bearer: Some(alice_token.clone()) };

    // The federated account, its identity provider and the role.
    let installed = admin.call(reqwest::Method::POST, "/v1/integrations/aws", Some(json!({"account_id": HOST_ACCOUNT, "mode": "federated"}))).await;
    let admin_iam = aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None));
    apply_integration(&admin_iam, &installed).await.unwrap();
    admin_iam.create_open_id_connect_provider().url(format!("{}/oidc/acme", server.url)).client_id_list("sts.amazonaws.com").send().await.unwrap();
    let trust = installed["role_trust_template"].to_string().replace("ROLE/*", "Deploy/*");
    let role_arn = admin_iam.create_role().role_name("Deploy").assume_role_policy_document(trust).send().await.unwrap().role.unwrap().arn;
    let verified = admin.call(reqwest::Method::POST, &format!("/v1/integrations/aws/{HOST_ACCOUNT}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");

    println!("approve → credentials printed: federated mode on moto, {rounds} rounds, release build");
    let mut latch_ms = Vec::new();
    let mut token = String::new();
    for _ in 0..rounds {
        let home = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new(latch)
            .args(["aws", "role", "assume", "Deploy", "--reason", "bench"])
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env("LATCH_SERVER", &server.url)
            .env("LATCH_TOKEN", &alice_token)
            .env("AWS_ENDPOINT_URL", &w.endpoint)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for the CLI's request, then approve it and time the rest.
        let pending = loop {
            let mine = alice.call(reqwest::Method::GET, "/v1/requests?mine=true", None).await;
            if let Some(r) = mine.as_array().unwrap().iter().find(|r| r["state"] == "pending") {
                break r["id"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // Let the CLI reach its wait on the watch stream.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        admin.call(reqwest::Method::POST, &format!("/v1/requests/{pending}/approve"), Some(json!({}))).await;
        let out = child.wait_with_output().await.unwrap();
        latch_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("AWS_SESSION_TOKEN"));
        if token.is_empty() {
            token = alice.call(reqwest::Method::POST, &format!("/v1/requests/{pending}/web-identity-token"), Some(json!({}))).await["token"].as_str().unwrap().to_owned();
        }
        alice.call(reqwest::Method::POST, &format!("/v1/requests/{pending}/relinquish"), Some(json!({}))).await;
    }

    // The anchor: the same AWS calls, bare, on the same moto.
    let iam = aws_sdk_iam::Client::new(&w.config(&w.latch.id, &w.latch.secret, None));
    let sts = aws_sdk_sts::Client::new(&w.config("unused", "unused", None));
    let mut anchor_ms = Vec::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        iam.get_role().role_name("Deploy").send().await.unwrap();
        sts.assume_role_with_web_identity().role_arn(&role_arn).role_session_name("alice").web_identity_token(&token).send().await.unwrap();
        anchor_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    latch_ms.sort_by(f64::total_cmp);
    anchor_ms.sort_by(f64::total_cmp);
    let (l50, a50) = (pct(&latch_ms, 0.5), pct(&anchor_ms, 0.5));
    println!("  latch   ms: p50 {l50:.1}  p90 {:.1}  max {:.1}", pct(&latch_ms, 0.9), latch_ms.last().unwrap());
    println!("  anchor  ms: p50 {a50:.1}  p90 {:.1}  (iam:GetRole + sts:AssumeRoleWithWebIdentity, same moto)", pct(&anchor_ms, 0.9));
    let budget = 1.5 * a50 + 50.0;
    println!("  p50 {l50:.1} ms vs budget 1.5 × {a50:.1} + 50 = {budget:.1} ms: {:.2} of the budget", l50 / budget);
}
