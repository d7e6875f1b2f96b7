//! Waiting on a request without polling storms: `GET
//! /v1/requests/{id}/watch` streams newline-delimited JSON, one line with the
//! request now, one more each time its state changes, and a heartbeat line
//! every 15 seconds; the stream ends when the request reaches a final state,
//! or, with `?until=STATE`, as soon as it is that far along (a client waiting
//! for `active` then reads to the end and keeps its connection for the next
//! call, where dropping an open stream would cost it the connection).
//! A client whose connection drops simply reconnects: the first line is
//! the current state, so nothing is missed and nothing is re-submitted. (While
//! this replica is itself provisioning the request, the first line is the
//! state it last moved it to, not read again: a change another replica made
//! meanwhile follows within 250 ms, as any change made elsewhere does.)
//! A change made by this replica wakes the stream at once (with the request
//! as it now stands when the change knows it, so nothing is read again);
//! one made by another replica is seen at the next look (every 250 ms).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use latch_core::access::lifecycle;
use latch_core::access::request::Request;
use latch_core::model::Scope;
use serde_json::json;

use crate::api::openapi::AuthErrors;
use crate::api::requests::{load, shown};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Query;
use crate::state::{AppState, RequestChange};

/// How often the request is looked at (a single-row read).
const TICK: Duration = Duration::from_millis(250);
/// How often an idle stream says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Longest a stream stays open; clients reconnect.
const MAX_OPEN: Duration = Duration::from_secs(300);

struct Watch {
    state: AppState,
    org_id: String,
    id: String,
    /// The state last sent: only a request further along is sent next (a
    /// change heard late must not follow a newer read).
    last: lifecycle::State,
    changes: tokio::sync::broadcast::Receiver<RequestChange>,
    /// How far along ends the stream (a final state always does).
    until: u8,
    last_line: tokio::time::Instant,
    opened: tokio::time::Instant,
    done: bool,
}

/// Query of `GET /v1/requests/{id}/watch`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// End the stream once the request is in this state or further along
    /// (`pending` < `approved` < `provisioning` < `active` < `expiring` <
    /// every final state); without it, only a final state ends it.
    #[serde(default)]
    until: Option<String>,
}

impl WatchQuery {
    /// The progress that ends the stream.
    fn until(&self) -> ApiResult<u8> {
        let Some(name) = &self.until else { return Ok(lifecycle::State::Expired.progress()) };
        lifecycle::State::parse(name).map(lifecycle::State::progress).ok_or_else(|| {
            let names: Vec<&str> = lifecycle::State::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::InvalidRequest(format!("`until` must be a request state ({}), not `{name}`", names.join(", ")))
        })
    }
}

/// Returns when this replica changes request `id` (or may have: the
/// channel lagged), with the request as it now stands when the change says.
async fn changed(rx: &mut tokio::sync::broadcast::Receiver<RequestChange>, id: &str) -> Option<Arc<Request>> {
    loop {
        match rx.recv().await {
            Ok(changed) if &*changed.id == id => return changed.now,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return None,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// Whether a stream ending at progress `until` ends once the request is `s`.
fn ends(s: lifecycle::State, until: u8) -> bool {
    s.is_final() || s.progress() >= until
}

fn line(v: &serde_json::Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

fn snapshot(r: &Request) -> serde_json::Value {
    json!({"event": "state", "request": r})
}

/// `GET /v1/requests/{id}/watch`.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}/watch",
    operation_id = "watch_request",
    tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), WatchQuery),
    responses(
        (status = 200, description = "Newline-delimited JSON: `{\"event\":\"state\",\"request\":{…}}` now and at every change, `{\"event\":\"heartbeat\"}` every 15 s; ends at a final state, at `until`, or after 5 minutes (reconnect to go on).", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "`invalid_request`: `until` is not a request state.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn watch(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<WatchQuery>) -> ApiResult<Response> {
    caller.require(Scope::Read)?;
    let until = q.until()?;
    // Subscribed before the first read, so no change falls in between.
    let changes = state.request_changes.subscribe();
    // Visibility is checked once, up front, exactly as for `GET`. A request
    // this replica is provisioning right now is as it last moved it.
    let first = match state.handoff.in_hand(&caller.org_id, &id) {
        Some(r) => shown(&state, &caller, Arc::unwrap_or_clone(r)).await?,
        None => load(&state, &caller, &id).await?,
    };
    let first_line = line(&snapshot(&first));
    let w = Watch {
        state,
        org_id: caller.org_id.clone(),
        id: first.id.clone(),
        last: first.state,
        changes,
        until,
        last_line: tokio::time::Instant::now(),
        opened: tokio::time::Instant::now(),
        done: ends(first.state, until),
    };
    let head = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(first_line) });
    let rest = futures_util::stream::unfold(w, |mut w| async move {
        loop {
            if w.done || w.opened.elapsed() >= MAX_OPEN {
                return None;
            }
            let known = tokio::select! {
                () = tokio::time::sleep(TICK) => None,
                now = changed(&mut w.changes, &w.id) => now,
            };
            let looked = match known {
                Some(r) => Ok(Some(Arc::unwrap_or_clone(r))),
                None => w.state.store.request(&w.org_id, &w.id).await,
            };
            match looked {
                Ok(Some(r)) if r.state.progress() > w.last.progress() => {
                    w.last = r.state;
                    w.done = ends(r.state, w.until);
                    w.last_line = tokio::time::Instant::now();
                    return Some((Ok(line(&snapshot(&r))), w));
                }
                Ok(None) => return None,
                // A database hiccup: keep the stream, look again next tick.
                Ok(Some(_)) | Err(_) => {}
            }
            if w.last_line.elapsed() >= HEARTBEAT {
                w.last_line = tokio::time::Instant::now();
                return Some((Ok(line(&json!({"event": "heartbeat"}))), w));
            }
        }
    });
    let mut resp = Body::from_stream(futures_util::StreamExt::chain(head, rest)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
