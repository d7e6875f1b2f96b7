//! Each org's federation signing key is stored sealed under the server's
//! key-encryption key: the database alone does not hold a usable key, and a
//! key stored in the clear by an older Latch is sealed on first use.

use rsa::pkcs1::EncodeRsaPrivateKey as _;
use reqwest::Method;
use sqlx::Row as _;

use crate::support::TestApp;

async fn stored(app: &TestApp) -> (String, String) {
    let row = sqlx::query("SELECT kid, private_pem FROM signing_keys").fetch_one(&mut app.sql().await).await.unwrap();
    (row.get("kid"), row.get("private_pem"))
}

async fn signing_keys_are_sealed_at_rest(app: TestApp) {
    let (_, jwks) = app.anon().call(Method::GET, "/oidc/acme/jwks.json", None).await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let (stored_kid, value) = stored(&app).await;
    assert_eq!(stored_kid, kid);
    assert!(value.starts_with("sealed:v1:") && !value.contains("PRIVATE KEY"), "{value}");

    // A key an older Latch stored in the clear still serves, and is sealed.
    let legacy = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let pem = legacy.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap().to_string();
    sqlx::query("UPDATE signing_keys SET kid = 'legacy', private_pem = $1").bind(&pem).execute(&mut app.sql().await).await.unwrap();
    let (_, jwks) = app.anon().call(Method::GET, "/oidc/acme/jwks.json", None).await;
    assert_eq!(jwks["keys"][0]["kid"], "legacy");
    let (_, value) = stored(&app).await;
    assert!(value.starts_with("sealed:v1:"), "{value}");
    let (_, again) = app.anon().call(Method::GET, "/oidc/acme/jwks.json", None).await;
    assert_eq!(again, jwks, "the sealed key is the same key");

    // Sealed for its own record: moved to another key id it does not open.
    sqlx::query("UPDATE signing_keys SET kid = 'moved'").execute(&mut app.sql().await).await.unwrap();
    let (status, _) = app.anon().call(Method::GET, "/oidc/acme/jwks.json", None).await;
    assert_eq!(status, reqwest::StatusCode::INTERNAL_SERVER_ERROR);
}

crate::both_engines!(signing_keys_are_sealed_at_rest);
