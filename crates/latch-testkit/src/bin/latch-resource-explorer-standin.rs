//! `latch-resource-explorer-standin`: the Resource Explorer 2 stand-in
//! (`latch_testkit::resource_explorer_standin`) in the foreground, backed by a
//! running moto, for demos and for end-to-end runs outside the test harness.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use latch_testkit::resource_explorer_standin::{ResourceExplorerStandin, StandinOptions};

/// Serves AWS Resource Explorer 2 on top of moto.
#[derive(Parser)]
#[command(name = "latch-resource-explorer-standin", version)]
struct Args {
    /// moto's endpoint, e.g. `http://127.0.0.1:5000` (with IAM enforcement off).
    #[arg(long)]
    moto: String,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = StandinOptions { listen: args.listen, ..StandinOptions::default() };
    let standin = ResourceExplorerStandin::start_with(&args.moto, options).await.context("while starting the stand-in")?;
    // The one line on stdout: scripts read the URL from it.
    println!("listening on {}", standin.url);
    standin.serve_forever().await
}
