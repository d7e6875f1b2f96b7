//! `TestApp`: a real server on port 0 with a fresh database and a manual
//! clock, plus sessions for its people.

use std::sync::Arc;
use std::time::Duration;

use latch_core::{Clock as _, ManualClock, Secret, SystemClock};
use latch_server::{Config, FirstRun, Provisioners, Running};
use latch_testkit::RecordingProvisioner;
use latch_testkit::env::LATCH_TEST_ENGINES;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A password good enough for the policy.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    pub first: FirstRun,
    pub db_url: String,
    pub running: Option<Running>,
    /// The provisioner behind integration `aws`.
    pub provisioner: Arc<RecordingProvisioner>,
    _dir: tempfile::TempDir,
}

fn enabled(engine: &str) -> bool {
    match std::env::var(LATCH_TEST_ENGINES).as_deref() {
        Ok("both") | Err(_) => true,
        Ok(only) => only == engine,
    }
}

impl TestApp {
    pub async fn spawn(engine: &str) -> Option<TestApp> {
        Self::spawn_with(engine, None).await
    }

    /// With real AWS clients (moto): the `aws` integration is Latch's own.
    pub async fn spawn_with(engine: &str, aws: Option<Arc<latch_aws::ClientFactory>>) -> Option<TestApp> {
        if !enabled(engine) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            init_org: "acme".into(),
            init_admin: "admin@acme.io".into(),
            ..Config::default()
        };
        config.auth.device_poll_interval_secs = 1;
        if engine == "postgres" {
            let url = tokio::task::spawn_blocking(latch_testkit::fresh_postgres_url).await.unwrap().unwrap();
            config.database_url = Some(Secret::new(url));
        }
        let db_url = config.database_url();
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let provisioner = Arc::new(RecordingProvisioner::default());
        let mut provisioners = Provisioners::default();
        if aws.is_none() {
            provisioners.0.insert("aws".to_owned(), provisioner.clone());
        }
        let running = latch_server::start_with(config.clone(), clock.clone(), latch_server::Parts { provisioners, aws }).await.unwrap();
        let url = format!("http://{}", running.addr);
        config.public_url = Some(url.clone());
        let first = running.first_run.clone().expect("a fresh database bootstraps");
        Some(TestApp { url, clock, config, first, db_url, running: Some(running), provisioner, _dir: dir })
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
        self.kick();
    }

    /// Wakes the background workers.
    pub fn kick(&self) {
        if let Some(r) = &self.running {
            r.kick();
        }
    }

    /// Waits (kicking the workers) until request `id` is in `state`.
    pub async fn wait_for_state(&self, who: &Client, id: &str, state: &str) -> Value {
        self.wait_until(who, id, state, None).await
    }

    /// [`TestApp::wait_for_state`], moving the clock on by 250 ms a look: for
    /// work that may be postponed behind a background job (the AWS
    /// reconciliation holds an entitlement briefly, and a change waiting on
    /// it is retried 200 ms later by the app's clock).
    pub async fn wait_for_state_as_time_passes(&self, who: &Client, id: &str, state: &str) -> Value {
        self.wait_until(who, id, state, Some(Duration::from_millis(250))).await
    }

    async fn wait_until(&self, who: &Client, id: &str, state: &str, step: Option<Duration>) -> Value {
        let mut last = Value::Null;
        for _ in 0..600 {
            match step {
                Some(d) => self.advance(d),
                None => self.kick(),
            }
            let (_, r) = who.call(Method::GET, &format!("/v1/requests/{id}"), None).await;
            if r["state"] == state {
                return r;
            }
            last = r;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("request {id} never became {state}: {last}")
    }

    /// A client without credentials.
    pub fn anon(&self) -> Client {
        Client::new(&self.url)
    }

    /// Enrolls the first admin and signs them in.
    pub async fn admin(&self) -> Client {
        self.enroll("acme", &self.first.token.clone()).await
    }

    /// Spends an enrollment token and returns the signed-in browser client.
    pub async fn enroll(&self, org: &str, token: &str) -> Client {
        let mut c = Client::new(&self.url);
        let (status, body) = c.call(Method::POST, &format!("/v1/orgs/{org}/enroll"), Some(json!({"token": token, "password": PASSWORD}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        c.csrf = body["csrf_token"].as_str().map(str::to_owned);
        c
    }

    /// Creates another org through the operator path; returns its first admin, signed in.
    pub async fn second_org(&self, slug: &str) -> Client {
        let created = latch_server::create_org(&self.config, slug, &format!("admin@{slug}.io")).await.unwrap();
        self.enroll(slug, &created.token).await
    }

    /// Adds a user as `admin` and enrolls them; returns their client.
    pub async fn add_user(&self, admin: &Client, email: &str, role: &str) -> Client {
        let (status, body) = admin.call(Method::POST, "/v1/users", Some(json!({"email": email, "role": role}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let org = admin.me().await["org_slug"].as_str().unwrap().to_owned();
        self.enroll(&org, body["enrollment"]["token"].as_str().unwrap()).await
    }

    /// A raw SQL connection to the app's database, for inspection and tampering.
    pub async fn sql(&self) -> sqlx::AnyConnection {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.db_url).await.unwrap()
    }
}

/// An HTTP client with a cookie jar and, once signed in, a CSRF token or a
/// bearer token.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        Client { base: base.to_owned(), http, csrf: None, bearer: None }
    }

    /// A client that authenticates with a bearer token only.
    pub fn with_bearer(base: &str, token: &str) -> Self {
        let mut c = Client::new(base);
        c.bearer = Some(token.to_owned());
        c
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = &self.bearer {
            req = req.bearer_auth(b);
        }
        req
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self.request(Method::POST, path).form(form).send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn me(&self) -> Value {
        let (status, body) = self.call(Method::GET, "/v1/me", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Creates an API token with `scopes`; returns (id, secret).
    pub async fn token(&self, scopes: &[&str]) -> (String, String) {
        let (status, body) = self.call(Method::POST, "/v1/tokens", Some(json!({"name": "t", "scopes": scopes}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (body["token"]["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
    }
}

/// Asserts an error body's status and code, and that it carries a request id.
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["request_id"].as_str().is_some_and(|r| r.starts_with("req_")), "{}", got.1);
}
