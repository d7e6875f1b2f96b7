//! `latch server` as a real process, on a free port, with a fresh database.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::pg::{fresh_postgres_url, latch_bin};
use crate::process::{free_port, Watched};

/// A running `latch server` process.
#[derive(Debug)]
pub struct ServerProcess {
    /// Base URL.
    pub url: String,
    /// The first admin's one-time enrollment token, when this start created the org.
    pub enroll_token: Option<String>,
    /// Its database URL.
    pub db_url: String,
    /// Its data directory (SQLite lives here).
    pub data_dir: PathBuf,
    /// Its log (stderr).
    pub log: PathBuf,
    /// Extra environment of the process (AWS settings and credentials).
    env: Vec<(String, String)>,
    /// The program: `latch`, or a test build of the server.
    bin: PathBuf,
    proc: Option<Watched>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts a server on a fresh `sqlite` or `postgres` database, with org
    /// `acme` and first admin `admin@acme.io`.
    pub fn start(engine: &str) -> anyhow::Result<Self> {
        match engine {
            "postgres" => Self::start_on(Some(fresh_postgres_url()?)),
            _ => Self::start_on(None),
        }
    }

    /// Starts a server on the given PostgreSQL database, or on SQLite in a
    /// fresh data directory.
    pub fn start_on(postgres_url: Option<String>) -> anyhow::Result<Self> {
        Self::start_with(postgres_url, Vec::new())
    }

    /// Starts a server on SQLite whose AWS calls go to moto at `endpoint`,
    /// as the user with key `id`/`secret`.
    pub fn start_on_aws(endpoint: &str, id: &str, secret: &str) -> anyhow::Result<Self> {
        let env = [("LATCH_AWS__ENDPOINT_URL", endpoint), ("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret), ("AWS_REGION", "us-east-1")];
        Self::start_with(None, env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    /// Starts a server with extra environment variables.
    pub fn start_with(postgres_url: Option<String>, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        Self::start_program(latch_bin(), postgres_url, env)
    }

    /// Starts `bin`, a program taking `latch server`'s arguments (the crash
    /// tests' server), with extra environment variables.
    pub fn start_program(bin: PathBuf, postgres_url: Option<String>, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("latch-server-").tempdir()?;
        let data_dir = dir.path().join("data");
        let db_url = postgres_url.unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("latch.db").display()));
        let mut s = Self { url: String::new(), enroll_token: None, db_url, data_dir, log: dir.path().join("server.log"), env, bin, proc: None, _dir: dir };
        s.launch()?;
        Ok(s)
    }

    fn args(&self, port: u16) -> Vec<String> {
        let mut args = vec![
            "server".to_owned(),
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
            "--data-dir".to_owned(),
            self.data_dir.display().to_string(),
            "--init-org".to_owned(),
            "acme".to_owned(),
            "--init-admin".to_owned(),
            "admin@acme.io".to_owned(),
        ];
        if self.db_url.starts_with("postgres") {
            args.push("--database-url".to_owned());
            args.push(self.db_url.clone());
        }
        args
    }

    /// (Re)starts the process and waits until it listens.
    pub fn launch(&mut self) -> anyhow::Result<()> {
        let port = if self.url.is_empty() { free_port()? } else { self.url.rsplit(':').next().unwrap_or("0").parse()? };
        let start_len = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let mut envs = vec![("LATCH_LOG", "warn"), ("LATCH_AUTH__DEVICE_POLL_INTERVAL_SECS", "1")];
        envs.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.proc = Some(Watched::spawn(&self.bin, &self.args(port), None, &self.log, &envs, "TERM")?);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let new = text.get(usize::try_from(start_len).unwrap_or(0)..).unwrap_or_default();
            if let Some(line) = new.lines().find(|l| l.contains("or: latch enroll ")) {
                self.enroll_token = line.split_whitespace().nth(3).map(str::to_owned);
            }
            if new.contains("latch server listening on http://") {
                self.url = format!("http://127.0.0.1:{port}");
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("latch server did not start; log:\n{new}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process with SIGKILL (a crash), without waiting for a stop.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        let pid = self.proc.as_ref().and_then(|p| p.pid(&self.log)).context("no server pid")?;
        std::process::Command::new("kill").args(["-9", &pid.to_string()]).stderr(std::process::Stdio::null()).status()?;
        self.proc = None;
        Ok(())
    }

    /// The server's stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
