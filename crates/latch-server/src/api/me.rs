//! The current caller.

use axum::extract::State;
use latch_core::model::{Group, Principal};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// `GET /v1/me`: who the credential belongs to (one query: this is the
/// hottest authenticated path).
pub async fn get(caller: Caller) -> axum::Json<Principal> {
    let mut p = caller.0;
    p.last_used_at = None;
    axum::Json(p)
}

/// `GET /v1/me/groups`.
pub async fn groups(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<Group>>> {
    Ok(axum::Json(state.store.user_groups(&caller.org_id, &caller.user_id).await?))
}
