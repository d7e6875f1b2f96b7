//! The browser side of single sign-on: `/sso/start` sends the person to the
//! org's provider; `/sso/callback` verifies what comes back and signs them in.
//!
//! The `state` value is bound to the browser that started the sign-in by a
//! short-lived cookie (SameSite=Lax, since the provider's redirect back is a
//! cross-site navigation), so a callback URL lured into another browser
//! cannot sign that browser in as someone else.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use latch_core::audit::NewAuditEvent;
use latch_core::store::NewUser;
use latch_core::validate;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use super::page::{esc, message, redirect, render, safe_next};
use crate::api::session::start_session;
use crate::sso::{self, SsoError};
use crate::state::AppState;

const FLOW_COOKIE: &str = "latch_sso";

/// Query of `GET /sso/start`.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    org: String,
    #[serde(default)]
    next: Option<String>,
}

fn problem(e: &SsoError) -> Response {
    match e {
        SsoError::Provider(detail) | SsoError::Invalid(detail) => tracing::warn!(error = %e, detail = %detail, "single sign-on failed"),
        SsoError::Store(inner) => tracing::error!(error = ?inner, "single sign-on failed"),
        SsoError::Server(inner) => tracing::error!(error = ?inner, "single sign-on failed"),
        _ => {}
    }
    let status = match e {
        SsoError::NotConfigured => StatusCode::NOT_FOUND,
        SsoError::Provider(_) => StatusCode::BAD_GATEWAY,
        SsoError::Store(_) | SsoError::Server(_) => StatusCode::SERVICE_UNAVAILABLE,
        SsoError::BadState | SsoError::Invalid(_) | SsoError::NoEmail => StatusCode::BAD_REQUEST,
        SsoError::UnknownUser(_) => StatusCode::FORBIDDEN,
    };
    message(status, "Single sign-on", &e.to_string())
}

fn flow_cookie(state: &AppState, value: &str, max_age: u64) -> Option<HeaderValue> {
    let secure = if state.config.is_tls() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{FLOW_COOKIE}={value}; Path=/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")).ok()
}

/// `GET /sso/start?org=…&next=…`.
pub async fn start(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Response {
    let result = async {
        let org = state.store.org_by_slug(&q.org).await?.ok_or(SsoError::NotConfigured)?;
        let cfg = state.store.sso(&org.id).await?.ok_or(SsoError::NotConfigured)?;
        sso::begin(&state, &org.id, &cfg, &safe_next(q.next.as_deref())).await
    }
    .await;
    match result {
        Ok((url, state_value)) => {
            let mut resp = redirect(&url);
            if let Some(c) = flow_cookie(&state, &state_value, 600) {
                resp.headers_mut().insert(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => problem(&e),
    }
}

/// Query of `GET /sso/callback`.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

fn browser_flow(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == FLOW_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// `GET /sso/callback`.
pub async fn callback(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> Response {
    if let Some(err) = q.error {
        return message(StatusCode::BAD_REQUEST, "Single sign-on", &format!("the identity provider refused the sign-in: {err}"));
    }
    let (Some(code), Some(state_value)) = (q.code, q.state) else {
        return problem(&SsoError::BadState);
    };
    let same_browser = browser_flow(&headers).is_some_and(|c| bool::from(c.as_bytes().ct_eq(state_value.as_bytes())));
    if !same_browser {
        return problem(&SsoError::BadState);
    }
    let flow = match sso::take(&state, &state_value).await {
        Ok(f) => f,
        Err(e) => return problem(&e),
    };
    match sign_in(&state, &flow, &code).await {
        Ok(resp) => resp,
        Err(e) => {
            let event = NewAuditEvent::new("anonymous", "auth.sign_in_failed", "").with(json!({"method": "sso", "reason": e.to_string()}));
            if let Err(audit) = state.audit(&flow.org_id, event).await {
                tracing::error!(error = %audit, "could not audit a failed sign-in");
            }
            problem(&e)
        }
    }
}

async fn sign_in(state: &AppState, flow: &latch_core::store::SsoState, code: &str) -> Result<Response, SsoError> {
    let cfg = state.store.sso(&flow.org_id).await?.ok_or(SsoError::NotConfigured)?;
    let who = sso::finish(state, &cfg, flow, code).await?;
    let email = validate::email(&who.email).map_err(|_| SsoError::NoEmail)?;
    let user = match state.store.user_secrets_by_email(&flow.org_id, &email).await? {
        Some(s) => s.user,
        None if cfg.auto_create => {
            let new = NewUser { email: email.clone(), name: who.name.clone().unwrap_or_default(), role: cfg.default_role, password_hash: None };
            let user = state.store.create_user(&flow.org_id, &new, state.now()).await?;
            let event = NewAuditEvent::new("system", "user.created", &user.id).with(json!({"email": email, "role": cfg.default_role, "via": "sso"}));
            state.audit(&flow.org_id, event).await?;
            user
        }
        None => return Err(SsoError::UnknownUser(email)),
    };
    let mut groups: Vec<String> = who.groups.into_iter().filter(|g| validate::group_name(g).is_ok()).collect();
    groups.sort();
    groups.dedup();
    state.store.sync_idp_groups(&flow.org_id, &user.id, &groups, state.now()).await?;
    let event = NewAuditEvent::new(&user.id, "auth.sign_in", &user.id).with(json!({"method": "sso", "groups": groups}));
    state.audit(&flow.org_id, event).await?;
    let session = start_session(state, user).await?;
    // A page rather than a redirect: the session cookie is SameSite=Strict,
    // and browsers withhold it on the rest of a redirect chain that began at
    // another site (the provider).
    let next = safe_next(Some(&flow.next));
    let body = format!(
        "<meta http-equiv=\"refresh\" content=\"0;url={next}\"><p>Signed in as <b>{email}</b>. <a href=\"{next}\">Continue</a></p>",
        next = esc(&next),
        email = esc(&session.user.email),
    );
    let mut resp = render(StatusCode::OK, "Signed in", &body);
    if let Some(c) = session.cookie(state) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    if let Some(c) = flow_cookie(state, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}
