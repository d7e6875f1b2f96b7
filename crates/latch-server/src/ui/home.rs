//! The landing page and sign-out.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::forms::{csrf_ok, session};
use super::page::{esc, message, redirect, render};
use crate::auth::cookie;
use crate::state::AppState;

/// `GET /`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session(&state, &headers).await {
        Ok(Some((me, secret))) => {
            let body = format!(
                "<p>Signed in to <b>{org}</b> as <b>{email}</b> ({role}).</p>\
                 <p>From a terminal: <code>latch login {org} --server {url}</code></p>\
                 <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button>Sign out</button></form>",
                org = esc(&me.org_slug),
                email = esc(&me.email),
                role = me.role.as_str(),
                url = esc(&state.config.public_url()),
                csrf = cookie::csrf_token(&secret),
            );
            render(StatusCode::OK, "Latch", &body)
        }
        Ok(None) => redirect("/login"),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, "Latch", "the service is temporarily unavailable; retry shortly"),
    }
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<LogoutForm>) -> Response {
    if let Ok(Some((me, secret))) = session(&state, &headers).await {
        if !csrf_ok(&f.csrf, &secret) {
            return message(StatusCode::FORBIDDEN, "Sign out", "the form expired or was not sent by Latch; reload the page");
        }
        if state.store.revoke_session(&me.org_id, &me.credential_id, state.now()).await.is_err() {
            return message(StatusCode::SERVICE_UNAVAILABLE, "Sign out", "the service is temporarily unavailable; retry shortly");
        }
        let event = latch_core::audit::NewAuditEvent::new(&me.user_id, "auth.sign_out", &me.credential_id);
        if let Err(e) = state.audit(&me.org_id, event).await {
            tracing::error!(error = %e, "could not audit a sign-out");
        }
    }
    let mut resp = redirect("/login");
    resp.headers_mut().insert(header::SET_COOKIE, cookie::clear(state.config.is_tls()));
    resp
}
