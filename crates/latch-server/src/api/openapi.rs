//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers'
//! own types and `#[utoipa::path]` attributes, served at `/v1/openapi.json`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

/// The name of the bearer security scheme in the document.
pub(crate) const BEARER: &str = "bearer";
/// The name of the session-cookie security scheme in the document.
pub(crate) const COOKIE: &str = "cookie";

/// The document; paths are listed here and must match `api::ROUTES`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latch",
        description = "The HTTP API of the Latch control plane.\n\n\
            Errors share one body, `{\"error\": {\"code\", \"message\", \"request_id\"}}` (see `ErrorBody` and \
            `ErrorCode` for the stable codes), except the OAuth endpoints' own errors, which follow \
            RFC 6749 §5.2 (`{\"error\", \"error_description\"}`, see `OAuthError`).\n\n\
            Authenticated calls take an `Authorization: Bearer` token (an API token or a CLI access token) or \
            the browser session cookie; with the cookie, every call other than `GET`, `HEAD` and `OPTIONS` \
            must also send the `X-CSRF-Token` header returned at sign-in.",
    ),
    paths(
        document,
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        super::orgs::lookup,
        super::session::login,
        super::session::enroll,
        super::session::logout,
        super::device::code,
        super::device::token,
        super::device::revoke,
        super::device::lookup,
        super::device::decide,
        super::me::get,
        super::me::groups,
        super::totp::begin,
        super::totp::confirm,
        super::totp::disable,
        super::totp::reset,
        super::users::list,
        super::users::create,
        super::users::get,
        super::users::update,
        super::users::delete,
        super::groups::list,
        super::groups::create,
        super::groups::get,
        super::groups::delete,
        super::groups::add_member,
        super::groups::remove_member,
        super::tokens::list,
        super::tokens::create,
        super::tokens::revoke,
        super::audit::page,
        super::jobs::dead,
        super::sso::get,
        super::sso::put,
        super::sso::delete,
        super::policy::apply,
        super::policy::show,
        super::requests::create,
        super::requests::list,
        super::requests::get,
        super::requests::approve,
        super::requests::deny,
        super::requests::cancel,
        super::requests::revoke,
        super::requests::relinquish,
        super::watch::watch,
        super::requests::extend,
        super::webhooks::add,
        super::webhooks::list,
        super::webhooks::delete,
        super::access::accounts,
        super::access::list,
        super::effective::who_can,
        super::effective::what_can,
        super::aws::install,
        super::aws::list,
        super::aws::remove,
        super::aws::verify,
        super::aws::sync,
        super::aws::sync_status,
        super::aws::inventory,
        super::aws::changes,
        super::aws::create_iam_user,
        super::aws::delete_iam_user,
        super::federation::token,
        super::federation::discovery,
        super::federation::jwks,
        super::federation::saml_metadata,
        super::federation::saml_response,
        super::federation::saml_console,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorCode, super::oauth::OAuthError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Liveness, readiness, metrics and this document."),
        (name = "sign-in", description = "How to sign in to an org; password and enrollment sign-in; sign-out."),
        (name = "oauth", description = "CLI sign-in: the OAuth 2.0 device authorization grant (RFC 8628), refresh and revocation (RFC 7009). Form-encoded bodies; errors per RFC 6749 §5.2."),
        (name = "device", description = "Approving a CLI sign-in as the signed-in person."),
        (name = "me", description = "The caller, and their second factor."),
        (name = "users", description = "People in the caller's org."),
        (name = "groups", description = "Groups in the caller's org."),
        (name = "tokens", description = "API tokens for automation."),
        (name = "audit", description = "The org's audit chain."),
        (name = "sso", description = "The org's single sign-on settings."),
        (name = "access", description = "Access policies and requests."),
        (name = "aws", description = "Connected AWS accounts: install, verify, sync, inventory, IAM users."),
        (name = "federation", description = "Latch as the OpenID Connect provider AWS trusts (federated mode)."),
    ),
)]
pub(crate) struct ApiDoc;

/// Adds the two ways to authenticate.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`latch_pat_…`, from `POST /v1/tokens`) or a CLI access token \
                         (`latch_at_…`, from the device flow at `POST /v1/orgs/{slug}/token`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::cookie::NAME,
                "The browser session cookie set at sign-in. Every call other than `GET`, `HEAD` and \
                 `OPTIONS` made with it must also send the `X-CSRF-Token` header with the `csrf_token` \
                 returned at sign-in; otherwise it fails with `403 csrf_failed`.",
            ))),
        );
    }
}

/// The CSRF header of state-changing calls made with the session cookie.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "only describes the header; `auth::caller` reads it")]
pub(crate) struct CsrfHeader {
    /// Required with the session cookie (the `csrf_token` returned at
    /// sign-in); not used with a bearer token.
    #[param(rename = "X-CSRF-Token", nullable = false)]
    x_csrf_token: Option<String>,
}

fn error(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter().map(|(status, description)| ((*status).to_owned(), error(description))).collect()
}

/// The failures any call that reads the database may have.
pub(crate) struct StoreErrors;

impl IntoResponses for StoreErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("500", "`internal`: a bug or corrupt data; the detail is in the server log under the request id."),
            ("503", "`unavailable`: the database is unreachable; retry shortly."),
        ])
    }
}

/// The failures of any authenticated call: no credential, plus [`StoreErrors`].
pub(crate) struct AuthErrors;

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut out = responses(&[("401", "`unauthenticated`: no valid credential was presented.")]);
        out.extend(StoreErrors::responses());
        out
    }
}

/// The failures of reading a JSON body (the 400 `invalid_json` is listed
/// with each call's own 400s).
pub(crate) struct JsonBodyErrors;

impl IntoResponses for JsonBodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("413", "`payload_too_large`: the body is over 64 KiB."),
            ("415", "`unsupported_media_type`: the body is not `application/json`."),
        ])
    }
}

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapi_document",
    tag = "health",
    responses((status = 200, description = "This document (OpenAPI 3.1).", content_type = "application/json", body = Object)),
)]
pub async fn document() -> axum::Json<&'static utoipa::openapi::OpenApi> {
    axum::Json(&DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    fn doc() -> serde_json::Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if METHODS.contains(&method.as_str()) {
                    out.push((path.clone(), method.clone(), op.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn the_document_lists_exactly_the_routes_registered() {
        let routed: BTreeSet<(String, String)> = crate::api::ROUTES
            .iter()
            .flat_map(|(path, methods)| methods.iter().map(move |m| ((*path).to_owned(), (*m).to_owned())))
            .collect();
        let documented: BTreeSet<(String, String)> = operations(&doc()).into_iter().map(|(p, m, _)| (p, m)).collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(undocumented.is_empty(), "routes without a `#[utoipa::path]` in `ApiDoc`: {undocumented:?}");
        assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");
    }

    #[test]
    fn routes_are_only_registered_through_the_table() {
        let source = include_str!("mod.rs");
        assert_eq!(source.matches(".route(").count(), 1, "register API routes in `routes!` so they get documented");
    }

    #[test]
    fn authenticated_writes_document_the_csrf_header() {
        for (path, method, op) in operations(&doc()) {
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let cookie = security.iter().any(|s| s.get(COOKIE).is_some());
            let bearer = security.iter().any(|s| s.get(BEARER).is_some());
            assert_eq!(cookie, bearer, "{method} {path}: both credentials work everywhere");
            let csrf = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "X-CSRF-Token" && p["in"] == "header"));
            assert_eq!(csrf, cookie && method != "get", "{method} {path}: the CSRF header goes with cookie writes");
        }
    }

    #[test]
    fn every_operation_documents_success_and_errors() {
        for (path, method, op) in operations(&doc()) {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success response");
            if op["security"].is_array() {
                assert!(responses.contains_key("401"), "{method} {path}: authenticated but no 401");
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut seen = BTreeSet::new();
        for (path, method, op) in operations(&doc()) {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(seen.insert(id.clone()), "{method} {path}: operation id `{id}` is used twice");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_both_security_schemes() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes[BEARER]["scheme"], "bearer");
        assert_eq!(schemes[COOKIE]["in"], "cookie");
        assert_eq!(schemes[COOKIE]["name"], crate::auth::cookie::NAME);
    }
}
