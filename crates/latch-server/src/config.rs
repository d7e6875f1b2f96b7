//! The server's configuration, layered: defaults → TOML file (`--config`) →
//! `LATCH_*` environment → command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::Figment;
use latch_core::Secret;
use serde::{Deserialize, Serialize};

use crate::env::PREFIX;

/// All server settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `postgres://…` to run on PostgreSQL instead of embedded SQLite.
    pub database_url: Option<Secret>,
    /// The URL people and the CLI reach this server at (used in links);
    /// defaults to `http://LISTEN`.
    pub public_url: Option<String>,
    /// Slug of the org created on an empty database.
    pub init_org: String,
    /// Email of the first admin, enrolled through a one-time link.
    pub init_admin: String,
    /// Lifetimes and limits.
    pub auth: AuthConfig,
    /// Most database connections (`StoreOptions::max_connections`).
    pub max_db_connections: u32,
    /// Access requests.
    pub access: AccessConfig,
    /// How Latch reaches AWS (its own credentials come from the usual AWS
    /// chain: `AWS_ACCESS_KEY_ID`…, a profile, or the instance's role).
    pub aws: latch_aws::AwsSettings,
    /// The key that seals the secrets Latch keeps in its database (each
    /// org's federation signing key): 32 bytes, base64. Default: generated
    /// once into `DATA_DIR/key-encryption.key` (0600). Replicas on several
    /// machines must all be given the same one.
    pub key_encryption_key: Option<Secret>,
}

/// Access request settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// Seconds a request may wait for a decision before it expires.
    pub pending_timeout_secs: u64,
    /// Seconds one grant or revoke call to an integration may take before
    /// it is abandoned and retried (calls are idempotent), so a hung call
    /// never holds access or its lock forever.
    pub provision_timeout_secs: u64,
    /// Days a finished job is kept (its record and idempotency key) before
    /// it is forgotten; dead jobs are kept until someone deals with them.
    pub done_jobs_kept_days: u64,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self { pending_timeout_secs: 24 * 3600, provision_timeout_secs: 120, done_jobs_kept_days: 30 }
    }
}

/// Lifetimes and limits of credentials and sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Seconds a CLI access token lives.
    pub access_token_secs: u64,
    /// Seconds a CLI session (its refresh tokens) lives at most.
    pub cli_session_secs: u64,
    /// Seconds a browser session lives.
    pub web_session_secs: u64,
    /// Seconds a device code stays valid.
    pub device_code_secs: u64,
    /// Minimum seconds between device-code polls.
    pub device_poll_interval_secs: u64,
    /// Seconds an enrollment link stays valid.
    pub enrollment_secs: u64,
    /// Failed password sign-ins per account within the window before refusal.
    pub max_failures_per_account: i64,
    /// Failed password sign-ins per client address within the window.
    pub max_failures_per_address: i64,
    /// The failure-counting window in seconds.
    pub failure_window_secs: u64,
    /// Default and maximum lifetime of API tokens, in days.
    pub api_token_max_days: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_secs: 15 * 60,
            cli_session_secs: 30 * 24 * 3600,
            web_session_secs: 12 * 3600,
            device_code_secs: 10 * 60,
            device_poll_interval_secs: 5,
            enrollment_secs: 24 * 3600,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            failure_window_secs: 15 * 60,
            api_token_max_days: 365,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("latch-data"),
            database_url: None,
            public_url: None,
            init_org: "default".to_owned(),
            init_admin: "admin@localhost.localdomain".to_owned(),
            auth: AuthConfig::default(),
            max_db_connections: 16,
            access: AccessConfig::default(),
            aws: latch_aws::AwsSettings::default(),
            key_encryption_key: None,
        }
    }
}

/// Settings given as flags; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FlagOverrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--public-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `--init-org`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_org: Option<String>,
    /// `--init-admin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_admin: Option<String>,
}

/// The top-level settings, as `LATCH_*` names them (lowercased).
const SETTINGS: &[&str] = &["listen", "data_dir", "database_url", "public_url", "init_org", "init_admin", "auth", "max_db_connections", "access", "aws", "key_encryption_key"];

impl Config {
    /// Loads the layers in order; a missing `--config` file is an error, an
    /// unknown key anywhere is an error.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Config, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(Box::new(figment::Error::from(format!("config file `{}` does not exist", path.display()))));
            }
            fig = fig.merge(Toml::file(path));
        }
        // Only variables naming a setting are configuration: the client's
        // own `LATCH_*` variables (LATCH_TOKEN, LATCH_SERVER, …) may be set
        // in the same shell and must not make the server refuse to start.
        let env = Env::prefixed(PREFIX).split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            SETTINGS.iter().any(|s| key == *s || key.starts_with(&format!("{s}.")) || key.starts_with(&format!("{s}__")))
        });
        fig = fig.merge(env).merge(Serialized::defaults(flags));
        fig.extract().map_err(Box::new)
    }

    /// The base URL for links.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)).trim_end_matches('/').to_owned()
    }

    /// Whether links (and so cookies) are on TLS.
    pub fn is_tls(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    /// The database URL to open.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => latch_store::sqlite_url_in(&self.data_dir),
        }
    }
}

#[cfg(test)]
#[expect(clippy::result_large_err, reason = "figment's Jail API fixes the error type")]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_do_not_print() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("latch.toml", "listen = \"127.0.0.1:9000\"\ninit_org = \"from-file\"\n[auth]\naccess_token_secs = 60\n")?;
            jail.set_env("LATCH_INIT_ORG", "from-env");
            jail.set_env("LATCH_AUTH__DEVICE_POLL_INTERVAL_SECS", "2");
            jail.set_env("LATCH_DATABASE_URL", "postgres://u:pw@h/db");
            let flags = FlagOverrides { init_admin: Some("boss@acme.io".into()), ..FlagOverrides::default() };
            let c = Config::load(Some(Path::new("latch.toml")), &flags).unwrap();
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.init_org, "from-env");
            assert_eq!(c.init_admin, "boss@acme.io");
            assert_eq!(c.auth.access_token_secs, 60);
            assert_eq!(c.auth.device_poll_interval_secs, 2);
            assert!(!format!("{c:?}").contains("pw"));
            Ok(())
        });
    }

    #[test]
    fn client_variables_do_not_disturb_the_server() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LATCH_TOKEN", "latch_pat_x");
            jail.set_env("LATCH_AWS_ACCOUNT", "123456789012");
            jail.set_env("LATCH_LISTEN", "127.0.0.1:9999");
            let c = Config::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(c.listen.port(), 9999);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("latch.toml", "lisen = \"127.0.0.1:9000\"\n")?;
            let err = Config::load(Some(Path::new("latch.toml")), &FlagOverrides::default()).unwrap_err();
            assert!(err.to_string().contains("lisen"), "{err}");
            Ok(())
        });
    }
}
