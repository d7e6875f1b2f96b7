//! What the page handlers share: the signed-in session, the CSRF field, and
//! the same-origin check for forms posted before there is a session.

use axum::http::HeaderMap;
use latch_core::model::Principal;
use latch_core::token::TokenHash;

use crate::auth::cookie;
use crate::error::ApiResult;
use crate::state::AppState;

/// The signed-in browser session, if any, with its cookie secret.
pub async fn session(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<(Principal, String)>> {
    let Some(secret) = cookie::session_secret(headers) else { return Ok(None) };
    let p = state.store.authenticate_session(&TokenHash::of(&secret), state.now()).await?;
    Ok(p.map(|p| (p, secret)))
}

/// Whether a form's CSRF field matches its session.
pub fn csrf_ok(field: &str, secret: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(field.as_bytes().ct_eq(cookie::csrf_token(secret).as_bytes()))
}

/// Whether a form post comes from our own pages: browsers send `Origin` on
/// every cross-origin POST, so a foreign one is refused. (Sign-in and
/// enrollment forms have no session yet to bind a CSRF token to.)
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    match headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let ours = state.config.public_url();
            origin == ours || headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).is_some_and(|host| {
                origin == format!("http://{host}") || origin == format!("https://{host}")
            })
        }
    }
}
