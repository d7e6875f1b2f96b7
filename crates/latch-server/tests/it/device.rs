//! The device authorization grant and refresh-token rotation, driven over HTTP.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestApp};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(c: &Client) -> Value {
    let (status, body) = c.form("/v1/orgs/acme/device/code", &[("client_id", "latch-cli"), ("client_name", "laptop")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn poll(c: &Client, device_code: &str) -> (StatusCode, Value) {
    c.form("/v1/orgs/acme/token", &[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", "latch-cli")]).await
}

fn oauth_error(got: &(StatusCode, Value)) -> &str {
    got.1["error"].as_str().unwrap_or("")
}

async fn device_flow_end_to_end_with_rotation_and_replay(app: TestApp) {
    let admin = app.admin().await;
    let cli = app.anon();
    let code = start(&cli).await;
    let dc = code["device_code"].as_str().unwrap().to_owned();
    let uc = code["user_code"].as_str().unwrap().to_owned();
    assert!(code["verification_uri_complete"].as_str().unwrap().contains(&uc));

    assert_eq!(oauth_error(&poll(&cli, &dc).await), "authorization_pending");
    // Polling again within the interval is too fast.
    assert_eq!(oauth_error(&poll(&cli, &dc).await), "slow_down");
    app.advance(Duration::from_secs(2));
    assert_eq!(oauth_error(&poll(&cli, &dc).await), "authorization_pending");

    // The person checks the code and approves it as themselves (lowercase, no dash works).
    let typed = uc.replace('-', "").to_lowercase();
    let (status, shown) = admin.call(Method::GET, &format!("/v1/device?user_code={typed}"), None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["client_name"], "laptop");
    let (status, _) = admin.call(Method::POST, "/v1/device", Some(json!({"user_code": typed, "approve": true}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    app.advance(Duration::from_secs(2));
    let (status, tokens) = poll(&cli, &dc).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(Client::with_bearer(&app.url, &access).me().await["credential"], "access");

    // The device code is spent.
    app.advance(Duration::from_secs(2));
    assert_eq!(oauth_error(&poll(&cli, &dc).await), "invalid_grant");

    // Access tokens are short-lived.
    app.advance(Duration::from_secs(15 * 60));
    let expired = Client::with_bearer(&app.url, &access).call(Method::GET, "/v1/me", None).await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, "unauthenticated");

    // Refresh rotates…
    let (status, fresh) = cli.form("/v1/orgs/acme/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let access2 = fresh["access_token"].as_str().unwrap().to_owned();
    let refresh2 = fresh["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    assert_eq!(Client::with_bearer(&app.url, &access2).me().await["email"], "admin@acme.io");

    // …and replaying the spent refresh token revokes the whole family.
    let replay = cli.form("/v1/orgs/acme/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!(oauth_error(&replay), "invalid_grant");
    let after = Client::with_bearer(&app.url, &access2).call(Method::GET, "/v1/me", None).await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "unauthenticated");
    let rotated = cli.form("/v1/orgs/acme/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh2)]).await;
    assert_eq!(oauth_error(&rotated), "invalid_grant");
}

async fn denied_and_expired_device_codes(app: TestApp) {
    let admin = app.admin().await;
    let cli = app.anon();
    let denied = start(&cli).await;
    let (status, _) = admin.call(Method::POST, "/v1/device", Some(json!({"user_code": denied["user_code"], "approve": false}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(oauth_error(&poll(&cli, denied["device_code"].as_str().unwrap()).await), "access_denied");

    let late = start(&cli).await;
    app.advance(Duration::from_secs(11 * 60));
    assert_eq!(oauth_error(&poll(&cli, late["device_code"].as_str().unwrap()).await), "expired_token");
    // An expired code can no longer be approved.
    let got = admin.call(Method::POST, "/v1/device", Some(json!({"user_code": late["user_code"], "approve": true}))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");

    assert_eq!(oauth_error(&poll(&cli, "latch_dc_made_up").await), "invalid_grant");
    let (status, body) = cli.form("/v1/orgs/acme/device/code", &[("client_id", "someone-else")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (_, body) = cli.form("/v1/orgs/acme/token", &[("grant_type", "password")]).await;
    assert_eq!(body["error"], "unsupported_grant_type");
}

async fn revocation_ends_the_cli_session(app: TestApp) {
    let admin = app.admin().await;
    let cli = app.anon();
    let code = start(&cli).await;
    admin.call(Method::POST, "/v1/device", Some(json!({"user_code": code["user_code"], "approve": true}))).await;
    let (_, tokens) = poll(&cli, code["device_code"].as_str().unwrap()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _) = cli.form("/v1/orgs/acme/revoke", &[("token", tokens["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(&Client::with_bearer(&app.url, access).call(Method::GET, "/v1/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // Unknown tokens are accepted silently (RFC 7009).
    assert_eq!(cli.form("/v1/orgs/acme/revoke", &[("token", "nonsense")]).await.0, StatusCode::OK);
}

crate::both_engines!(device_flow_end_to_end_with_rotation_and_replay, denied_and_expired_device_codes, revocation_ends_the_cli_session);
