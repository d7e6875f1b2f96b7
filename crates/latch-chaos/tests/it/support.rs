//! A deployment of `latch-chaos-server` processes on one database and one
//! journal, with an admin and a requester signed in through the API, and
//! the bookkeeping to judge revocation times after crashes.

use std::path::PathBuf;
use std::time::Duration;

use latch_chaos::{Faults, Journal, LATCH_CHAOS_JOURNAL};
use latch_core::{Clock as _, SystemClock};
use latch_testkit::env::LATCH_TEST_ENGINES;
use latch_testkit::ServerProcess;
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery staple";

/// Requests for these roles are approved by rule; `Approved*` need the admin.
const POLICY: &str = r#"
[[rule]]
name = "auto"
requesters = "any"
resource = { kinds = ["role"], names = ["R*"] }
approval = "auto"
default_duration = "2s"
max_duration = "1h"

[[rule]]
name = "approved"
requesters = "any"
resource = { kinds = ["role"], names = ["Approved*"] }
approval = { users = ["admin@acme.io"] }
default_duration = "2s"
max_duration = "1h"
"#;

/// Milliseconds since the epoch, the clock the server and journal use.
pub fn now_ms() -> i64 {
    SystemClock.now().millis()
}

/// Whether this run includes `engine` (`LATCH_TEST_ENGINES`).
pub fn enabled(engine: &str) -> bool {
    match std::env::var(LATCH_TEST_ENGINES).as_deref() {
        Ok("both") | Err(_) => true,
        Ok(only) => only == engine,
    }
}

/// A signed-in API caller. Calls return `Err` when the server is down,
/// never panic: crashes are the point.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
    csrf: Option<String>,
    bearer: Option<String>,
}

impl Api {
    fn anon(base: &str) -> Api {
        let http = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(20)).build().unwrap();
        Api { http, base: base.to_owned(), csrf: None, bearer: None }
    }

    /// The same caller on another replica.
    pub fn on(&self, base: &str) -> Api {
        Api { base: base.to_owned(), ..self.clone() }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = &self.bearer {
            req = req.bearer_auth(b);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn enroll(base: &str, token: &str) -> Api {
        let mut api = Api::anon(base);
        let (status, body) = api.call(reqwest::Method::POST, "/v1/orgs/acme/enroll", Some(json!({"token": token, "password": PASSWORD}))).await.unwrap();
        assert_eq!(status, 200, "{body}");
        api.csrf = body["csrf_token"].as_str().map(str::to_owned);
        api
    }

    /// Asks for `name` in `accounts` for `secs`; the id when accepted.
    pub async fn ask(&self, name: &str, accounts: &[&str], secs: u64) -> Option<String> {
        let body = json!({"kind": "role", "name": name, "accounts": accounts, "duration_secs": secs, "reason": "chaos"});
        match self.call(reqwest::Method::POST, "/v1/requests", Some(body)).await {
            Ok((201, r)) => r["id"].as_str().map(str::to_owned),
            _ => None,
        }
    }

    /// A request's state; `None` when it cannot be read (server down, or lost).
    pub async fn state(&self, id: &str) -> Option<(u16, String)> {
        let (status, r) = self.call(reqwest::Method::GET, &format!("/v1/requests/{id}"), None).await.ok()?;
        Some((status, r["state"].as_str().unwrap_or_default().to_owned()))
    }
}

/// Servers on one database whose `aws` integration is one journal.
pub struct Deployment {
    pub servers: Vec<ServerProcess>,
    pub journal: PathBuf,
    pub admin: Api,
    pub alice: Api,
    /// (ready, down) of each server run, ms; the last run's down is `i64::MAX`.
    pub runs: Vec<(i64, i64)>,
    _dir: tempfile::TempDir,
}

fn chaos_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_latch-chaos-server"))
}

impl Deployment {
    /// `replicas` servers on a fresh `engine` database (PostgreSQL for more
    /// than one); `None` when the run excludes the engine.
    pub async fn start(engine: &str, replicas: usize) -> Option<Deployment> {
        Self::start_with(engine, replicas, &[]).await
    }

    /// [`Deployment::start`] with extra `LATCH_*` settings for the servers.
    pub async fn start_with(engine: &str, replicas: usize, settings: &[(&str, &str)]) -> Option<Deployment> {
        if !enabled(engine) {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("latch-chaos-").tempdir().unwrap();
        let journal = dir.path().join("journal");
        let pg = if engine == "postgres" { Some(tokio::task::spawn_blocking(latch_testkit::fresh_postgres_url).await.unwrap().unwrap()) } else { None };
        let mut env = vec![(LATCH_CHAOS_JOURNAL.to_owned(), journal.display().to_string())];
        env.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let mut servers = Vec::new();
        for _ in 0..replicas {
            let (pg, env) = (pg.clone(), env.clone());
            servers.push(tokio::task::spawn_blocking(move || ServerProcess::start_program(chaos_bin(), pg, env)).await.unwrap().unwrap());
        }
        let first = servers.first().unwrap();
        let admin = Api::enroll(&first.url, first.enroll_token.as_deref().unwrap()).await;
        let (status, body) = admin.call(reqwest::Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await.unwrap();
        assert_eq!(status, 200, "{body}");
        let (status, body) = admin.call(reqwest::Method::POST, "/v1/users", Some(json!({"email": "alice@acme.io", "role": "member"}))).await.unwrap();
        assert_eq!(status, 201, "{body}");
        let session = Api::enroll(&first.url, body["enrollment"]["token"].as_str().unwrap()).await;
        let (status, body) = session.call(reqwest::Method::POST, "/v1/tokens", Some(json!({"name": "chaos", "scopes": ["read", "request"]}))).await.unwrap();
        assert_eq!(status, 201, "{body}");
        let mut alice = Api::anon(&first.url);
        alice.bearer = body["secret"].as_str().map(str::to_owned);
        Some(Deployment { servers, journal, admin, alice, runs: vec![(now_ms(), i64::MAX)], _dir: dir })
    }

    /// Kills server `i` with SIGKILL, switches faults off so it restarts
    /// cleanly, restarts it on the same port and records the run boundaries.
    pub async fn crash_and_restart(&mut self, i: usize) {
        let down = now_ms();
        if let Some(last) = self.runs.last_mut() {
            last.1 = down;
        }
        let mut server = self.servers.swap_remove(i);
        Faults::default().set(&self.journal).unwrap();
        let server = tokio::task::spawn_blocking(move || {
            server.kill9().unwrap();
            server.launch().unwrap();
            server
        })
        .await
        .unwrap();
        self.servers.push(server);
        let last = self.servers.len() - 1;
        self.servers.swap(i, last);
        self.runs.push((now_ms(), i64::MAX));
    }

    /// The run boundaries with injected crashes ending runs early.
    pub fn runs_with_crashes(&self, journal: &Journal) -> Vec<(i64, i64)> {
        let crashes = journal.crashes();
        self.runs
            .iter()
            .map(|&(ready, down)| {
                let crashed = crashes.iter().copied().filter(|c| *c >= ready && *c < down).min();
                (ready, crashed.unwrap_or(down))
            })
            .collect()
    }

    /// Waits until every request in `ids` is in a final state; returns
    /// the states.
    pub async fn settle(&self, ids: &[String], timeout: Duration) -> Vec<(String, String)> {
        let finals = ["expired", "revoked", "relinquished", "denied", "cancelled", "failed"];
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let mut states = Vec::new();
            for id in ids {
                let s = self.admin.state(id).await.map(|(_, s)| s).unwrap_or_default();
                states.push((id.clone(), s));
            }
            if states.iter().all(|(_, s)| finals.contains(&s.as_str())) || std::time::Instant::now() > deadline {
                return states;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Audit actions per request, straight from the database.
    pub async fn audit_counts(&self, action: &str) -> std::collections::BTreeMap<String, i64> {
        use sqlx::{Connection as _, Row as _};
        sqlx::any::install_default_drivers();
        let url = &self.servers.first().unwrap().db_url;
        let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
        // Chained or still waiting to be (a killed server may leave some).
        let rows = sqlx::query(
            "SELECT target, COUNT(*) AS n FROM (SELECT target, action FROM audit_log UNION ALL SELECT target, action FROM audit_pending) a
             WHERE action = $1 GROUP BY target",
        )
        .bind(action)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        rows.iter().map(|r| (r.get::<String, _>("target"), r.get::<i64, _>("n"))).collect()
    }

    /// Jobs in `state`, straight from the database.
    pub async fn jobs_in(&self, state: &str) -> Vec<String> {
        use sqlx::{Connection as _, Row as _};
        sqlx::any::install_default_drivers();
        let url = &self.servers.first().unwrap().db_url;
        let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
        let rows = sqlx::query("SELECT kind, subject, last_error FROM jobs WHERE state = $1").bind(state).fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|r| format!("{} {} {:?}", r.get::<String, _>("kind"), r.get::<String, _>("subject"), r.get::<Option<String>, _>("last_error"))).collect()
    }
}

/// On-time revocation after crashes: access whose bound passed must be
/// revoked within `budget_ms` of the bound, or of the first restart after
/// it when no server was up, counting only runs that lasted that long.
/// Returns the violations and the worst lag seen.
pub fn late_revocations(journal: &Journal, runs: &[(i64, i64)], budget_ms: i64) -> (Vec<String>, i64) {
    let mut late = Vec::new();
    let mut worst = 0;
    for e in journal.episodes() {
        let deadline = runs.iter().find_map(|&(ready, down)| {
            let from = e.bound.max(ready);
            (from + budget_ms <= down).then_some((from, from + budget_ms))
        });
        match (e.revoked_at, deadline) {
            (Some(r), Some((from, d))) => {
                worst = worst.max(r - from);
                if r > d {
                    late.push(format!("{} {} revoked {} ms after it was due (bound {}, revoked {r})", e.email, e.key, r - from, e.bound));
                }
            }
            (None, _) => late.push(format!("{} {} was never revoked (bound {})", e.email, e.key, e.bound)),
            (Some(_), None) => {}
        }
    }
    (late, worst)
}
