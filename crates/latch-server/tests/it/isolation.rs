//! Org isolation: a member (even an admin) of org B gets 404 on every org-A
//! resource and never sees org A's data in a listing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, TestApp};

async fn another_org_sees_nothing_of_acme(app: TestApp) {
    let a = app.admin().await;
    let bob = a.call(Method::POST, "/v1/users", Some(json!({"email": "bob@acme.io"}))).await.1;
    let bob_id = bob["user"]["id"].as_str().unwrap().to_owned();
    a.call(Method::POST, "/v1/groups", Some(json!({"name": "ops"}))).await;
    let (token_id, _) = a.token(&["read"]).await;

    let b = app.second_org("globex").await;
    assert_eq!(b.me().await["org_slug"], "globex");
    for (method, path, body) in [
        (Method::GET, format!("/v1/users/{bob_id}"), None),
        (Method::GET, "/v1/users/bob@acme.io".to_owned(), None),
        (Method::PATCH, format!("/v1/users/{bob_id}"), Some(json!({"role": "admin"}))),
        (Method::DELETE, format!("/v1/users/{bob_id}"), None),
        (Method::GET, "/v1/groups/ops".to_owned(), None),
        (Method::DELETE, "/v1/groups/ops".to_owned(), None),
        (Method::PUT, format!("/v1/groups/ops/members/{bob_id}"), None),
        (Method::DELETE, format!("/v1/tokens/{token_id}"), None),
    ] {
        let got = b.call(method.clone(), &path, body).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    // B's own group cannot take A's user either.
    b.call(Method::POST, "/v1/groups", Some(json!({"name": "ops"}))).await;
    assert_error(&b.call(Method::PUT, format!("/v1/groups/ops/members/{bob_id}").as_str(), None).await, StatusCode::NOT_FOUND, "not_found");
    // Listings are per org.
    let users = b.call(Method::GET, "/v1/users", None).await.1;
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["email"], "admin@globex.io");
    let tokens = b.call(Method::GET, "/v1/tokens?all=true", None).await.1;
    assert_eq!(tokens, json!([]));
    let audit = b.call(Method::GET, "/v1/audit", None).await.1;
    assert!(audit["records"].as_array().unwrap().iter().all(|r| r["action"] != "user.created" || r["target"] != bob_id));
    // A's device codes cannot be approved from B.
    let (_, code) = app.anon().form("/v1/orgs/acme/device/code", &[("client_id", "latch-cli")]).await;
    let got = b.call(Method::POST, "/v1/device", Some(json!({"user_code": code["user_code"], "approve": true}))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    // A's session cookie does not work on B's login endpoints' tokens either:
    // a refresh token from acme is refused at globex's token endpoint.
    a.call(Method::POST, "/v1/device", Some(json!({"user_code": code["user_code"], "approve": true}))).await;
    let (_, tokens) = app
        .anon()
        .form("/v1/orgs/acme/token", &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", code["device_code"].as_str().unwrap()), ("client_id", "latch-cli")])
        .await;
    let cross = app.anon().form("/v1/orgs/globex/token", &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(cross.1["error"], "invalid_grant");
}

crate::both_engines!(another_org_sees_nothing_of_acme);
