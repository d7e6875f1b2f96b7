//! Every environment variable the client reads, in one place.

/// The server URL, instead of `--server`.
pub const LATCH_SERVER: &str = "LATCH_SERVER";
/// The org slug to act in, instead of `--org`.
pub const LATCH_ORG: &str = "LATCH_ORG";
/// An API token to authenticate with instead of a stored login.
pub const LATCH_TOKEN: &str = "LATCH_TOKEN";
/// Where logins are stored (default `$XDG_CONFIG_HOME/latch` or
/// `~/.config/latch`).
pub const LATCH_CONFIG_DIR: &str = "LATCH_CONFIG_DIR";
/// The AWS account (id or alias) for `latch aws`, instead of `--account`.
pub const LATCH_AWS_ACCOUNT: &str = "LATCH_AWS_ACCOUNT";
/// How long `latch aws … assume` keeps retrying AWS while new access
/// propagates, like `60s` (default one minute).
pub const LATCH_AWS_CREDENTIALS_TIMEOUT: &str = "LATCH_AWS_CREDENTIALS_TIMEOUT";
