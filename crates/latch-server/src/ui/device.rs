//! The page where a signed-in person checks a CLI sign-in's code and
//! approves or denies it.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::forms::{csrf_ok, session};
use super::page::{esc, message, percent, redirect, render};
use crate::api::device::{decide_code, pending};
use crate::auth::cookie;
use crate::state::AppState;

/// Query of `GET /device`.
#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    user_code: String,
}

/// `GET /device`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<DeviceQuery>) -> Response {
    let here = format!("/device?org={}&user_code={}", percent(&q.org), percent(&q.user_code));
    let Ok(Some((me, secret))) = session(&state, &headers).await else {
        return redirect(&format!("/login?org={}&next={}", percent(&q.org), percent(&here)));
    };
    if !q.org.is_empty() && q.org != me.org_slug {
        return message(StatusCode::FORBIDDEN, "Approve sign-in", &format!("you are signed in to `{}`, not `{}`: sign out first", me.org_slug, q.org));
    }
    if q.user_code.is_empty() {
        let body = "<form method=\"get\" action=\"/device\"><label for=\"c\">Code shown by the CLI</label>\
                    <input id=\"c\" name=\"user_code\" required><button type=\"submit\">Continue</button></form>";
        return render(StatusCode::OK, "Approve sign-in", body);
    }
    match pending(&state, &me, &q.user_code).await {
        Ok(p) => {
            let csrf = cookie::csrf_token(&secret);
            let body = format!(
                "<p>A command line on <b>{client}</b> asks to sign in to <b>{org}</b> as <b>{email}</b>.</p>\
                 <p>Check that it shows this code:</p><p class=\"code\">{code}</p>\
                 <form method=\"post\" action=\"/device\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"user_code\" value=\"{code}\">\
                 <button name=\"decision\" value=\"approve\">Approve</button> <button name=\"decision\" value=\"deny\">Deny</button></form>",
                client = esc(if p.client_name.is_empty() { "an unnamed machine" } else { &p.client_name }),
                org = esc(&me.org_slug),
                email = esc(&me.email),
                code = esc(&p.user_code),
            );
            render(StatusCode::OK, "Approve sign-in", &body)
        }
        Err(_) => message(StatusCode::NOT_FOUND, "Approve sign-in", "no pending sign-in has this code; it may have expired"),
    }
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    csrf: String,
    user_code: String,
    decision: String,
}

/// `POST /device`.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<DecisionForm>) -> Response {
    let Ok(Some((me, secret))) = session(&state, &headers).await else {
        return message(StatusCode::UNAUTHORIZED, "Approve sign-in", "sign in first");
    };
    if !csrf_ok(&f.csrf, &secret) {
        return message(StatusCode::FORBIDDEN, "Approve sign-in", "the form expired or was not sent by Latch; reload the page");
    }
    let approve = f.decision == "approve";
    match decide_code(&state, &me, &f.user_code, approve).await {
        Ok(()) if approve => message(StatusCode::OK, "Signed in", "the command line is signed in; you can close this page"),
        Ok(()) => message(StatusCode::OK, "Sign-in denied", "the command line was refused"),
        Err(_) => message(StatusCode::NOT_FOUND, "Approve sign-in", "no pending sign-in has this code; it may have expired"),
    }
}
