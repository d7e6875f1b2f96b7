//! Starts the real parts Latch's tests run against, each on a free loopback
//! port and torn down with the test process: a throwaway PostgreSQL cluster,
//! `latch server`, moto (the AWS API) and an OpenID Connect provider.
//!
//! Child processes are started under a small shell watchdog that holds the
//! read end of a pipe from the test process: when the test process exits,
//! however it exits, the pipe closes and the watchdog kills the child.

pub mod aws;
pub mod env;
pub mod faulty;
pub mod moto;
pub mod oidc;
pub mod pg;
pub mod process;
pub mod provisioner;
pub mod resource_explorer_standin;
pub mod server;
pub mod sso_standin;
pub mod standin;
pub mod xmlsec;

pub use moto::Moto;
pub use oidc::OidcProvider;
pub use pg::{fresh_postgres_url, PgCluster};
pub use process::{free_port, Watched};
pub use provisioner::RecordingProvisioner;
pub use server::ServerProcess;
