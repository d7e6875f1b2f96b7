//! Enrollment, password sign-in, throttling, CSRF, sign-out.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, Client, TestApp, PASSWORD};

async fn enrollment_is_single_use_and_a_weak_password_does_not_spend_it(app: TestApp) {
    let anon = app.anon();
    let token = app.first.token.clone();
    let weak = anon.call(Method::POST, "/v1/orgs/acme/enroll", Some(json!({"token": token, "password": "short"}))).await;
    assert_error(&weak, StatusCode::BAD_REQUEST, "invalid_request");
    let admin = app.admin().await;
    assert_eq!(admin.me().await["email"], "admin@acme.io");
    let again = anon.call(Method::POST, "/v1/orgs/acme/enroll", Some(json!({"token": token, "password": PASSWORD}))).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "invalid_request");
}

async fn password_sign_in_works_and_failures_are_throttled(app: TestApp) {
    let _admin = app.admin().await;
    let c = Client::new(&app.url);
    let ok = c.call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "Admin@ACME.io", "password": PASSWORD}))).await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
    assert!(ok.1["csrf_token"].is_string());
    for _ in 0..5 {
        let bad = c.call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "admin@acme.io", "password": "wrong password!"}))).await;
        assert_error(&bad, StatusCode::UNAUTHORIZED, "bad_credentials");
    }
    // Even the right password is refused while the account is throttled.
    let limited = c.call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "admin@acme.io", "password": PASSWORD}))).await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // The window passes.
    app.advance(std::time::Duration::from_secs(16 * 60));
    let ok = c.call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "admin@acme.io", "password": PASSWORD}))).await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
    // Unknown accounts fail the same way as wrong passwords.
    let unknown = c.call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "nobody@acme.io", "password": PASSWORD}))).await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "bad_credentials");
}

async fn cookie_sessions_need_the_csrf_token_to_change_anything(app: TestApp) {
    let mut admin = app.admin().await;
    let token = admin.csrf.take().unwrap();
    // Reads need no CSRF token.
    assert_eq!(admin.me().await["role"], "admin");
    let forged = admin.call(Method::POST, "/v1/groups", Some(json!({"name": "ops"}))).await;
    assert_error(&forged, StatusCode::FORBIDDEN, "csrf_failed");
    admin.csrf = Some("0".repeat(64));
    let wrong = admin.call(Method::POST, "/v1/groups", Some(json!({"name": "ops"}))).await;
    assert_error(&wrong, StatusCode::FORBIDDEN, "csrf_failed");
    admin.csrf = Some(token);
    let ok = admin.call(Method::POST, "/v1/groups", Some(json!({"name": "ops"}))).await;
    assert_eq!(ok.0, StatusCode::CREATED, "{}", ok.1);
}

async fn sign_out_ends_the_session(app: TestApp) {
    let admin = app.admin().await;
    let (status, _) = admin.call(Method::POST, "/v1/logout", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&admin.call(Method::GET, "/v1/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

async fn web_sessions_expire(app: TestApp) {
    let admin = app.admin().await;
    app.advance(std::time::Duration::from_secs(12 * 3600 + 1));
    assert_error(&admin.call(Method::GET, "/v1/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
}

async fn the_last_admin_cannot_be_removed_or_demoted(app: TestApp) {
    let admin = app.admin().await;
    let demote = admin.call(Method::PATCH, "/v1/users/admin@acme.io", Some(json!({"role": "member"}))).await;
    assert_error(&demote, StatusCode::CONFLICT, "conflict");
    let rm = admin.call(Method::DELETE, "/v1/users/admin@acme.io", None).await;
    assert_error(&rm, StatusCode::CONFLICT, "conflict");
}

async fn members_cannot_administer(app: TestApp) {
    let admin = app.admin().await;
    let member = app.add_user(&admin, "bob@acme.io", "member").await;
    for (method, path, body) in [
        (Method::POST, "/v1/users", Some(json!({"email": "eve@acme.io"}))),
        (Method::GET, "/v1/users", None),
        (Method::POST, "/v1/groups", Some(json!({"name": "x"}))),
        (Method::GET, "/v1/audit", None),
        (Method::DELETE, "/v1/users/admin@acme.io", None),
    ] {
        let got = member.call(method.clone(), path, body).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden");
    }
    // A member sees themselves.
    assert_eq!(member.call(Method::GET, "/v1/users/bob@acme.io", None).await.0, StatusCode::OK);
}

async fn health_readiness_and_metrics(app: TestApp) {
    let anon = app.anon();
    assert_eq!(anon.call(Method::GET, "/healthz", None).await.0, StatusCode::OK);
    assert_eq!(anon.call(Method::GET, "/readyz", None).await.0, StatusCode::OK);
    let _ = anon.call(Method::GET, "/v1/orgs/acme", None).await;
    let (status, body) = anon.call(Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(text.contains("latch_http_requests_total{method=\"GET\",route=\"/v1/orgs/{slug}\",status=\"200\"} 1"), "{text}");
}

async fn totp_is_a_second_factor_and_each_code_works_once(app: TestApp) {
    use latch_core::totp;
    use latch_core::Clock as _;
    let admin = app.admin().await;
    let (status, begun) = admin.call(Method::POST, "/v1/me/totp", None).await;
    assert_eq!(status, StatusCode::OK, "{begun}");
    let secret = begun["secret"].as_str().unwrap().to_owned();
    assert!(begun["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/"));
    let wrong = admin.call(Method::POST, "/v1/me/totp/confirm", Some(json!({"secret": secret, "code": "000000"}))).await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "invalid_request");
    let code = totp::code_at(&secret, app.clock.now()).unwrap();
    let ok = admin.call(Method::POST, "/v1/me/totp/confirm", Some(json!({"secret": secret, "code": code}))).await;
    assert_eq!(ok.0, StatusCode::NO_CONTENT, "{}", ok.1);
    // API tokens cannot change a second factor.
    let (_, tok) = admin.token(&["read", "request", "admin"]).await;
    let by_token = Client::with_bearer(&app.url, &tok).call(Method::POST, "/v1/me/totp/disable", Some(json!({"code": "123456"}))).await;
    assert_error(&by_token, StatusCode::FORBIDDEN, "forbidden");

    let c = Client::new(&app.url);
    let login = |totp: Option<String>| {
        let c = &c;
        async move { c.call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "admin@acme.io", "password": PASSWORD, "totp": totp}))).await }
    };
    assert_error(&login(None).await, StatusCode::UNAUTHORIZED, "totp_required");
    // The code used to confirm cannot be used again.
    assert_error(&login(Some(code.clone())).await, StatusCode::UNAUTHORIZED, "bad_credentials");
    app.advance(std::time::Duration::from_secs(30));
    let fresh = totp::code_at(&secret, app.clock.now()).unwrap();
    assert_eq!(login(Some(fresh.clone())).await.0, StatusCode::OK);
    assert_error(&login(Some(fresh)).await, StatusCode::UNAUTHORIZED, "bad_credentials");
    // An admin can reset it for a lost device.
    let reset = admin.call(Method::DELETE, "/v1/users/admin@acme.io/totp", None).await;
    assert_eq!(reset.0, StatusCode::NO_CONTENT);
    assert_eq!(login(None).await.0, StatusCode::OK);
}

crate::both_engines!(
    totp_is_a_second_factor_and_each_code_works_once,
    enrollment_is_single_use_and_a_weak_password_does_not_spend_it,
    password_sign_in_works_and_failures_are_throttled,
    cookie_sessions_need_the_csrf_token_to_change_anything,
    sign_out_ends_the_session,
    web_sessions_expire,
    the_last_admin_cannot_be_removed_or_demoted,
    members_cannot_administer,
    health_readiness_and_metrics,
);
