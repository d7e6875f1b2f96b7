//! The stand-in's own part: the page a person opens from
//! `verificationUriComplete` to approve or deny a device request, playing
//! the IAM Identity Center sign-in and consent in their browser.
//!
//! `GET /start?user_code=X` shows a form; `POST /start/approve` takes the
//! form or JSON `{"user_code", "user_name", "approve"}` and binds the request
//! to the Identity Store user with that `UserName` (or denies it). Errors
//! answer `{"error": {"code", "message"}}` to JSON and a short page to forms.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use super::{Decision, Shared};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/start", get(page)).route("/start/approve", post(approve))
}

/// Why a decision could not be recorded.
#[derive(Debug)]
pub(crate) enum ApprovalError {
    UnknownCode(String),
    Expired(String),
    AlreadyDecided(String),
    NoSuchUser(String),
    MissingUserName,
    BadRequest(String),
    Internal(anyhow::Error),
}

impl ApprovalError {
    /// The error for Rust callers, keeping an internal error's detail.
    pub(crate) fn into_anyhow(self) -> anyhow::Error {
        match self {
            Self::Internal(e) => e,
            other => anyhow::anyhow!("{other}"),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::UnknownCode(_) => (StatusCode::NOT_FOUND, "user_code_not_found"),
            Self::Expired(_) => (StatusCode::BAD_REQUEST, "user_code_expired"),
            Self::AlreadyDecided(_) => (StatusCode::CONFLICT, "already_decided"),
            Self::NoSuchUser(_) => (StatusCode::BAD_REQUEST, "user_not_found"),
            Self::MissingUserName => (StatusCode::BAD_REQUEST, "user_name_required"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl fmt::Display for ApprovalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCode(c) => write!(f, "no device request has user code `{c}`"),
            Self::Expired(c) => write!(f, "the device request `{c}` has expired\nhelp: start the sign-in again"),
            Self::AlreadyDecided(c) => write!(f, "the device request `{c}` was already approved or denied"),
            Self::NoSuchUser(u) => write!(f, "the identity store has no user named `{u}`"),
            Self::MissingUserName => write!(f, "a user name is required to approve"),
            Self::BadRequest(m) => write!(f, "{m}"),
            Self::Internal(_) => write!(f, "internal error"),
        }
    }
}

/// Records the person's decision on the request shown as `user_code`:
/// approved as the Identity Store user `user_name`, or denied when `None`.
pub(crate) async fn decide(shared: &Shared, user_code: &str, user_name: Option<&str>) -> Result<(), ApprovalError> {
    let code = user_code.trim().to_ascii_uppercase();
    let device_code = check_pending(shared, &code)?;
    let decision = match user_name {
        None => Decision::Denied,
        Some(name) => {
            let name = name.trim();
            if name.is_empty() {
                return Err(ApprovalError::MissingUserName);
            }
            match shared.backing.find_user(name).await {
                Ok(Some(person)) => Decision::Approved(person),
                Ok(None) => return Err(ApprovalError::NoSuchUser(name.to_owned())),
                Err(e) => return Err(ApprovalError::Internal(e)),
            }
        }
    };
    // Checked again: another decision may have landed during the lookup.
    check_pending(shared, &code)?;
    if let Some(device) = shared.state().devices.get_mut(&device_code) {
        device.decision = decision;
    }
    Ok(())
}

/// The device code behind `code` if its request still awaits a decision.
fn check_pending(shared: &Shared, code: &str) -> Result<String, ApprovalError> {
    let now = shared.now();
    let state = shared.state();
    let device_code = state.user_codes.get(code).ok_or_else(|| ApprovalError::UnknownCode(code.to_owned()))?;
    let device = state.devices.get(device_code).ok_or_else(|| ApprovalError::UnknownCode(code.to_owned()))?;
    if !matches!(device.decision, Decision::Pending) {
        return Err(ApprovalError::AlreadyDecided(code.to_owned()));
    }
    if device.expires_at <= now {
        return Err(ApprovalError::Expired(code.to_owned()));
    }
    Ok(device_code.clone())
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    user_code: Option<String>,
}

async fn page(Query(q): Query<PageQuery>) -> Html<String> {
    let code = escape(q.user_code.as_deref().unwrap_or_default());
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize request - Latch SSO stand-in</title></head>
<body>
<h1>Authorize request</h1>
<p>A device is asking to sign in to AWS access with this code. Allow it only if you started it.</p>
<form method="post" action="/start/approve">
<p><label>Code <input name="user_code" value="{code}" required></label></p>
<p><label>User name <input name="user_name" autocomplete="username" autofocus></label></p>
<p><button type="submit" name="approve" value="true">Allow</button>
<button type="submit" name="approve" value="false">Deny</button></p>
</form>
</body></html>
"#
    ))
}

#[derive(Deserialize)]
struct ApproveInput {
    user_code: String,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    approve: Option<bool>,
}

async fn approve(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    let input = if json {
        Json::<ApproveInput>::from_request(req, &()).await.map(|Json(i)| i).map_err(|e| ApprovalError::BadRequest(e.body_text()))
    } else {
        Form::<ApproveInput>::from_request(req, &()).await.map(|Form(i)| i).map_err(|e| ApprovalError::BadRequest(e.body_text()))
    };
    let allow = input.as_ref().map_or(true, |i| i.approve.unwrap_or(true));
    let result = match &input {
        Ok(i) if allow => decide(&shared, &i.user_code, Some(i.user_name.as_deref().unwrap_or_default())).await,
        Ok(i) => decide(&shared, &i.user_code, None).await,
        Err(_) => Ok(()),
    };
    let result = input.and(result);
    let outcome = if allow { "approved" } else { "denied" };
    match (result, json) {
        (Ok(()), true) => Json(serde_json::json!({ "status": outcome })).into_response(),
        (Ok(()), false) => Html(format!("<!doctype html><html lang=\"en\"><body><h1>Request {outcome}</h1><p>You can close this window.</p></body></html>\n")).into_response(),
        (Err(e), json) => {
            if let ApprovalError::Internal(inner) = &e {
                eprintln!("sso stand-in: internal error: {inner:#}");
            }
            let (status, code) = e.status_and_code();
            let message = e.to_string();
            if json {
                (status, Json(serde_json::json!({ "error": { "code": code, "message": message } }))).into_response()
            } else {
                (status, Html(format!("<!doctype html><html lang=\"en\"><body><h1>Not done</h1><p>{}</p></body></html>\n", escape(&message)))).into_response()
            }
        }
    }
}

/// Text made safe to place in HTML.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
