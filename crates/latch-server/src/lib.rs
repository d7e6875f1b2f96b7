//! The Latch control plane: `latch server`. HTTP API and pages (axum), the
//! store, first-run bootstrap, logs and metrics.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
mod bootstrap;
pub mod config;
pub mod env;
pub mod error;
mod extract;
mod logging;
mod metrics;
mod request_id;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use latch_core::{Clock, SystemClock};

pub use config::{Config, FlagOverrides};
pub use logging::init as init_logging;
pub use state::AppState;

/// Opens the store, bootstraps an empty database, and serves until Ctrl-C or
/// SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if config.database_url.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    let url = config.database_url();
    let opts = latch_store::StoreOptions { max_connections: config.max_db_connections, ..Default::default() };
    let store = latch_store::connect(&url, &opts)
        .await
        .with_context(|| format!("while opening the database at `{}`", latch_store::redact(&url)))?;
    tracing::info!(engine = store.engine_kind().as_str(), "database ready");
    let store = Arc::new(store);
    bootstrap::first_run(store.as_ref(), clock.as_ref(), &config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("while binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port when listening on :0.
    eprintln!("latch server listening on http://{addr}");
    let state = AppState::new(store.clone(), clock, config);
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("while serving")?;
    store.close().await;
    Ok(())
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
