//! API tokens: scopes, expiry, revocation, and secrets hashed at rest.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;

use crate::support::{assert_error, Client, TestApp};

async fn tokens_are_scoped_expire_and_revoke(app: TestApp) {
    let admin = app.admin().await;
    let (_, read_only) = admin.token(&["read"]).await;
    let ro = Client::with_bearer(&app.url, &read_only);
    assert_eq!(ro.me().await["scopes"], json!(["read"]));
    // A read-only token cannot write, nor mint a stronger token.
    assert_error(&ro.call(Method::POST, "/v1/groups", Some(json!({"name": "x"}))).await, StatusCode::FORBIDDEN, "forbidden");
    let escalate = ro.call(Method::POST, "/v1/tokens", Some(json!({"name": "x", "scopes": ["admin"]}))).await;
    assert_error(&escalate, StatusCode::BAD_REQUEST, "invalid_request");
    // A token cannot approve a CLI sign-in: that would turn a read-only
    // token into its holder's full interactive rights.
    let (_, code) = app.anon().form("/v1/orgs/acme/device/code", &[("client_id", "latch-cli")]).await;
    let via_token = ro.call(Method::POST, "/v1/device", Some(json!({"user_code": code["user_code"], "approve": true}))).await;
    assert_error(&via_token, StatusCode::FORBIDDEN, "forbidden");
    // Bearer tokens need no CSRF token.
    let (id, full) = admin.token(&["read", "admin"]).await;
    let adm = Client::with_bearer(&app.url, &full);
    assert_eq!(adm.call(Method::POST, "/v1/groups", Some(json!({"name": "ops"}))).await.0, StatusCode::CREATED);
    // A member cannot hold an admin-scoped token.
    let member = app.add_user(&admin, "bob@acme.io", "member").await;
    let got = member.call(Method::POST, "/v1/tokens", Some(json!({"name": "x", "scopes": ["admin"]}))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    // Revocation works at once.
    assert_eq!(admin.call(Method::DELETE, &format!("/v1/tokens/{id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_error(&adm.call(Method::GET, "/v1/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // Expiry.
    app.advance(Duration::from_secs(91 * 86_400));
    assert_error(&ro.call(Method::GET, "/v1/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_error(&Client::with_bearer(&app.url, "latch_pat_forged").call(Method::GET, "/v1/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

async fn a_member_cannot_revoke_someone_elses_token(app: TestApp) {
    let admin = app.admin().await;
    let (id, secret) = admin.token(&["read"]).await;
    let member = app.add_user(&admin, "bob@acme.io", "member").await;
    assert_error(&member.call(Method::DELETE, &format!("/v1/tokens/{id}"), None).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(Client::with_bearer(&app.url, &secret).me().await["email"], "admin@acme.io");
    let (status, listed) = member.call(Method::GET, "/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, json!([]));
    assert_error(&member.call(Method::GET, "/v1/tokens?all=true", None).await, StatusCode::FORBIDDEN, "forbidden");
}

async fn no_secret_is_stored_in_the_clear(app: TestApp) {
    let admin = app.admin().await;
    let (_, api_secret) = admin.token(&["read"]).await;
    let invited = admin.call(Method::POST, "/v1/users", Some(json!({"email": "bob@acme.io"}))).await.1;
    let enrollment = invited["enrollment"]["token"].as_str().unwrap().to_owned();
    let (_, code) = app.anon().form("/v1/orgs/acme/device/code", &[("client_id", "latch-cli")]).await;
    admin.call(Method::POST, "/v1/device", Some(json!({"user_code": code["user_code"], "approve": true}))).await;
    let (_, tokens) = app
        .anon()
        .form("/v1/orgs/acme/token", &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", code["device_code"].as_str().unwrap()), ("client_id", "latch-cli")])
        .await;
    let secrets = [
        api_secret,
        enrollment,
        app.first.token.clone(),
        code["device_code"].as_str().unwrap().to_owned(),
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
        crate::support::PASSWORD.to_owned(),
    ];
    // Dump every text column of every table and look for any secret.
    let mut conn = app.sql().await;
    let tables = ["users", "api_tokens", "sessions", "access_tokens", "refresh_tokens", "device_authorizations", "enrollments", "audit_log"];
    let mut dump = String::new();
    for t in tables {
        let rows = sqlx::query(&format!("SELECT * FROM {t}")).fetch_all(&mut conn).await.unwrap();
        for row in rows {
            for i in 0..sqlx::Row::len(&row) {
                if let Ok(Some(s)) = row.try_get::<Option<String>, _>(i) {
                    dump.push_str(&s);
                    dump.push('\n');
                }
            }
        }
    }
    assert!(dump.contains("$argon2id$"), "the dump should include password hashes");
    for s in &secrets {
        assert!(!dump.contains(s.as_str()), "a secret is stored in the clear: {}…", &s[..12]);
    }
}

crate::both_engines!(tokens_are_scoped_expire_and_revoke, a_member_cannot_revoke_someone_elses_token, no_secret_is_stored_in_the_clear);
