//! The unauthenticated org lookup: tells a client how to sign in to an org
//! (`latch login acme` starts here).

use axum::extract::{Path, State};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How to sign in to an org.
#[derive(Debug, Serialize)]
pub struct OrgLogin {
    slug: String,
    name: String,
    login: LoginMethods,
}

#[derive(Debug, Serialize)]
struct LoginMethods {
    device_authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    password_endpoint: String,
    client_id: &'static str,
    /// Where a browser starts single sign-on, when the org has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_start: Option<String>,
}

/// The client id the CLI uses in the device flow.
pub const CLI_CLIENT_ID: &str = "latch-cli";

/// `GET /v1/orgs/{slug}`.
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
