//! Revocation lag: 10,000 grants whose ends fall within one minute, each
//! taken away by the workers; lag = when the provisioner was told to revoke
//! minus the grant's `expires_at`. Target (issue 3): p99 ≤ 1 s.
//!
//! Anchor, in the same run: 10,000 bare tokio timers due over the same
//! minute, and how late they fire: what the runtime alone achieves.
//!
//!     cargo bench -p latch-server --bench revocation_lag            # SQLite
//!     BENCH_ENGINE=postgres cargo bench -p latch-server --bench revocation_lag
//!     BENCH_GRANTS=2000 …                                           # fewer
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "a benchmark fails loudly")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::{Clock as _, Secret, SystemClock};
use latch_server::{Config, Provisioners};
use serde_json::json;

/// Grants instantly, and records how late each revocation came.
#[derive(Default)]
struct LagRecorder(Mutex<Vec<i64>>);

#[async_trait]
impl Provisioner for LagRecorder {
    async fn grant(&self, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError> {
        Ok(GrantOutcome::Granted(Applied(json!({"key": spec.target.entitlement_key()}))))
    }

    async fn revoke(&self, spec: &GrantSpec, _applied: &Applied) -> Result<RevokeOutcome, ProvisionError> {
        let lag = SystemClock.now().millis() - spec.expires_at.millis();
        self.0.lock().unwrap().push(lag);
        Ok(RevokeOutcome::Revoked)
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn anchor(n: usize, window: Duration) -> Vec<i64> {
    let start = tokio::time::Instant::now() + Duration::from_secs(1);
    let lags = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + window.mul_f64(i as f64 / n as f64);
        let lags = lags.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            lags.lock().unwrap().push((tokio::time::Instant::now() - due).as_millis() as i64);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut v = lags.lock().unwrap().clone();
    v.sort_unstable();
    v
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("BENCH_GRANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let engine = std::env::var("BENCH_ENGINE").unwrap_or_else(|_| "sqlite".into());
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), data_dir: dir.path().join("data"), init_org: "acme".into(), init_admin: "admin@acme.io".into(), ..Config::default() };
    let _pg = if engine == "postgres" {
        let cluster = latch_testkit::PgCluster::start().unwrap();
        config.database_url = Some(Secret::new(cluster.fresh_database().unwrap()));
        Some(cluster)
    } else {
        None
    };
    let recorder = Arc::new(LagRecorder::default());
    let mut provisioners = Provisioners::default();
    provisioners.0.insert("aws".into(), recorder.clone());
    let running = latch_server::start_with(config, Arc::new(SystemClock), latch_server::Parts { provisioners, aws: None }).await.unwrap();
    let url = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let token = running.first_run.clone().unwrap().token;
    let enrolled: serde_json::Value = http.post(format!("{url}/v1/orgs/acme/enroll")).json(&json!({"token": token, "password": "correct horse battery staple"})).send().await.unwrap().json().await.unwrap();
    let csrf = enrolled["csrf_token"].as_str().unwrap().to_owned();
    let policy = "[[rule]]\nname = \"bench\"\nrequesters = \"any\"\napproval = \"auto\"\nmax_duration = \"1h\"\n";
    http.put(format!("{url}/v1/policy")).header("x-csrf-token", &csrf).json(&json!({"source": policy})).send().await.unwrap();

    // Every grant ends in the minute after `lead`; requests go in fast enough
    // that all are active well before the first end.
    let lead = 60 + n as u64 / 250;
    println!("revocation lag: {n} grants ending within one minute, {engine}, 2 worker threads");
    let t0 = Instant::now();
    let mut made = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
        let mut batch = Vec::new();
        for &i in chunk {
            let (http, url, csrf) = (http.clone(), url.clone(), csrf.clone());
            let created = t0.elapsed().as_secs();
            let duration = lead.saturating_sub(created) + (i as u64 * 60) / n as u64;
            batch.push(tokio::spawn(async move {
                let body = json!({"kind": "role", "name": format!("Role{i}"), "accounts": ["111111111111"], "duration_secs": duration.max(1)});
                http.post(format!("{url}/v1/requests")).header("x-csrf-token", &csrf).json(&body).send().await.unwrap().status().is_success()
            }));
        }
        for b in batch {
            made += usize::from(b.await.unwrap());
        }
    }
    println!("  {made} requests made in {:.1}s", t0.elapsed().as_secs_f64());
    let deadline = Instant::now() + Duration::from_secs(lead + 180);
    while recorder.0.lock().unwrap().len() < made && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut lags = recorder.0.lock().unwrap().clone();
    lags.sort_unstable();
    running.stop().await.unwrap();

    let anchor = anchor(n, Duration::from_secs(60)).await;
    let (p50, p99, max) = (percentile(&lags, 0.5), percentile(&lags, 0.99), lags.last().copied().unwrap_or(0));
    let (a50, a99) = (percentile(&anchor, 0.5), percentile(&anchor, 0.99));
    println!("  revoked {}/{} (missing ones are failures)", lags.len(), made);
    println!("  latch   lag ms: p50 {p50}  p99 {p99}  max {max}");
    println!("  anchor  lag ms: p50 {a50}  p99 {a99}   (bare tokio timers, same run)");
    println!("  p99 vs 1000 ms target: {:.2}x of the budget used", p99 as f64 / 1000.0);
}
