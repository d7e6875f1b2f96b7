//! A throwaway PostgreSQL cluster (Debian's `postgresql` package: `initdb`
//! in a temp dir, a loopback port) and fresh databases in it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::env::LATCH_TEST_PG;
use crate::process::{free_port, shell_quote, wait_for_port, Watched};

/// A running cluster, stopped on drop.
#[derive(Debug)]
pub struct PgCluster {
    /// `postgres://latch@127.0.0.1:PORT` (no database).
    pub base_url: String,
    /// The port.
    pub port: u16,
    dir: tempfile::TempDir,
    server: Option<Watched>,
    as_user: Option<&'static str>,
}

/// The directory holding `initdb`, `postgres` and `createdb`.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    candidates.sort();
    if let Some(dir) = candidates.into_iter().rev().find(|d| d.join("initdb").exists()) {
        return Ok(dir);
    }
    bail!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)\nhelp: run `scripts/test`, which installs Debian's `postgresql` package")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

impl PgCluster {
    /// Creates and starts a cluster on a free port.
    pub fn start() -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("latch-pg-").tempdir().context("while creating the cluster dir")?;
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock)?;
        // PostgreSQL refuses to run as root: run it as Debian's `postgres`.
        let as_user = if is_root() { Some("postgres") } else { None };
        if let Some(user) = as_user {
            let ok = Command::new("chown").args(["-R", user]).arg(dir.path()).status()?.success();
            if !ok {
                bail!("could not hand {} to user `{user}`", dir.path().display());
            }
        }
        let mut initdb = match as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(bin.join("initdb"));
                c
            }
            None => Command::new(bin.join("initdb")),
        };
        let out = initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "latch", "--auth=trust", "-N", "-E", "UTF8", "--no-locale"])
            .output()
            .context("while running initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let port = free_port()?;
        let mut cluster = Self { base_url: format!("postgres://latch@127.0.0.1:{port}"), port, dir, server: None, as_user };
        cluster.start_server()?;
        Ok(cluster)
    }

    /// Stops the server process (the data stays): the database goes down.
    pub fn stop_server(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.stop();
        }
    }

    /// Starts the server process again on the same port and data.
    pub fn start_server(&mut self) -> anyhow::Result<()> {
        let bin = bin_dir()?;
        let (port, as_user) = (self.port, self.as_user);
        let data = self.dir.path().join("data");
        let sock = self.dir.path().join("sock");
        let log = self.dir.path().join("postgres.log");
        let args: Vec<String> = [
            "-D",
            &data.display().to_string(),
            "-p",
            &port.to_string(),
            "-k",
            &sock.display().to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=400",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(extra_settings())
        .collect();
        if let Some(user) = as_user {
            std::fs::write(&log, "")?;
            Command::new("chown").arg(user).arg(&log).status()?;
        }
        self.server = Some(Watched::spawn(&bin.join("postgres"), &args, as_user, &log, &[], "INT")?);
        wait_for_port(port, Duration::from_secs(30), &log)?;
        // Listening is not yet accepting sessions ("the database system is
        // starting up"): wait until the server says it is ready.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let ready = Command::new(bin.join("pg_isready")).args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]).status()?;
            if ready.success() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("PostgreSQL on port {port} did not become ready")
    }

    /// Removes the cluster's directory once this process has ended and the
    /// server has stopped, for a cluster that is never dropped.
    fn remove_dir_when_this_process_ends(&self) -> anyhow::Result<()> {
        let dir = shell_quote(&self.dir.path().display().to_string());
        // Wait for stdin to close (this process is gone), then for the
        // server's watchdog to stop it (it removes postmaster.pid), then
        // remove everything.
        let script = format!(
            "cat >/dev/null; for i in $(seq 100); do [ -e {dir}/data/postmaster.pid ] || break; sleep 0.1; done; rm -rf {dir}"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("while starting the cluster directory's reaper")?;
        // Held open until the process ends: its closing is the signal.
        std::mem::forget(child.stdin.take());
        Ok(())
    }

    /// A URL of a new, empty database in this cluster.
    pub fn fresh_database(&self) -> anyhow::Result<String> {
        create_database(&self.base_url)
    }
}

fn shared_base_url() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var(LATCH_TEST_PG) {
        return Ok(url);
    }
    static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let cluster = PgCluster::start().map_err(|e| format!("{e:#}"))?;
            // A static is never dropped: without this the cluster's directory
            // (hundreds of MB) would outlive every test binary that used it.
            cluster.remove_dir_when_this_process_ends().map_err(|e| format!("{e:#}"))?;
            Ok(cluster)
        })
        .as_ref()
        .map(|c| c.base_url.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A URL of a new, empty database on the shared test cluster.
pub fn fresh_postgres_url() -> anyhow::Result<String> {
    create_database(&shared_base_url()?)
}

fn create_database(base: &str) -> anyhow::Result<String> {
    let base = base.to_owned();
    let name = format!("t_{}", random_suffix());
    let (host_port, user) = parse_base(&base)?;
    let (host, port) = host_port.split_once(':').unwrap_or((&host_port, "5432"));
    let out = Command::new(bin_dir()?.join("createdb"))
        .args(["-h", host, "-p", port, "-U", &user, &name])
        .output()
        .context("while running createdb")?;
    if !out.status.success() {
        bail!("createdb failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(format!("{base}/{name}"))
}

fn parse_base(base: &str) -> anyhow::Result<(String, String)> {
    let rest = base.strip_prefix("postgres://").context("LATCH_TEST_PG must start with postgres://")?;
    let (user, host) = rest.split_once('@').context("LATCH_TEST_PG must name a user")?;
    Ok((host.trim_end_matches('/').to_owned(), user.to_owned()))
}

/// Extra server settings from `LATCH_TEST_PG_SETTINGS` (space-separated
/// `name=value` pairs), for diagnosing a run, e.g.
/// `shared_preload_libraries=pg_stat_statements`.
fn extra_settings() -> Vec<String> {
    std::env::var("LATCH_TEST_PG_SETTINGS")
        .unwrap_or_default()
        .split_whitespace()
        .flat_map(|kv| ["-c".to_owned(), kv.to_owned()])
        .collect()
}

/// Runs `psql -c SQL` against a database URL (for fault injection in tests).
pub fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new(bin_dir()?.join("psql")).arg(url).args(["-At", "-c", sql]).output()?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where the `latch` binary under test is.
pub fn latch_bin() -> PathBuf {
    if let Ok(p) = std::env::var(crate::env::LATCH_BIN) {
        return PathBuf::from(p);
    }
    // target/debug/deps/<test> → target/debug/latch
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    dir.join("latch")
}
