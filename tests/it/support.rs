//! Running the `latch` client against a `latch server` process.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use latch_testkit::env::LATCH_TEST_ENGINES;
use latch_testkit::ServerProcess;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt as _, BufReader};

pub const PASSWORD: &str = "correct horse battery staple";

pub fn engines() -> Vec<&'static str> {
    match std::env::var(LATCH_TEST_ENGINES).as_deref() {
        Ok("sqlite") => vec!["sqlite"],
        Ok("postgres") => vec!["postgres"],
        _ => vec!["sqlite", "postgres"],
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_latch"))
}

/// A client home: its own config dir, so logins never touch the developer's.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn command(&self) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(bin());
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LATCH_CONFIG_DIR", self.config_dir())
            .stdin(Stdio::null());
        c
    }

    /// Runs `latch ARGS…` to completion.
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        tokio::time::timeout(std::time::Duration::from_secs(60), c.output()).await.expect("latch timed out").unwrap()
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A signed-in browser session of the first admin, over the API.
pub struct Browser {
    pub http: reqwest::Client,
    pub url: String,
    pub csrf: String,
}

impl Browser {
    pub async fn enroll(server: &ServerProcess) -> Browser {
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let token = server.enroll_token.clone().expect("first start prints an enrollment token");
        let resp = http
            .post(format!("{}/v1/orgs/acme/enroll", server.url))
            .json(&json!({"token": token, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        let body: Value = resp.json().await.unwrap();
        Browser { http, url: server.url.clone(), csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    /// Enrolls a person added by an admin, from their enrollment link's token.
    pub async fn enroll_with(server: &ServerProcess, token: &str) -> Browser {
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let resp = http.post(format!("{}/v1/orgs/acme/enroll", server.url)).json(&json!({"token": token, "password": PASSWORD})).send().await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        let body: Value = resp.json().await.unwrap();
        Browser { http, url: server.url.clone(), csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    /// A JSON call as this person.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url)).header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn approve(&self, user_code: &str) {
        let resp = self
            .http
            .post(format!("{}/v1/device", self.url))
            .header("x-csrf-token", &self.csrf)
            .json(&json!({"user_code": user_code, "approve": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204, "{}", resp.text().await.unwrap());
    }
}

pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs `latch login acme`, approving the code it shows through the API.
pub async fn login(home: &Home, server: &ServerProcess, browser: &Browser) {
    let mut child = home
        .command()
        .args(["login", "acme", "--server", &server.url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (code, seen) = read_until(&mut lines, "and check that it shows the code: ").await;
    assert!(seen.contains("/device?org=acme&user_code="), "{seen}");
    browser.approve(code.trim()).await;
    let (out, more) = finish(child, lines).await;
    assert!(out.status.success(), "login failed: {more}");
    // Nothing on stdout: `eval "$(latch …)"` must never swallow a prompt.
    assert_eq!(text(&out.stdout), "");
    assert!(more.contains("Signed in to `acme`"), "{more}");
}


/// Stderr lines of a running `latch`.
pub type StderrLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Reads stderr until a line starts with `prefix`; returns the rest of that
/// line and everything read.
pub async fn read_until(lines: &mut StderrLines, prefix: &str) -> (String, String) {
    let mut seen = String::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.unwrap().unwrap().unwrap_or_else(|| panic!("the command ended before printing `{prefix}`: {seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.strip_prefix(prefix) {
            return (rest.to_owned(), seen);
        }
    }
}

/// Waits for the command to end; returns its output and the rest of stderr.
pub async fn finish(child: tokio::process::Child, mut lines: StderrLines) -> (Output, String) {
    let rest = tokio::spawn(async move {
        let mut more = String::new();
        while let Ok(Some(l)) = lines.next_line().await {
            more.push_str(&l);
            more.push('\n');
        }
        more
    });
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap();
    (out, rest.await.unwrap())
}
