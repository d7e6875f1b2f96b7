//! `latch server`: loads the layered configuration and runs the control plane.

use anyhow::Context as _;

use crate::cli::ServerArgs;

/// Runs the server until it is stopped.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    latch_server::init_logging();
    let flags = latch_server::FlagOverrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        public_url: args.public_url,
        init_org: args.init_org,
        init_admin: args.init_admin,
    };
    let config = latch_server::Config::load(args.config.as_deref(), &flags).context("while loading the configuration")?;
    latch_server::serve(config).await
}
