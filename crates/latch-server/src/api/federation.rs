//! Federated mode over HTTP: each org's OpenID Connect discovery document
//! and keys (public: AWS fetches them), and web identity tokens for the
//! caller's active grants.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use latch_core::access::request::Request;
use latch_core::access::target::Target;
use latch_core::Timestamp;
use sha2::Digest as _;
use latch_core::access::lifecycle::State as RequestState;
use latch_core::access::target::Kind;
use latch_core::audit::NewAuditEvent;
use latch_core::integration::AwsMode;
use latch_core::model::Scope;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::openapi::{AuthErrors, CsrfHeader, JsonBodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};
use crate::federation;
use crate::state::AppState;

async fn org_id(state: &AppState, slug: &str) -> ApiResult<String> {
    Ok(state.store.org_by_slug(slug).await?.ok_or(ApiError::NotFound("org"))?.id)
}

/// `GET /oidc/{org}/.well-known/openid-configuration`.
#[utoipa::path(
    get,
    path = "/oidc/{org}/.well-known/openid-configuration",
    operation_id = "oidc_discovery",
    tag = "federation",
    params(("org" = String, Path, description = "The org's slug.")),
    responses(
        (status = 200, description = "The org's OpenID Connect discovery document (issuer, jwks_uri).", body = Object),
        (status = 404, description = "`not_found`: no such org.", body = ErrorBody),
    ),
)]
pub async fn discovery(State(state): State<AppState>, Path(org): Path<String>) -> ApiResult<axum::Json<Value>> {
    org_id(&state, &org).await?;
    Ok(axum::Json(federation::discovery(&state, &org)))
}

/// `GET /oidc/{org}/jwks.json`.
#[utoipa::path(
    get,
    path = "/oidc/{org}/jwks.json",
    operation_id = "oidc_jwks",
    tag = "federation",
    params(("org" = String, Path, description = "The org's slug.")),
    responses(
        (status = 200, description = "The org's token-signing public keys (JWK set).", body = Object),
        (status = 404, description = "`not_found`: no such org.", body = ErrorBody),
    ),
)]
pub async fn jwks(State(state): State<AppState>, Path(org): Path<String>) -> ApiResult<axum::Json<Value>> {
    let id = org_id(&state, &org).await?;
    Ok(axum::Json(federation::jwks(&state, &id).await?))
}

/// Body of `POST /v1/requests/{id}/web-identity-token`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenFor {
    /// Which account's role, when the request covers several.
    #[serde(default)]
    account: Option<String>,
}

/// A web identity token for `sts:AssumeRoleWithWebIdentity`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebIdentityToken {
    /// The signed token (a JWT). Treat it as a secret until it expires.
    token: String,
    /// The role it is for.
    role_arn: String,
    /// When it stops working: the grant's end, or an hour from now.
    expires_at: latch_core::Timestamp,
    /// The issuer, as the account's IAM OIDC provider names it.
    issuer: String,
}

/// `POST /v1/requests/{id}/web-identity-token`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/web-identity-token",
    operation_id = "web_identity_token",
    tag = "federation",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body = TokenFor,
    responses(
        (status = 200, description = "A token for the grant's role in a federated account, valid no longer than the grant.", body = WebIdentityToken),
        (status = 400, description = "`invalid_request`: the request has no role in a federated account (or several and no `account`).", body = ErrorBody),
        (status = 403, description = "`forbidden`: only the requester may have tokens for a grant; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not active.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn token(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<TokenFor>) -> ApiResult<axum::Json<WebIdentityToken>> {
    let (r, target, end) = federated_grant(&state, &caller, &id, body.account.as_deref()).await?;
    let (token, expires_at) = federation::mint(&state, &caller.0.org_id, &caller.0.org_slug, &caller.0.email, &target.name, &r.id, end).await?;
    let role_arn = crate::api::access::role_arn(&state, &caller.0.org_id, &target.account, &target.name).await?;
    // The token itself is never logged or audited.
    state
        .audit(&caller.0.org_id, NewAuditEvent::new(&caller.0.user_id, "federation.token_issued", &r.id).with(json!({"role_arn": role_arn, "expires_at": expires_at})))
        .await?;
    Ok(axum::Json(WebIdentityToken { token, role_arn, expires_at, issuer: federation::issuer(&state, &caller.0.org_slug) }))
}

/// The caller's active request `id`, its role in a federated account
/// (`account` chooses among several) and the grant's end.
// INVARIANT: federation credentials (tokens, assertions) are made only for
// the requester's own grant, active now, in a federated account.
async fn federated_grant(state: &AppState, caller: &Caller, id: &str, account: Option<&str>) -> ApiResult<(Request, Target, Timestamp)> {
    caller.require(Scope::Request)?;
    let r = crate::api::requests::load(state, &caller.0, id).await?;
    if r.requester_id != caller.0.user_id {
        return Err(ApiError::ForbiddenBecause("only the requester can have tokens for a grant".to_owned()));
    }
    let (RequestState::Active, Some(end)) = (r.state, r.expires_at) else {
        return Err(ApiError::InvalidState(format!("the request is {}, not active", r.state)));
    };
    if end <= state.now() {
        return Err(ApiError::InvalidState("the grant has ended".to_owned()));
    }
    let mut candidates = Vec::new();
    for t in r.targets.iter().filter(|t| t.integration == "aws" && t.kind == Kind::Role) {
        if account.is_some_and(|a| a != t.account) {
            continue;
        }
        let federated = state.store.aws_integration(&caller.0.org_id, &t.account).await?.is_some_and(|i| i.mode == AwsMode::Federated);
        if federated {
            candidates.push(t.clone());
        }
    }
    let target = match candidates.as_slice() {
        [one] => one.clone(),
        [] => return Err(ApiError::InvalidRequest("the request has no role in an AWS account installed in federated mode".to_owned())),
        _ => return Err(ApiError::InvalidRequest("the request covers several federated accounts\nhelp: name one with `account`".to_owned())),
    };
    Ok((r, target, end))
}

/// `GET /saml/{org}/metadata`.
#[utoipa::path(
    get,
    path = "/saml/{org}/metadata",
    operation_id = "saml_metadata",
    tag = "federation",
    params(("org" = String, Path, description = "The org's slug.")),
    responses(
        (status = 200, description = "The org's SAML 2.0 IdP metadata (entity ID `PUBLIC_URL/saml/ORG`, signing certificate): the document for `iam:CreateSAMLProvider`.", content_type = "application/samlmetadata+xml", body = String),
        (status = 404, description = "`not_found`: no such org.", body = ErrorBody),
    ),
)]
pub async fn saml_metadata(State(state): State<AppState>, Path(org): Path<String>) -> ApiResult<Response> {
    let id = org_id(&state, &org).await?;
    let xml = federation::saml_metadata(&state, &id, &org).await?;
    Ok(([(header::CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response())
}

/// A signed SAML response for `sts:AssumeRoleWithSAML`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SamlResponse {
    /// The base64 `samlp:Response`, as `AssumeRoleWithSAML` takes it. Treat
    /// it as a secret until it expires.
    saml_response: String,
    /// The role it is for.
    role_arn: String,
    /// The account's IAM SAML provider for Latch.
    principal_arn: String,
    /// When AWS stops accepting it: five minutes from now, or the grant's end.
    expires_at: Timestamp,
}

/// The role and SAML provider ARNs of a federated grant.
async fn saml_arns(state: &AppState, org_id: &str, target: &Target) -> ApiResult<(String, String)> {
    let role = crate::api::access::role_arn(state, org_id, &target.account, &target.name).await?;
    let provider = format!("arn:{}:iam::{}:saml-provider/{}", state.aws.partition(), target.account, state.aws.settings().saml_provider_name);
    Ok((role, provider))
}

async fn signed_saml(state: &AppState, caller: &Caller, id: &str, account: Option<&str>) -> ApiResult<SamlResponse> {
    let (r, target, end) = federated_grant(state, caller, id, account).await?;
    let (role_arn, principal_arn) = saml_arns(state, &caller.0.org_id, &target).await?;
    let (saml_response, expires_at) = federation::saml_response(state, (&caller.0.org_id, &caller.0.org_slug), &caller.0.email, &role_arn, &principal_arn, end).await?;
    // The assertion itself is never logged or audited.
    state
        .audit(&caller.0.org_id, NewAuditEvent::new(&caller.0.user_id, "federation.saml_issued", &r.id).with(json!({"role_arn": role_arn, "expires_at": expires_at})))
        .await?;
    Ok(SamlResponse { saml_response, role_arn, principal_arn, expires_at })
}

/// `POST /v1/requests/{id}/saml-response`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/saml-response",
    operation_id = "saml_response",
    tag = "federation",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The request id (`req_…`)."), CsrfHeader),
    request_body = TokenFor,
    responses(
        (status = 200, description = "A signed SAML response for the grant's role in a federated account, valid no longer than the grant.", body = SamlResponse),
        (status = 400, description = "`invalid_request`: the request has no role in a federated account (or several and no `account`).", body = ErrorBody),
        (status = 403, description = "`forbidden`: only the requester may have assertions for a grant; or `csrf_failed`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not active.", body = ErrorBody),
        JsonBodyErrors,
        AuthErrors,
    ),
)]
pub async fn saml_response(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, Json(body): Json<TokenFor>) -> ApiResult<axum::Json<SamlResponse>> {
    Ok(axum::Json(signed_saml(&state, &caller, &id, body.account.as_deref()).await?))
}

/// Query of `GET /saml/{org}/sso`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SsoQuery {
    /// The active request whose role to sign in to.
    request: String,
    /// Which account's role, when the request covers several.
    #[serde(default)]
    account: Option<String>,
}

/// The one script of the sign-in page (allowed by its hash).
const SUBMIT: &str = "document.forms[0].submit();";

/// `GET /saml/{org}/sso?request=ID`.
#[utoipa::path(
    get,
    path = "/saml/{org}/sso",
    operation_id = "saml_console_sign_in",
    tag = "federation",
    security(("bearer" = []), ("cookie" = [])),
    params(("org" = String, Path, description = "The org's slug."), SsoQuery),
    responses(
        (status = 200, description = "An HTML page that posts a signed SAML response for the grant's role to the AWS console sign-in (IdP-initiated).", content_type = "text/html", body = String),
        (status = 400, description = "`invalid_request`: the request has no role in a federated account.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request that the caller may see, or another org.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the request is not active.", body = ErrorBody),
        AuthErrors,
    ),
)]
pub async fn saml_console(State(state): State<AppState>, caller: Caller, Path(org): Path<String>, Query(q): Query<SsoQuery>) -> ApiResult<Response> {
    if org != caller.0.org_slug {
        return Err(ApiError::NotFound("org"));
    }
    let signed = signed_saml(&state, &caller, &q.request, q.account.as_deref()).await?;
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signing in to AWS</title></head><body>\
         <form method=\"post\" action=\"{aws}\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"{resp}\">\
         <p>Signing in to AWS as <code>{role}</code>…</p><button type=\"submit\">Continue to the AWS console</button></form>\
         <script>{SUBMIT}</script></body></html>",
        aws = crate::saml::AWS_SAML_AUDIENCE,
        resp = signed.saml_response,
        role = signed.role_arn.replace('&', "&amp;").replace('<', "&lt;"),
    );
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SUBMIT.as_bytes()));
    let csp = format!("default-src 'none'; script-src 'sha256-{hash}'; form-action {}; frame-ancestors 'none'; base-uri 'none'", crate::saml::AWS_SAML_AUDIENCE);
    let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()), (header::CONTENT_SECURITY_POLICY, csp), (header::CACHE_CONTROL, "no-store".to_owned())];
    Ok((headers, page).into_response())
}
