//! A real OpenID Connect provider (npm `oidc-provider`, installed under
//! `tools/oidc-provider/` by `scripts/test`) on a free loopback port.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::process::{free_port, Watched};

/// A running provider with one registered client.
#[derive(Debug)]
pub struct OidcProvider {
    /// Its issuer URL.
    pub issuer: String,
    _proc: Watched,
    _dir: tempfile::TempDir,
}

/// Where the provider's script lives.
pub fn tool_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/oidc-provider")
}

impl OidcProvider {
    /// Starts the provider for client `client_id`/`secret` redirecting to
    /// `redirect_uri`, with `accounts` (JSON object of login → claims).
    /// `claims_in_id_token = false` keeps profile claims in userinfo only.
    pub fn start(client_id: &str, secret: &str, redirect_uri: &str, accounts: &str, claims_in_id_token: bool) -> anyhow::Result<Self> {
        let dir = tool_dir();
        if !dir.join("node_modules/oidc-provider").exists() {
            bail!("oidc-provider is not installed in {}\nhelp: run `scripts/test` (or `npm ci --prefix tools/oidc-provider`)", dir.display());
        }
        let port = free_port()?;
        let tmp = tempfile::tempdir()?;
        let log = tmp.path().join("oidc.log");
        let port_s = port.to_string();
        let envs = [
            ("PORT", port_s.as_str()),
            ("CLIENT_ID", client_id),
            ("CLIENT_SECRET", secret),
            ("REDIRECT_URI", redirect_uri),
            ("ACCOUNTS", accounts),
            ("CLAIMS_IN_ID_TOKEN", if claims_in_id_token { "1" } else { "0" }),
        ];
        let script = dir.join("server.mjs").display().to_string();
        let proc = Watched::spawn(Path::new("node"), &[script], None, &log, &envs, "TERM")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("oidc-provider listening on") {
                break;
            }
            if Instant::now() > deadline {
                bail!("oidc-provider did not start; log:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { issuer: format!("http://127.0.0.1:{port}"), _proc: proc, _dir: tmp })
    }
}
