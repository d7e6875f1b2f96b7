//! The current caller.

use axum::extract::State;
use latch_core::model::{Group, Principal, Scope};

use crate::api::openapi::AuthErrors;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// `GET /v1/me`: who the credential belongs to (one query: this is the
/// hottest authenticated path).
#[utoipa::path(
    get,
    path = "/v1/me",
    operation_id = "get_me",
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The caller, as resolved from the credential.", body = Principal), AuthErrors),
)]
pub async fn get(caller: Caller) -> axum::Json<Principal> {
    let mut p = caller.0;
    p.last_used_at = None;
    axum::Json(p)
}

/// `GET /v1/me/groups`.
#[utoipa::path(
    get,
    path = "/v1/me/groups",
    operation_id = "get_my_groups",
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The groups the caller is in.", body = Vec<Group>), AuthErrors),
)]
pub async fn groups(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<Group>>> {
    caller.require(Scope::Read)?;
    Ok(axum::Json(state.store.user_groups(&caller.org_id, &caller.user_id).await?))
}
