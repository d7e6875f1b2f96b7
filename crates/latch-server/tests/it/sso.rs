//! Single sign-on against a real OpenID Connect provider (`oidc-provider`):
//! sign-in with PKCE, nonce and state bound to the browser; groups mirrored;
//! unverified emails, unknown people and replayed callbacks refused.

use latch_testkit::OidcProvider;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Client, TestApp};

const ACCOUNTS: &str = r#"{
  "alice": {"email": "alice@acme.io", "email_verified": true, "name": "Alice", "groups": ["eng", "oncall"]},
  "carol": {"email": "carol@acme.io", "email_verified": true, "groups": "eng"},
  "mallory": {"email": "admin@acme.io", "email_verified": false}
}"#;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Follows a browser through the provider, typing `login` at its sign-in
/// form; returns the final response from Latch's callback and the callback URL.
async fn sign_in(b: &reqwest::Client, app: &TestApp, login: &str) -> (StatusCode, String, String) {
    let mut url = format!("{}/sso/start?org=acme&next=%2Fdevice", app.url);
    let mut callback = String::new();
    for _ in 0..20 {
        let resp = b.get(&url).send().await.unwrap();
        if url.contains("/sso/callback") {
            let status = resp.status();
            return (status, resp.text().await.unwrap(), callback);
        }
        if resp.status().is_redirection() {
            let loc = resp.headers()[LOCATION].to_str().unwrap().to_owned();
            url = if loc.starts_with('/') { format!("{}{loc}", &url[..url[8..].find('/').unwrap() + 8]) } else { loc };
            if url.contains("/sso/callback") {
                callback.clone_from(&url);
            }
            continue;
        }
        let html = resp.text().await.unwrap();
        let action = html.split("action=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_else(|| panic!("no form at {url}: {html}")).to_owned();
        let origin = &url[..url[8..].find('/').unwrap() + 8];
        let posted = b.post(format!("{origin}{action}")).form(&[("login", login)]).send().await.unwrap();
        assert!(posted.status().is_redirection(), "login form: {}", posted.status());
        let loc = posted.headers()[LOCATION].to_str().unwrap().to_owned();
        url = if loc.starts_with('/') { format!("{origin}{loc}") } else { loc };
    }
    panic!("too many redirects")
}

async fn configure(app: &TestApp, admin: &Client, claims_in_id_token: bool) -> OidcProvider {
    let redirect = format!("{}/sso/callback", app.url);
    let idp = tokio::task::spawn_blocking(move || OidcProvider::start("latch", "latch-secret", &redirect, ACCOUNTS, claims_in_id_token)).await.unwrap().unwrap();
    let (status, body) = admin
        .call(Method::PUT, "/v1/sso", Some(json!({"issuer": idp.issuer, "client_id": "latch", "client_secret": "latch-secret"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["redirect_uri"], format!("{}/sso/callback", app.url));
    assert!(!body.to_string().contains("latch-secret"), "the secret is echoed: {body}");
    idp
}

async fn single_sign_on_signs_in_and_mirrors_groups(app: TestApp) {
    let admin = app.admin().await;
    let _idp = configure(&app, &admin, true).await;
    admin.call(Method::POST, "/v1/users", Some(json!({"email": "alice@acme.io"}))).await;
    let (_, org) = app.anon().call(Method::GET, "/v1/orgs/acme", None).await;
    assert!(org["login"]["sso_start"].as_str().unwrap().ends_with("/sso/start?org=acme"));

    let b = browser();
    let (status, page, callback) = sign_in(&b, &app, "alice").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("alice@acme.io") && page.contains("url=/device"), "{page}");
    let me: serde_json::Value = b.get(format!("{}/v1/me", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["credential"].as_str()), (Some("alice@acme.io"), Some("session")));
    let groups: serde_json::Value = b.get(format!("{}/v1/me/groups", app.url)).send().await.unwrap().json().await.unwrap();
    let names: Vec<(&str, &str)> = groups.as_array().unwrap().iter().map(|g| (g["name"].as_str().unwrap(), g["source"].as_str().unwrap())).collect();
    assert_eq!(names, [("eng", "idp"), ("oncall", "idp")]);

    // The callback URL works once, and only in the browser that started it.
    let replay = b.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let (status, _, _) = {
        let other = browser();
        let start = b.get(format!("{}/sso/start?org=acme", app.url)).send().await.unwrap();
        let to_idp = start.headers()[LOCATION].to_str().unwrap().to_owned();
        let state = to_idp.split("state=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let lured = other.get(format!("{}/sso/callback?code=x&state={state}", app.url)).send().await.unwrap();
        (lured.status(), (), ())
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Unknown people are refused unless the org creates them on sign-in.
    let (status, page, _) = sign_in(&browser(), &app, "carol").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("has no account in this org"), "{page}");
    let idp_issuer = admin.call(Method::GET, "/v1/sso", None).await.1["issuer"].as_str().unwrap().to_owned();
    admin
        .call(Method::PUT, "/v1/sso", Some(json!({"issuer": idp_issuer, "client_id": "latch", "client_secret": "latch-secret", "auto_create": true})))
        .await;
    let b2 = browser();
    let (status, page, _) = sign_in(&b2, &app, "carol").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let me: serde_json::Value = b2.get(format!("{}/v1/me", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["role"].as_str()), (Some("carol@acme.io"), Some("member")));

    // An address the provider has not verified never signs in, even an admin's.
    let (status, page, _) = sign_in(&browser(), &app, "mallory").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("did not give a verified email address"), "{page}");

    let (_, audit) = admin.call(Method::GET, "/v1/audit?limit=1000", None).await;
    let sso_events = audit["records"].as_array().unwrap().iter().filter(|r| r["detail"].as_str().unwrap().contains("\"sso\"")).count();
    assert!(sso_events >= 4, "{audit}");
}

async fn claims_from_userinfo_when_the_id_token_is_lean(app: TestApp) {
    let admin = app.admin().await;
    let _idp = configure(&app, &admin, false).await;
    admin.call(Method::POST, "/v1/users", Some(json!({"email": "alice@acme.io"}))).await;
    let b = browser();
    let (status, page, _) = sign_in(&b, &app, "alice").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let groups: serde_json::Value = b.get(format!("{}/v1/me/groups", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");
}

async fn sso_settings_are_validated(app: TestApp) {
    let admin = app.admin().await;
    let bad = admin.call(Method::PUT, "/v1/sso", Some(json!({"issuer": "http://idp.example.com", "client_id": "a", "client_secret": "b"}))).await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
    let (status, page) = app.anon().call(Method::GET, "/sso/start?org=acme", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
}

crate::both_engines!(single_sign_on_signs_in_and_mirrors_groups, claims_from_userinfo_when_the_id_token_is_lean, sso_settings_are_validated);
