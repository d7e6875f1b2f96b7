//! `latch server`: loads the layered configuration and runs the control
//! plane, or performs an operator action on its database.

use anyhow::Context as _;

use crate::cli::{ServerAction, ServerArgs};

/// Runs the server until it is stopped, or the operator action.
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
    match args.action {
        None => latch_server::serve(config).await,
        Some(ServerAction::CreateOrg { slug, admin }) => {
            let created = latch_server::create_org(&config, &slug, &admin).await?;
            eprintln!("{}", created.banner(&config.public_url()));
            Ok(())
        }
    }
}
