//! Password sign-in throttling, per account and per client address. Counts
//! live in the database so every replica enforces the same limit.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The keys a sign-in attempt counts against.
pub struct Keys {
    account: String,
    address: String,
}

impl Keys {
    /// Keys for an attempt on `email` in `org_id` from `ip`.
    pub fn new(org_id: &str, email: &str, ip: IpAddr) -> Self {
        Self { account: format!("acct:{org_id}:{email}"), address: format!("addr:{ip}") }
    }
}

fn window(state: &AppState) -> Duration {
    Duration::from_secs(state.config.auth.failure_window_secs)
}

/// Refuses the attempt up front if either key is over its limit.
pub async fn check(state: &AppState, keys: &Keys) -> ApiResult<()> {
    let a = &state.config.auth;
    let since = state.now().minus(window(state));
    let over = state.store.failures_since(&keys.account, since).await? >= a.max_failures_per_account
        || state.store.failures_since(&keys.address, since).await? >= a.max_failures_per_address;
    if over {
        return Err(ApiError::RateLimited { retry_after_secs: a.failure_window_secs });
    }
    Ok(())
}

/// Counts a failure against both keys.
pub async fn failed(state: &AppState, keys: &Keys) -> ApiResult<()> {
    let now = state.now();
    let since = now.minus(window(state));
    state.store.record_failure(&keys.account, now, since).await?;
    state.store.record_failure(&keys.address, now, since).await?;
    Ok(())
}

/// Forgets the account's failures after a success (the address keeps its
/// count, so one good account cannot reset a spraying client).
pub async fn succeeded(state: &AppState, keys: &Keys) -> ApiResult<()> {
    state.store.clear_failures(&keys.account).await?;
    Ok(())
}
