//! Bad input gets a clear error with a stable code, never a panic or an
//! internal detail.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, TestApp};

async fn malformed_bodies_get_stable_codes(app: TestApp) {
    let admin = app.admin().await;
    let raw = |body: &'static str, ct: &'static str| {
        admin.request(Method::POST, "/v1/groups").header("content-type", ct).body(body).send()
    };
    let resp = raw("{not json", "application/json").await.unwrap();
    let got = (resp.status(), resp.json().await.unwrap());
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json");
    let resp = raw(r#"{"name": "ops", "evil": true}"#, "application/json").await.unwrap();
    let got = (resp.status(), resp.json::<serde_json::Value>().await.unwrap());
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json");
    assert!(got.1["error"]["message"].as_str().unwrap().contains("evil"));
    let resp = raw(r#"{"name": 5}"#, "application/json").await.unwrap();
    let got = (resp.status(), resp.json().await.unwrap());
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json");
    let resp = raw(r#"{"name": "ops"}"#, "text/plain").await.unwrap();
    let got = (resp.status(), resp.json().await.unwrap());
    assert_error(&got, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(200_000));
    let resp = admin.request(Method::POST, "/v1/groups").header("content-type", "application/json").body(huge).send().await.unwrap();
    let got = (resp.status(), resp.json().await.unwrap());
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

async fn bad_names_are_refused(app: TestApp) {
    let admin = app.admin().await;
    for email in ["", "not-an-email", "a b@x.io", "a@b@c"] {
        let got = admin.call(Method::POST, "/v1/users", Some(json!({"email": email}))).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let got = admin.call(Method::POST, "/v1/users", Some(json!({"email": "x@acme.io", "role": "owner"}))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json");
    let got = admin.call(Method::POST, "/v1/groups", Some(json!({"name": "a\u{7}b"}))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    let dup = admin.call(Method::POST, "/v1/users", Some(json!({"email": "admin@acme.io"}))).await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    assert_error(&app.anon().call(Method::GET, "/v1/orgs/Not_A_Slug", None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&app.anon().call(Method::GET, "/v1/nope", None).await, StatusCode::NOT_FOUND, "not_found");
    let bad_query = admin.call(Method::GET, "/v1/audit?after=soon", None).await;
    assert_error(&bad_query, StatusCode::BAD_REQUEST, "invalid_request");
}

async fn request_ids_are_echoed(app: TestApp) {
    let resp = app.anon().request(Method::GET, "/v1/me").header("x-request-id", "trace-12345678").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-12345678");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], "trace-12345678");
    // A malformed id is replaced, not echoed.
    let resp = app.anon().request(Method::GET, "/v1/me").header("x-request-id", "<script>").send().await.unwrap();
    assert!(resp.headers()["x-request-id"].to_str().unwrap().starts_with("req_"));
}

crate::both_engines!(malformed_bodies_get_stable_codes, bad_names_are_refused, request_ids_are_echoed);
