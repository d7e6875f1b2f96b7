//! Server-rendered pages for the browser steps people take: enroll, sign in,
//! approve a CLI sign-in, sign out. No scripts; every state-changing form
//! carries a CSRF token bound to the session, and form posts from another
//! origin are refused.

mod device;
mod forms;
mod home;
mod login;
mod page;
mod sso;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(login::show).post(login::submit))
        .route("/enroll", get(login::show_enroll).post(login::submit_enroll))
        .route("/device", get(device::show).post(device::submit))
        .route("/logout", axum::routing::post(home::logout))
        .route("/sso/start", get(sso::start))
        .route("/sso/callback", get(sso::callback))
}
