//! Request → approve → active cycles per second, through the HTTP API and
//! the real workers and job table, with an instant provisioner (AWS's own
//! latency is not what is measured). Each client loops: the requester asks
//! (`POST /v1/requests`, a rule that needs the admin), the admin approves
//! (`POST …/approve`), the requester waits on `GET …/watch?until=active`
//! until the request is `active`. Target (issue 3): on PostgreSQL, ≥ 30 % of
//! `pgbench -b tpcb-like` TPS.
//!
//! Anchor, in the same run and on the same PostgreSQL cluster:
//! `pgbench -b tpcb-like` with as many clients for as long.
//!
//!     cargo bench -p latch-server --bench cycles               # both engines
//!     BENCH_ENGINE=sqlite cargo bench -p latch-server --bench cycles
//!     BENCH_CLIENTS=32 BENCH_SECS=20 cargo bench -p latch-server --bench cycles
//!     # the 25 costliest statements on PostgreSQL, per cycle
//!     LATCH_TEST_PG_SETTINGS=shared_preload_libraries=pg_stat_statements BENCH_PG_STATEMENTS=25 \
//!         BENCH_ENGINE=postgres cargo bench -p latch-server --bench cycles
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "a benchmark fails loudly")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latch_core::{Secret, SystemClock};
use latch_server::{Config, Provisioners};
use latch_testkit::{PgCluster, RecordingProvisioner};
use serde_json::{json, Value};

// As the `latch` binary (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PASSWORD: &str = "correct horse battery staple";
const POLICY: &str = "[[rule]]\nname = \"bench\"\nrequesters = \"any\"\nresource = { kinds = [\"role\"] }\napproval = { users = [\"admin@acme.io\"] }\ndefault_duration = \"1h\"\nmax_duration = \"1h\"\n";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: &str, auth: (&str, &str), body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method, url);
    req = match auth {
        ("csrf", t) => req.header("x-csrf-token", t),
        ("bearer", t) => req.bearer_auth(t),
        _ => req,
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A bearer token for a signed-in person with `scopes`.
async fn token(url: &str, enrollment: &str, scopes: &[&str]) -> String {
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (_, enrolled) = call(&http, reqwest::Method::POST, &format!("{url}/v1/orgs/acme/enroll"), ("", ""), Some(json!({"token": enrollment, "password": PASSWORD}))).await;
    let csrf = enrolled["csrf_token"].as_str().unwrap().to_owned();
    let (_, t) = call(&http, reqwest::Method::POST, &format!("{url}/v1/tokens"), ("csrf", &csrf), Some(json!({"name": "bench", "scopes": scopes}))).await;
    t["secret"].as_str().unwrap().to_owned()
}

/// One cycle; its latency.
async fn cycle(http: &reqwest::Client, url: &str, alice: &str, admin: &str, name: &str) -> Duration {
    let t0 = Instant::now();
    let body = json!({"kind": "role", "name": name, "accounts": ["111111111111"]});
    let (status, r) = call(http, reqwest::Method::POST, &format!("{url}/v1/requests"), ("bearer", alice), Some(body)).await;
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    let (status, r) = call(http, reqwest::Method::POST, &format!("{url}/v1/requests/{id}/approve"), ("bearer", admin), Some(json!({}))).await;
    assert_eq!(status, 200, "{r}");
    // As `latch request --wait`: the stream ends once the request is active,
    // and is read to its end so that the connection serves the next cycle.
    let mut resp = http.get(format!("{url}/v1/requests/{id}/watch?until=active")).bearer_auth(alice).send().await.unwrap();
    let mut buf = Vec::new();
    let mut active = None;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Value = serde_json::from_slice(&buf[..end]).unwrap();
            buf.drain(..=end);
            match line["request"]["state"].as_str() {
                Some("active") => active = Some(t0.elapsed()),
                Some("pending" | "approved" | "provisioning") | None => {}
                Some(other) => panic!("request {id} became {other}"),
            }
        }
    }
    active.unwrap_or_else(|| panic!("request {id}: the watch ended before it became active"))
}

/// `ANALYZE` after the warm-up, as autovacuum does once the tables pass
/// its thresholds (and as `pgbench -i` does for the anchor's tables).
/// Without it each connection keeps the generic plans it made while the
/// tables were empty (a hash join over a sequential scan of the targets,
/// say) for the whole run, and runs differ by which plans they froze.
async fn analyze(url: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
}

/// PostgreSQL's counters for the database at `url`: transactions committed
/// and, per table, rows read by sequential scans.
async fn pg_counters(url: &str) -> (i64, Vec<(String, i64)>) {
    use sqlx::{Connection as _, Row as _};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let xacts: i64 = sqlx::query("SELECT xact_commit::BIGINT AS n FROM pg_stat_database WHERE datname = current_database()").fetch_one(&mut conn).await.unwrap().get("n");
    let rows = sqlx::query("SELECT relname::TEXT AS t, COALESCE(seq_tup_read, 0)::BIGINT AS n FROM pg_stat_user_tables").fetch_all(&mut conn).await.unwrap();
    (xacts, rows.iter().map(|r| (r.get::<String, _>("t"), r.get::<i64, _>("n"))).collect())
}

/// CPU time used by the whole machine so far (every process: Latch, its
/// clients and PostgreSQL alike), from `/proc/stat`; `None` elsewhere.
fn machine_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system (idle iowait) irq softirq steal
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum();
    Some(Duration::from_millis(busy * 10))
}

/// Cycles per second with `clients` loops for `secs` (after a warm-up), and
/// the cycle latencies.
async fn run(engine: &str, db: Option<String>, clients: usize, secs: u64) -> (f64, Vec<Duration>) {
    let dir = tempfile::tempdir().unwrap();
    let pg_url = db.clone();
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), data_dir: dir.path().join("data"), init_org: "acme".into(), init_admin: "admin@acme.io".into(), ..Config::default() };
    config.database_url = db.map(Secret::new);
    let mut provisioners = Provisioners::default();
    provisioners.0.insert("aws".into(), Arc::new(RecordingProvisioner::default()));
    let running = latch_server::start_with(config, Arc::new(SystemClock), latch_server::Parts { provisioners, aws: None }).await.unwrap();
    let url = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (_, enrolled) = call(&http, reqwest::Method::POST, &format!("{url}/v1/orgs/acme/enroll"), ("", ""), Some(json!({"token": running.first_run.clone().unwrap().token, "password": PASSWORD}))).await;
    let csrf = enrolled["csrf_token"].as_str().unwrap().to_owned();
    call(&http, reqwest::Method::PUT, &format!("{url}/v1/policy"), ("csrf", &csrf), Some(json!({"source": POLICY}))).await;
    let (_, tok) = call(&http, reqwest::Method::POST, &format!("{url}/v1/tokens"), ("csrf", &csrf), Some(json!({"name": "bench", "scopes": ["read", "approve"]}))).await;
    let admin = tok["secret"].as_str().unwrap().to_owned();
    let (_, user) = call(&http, reqwest::Method::POST, &format!("{url}/v1/users"), ("csrf", &csrf), Some(json!({"email": "alice@acme.io", "role": "member"}))).await;
    let alice = token(&url, user["enrollment"]["token"].as_str().unwrap(), &["read", "request"]).await;

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, alice, admin, measuring, stop) = (reqwest::Client::new(), url.clone(), alice.clone(), admin.clone(), measuring.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                // A role per cycle: every cycle grants a new entitlement.
                let d = cycle(&http, &url, &alice, &admin, &format!("Role{c}x{k}")).await;
                k += 1;
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    lat.push(d);
                }
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = match &pg_url {
        Some(u) => {
            analyze(u).await;
            Some(pg_counters(u).await)
        }
        None => None,
    };
    measuring.store(true, Ordering::Relaxed);
    let cpu0 = machine_cpu();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = machine_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    let after = match &pg_url {
        Some(u) => Some(pg_counters(u).await),
        None => None,
    };
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat.sort_unstable();
    if let (Some(u), Ok(n)) = (&pg_url, std::env::var("BENCH_PG_STATEMENTS")) {
        print_statements(u, n.parse().unwrap_or(25), lat.len().max(1)).await;
    }
    running.stop().await.unwrap();
    println!("  {engine}: {} cycles in {elapsed:.1}s", lat.len());
    if let Some(cpu) = cpu {
        println!("  machine CPU per cycle: {:.2} ms (of {:.1} s available)", cpu.as_secs_f64() * 1000.0 / lat.len().max(1) as f64, elapsed * std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64));
    }
    if let (Some((x0, t0)), Some((x1, t1))) = (before, after) {
        let cycles = lat.len().max(1) as f64;
        println!("  postgres transactions per cycle: {:.1}", (x1 - x0) as f64 / cycles);
        let mut scans: Vec<(String, f64)> = t1.iter().map(|(t, n)| (t.clone(), (n - t0.iter().find(|(u, _)| u == t).map_or(0, |x| x.1)) as f64 / cycles)).filter(|(_, n)| *n > 0.0).collect();
        scans.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!("  rows read by sequential scans per cycle: {scans:?}");
    }
    (lat.len() as f64 / elapsed, lat)
}

/// The `top` statements by total server time, per cycle, from
/// `pg_stat_statements` (run with
/// `LATCH_TEST_PG_SETTINGS=shared_preload_libraries=pg_stat_statements`);
/// the counts include the warm-up.
async fn print_statements(url: &str, top: i64, cycles: usize) {
    use sqlx::{Connection as _, Row as _};
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&mut conn).await {
        println!("  pg_stat_statements: {e}");
        return;
    }
    // Planning is counted only with `pg_stat_statements.track_planning=on`.
    let sql = "SELECT calls::BIGINT AS calls, total_exec_time::FLOAT8 AS ms, total_plan_time::FLOAT8 AS plan_ms, (plans::FLOAT8 / GREATEST(calls, 1)) AS plans,
                      (shared_blks_hit::FLOAT8 / GREATEST(calls, 1)) AS blks, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) AS q
               FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT $1";
    let rows = sqlx::query(sql).bind(top).fetch_all(&mut conn).await.unwrap();
    println!("  top statements (calls per measured cycle, total ms executing, planning, plans per call, buffers hit per call):");
    for r in rows {
        let calls = r.get::<i64, _>("calls") as f64 / cycles as f64;
        println!("    {calls:6.2}  {:8.1}  {:8.1}  {:4.2}  {:6.1}  {}", r.get::<f64, _>("ms"), r.get::<f64, _>("plan_ms"), r.get::<f64, _>("plans"), r.get::<f64, _>("blks"), r.get::<String, _>("q"));
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// `pgbench -b tpcb-like` TPS on `url` (initialised at scale `clients`).
fn pgbench(url: &str, clients: usize, secs: u64) -> f64 {
    let bin = latch_testkit::pg::bin_dir().unwrap().join("pgbench");
    let init = std::process::Command::new(&bin).args(["-i", "-q", "-s", &clients.to_string(), url]).output().unwrap();
    assert!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    let cpu0 = machine_cpu();
    let out = std::process::Command::new(&bin)
        .args(["-b", "tpcb-like", "-c", &clients.to_string(), "-j", "2", "-T", &secs.to_string(), url])
        .output()
        .unwrap();
    let cpu = machine_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pgbench: {}", String::from_utf8_lossy(&out.stderr));
    let tps: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|rest| rest.split_whitespace().next()).and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| panic!("no tps in pgbench output:\n{text}"));
    if let Some(cpu) = cpu {
        println!("  machine CPU per pgbench transaction: {:.3} ms", cpu.as_secs_f64() * 1000.0 / (tps * secs as f64).max(1.0));
    }
    tps
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let engines = std::env::var("BENCH_ENGINE").unwrap_or_else(|_| "both".into());
    let clients: usize = env_or("BENCH_CLIENTS", 16);
    let secs: u64 = env_or("BENCH_SECS", 10);
    println!("request → approve → active: {clients} clients, {secs} s each, 2 worker threads, instant provisioner");
    if engines != "postgres" {
        let (rate, lat) = run("sqlite", None, clients, secs).await;
        println!("  sqlite    {rate:8.1} cycles/s   latency ms p50 {:.1}  p99 {:.1}", pct(&lat, 0.5), pct(&lat, 0.99));
    }
    if engines != "sqlite" {
        let cluster = PgCluster::start().unwrap();
        let (rate, lat) = run("postgres", Some(cluster.fresh_database().unwrap()), clients, secs).await;
        println!("  postgres  {rate:8.1} cycles/s   latency ms p50 {:.1}  p99 {:.1}", pct(&lat, 0.5), pct(&lat, 0.99));
        let tps = pgbench(&cluster.fresh_database().unwrap(), clients, secs);
        println!("  anchor: pgbench -b tpcb-like -c {clients} -j 2 -T {secs}: {tps:.1} TPS (same cluster, same run)");
        println!("  postgres cycles/s ÷ pgbench TPS = {:.3} (target ≥ 0.30)", rate / tps);
    }
}
