//! The OpenAPI document at `/v1/openapi.json`: served without credentials,
//! OpenAPI 3.1, and describing every route the server answers (the unit
//! tests in `api::openapi` hold it to the router's own table; this holds it
//! to the running server).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::TestApp;

/// Every API route with its methods, mirroring `api/mod.rs`.
const ROUTES: &[(&str, &[&str])] = &[
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
    ("/metrics", &["get"]),
    ("/v1/openapi.json", &["get"]),
    ("/v1/orgs/{slug}", &["get"]),
    ("/v1/orgs/{slug}/login", &["post"]),
    ("/v1/orgs/{slug}/enroll", &["post"]),
    ("/v1/orgs/{slug}/device/code", &["post"]),
    ("/v1/orgs/{slug}/token", &["post"]),
    ("/v1/orgs/{slug}/revoke", &["post"]),
    ("/v1/logout", &["post"]),
    ("/v1/device", &["get", "post"]),
    ("/v1/me", &["get"]),
    ("/v1/me/groups", &["get"]),
    ("/v1/me/totp", &["post"]),
    ("/v1/me/totp/confirm", &["post"]),
    ("/v1/me/totp/disable", &["post"]),
    ("/v1/users/{user}/totp", &["delete"]),
    ("/v1/users", &["get", "post"]),
    ("/v1/users/{user}", &["get", "patch", "delete"]),
    ("/v1/groups", &["get", "post"]),
    ("/v1/groups/{group}", &["get", "delete"]),
    ("/v1/groups/{group}/members/{user}", &["put", "delete"]),
    ("/v1/tokens", &["get", "post"]),
    ("/v1/tokens/{id}", &["delete"]),
    ("/v1/audit", &["get"]),
    ("/v1/jobs/dead", &["get"]),
    ("/v1/sso", &["get", "put", "delete"]),
    ("/v1/policy", &["get", "put"]),
    ("/v1/requests", &["get", "post"]),
    ("/v1/requests/{id}", &["get"]),
    ("/v1/requests/{id}/approve", &["post"]),
    ("/v1/requests/{id}/deny", &["post"]),
    ("/v1/requests/{id}/cancel", &["post"]),
    ("/v1/requests/{id}/revoke", &["post"]),
    ("/v1/requests/{id}/relinquish", &["post"]),
    ("/v1/requests/{id}/watch", &["get"]),
    ("/v1/requests/{id}/extend", &["post"]),
    ("/v1/webhooks", &["get", "post"]),
    ("/v1/webhooks/{id}", &["delete"]),
    ("/v1/aws/accounts", &["get"]),
    ("/v1/access", &["get"]),
    ("/v1/iam/who-can", &["get"]),
    ("/v1/iam/what-can", &["get"]),
    ("/v1/integrations/aws", &["get", "post"]),
    ("/v1/integrations/aws/{account}", &["delete"]),
    ("/v1/integrations/aws/{account}/verify", &["post"]),
    ("/v1/integrations/aws/{account}/sync", &["get", "post"]),
    ("/v1/integrations/aws/{account}/inventory", &["get"]),
    ("/v1/integrations/aws/{account}/changes", &["get"]),
    ("/v1/integrations/aws/{account}/iam-users", &["post"]),
    ("/v1/integrations/aws/{account}/iam-users/{name}", &["delete"]),
    ("/v1/requests/{id}/web-identity-token", &["post"]),
    ("/v1/requests/{id}/saml-response", &["post"]),
    ("/saml/{org}/metadata", &["get"]),
    ("/saml/{org}/sso", &["get"]),
    ("/oidc/{org}/.well-known/openid-configuration", &["get"]),
    ("/oidc/{org}/jwks.json", &["get"]),
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn fetch(app: &TestApp) -> Value {
    let resp = app.anon().request(Method::GET, "/v1/openapi.json").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    serde_json::from_str(&resp.text().await.unwrap()).expect("the document is JSON")
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys().filter(|k| METHODS.contains(&k.as_str())) {
            out.insert((path.clone(), method.clone()));
        }
    }
    out
}

/// A concrete URL for a templated path.
fn concrete(path: &str) -> String {
    path.replace("{slug}", "acme").replace("{user}", "nobody@acme.io").replace("{group}", "nobody").replace("{id}", "tok_none")
}

async fn the_document_describes_every_route(app: TestApp) {
    let doc = fetch(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");

    let want: BTreeSet<(String, String)> =
        ROUTES.iter().flat_map(|(p, ms)| ms.iter().map(move |m| ((*p).to_owned(), (*m).to_owned()))).collect();
    assert_eq!(documented(&doc), want);

    // Each documented operation reaches a handler: neither the fallback's
    // `route not found` nor 405.
    let anon = app.anon();
    for (path, method) in &want {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = anon.call(m, &concrete(path), None).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(body["error"]["message"], "route not found", "{method} {path}");
    }
}

async fn error_bodies_match_the_documented_shape(app: TestApp) {
    let doc = fetch(&app).await;
    let schemas = &doc["components"]["schemas"];
    let codes: Vec<&str> = schemas["ErrorCode"]["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let fields: BTreeSet<&str> = schemas["ErrorDetail"]["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();

    let anon = app.anon();
    for (method, path) in [(Method::GET, "/v1/me"), (Method::GET, "/v1/orgs/nope"), (Method::GET, "/v1/nowhere")] {
        let (_, body) = anon.call(method.clone(), path, None).await;
        let error = body["error"].as_object().unwrap_or_else(|| panic!("{method} {path}: {body}"));
        assert_eq!(error.keys().map(String::as_str).collect::<BTreeSet<_>>(), fields, "{method} {path}");
        assert!(codes.contains(&error["code"].as_str().unwrap()), "{method} {path}: {body}");
    }

    // The OAuth endpoints answer in RFC 6749's shape, as documented.
    let oauth_codes: Vec<&str> = schemas["OAuthErrorCode"]["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let (status, body) = anon.form("/v1/orgs/acme/token", &[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unsupported_grant_type");
    assert!(oauth_codes.contains(&"unsupported_grant_type"), "{oauth_codes:?}");
    assert!(body["error_description"].is_string(), "{body}");

    // Both ways to authenticate are described.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "latch_session");
}

crate::both_engines!(the_document_describes_every_route, error_bodies_match_the_documented_shape);
