//! What the stand-ins (`*_standin`: small servers written from the AWS API
//! reference for the APIs moto lacks) share: their options, and how they
//! bind a loopback port and serve.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use latch_core::{Clock, SystemClock};

/// How to start a stand-in.
#[derive(Clone)]
pub struct StandinOptions {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The source of "now" (creation times, client secrets, device codes,
    /// tokens).
    pub clock: Arc<dyn Clock>,
}

impl Default for StandinOptions {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 0)), clock: Arc::new(SystemClock) }
    }
}

/// Binds `listen`; the listener and its base URL (`http://127.0.0.1:PORT`).
pub(crate) async fn bind(listen: SocketAddr) -> anyhow::Result<(tokio::net::TcpListener, String)> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("while binding `{listen}`"))?;
    let addr = listener.local_addr().context("while reading the bound address")?;
    Ok((listener, format!("http://{addr}")))
}

/// Serves `router` on `listener` in a task; `name` says whose server
/// stopped, if it does.
pub(crate) fn serve(name: &'static str, listener: tokio::net::TcpListener, router: axum::Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("{name}: server stopped: {e}");
        }
    })
}
