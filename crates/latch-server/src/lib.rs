//! The Latch control plane: `latch server`. HTTP API and pages (axum), the
//! store, first-run bootstrap, logs and metrics.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
mod bootstrap;
pub mod config;
mod created;
pub mod env;
pub mod error;
mod extract;
pub mod federation;
mod logging;
mod metrics;
mod notify;
mod policy_cache;
mod request_id;
mod resource_tags;
pub mod saml;
pub mod sealing;
pub mod state;
mod sso;
mod ui;
mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use latch_core::{Clock, SystemClock};

pub use bootstrap::FirstRun;
pub use config::{Config, FlagOverrides};
pub use logging::init as init_logging;
pub use state::{AppState, Provisioners};

/// A server started by [`start`].
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// Set when this start created the first org.
    pub first_run: Option<FirstRun>,
    /// The store it serves from.
    pub store: Arc<latch_store::SqlStore>,
    /// The base URL used in links.
    pub public_url: String,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: workers::Workers,
    state: AppState,
}

impl Running {
    /// Stops accepting, finishes in-flight requests and closes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.workers.stop().await;
        let _ = self.shutdown.send(());
        self.task.await.context("the server task panicked")?.context("while serving")?;
        self.store.close().await;
        Ok(())
    }
}

impl Running {
    /// Wakes the background workers now (tests move a manual clock, then kick).
    pub fn kick(&self) {
        self.state.wake.notify_waiters();
    }
}

/// Opens the store (migrating it), bootstraps an empty database and starts
/// serving in the background.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    start_with(config, clock, Parts::default()).await
}

/// Parts a caller may supply instead of the defaults (tests inject recording
/// provisioners and AWS clients with fixed credentials).
#[derive(Default)]
pub struct Parts {
    /// Provisioners by integration; `aws` defaults to the AWS integration.
    pub provisioners: Provisioners,
    /// AWS clients; default: from the configuration and the AWS credential chain.
    pub aws: Option<Arc<latch_aws::ClientFactory>>,
}

/// [`start`] with the given parts.
pub async fn start_with(config: Config, clock: Arc<dyn Clock>, parts: Parts) -> anyhow::Result<Running> {
    let Parts { mut provisioners, aws } = parts;
    if config.database_url.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    let url = config.database_url();
    let opts = latch_store::StoreOptions { max_connections: config.max_db_connections, ..Default::default() };
    let store = latch_store::connect(&url, &opts)
        .await
        .with_context(|| format!("while opening the database at `{}`", latch_store::redact(&url)))?;
    if config.database_url.is_none() {
        restrict_db_files(&config.data_dir);
    }
    tracing::info!(engine = store.engine_kind().as_str(), "database ready");
    let store = Arc::new(store);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("while binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut config = config;
    if config.public_url.is_none() {
        // Links must name the port actually bound (`--listen …:0`).
        config.public_url = Some(format!("http://{addr}"));
    }
    let first_run = bootstrap::first_run(store.as_ref(), clock.as_ref(), &config).await?;
    let public_url = config.public_url();
    let aws = match aws {
        Some(f) => f,
        None => Arc::new(latch_aws::ClientFactory::from_env(config.aws.clone()).await),
    };
    if provisioners.get("aws").is_none() {
        let p = latch_aws::provision::AwsProvisioner::new(aws.clone(), store.clone(), clock.clone());
        provisioners.0.insert("aws".into(), Arc::new(p));
    }
    let sealer = sealing::Sealer::load(&config).context("while loading the key-encryption key")?;
    let state = AppState::new(store.clone(), clock, config, provisioners, aws, sealer);
    let workers = workers::spawn(state.clone());
    let app = api::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Each line of a watch stream goes out as it is written: with Nagle's
    // algorithm a line written while the previous one is unacknowledged
    // waits for the client's delayed ACK (40 ms on Linux).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(Running { addr, first_run, store, public_url, shutdown: tx, task, workers, state })
}

/// Runs the server until Ctrl-C or SIGTERM (`latch server`).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    serve_with(config, Parts::default()).await
}

/// [`serve`] with the given parts (the crash tests' server journals its
/// grants to disk).
pub async fn serve_with(config: Config, parts: Parts) -> anyhow::Result<()> {
    let running = start_with(config, Arc::new(SystemClock), parts).await?;
    if let Some(f) = &running.first_run {
        eprintln!("{}", f.banner(&running.public_url));
    }
    // Tests and scripts read this line to find the port when listening on :0.
    eprintln!("latch server listening on http://{}", running.addr);
    shutdown_signal().await;
    running.stop().await
}

/// Creates an org and its first admin on the configured database
/// (`latch server create-org`): an operator's action, like the first run.
pub async fn create_org(config: &Config, slug: &str, admin: &str) -> anyhow::Result<FirstRun> {
    let url = config.database_url();
    if config.database_url.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    let store = latch_store::connect(&url, &latch_store::StoreOptions::default())
        .await
        .with_context(|| format!("while opening the database at `{}`", latch_store::redact(&url)))?;
    let out = bootstrap::create_org_with_admin(&store, &SystemClock, config, slug, admin).await;
    store.close().await;
    out
}

/// Owner-only permissions on the SQLite files (the directory is 0700 too).
fn restrict_db_files(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for name in ["latch.db", "latch.db-wal", "latch.db-shm"] {
        let _ = std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600));
    }
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("while creating the data directory `{}`", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("while restricting `{}` to its owner", dir.display()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
