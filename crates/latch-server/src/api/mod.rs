//! The HTTP API under `/v1`, plus `/healthz`, `/readyz` and `/metrics`.

mod audit;
pub(crate) mod device;
mod groups;
mod health;
mod me;
mod orgs;
pub(crate) mod session;
mod sso;
mod tokens;
mod totp;
mod users;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::{middleware, Router};

use crate::error::ApiError;
use crate::state::AppState;
use crate::{metrics, request_id};

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/orgs/{slug}", get(orgs::lookup))
        .route("/v1/orgs/{slug}/login", post(session::login))
        .route("/v1/orgs/{slug}/enroll", post(session::enroll))
        .route("/v1/orgs/{slug}/device/code", post(device::code))
        .route("/v1/orgs/{slug}/token", post(device::token))
        .route("/v1/orgs/{slug}/revoke", post(device::revoke))
        .route("/v1/logout", post(session::logout))
        .route("/v1/device", get(device::lookup).post(device::decide))
        .route("/v1/me", get(me::get))
        .route("/v1/me/groups", get(me::groups))
        .route("/v1/me/totp", post(totp::begin))
        .route("/v1/me/totp/confirm", post(totp::confirm))
        .route("/v1/me/totp/disable", post(totp::disable))
        .route("/v1/users/{user}/totp", axum::routing::delete(totp::reset))
        .route("/v1/users", get(users::list).post(users::create))
        .route("/v1/users/{user}", get(users::get).patch(users::update).delete(users::delete))
        .route("/v1/groups", get(groups::list).post(groups::create))
        .route("/v1/groups/{group}", get(groups::get).delete(groups::delete))
        .route("/v1/groups/{group}/members/{user}", put(groups::add_member).delete(groups::remove_member))
        .route("/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/v1/audit", get(audit::page))
        .route("/v1/sso", get(sso::get).put(sso::put).delete(sso::delete))
        .merge(crate::ui::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), metrics::layer))
        .fallback(|| async { ApiError::NotFound("route") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}
