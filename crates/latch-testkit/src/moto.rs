//! moto in server mode (PyPI `moto[server]`, pinned, in `.venv/`): the AWS
//! API the integration tests run against, on a free loopback port. One
//! server holds many accounts; [`Moto::reset`] clears its state between tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::process::{free_port, wait_for_port, Watched};

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    /// Endpoint URL for the AWS SDK's endpoint override.
    pub endpoint: String,
    _proc: Watched,
    _dir: tempfile::TempDir,
}

/// The `moto_server` installed by `scripts/test`.
pub fn moto_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
}

impl Moto {
    /// Starts moto with AWS managed policies loaded.
    pub fn start() -> anyhow::Result<Self> {
        let bin = moto_bin();
        if !bin.exists() {
            bail!("moto is not installed at {}\nhelp: run `scripts/test` (it installs moto into .venv/)", bin.display());
        }
        let port = free_port()?;
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("moto.log");
        let args = vec!["-H".to_owned(), "127.0.0.1".to_owned(), "-p".to_owned(), port.to_string()];
        let envs = [("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")];
        let proc = Watched::spawn(&bin, &args, None, &log, &envs, "TERM")?;
        wait_for_port(port, Duration::from_secs(60), &log)?;
        Ok(Self { endpoint: format!("http://127.0.0.1:{port}"), _proc: proc, _dir: dir })
    }

    /// Clears every account's state (`POST /moto-api/reset`).
    pub fn reset(&self) -> anyhow::Result<()> {
        self.post("/moto-api/reset", "")
    }

    /// Turns IAM enforcement on (`true`) or off, per moto's `reset-auth`
    /// (body `0`: enforce from now on; `inf`: never).
    pub fn enforce_iam(&self, on: bool) -> anyhow::Result<()> {
        self.post("/moto-api/reset-auth", if on { "0" } else { "inf" })
    }

    fn post(&self, path: &str, body: &str) -> anyhow::Result<()> {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-f", "-X", "POST", "-H", "Content-Type: text/plain", "--data", body])
            .arg(format!("{}{path}", self.endpoint))
            .output()
            .context("while calling moto with curl")?;
        if !out.status.success() {
            bail!("moto {path} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}
