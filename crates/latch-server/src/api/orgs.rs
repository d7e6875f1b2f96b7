//! The unauthenticated org lookup: tells a client how to sign in to an org
//! (`latch login acme` starts here).

use axum::extract::{Path, State};
use serde::Serialize;

use crate::api::openapi::StoreErrors;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// How to sign in to an org.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgLogin {
    /// The org's slug.
    slug: String,
    /// Display name.
    name: String,
    /// Where and how to sign in.
    login: LoginMethods,
}

/// Where and how to sign in to an org.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LoginMethods {
    /// RFC 8628 device authorization endpoint (the CLI's sign-in).
    device_authorization_endpoint: String,
    /// RFC 6749 token endpoint.
    token_endpoint: String,
    /// RFC 7009 revocation endpoint.
    revocation_endpoint: String,
    /// Password sign-in (`POST /v1/orgs/{slug}/login`).
    password_endpoint: String,
    /// The client id to use in the device flow.
    client_id: &'static str,
    /// Where a browser starts single sign-on, when the org has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_start: Option<String>,
}

/// The client id the CLI uses in the device flow.
pub const CLI_CLIENT_ID: &str = "latch-cli";

/// `GET /v1/orgs/{slug}`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{slug}",
    operation_id = "get_org_login",
    tag = "sign-in",
    params(("slug" = String, Path, description = "The org's slug.")),
    responses(
        (status = 200, description = "How to sign in to the org.", body = OrgLogin),
        (status = 404, description = "`not_found`: no org has this slug.", body = ErrorBody),
        StoreErrors,
    ),
)]
pub async fn lookup(State(state): State<AppState>, Path(slug): Path<String>) -> ApiResult<axum::Json<OrgLogin>> {
    let org = state.store.org_by_slug(&slug).await?.ok_or(ApiError::NotFound("org"))?;
    let base = format!("{}/v1/orgs/{}", state.config.public_url(), org.slug);
    let sso_start = state.store.sso(&org.id).await?.map(|_| format!("{}/sso/start?org={}", state.config.public_url(), org.slug));
    Ok(axum::Json(OrgLogin {
        slug: org.slug,
        name: org.name,
        login: LoginMethods {
            device_authorization_endpoint: format!("{base}/device/code"),
            token_endpoint: format!("{base}/token"),
            revocation_endpoint: format!("{base}/revoke"),
            password_endpoint: format!("{base}/login"),
            client_id: CLI_CLIENT_ID,
            sso_start,
        },
    }))
}
