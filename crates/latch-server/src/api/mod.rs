//! The HTTP API under `/v1`, plus `/healthz`, `/readyz` and `/metrics`, and
//! its OpenAPI document at `/v1/openapi.json`.

mod access;
mod audit;
mod jobs;
mod aws;
mod effective;
pub use effective::InventoryCache;
mod federation;
pub(crate) mod device;
mod groups;
mod health;
mod me;
mod oauth;
mod openapi;
mod orgs;
mod policy;
pub(crate) mod requests;
pub(crate) mod session;
mod sso;
mod tokens;
mod totp;
mod users;
mod watch;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};

use crate::error::ApiError;
use crate::state::AppState;
use crate::{metrics, request_id};

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Declares the API's routes once: `api_routes` registers them and, in
/// tests, `ROUTES` lists them, so that a route registered without an entry
/// in the OpenAPI document fails `openapi::tests`.
macro_rules! routes {
    ($($path:literal => $method:ident($handler:path) $(, $more:ident($more_handler:path))*;)*) => {
        /// Every API route with its methods, exactly as `api_routes` registers them.
        #[cfg(test)]
        pub(crate) const ROUTES: &[(&str, &[&str])] = &[$(($path, &[stringify!($method) $(, stringify!($more))*])),*];

        fn api_routes() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($handler)$(.$more($more_handler))*))*
        }
    };
}

// INVARIANT: every API route is declared here, never with a bare `.route`
// (`openapi::tests` checks this file for one), so it cannot go undocumented.
routes! {
    "/healthz" => get(health::healthz);
    "/readyz" => get(health::readyz);
    "/metrics" => get(health::metrics);
    "/v1/openapi.json" => get(openapi::document);
    "/v1/orgs/{slug}" => get(orgs::lookup);
    "/v1/orgs/{slug}/login" => post(session::login);
    "/v1/orgs/{slug}/enroll" => post(session::enroll);
    "/v1/orgs/{slug}/device/code" => post(device::code);
    "/v1/orgs/{slug}/token" => post(device::token);
    "/v1/orgs/{slug}/revoke" => post(device::revoke);
    "/v1/logout" => post(session::logout);
    "/v1/device" => get(device::lookup), post(device::decide);
    "/v1/me" => get(me::get);
    "/v1/me/groups" => get(me::groups);
    "/v1/me/totp" => post(totp::begin);
    "/v1/me/totp/confirm" => post(totp::confirm);
    "/v1/me/totp/disable" => post(totp::disable);
    "/v1/users/{user}/totp" => delete(totp::reset);
    "/v1/users" => get(users::list), post(users::create);
    "/v1/users/{user}" => get(users::get), patch(users::update), delete(users::delete);
    "/v1/groups" => get(groups::list), post(groups::create);
    "/v1/groups/{group}" => get(groups::get), delete(groups::delete);
    "/v1/groups/{group}/members/{user}" => put(groups::add_member), delete(groups::remove_member);
    "/v1/tokens" => get(tokens::list), post(tokens::create);
    "/v1/tokens/{id}" => delete(tokens::revoke);
    "/v1/audit" => get(audit::page);
    "/v1/jobs/dead" => get(jobs::dead);
    "/v1/sso" => get(sso::get), put(sso::put), delete(sso::delete);
    "/v1/policy" => get(policy::show), put(policy::apply);
    "/v1/requests" => get(requests::list), post(requests::create);
    "/v1/requests/{id}" => get(requests::get);
    "/v1/requests/{id}/approve" => post(requests::approve);
    "/v1/requests/{id}/deny" => post(requests::deny);
    "/v1/requests/{id}/cancel" => post(requests::cancel);
    "/v1/requests/{id}/revoke" => post(requests::revoke);
    "/v1/requests/{id}/relinquish" => post(requests::relinquish);
    "/v1/requests/{id}/watch" => get(watch::watch);
    "/v1/requests/{id}/extend" => post(requests::extend);
    "/v1/webhooks" => get(webhooks::list), post(webhooks::add);
    "/v1/webhooks/{id}" => delete(webhooks::delete);
    "/v1/aws/accounts" => get(access::accounts);
    "/v1/access" => get(access::list);
    "/v1/iam/who-can" => get(effective::who_can);
    "/v1/iam/what-can" => get(effective::what_can);
    "/v1/integrations/aws" => get(aws::list), post(aws::install);
    "/v1/integrations/aws/{account}" => delete(aws::remove);
    "/v1/integrations/aws/{account}/verify" => post(aws::verify);
    "/v1/integrations/aws/{account}/sync" => get(aws::sync_status), post(aws::sync);
    "/v1/integrations/aws/{account}/inventory" => get(aws::inventory);
    "/v1/integrations/aws/{account}/changes" => get(aws::changes);
    "/v1/integrations/aws/{account}/iam-users" => post(aws::create_iam_user);
    "/v1/integrations/aws/{account}/iam-users/{name}" => delete(aws::delete_iam_user);
    "/v1/requests/{id}/web-identity-token" => post(federation::token);
    "/v1/requests/{id}/saml-response" => post(federation::saml_response);
    "/oidc/{org}/.well-known/openid-configuration" => get(federation::discovery);
    "/oidc/{org}/jwks.json" => get(federation::jwks);
    "/saml/{org}/metadata" => get(federation::saml_metadata);
    "/saml/{org}/sso" => get(federation::saml_console);
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    api_routes()
        .merge(crate::ui::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), metrics::layer))
        .fallback(|| async { ApiError::NotFound("route") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}
