//! `latch server` whose `aws` integration is a journal on disk (or memory):
//! see the crate's documentation. Takes `latch server`'s flags.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;

#[derive(Parser)]
#[command(name = "latch-chaos-server")]
enum Cli {
    /// Runs the server.
    Server(Args),
}

#[derive(clap::Args)]
struct Args {
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long)]
    init_org: Option<String>,
    #[arg(long)]
    init_admin: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli::Server(args) = Cli::parse();
    latch_server::init_logging();
    let flags = latch_server::FlagOverrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        public_url: None,
        init_org: args.init_org,
        init_admin: args.init_admin,
    };
    let config = latch_server::Config::load(None, &flags)?;
    let provisioner: Arc<dyn latch_core::access::provision::Provisioner> = match std::env::var_os(latch_chaos::LATCH_CHAOS_JOURNAL) {
        Some(path) => Arc::new(latch_chaos::JournalProvisioner::new(PathBuf::from(path))),
        None => Arc::new(latch_testkit::RecordingProvisioner::default()),
    };
    let mut parts = latch_server::Parts::default();
    parts.provisioners.0.insert("aws".to_owned(), provisioner);
    latch_server::serve_with(config, parts).await
}
