//! The HTTP client for Latch's API: picks the credential (`LATCH_TOKEN` or a
//! stored login, refreshed when its access token has expired) and turns
//! error bodies into readable errors.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use latch_core::{Clock as _, SystemClock};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::cli::GlobalArgs;
use crate::creds::{self, Login, Logins};
use crate::env::LATCH_TOKEN;

/// An API error as the server reports it.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    #[serde(default)]
    request_id: String,
}

/// A plain HTTP client with Latch's user agent and timeouts.
pub fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("latch/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .context("while setting up the HTTP client")
}

/// Turns a non-success response into an error naming the server's code.
pub async fn check(resp: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(b) => {
            let rid = if b.error.request_id.is_empty() { String::new() } else { format!(" (request id {})", b.error.request_id) };
            bail!("{} [{}]{rid}", b.error.message, b.error.code)
        }
        Err(_) => bail!("the server answered {status}"),
    }
}

/// An authenticated API client.
pub struct Api {
    http: reqwest::Client,
    server: String,
    auth: Auth,
}

enum Auth {
    Token(String),
    Login(Login),
}

impl Api {
    /// The client for the selected server and org.
    pub async fn connect(global: &GlobalArgs) -> anyhow::Result<Api> {
        let http = http()?;
        if let Ok(token) = std::env::var(LATCH_TOKEN) {
            let server = global.server.clone().context("LATCH_TOKEN is set but no server is\nhelp: set LATCH_SERVER or pass --server")?;
            return Ok(Api { http, server: server.trim_end_matches('/').to_owned(), auth: Auth::Token(token) });
        }
        let logins = Logins::load()?;
        let login = logins
            .select(global.server.as_deref(), global.org.as_deref())
            .cloned()
            .ok_or_else(|| anyhow!("you are not logged in\nhelp: run `latch login ORG --server URL`, or set LATCH_TOKEN"))?;
        let mut api = Api { http, server: login.server.clone(), auth: Auth::Login(login) };
        api.refresh_if_expired().await?;
        Ok(api)
    }

    async fn refresh_if_expired(&mut self) -> anyhow::Result<()> {
        let Auth::Login(login) = &self.auth else { return Ok(()) };
        // Refresh a little early so a request does not race the expiry.
        if login.access_expires_at.minus(Duration::from_secs(30)) > SystemClock.now() {
            return Ok(());
        }
        let fresh = crate::commands::login::refresh(&self.http, login).await?;
        let mut logins = Logins::load()?;
        logins.logins.insert(creds::key(&fresh.server, &fresh.org), fresh.clone());
        logins.save()?;
        self.auth = Auth::Login(fresh);
        Ok(())
    }

    fn bearer(&self) -> &str {
        match &self.auth {
            Auth::Token(t) => t,
            Auth::Login(l) => &l.access_token,
        }
    }

    /// The stored login in use, if any.
    pub fn login(&self) -> Option<&Login> {
        match &self.auth {
            Auth::Login(l) => Some(l),
            Auth::Token(_) => None,
        }
    }

    /// Sends a request and returns the checked response.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{path}", self.server);
        let mut req = self.http.request(method, &url).bearer_auth(self.bearer());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.with_context(|| format!("while calling {url}"))?;
        if resp.status() == StatusCode::UNAUTHORIZED && self.login().is_some() {
            bail!("Your Latch session has expired.\nhelp: run `latch login {}`", self.login().map(|l| l.org.as_str()).unwrap_or("ORG"));
        }
        check(resp).await
    }

    /// `GET` and decode.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        Ok(self.send(Method::GET, path, None).await?.json().await?)
    }

    /// `POST` JSON and decode.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        Ok(self.send(Method::POST, path, Some(body)).await?.json().await?)
    }
}

/// Percent-encodes one path segment.
pub fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
