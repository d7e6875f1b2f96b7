//! `latch-sso-standin`: the SSO OIDC and SSO portal stand-in
//! (`latch_testkit::sso_standin`) in the foreground, backed by a running moto,
//! for demos and for end-to-end runs outside the test harness.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use latch_testkit::sso_standin::{SsoStandin, StandinOptions};

/// Serves AWS SSO OIDC and the SSO portal on top of moto.
#[derive(Parser)]
#[command(name = "latch-sso-standin", version)]
struct Args {
    /// moto's endpoint, e.g. `http://127.0.0.1:5000`.
    #[arg(long)]
    moto: String,
    /// Access key id of an administrator of the Organizations management account.
    #[arg(long)]
    access_key_id: String,
    /// Its secret access key.
    #[arg(long)]
    secret_access_key: String,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let admin = latch_testkit::aws::sdk_config(&args.moto, &args.access_key_id, &args.secret_access_key, None);
    let options = StandinOptions { listen: args.listen, ..StandinOptions::default() };
    let standin = SsoStandin::start_with(&args.moto, admin, options).await.context("while starting the stand-in")?;
    // The one line on stdout: scripts read the URL from it.
    println!("listening on {}", standin.url);
    standin.serve_forever().await
}
