//! People in the caller's org: add (with a one-time enrollment link), list,
//! change role, remove. Admin only, except reading oneself.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use latch_core::audit::NewAuditEvent;
use latch_core::model::{Role, Scope, User};
use latch_core::store::NewUser;
use latch_core::token::{mint, TokenKind};
use latch_core::{validate, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

/// Body of `POST /v1/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The person's email, unique in the org.
    email: String,
    /// Display name.
    #[serde(default)]
    name: Option<String>,
    /// Defaults to `member`.
    #[serde(default)]
    role: Option<Role>,
}

/// A one-time link for a user to set their password.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnrollmentLink {
    /// Open this to enroll.
    pub url: String,
    /// The token in the link, for `POST /v1/orgs/{slug}/enroll`.
    pub token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Response of `POST /v1/users`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    /// The new user.
    user: User,
    /// Give this to the person so they can set a password.
    enrollment: EnrollmentLink,
}

/// Creates a one-time enrollment for `user_id` and returns its link.
pub async fn enrollment_link(state: &AppState, org_id: &str, org_slug: &str, user_id: &str) -> ApiResult<EnrollmentLink> {
    let m = mint(TokenKind::Enrollment);
    let expires_at = state.now().plus(Duration::from_secs(state.config.auth.enrollment_secs));
    state.store.create_enrollment(org_id, user_id, &m.hash, expires_at).await?;
    let token = m.secret.expose().to_owned();
    Ok(EnrollmentLink {
        url: format!("{}/enroll?org={org_slug}&token={token}", state.config.public_url()),
        token,
        expires_at,
    })
}

/// Finds a user of the caller's org by id (`usr_…`) or email.
pub async fn resolve(state: &AppState, org_id: &str, key: &str) -> ApiResult<User> {
    let found = if key.starts_with("usr_") {
        state.store.user_by_id(org_id, key).await?
    } else {
        let email = validate::email(key).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        state.store.user_secrets_by_email(org_id, &email).await?.map(|s| s.user)
    };
    found.ok_or(ApiError::NotFound("user"))
}

/// `GET /v1/users`.
#[utoipa::path(
    get,
    path = "/v1/users",
    operation_id = "list_users",
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The people in the caller's org.", body = Vec<User>),
        (status = 403, description = "`forbidden`: approvers and admins only, with the `read` scope.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<User>>> {
    caller.require(Scope::Read)?;
    if caller.role < Role::Approver {
        return Err(ApiError::Forbidden);
    }
    Ok(axum::Json(state.store.list_users(&caller.org_id).await?))
}

/// `GET /v1/users/{user}`.
#[utoipa::path(
    get,
    path = "/v1/users/{user}",
    operation_id = "get_user",
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("user" = String, Path, description = "A user id (`usr_…`) or email in the caller's org.")),
    responses(
        (status = 200, description = "The user.", body = User),
        (status = 400, description = "`invalid_request`: the key is neither a user id nor an email.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the `read` scope.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in the caller's org (members see only themselves).", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<axum::Json<User>> {
    caller.require(Scope::Read)?;
    let user = resolve(&state, &caller.org_id, &key).await?;
    if user.id != caller.user_id && caller.role < Role::Approver {
        return Err(ApiError::NotFound("user"));
    }
    Ok(axum::Json(user))
}

/// `POST /v1/users`.
#[utoipa::path(
    post,
    path = "/v1/users",
    operation_id = "create_user",
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(CsrfHeader),
    request_body = CreateUser,
    responses(
        (status = 201, description = "The user, and a one-time enrollment link for them.", body = CreatedUser),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the email or name is not acceptable.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 409, description = "`conflict`: a user with this email exists.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<CreatedUser>)> {
    caller.require(Scope::Admin)?;
    let email = validate::email(&body.email).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let name = body.name.unwrap_or_default();
    validate::display_name(&name).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let role = body.role.unwrap_or(Role::Member);
    let new = NewUser { email: email.clone(), name, role, password_hash: None };
    let user = state.store.create_user(&caller.org_id, &new, state.now()).await.map_err(|e| match ApiError::from(e) {
        ApiError::Conflict(_) => ApiError::Conflict(format!("a user with email `{email}` already exists")),
        other => other,
    })?;
    let enrollment = enrollment_link(&state, &caller.org_id, &caller.org_slug, &user.id).await?;
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "user.created", &user.id).with(json!({"email": email, "role": role})))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedUser { user, enrollment })))
}

/// Body of `PATCH /v1/users/{user}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// The new role.
    role: Role,
}

async fn other_admins(state: &AppState, org_id: &str, user_id: &str) -> ApiResult<usize> {
    let users = state.store.list_users(org_id).await?;
    Ok(users.iter().filter(|u| u.role == Role::Admin && u.id != user_id).count())
}

/// `PATCH /v1/users/{user}`: change role.
#[utoipa::path(
    patch,
    path = "/v1/users/{user}",
    operation_id = "update_user",
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("user" = String, Path, description = "A user id (`usr_…`) or email in the caller's org."), CsrfHeader),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The user, with the new role.", body = User),
        (status = 400, description = "`invalid_json`; or `invalid_request`: the key is neither a user id nor an email.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in the caller's org.", body = ErrorBody),
        (status = 409, description = "`conflict`: the org must keep at least one admin.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<axum::Json<User>> {
    caller.require(Scope::Admin)?;
    let mut user = resolve(&state, &caller.org_id, &key).await?;
    if user.role == Role::Admin && body.role != Role::Admin && other_admins(&state, &caller.org_id, &user.id).await? == 0 {
        return Err(ApiError::Conflict("the org must keep at least one admin".to_owned()));
    }
    state.store.set_role(&caller.org_id, &user.id, body.role).await?;
    state
        .audit(
            &caller.org_id,
            NewAuditEvent::new(&caller.user_id, "user.role_changed", &user.id).with(json!({"from": user.role, "to": body.role})),
        )
        .await?;
    user.role = body.role;
    Ok(axum::Json(user))
}

/// `DELETE /v1/users/{user}`: removes the user and every credential they hold.
#[utoipa::path(
    delete,
    path = "/v1/users/{user}",
    operation_id = "delete_user",
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("user" = String, Path, description = "A user id (`usr_…`) or email in the caller's org."), CsrfHeader),
    responses(
        (status = 204, description = "The user and their credentials are gone."),
        (status = 400, description = "`invalid_request`: the key is neither a user id nor an email.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only, with the `admin` scope; or `csrf_failed`: a cookie call without the right `X-CSRF-Token`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user in the caller's org.", body = ErrorBody),
        (status = 409, description = "`conflict`: the org must keep at least one admin.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let user = resolve(&state, &caller.org_id, &key).await?;
    if user.role == Role::Admin && other_admins(&state, &caller.org_id, &user.id).await? == 0 {
        return Err(ApiError::Conflict("the org must keep at least one admin".to_owned()));
    }
    state.store.delete_user(&caller.org_id, &user.id).await?;
    state
        .audit(&caller.org_id, NewAuditEvent::new(&caller.user_id, "user.deleted", &user.id).with(json!({"email": user.email})))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
