//! Sign-in and enrollment pages.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use latch_core::Secret;
use serde::Deserialize;

use super::forms::same_origin;
use super::page::{esc, message, percent, redirect, render, safe_next};
use crate::api::session::{enroll_with_token, sign_in_with_password, WebSession};
use crate::error::ApiError;
use crate::state::AppState;

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    next: Option<String>,
}

fn login_form(org: &str, next: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    format!(
        "{error}<form method=\"post\" action=\"/login\">\
         <label for=\"org\">Org</label><input id=\"org\" name=\"org\" value=\"{org}\" required>\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <label for=\"totp\">One-time code (if your account has one)</label><input id=\"totp\" name=\"totp\" inputmode=\"numeric\" autocomplete=\"one-time-code\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\"><button type=\"submit\">Sign in</button></form>",
        org = esc(org),
        next = esc(next),
    )
}

/// `GET /login`: the password form, and a single sign-on button when the
/// org has a provider.
pub async fn show(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let mut body = String::new();
    if let Ok(Some(org)) = state.store.org_by_slug(&q.org).await {
        if let Ok(Some(_)) = state.store.sso(&org.id).await {
            body.push_str(&format!(
                "<p><a href=\"/sso/start?org={}&amp;next={}\">Sign in with single sign-on</a></p><p>or with a password:</p>",
                percent(&org.slug),
                percent(&next)
            ));
        }
    }
    body.push_str(&login_form(&q.org, &next, None));
    render(StatusCode::OK, "Sign in", &body)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    org: String,
    email: String,
    password: Secret,
    #[serde(default)]
    totp: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

fn signed_in(state: &AppState, session: &WebSession, next: &str) -> Response {
    let mut resp = redirect(next);
    if let Some(c) = session.cookie(state) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

/// Turns an API error into the message a form shows (never internal detail).
fn form_error(e: &ApiError) -> String {
    match e {
        ApiError::Unavailable(_) | ApiError::Internal(_) => "something went wrong on our side; try again shortly".to_owned(),
        other => other.to_string().lines().next().unwrap_or_default().to_owned(),
    }
}

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    if !same_origin(&state, &headers) {
        return message(StatusCode::FORBIDDEN, "Sign in", "this form was posted from another site");
    }
    match sign_in_with_password(&state, &f.org, &f.email, &f.password, f.totp.as_deref(), peer.ip()).await {
        Ok(session) => signed_in(&state, &session, &next),
        Err(e) => {
            let status = match e {
                ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            render(status, "Sign in", &login_form(&f.org, &next, Some(&form_error(&e))))
        }
    }
}

/// Query of `GET /enroll`.
#[derive(Debug, Deserialize)]
pub struct EnrollQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    token: String,
}

fn enroll_form(org: &str, token: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    format!(
        "{error}<p>Choose a password for your Latch account in <b>{org}</b> (at least 12 characters).</p>\
         <form method=\"post\" action=\"/enroll\"><input type=\"hidden\" name=\"org\" value=\"{org}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <label for=\"confirm\">Again</label><input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <button type=\"submit\">Enroll</button></form>",
        org = esc(org),
        token = esc(token),
    )
}

/// `GET /enroll`.
pub async fn show_enroll(Query(q): Query<EnrollQuery>) -> Response {
    render(StatusCode::OK, "Enroll", &enroll_form(&q.org, &q.token, None))
}

/// The enrollment form.
#[derive(Debug, Deserialize)]
pub struct EnrollForm {
    org: String,
    token: Secret,
    password: Secret,
    confirm: Secret,
}

/// `POST /enroll`.
pub async fn submit_enroll(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<EnrollForm>) -> Response {
    if !same_origin(&state, &headers) {
        return message(StatusCode::FORBIDDEN, "Enroll", "this form was posted from another site");
    }
    if f.password != f.confirm {
        return render(StatusCode::BAD_REQUEST, "Enroll", &enroll_form(&f.org, f.token.expose(), Some("the passwords do not match")));
    }
    match enroll_with_token(&state, &f.org, &f.token, &f.password, None).await {
        Ok(session) => signed_in(&state, &session, "/"),
        Err(e) => render(StatusCode::BAD_REQUEST, "Enroll", &enroll_form(&f.org, f.token.expose(), Some(&form_error(&e)))),
    }
}
