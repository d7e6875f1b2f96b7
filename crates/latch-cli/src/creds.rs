//! Stored logins: one private file (see [`crate::private_file`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use latch_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::env::LATCH_CONFIG_DIR;

/// One login: a server and org, and the tokens the device flow gave.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Login {
    /// Server base URL.
    pub server: String,
    /// Org slug.
    pub org: String,
    /// Current access token.
    pub access_token: String,
    /// When it expires.
    pub access_expires_at: Timestamp,
    /// Current refresh token (rotates on every use).
    pub refresh_token: String,
}

/// Every stored login, and which one is current.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Logins {
    /// Key of the current login (`server org`).
    #[serde(default)]
    pub current: Option<String>,
    /// Logins by key.
    #[serde(default)]
    pub logins: BTreeMap<String, Login>,
}

/// The key of a login.
pub fn key(server: &str, org: &str) -> String {
    format!("{} {org}", server.trim_end_matches('/'))
}

/// The directory holding Latch's client files.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os(LATCH_CONFIG_DIR) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("latch"));
    }
    let home = std::env::var_os("HOME").context("neither LATCH_CONFIG_DIR nor HOME is set")?;
    Ok(PathBuf::from(home).join(".config").join("latch"))
}

fn path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("credentials.json"))
}

impl Logins {
    /// Reads the stored logins (none if the file does not exist).
    pub fn load() -> anyhow::Result<Logins> {
        let p = path()?;
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("while reading `{}`", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Logins::default()),
            Err(e) => Err(e).with_context(|| format!("while reading `{}`", p.display())),
        }
    }

    /// Writes the logins atomically with owner-only permissions.
    pub fn save(&self) -> anyhow::Result<()> {
        crate::private_file::write_private(&path()?, &serde_json::to_vec_pretty(self)?)
    }

    /// The login to use: the one named by server and/or org, else the current.
    pub fn select(&self, server: Option<&str>, org: Option<&str>) -> Option<&Login> {
        match (server, org) {
            (Some(s), Some(o)) => self.logins.get(&key(s, o)),
            (None, None) => self.current.as_ref().and_then(|k| self.logins.get(k)),
            (s, o) => {
                let s = s.map(|s| s.trim_end_matches('/'));
                self.logins.values().find(|l| s.is_none_or(|s| l.server == s) && o.is_none_or(|o| l.org == o))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn login(server: &str, org: &str) -> Login {
        Login { server: server.into(), org: org.into(), access_token: "a".into(), access_expires_at: Timestamp(0), refresh_token: "r".into() }
    }

    #[test]
    fn selection_prefers_what_was_named() {
        let mut l = Logins::default();
        l.logins.insert(key("http://a", "x"), login("http://a", "x"));
        l.logins.insert(key("http://b", "y"), login("http://b", "y"));
        l.current = Some(key("http://b", "y"));
        assert_eq!(l.select(None, None).unwrap().org, "y");
        assert_eq!(l.select(None, Some("x")).unwrap().server, "http://a");
        assert_eq!(l.select(Some("http://a/"), None).unwrap().org, "x");
        assert!(l.select(Some("http://a"), Some("y")).is_none());
    }

    #[test]
    fn saved_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("cfg");
        // Only this test reads LATCH_CONFIG_DIR in this test binary.
        std::env::set_var(LATCH_CONFIG_DIR, &cfg);
        let mut l = Logins::default();
        l.logins.insert(key("http://a", "x"), login("http://a", "x"));
        l.save().unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cfg), 0o700);
        assert_eq!(mode(&cfg.join("credentials.json")), 0o600);
        assert_eq!(Logins::load().unwrap().logins.len(), 1);
    }
}
