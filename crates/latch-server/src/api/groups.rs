//! Groups of the caller's org: local groups are managed here; IdP groups are
//! mirrored at SSO sign-in and read-only here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::{Group, GroupSource, Scope, User};
use latch_core::validate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::api::users::resolve;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `POST /v1/groups`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// Unique in the org.
    name: String,
}

/// A group with its members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    group: Group,
    /// The members.
    members: Vec<User>,
}

async fn find(state: &AppState, org_id: &str, name: &str) -> ApiResult<Group> {
    state.store.group_by_name(org_id, name).await?.ok_or(ApiError::NotFound("group"))
}

fn local_only(g: &Group) -> ApiResult<()> {
    match g.source {
        GroupSource::Local => Ok(()),
        GroupSource::Idp => Err(ApiError::InvalidRequest(format!(
            "group `{}` is synced from the identity provider\nhelp: change its membership there",
            g.name
        ))),
    }
}

/// `GET /v1/groups`.
#[utoipa::path(
    get,
    path = "/v1/groups",
    operation_id = "list_groups",
    tag = "groups",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The groups of the caller's org.", body = Vec<Group>),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<Group>>> {
    caller.require(Scope::Read)?;
    Ok(axum::Json(state.store.list_groups(&caller.org_id).await?))
}

/// `GET /v1/groups/{group}`.
#[utoipa::path(
    get,
    path = "/v1/groups/{group}",
    operation_id = "get_group",
    tag = "groups",
    security(("bearer" = []), ("cookie" = [])),
    params(("group" = String, Path, description = "The group's name.")),
    responses(
        (status = 200, description = "The group with its members.", body = GroupDetail),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such group in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<axum::Json<GroupDetail>> {
    caller.require(Scope::Read)?;
    let group = find(&state, &caller.org_id, &name).await?;
    let members = state.store.group_members(&caller.org_id, &group.id).await?;
    Ok(axum::Json(GroupDetail { group, members }))
}

/// `POST /v1/groups`.
#[utoipa::path(
    post,
    path = "/v1/groups",
    operation_id = "create_group",
    tag = "groups",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = CreateGroup,
    responses(
        (status = 201, description = "The new local group.", body = Group),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the name is not acceptable.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 409, description = "`conflict`: a group with this name exists.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateGroup>,
) -> ApiResult<(StatusCode, axum::Json<Group>)> {
    caller.require(Scope::Admin)?;
    validate::group_name(&body.name).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let g = state.store.create_group(&caller.org_id, &body.name, GroupSource::Local, state.now()).await.map_err(|e| {
        match ApiError::from(e) {
            ApiError::Conflict(_) => ApiError::Conflict(format!("a group named `{}` already exists", body.name)),
            other => other,
        }
    })?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "group.created", &g.id).with(json!({"name": g.name}))).await?;
    Ok((StatusCode::CREATED, axum::Json(g)))
}

/// `DELETE /v1/groups/{group}`.
#[utoipa::path(
    delete,
    path = "/v1/groups/{group}",
    operation_id = "delete_group",
    tag = "groups",
    security(("bearer" = []), ("cookie" = [])),
    params(("group" = String, Path, description = "The group's name."), CsrfHeader),
    responses(
        (status = 204, description = "The group is gone."),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such group in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let g = find(&state, &caller.org_id, &name).await?;
    state.store.delete_group(&caller.org_id, &g.id).await?;
    state.audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "group.deleted", &g.id).with(json!({"name": g.name}))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The local group and the user a membership change names (admins only).
async fn membership(state: &AppState, caller: &Caller, group: &str, user: &str) -> ApiResult<(Group, User)> {
    caller.require(Scope::Admin)?;
    let g = find(state, &caller.org_id, group).await?;
    local_only(&g)?;
    let u = resolve(state, &caller.org_id, user).await?;
    Ok((g, u))
}

/// `PUT /v1/groups/{group}/members/{user}`.
#[utoipa::path(
    put,
    path = "/v1/groups/{group}/members/{user}",
    operation_id = "add_group_member",
    tag = "groups",
    security(("bearer" = []), ("cookie" = [])),
    params(("group" = String, Path, description = "The group's name."), ("user" = String, Path, description = "A user id (`usr_…`) or email in the caller's org."), CsrfHeader),
    responses(
        (status = 204, description = "The user is a member (also when they already were)."),
        (status = 400, description = "`invalid_request`: the group is synced from the identity provider, or the user key is neither an id nor an email.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such group or user in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (g, u) = membership(&state, &caller, &name, &key).await?;
    state.store.add_member(&caller.org_id, &g.id, &u.id).await?;
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "group.member_added", &g.id).with(json!({"user": u.id})))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/groups/{group}/members/{user}`.
#[utoipa::path(
    delete,
    path = "/v1/groups/{group}/members/{user}",
    operation_id = "remove_group_member",
    tag = "groups",
    security(("bearer" = []), ("cookie" = [])),
    params(("group" = String, Path, description = "The group's name."), ("user" = String, Path, description = "A user id (`usr_…`) or email in the caller's org."), CsrfHeader),
    responses(
        (status = 204, description = "The user is no longer a member."),
        (status = 400, description = "`invalid_request`: the group is synced from the identity provider, or the user key is neither an id nor an email.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such group, user or membership in the caller's org.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (g, u) = membership(&state, &caller, &name, &key).await?;
    state.store.remove_member(&caller.org_id, &g.id, &u.id).await.map_err(|e| match ApiError::from(e) {
        ApiError::NotFound(_) => ApiError::NotFound("membership"),
        other => other,
    })?;
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "group.member_removed", &g.id).with(json!({"user": u.id})))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
