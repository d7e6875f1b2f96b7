//! Latch as the OpenID Connect identity provider AWS trusts (federated
//! mode): one issuer per org at `{public_url}/oidc/{org}`, its discovery
//! document and keys, and web identity tokens minted only for a person with
//! an active grant, valid no longer than the grant (and at most an hour).
//!
//! A token's subject names the role and the person (`ROLE/EMAIL`), so a role
//! whose trust policy requires `sub` like `ROLE/*` accepts only tokens
//! minted for a grant of that very role.

use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The audience of Latch's tokens, which the IAM OIDC provider lists as its client id.
pub const AUDIENCE: &str = "sts.amazonaws.com";
/// Longest life of a token (AWS accepts web identity tokens for sessions of
/// their own; Latch keeps the token itself short).
pub const MAX_TOKEN_LIFE: Duration = Duration::from_secs(3600);

/// The org's issuer URL.
pub fn issuer(state: &AppState, org_slug: &str) -> String {
    format!("{}/oidc/{org_slug}", state.config.public_url())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Internal(Box::new(e))
}

/// Longest a SAML assertion is accepted for.
const SAML_LIFE: Duration = Duration::from_secs(300);

/// The org's signing key, made on first use.
// INVARIANT: the private key is stored sealed under the server's
// key-encryption key (`sealing`), never in the clear.
async fn key(state: &AppState, org_id: &str) -> ApiResult<(String, RsaPrivateKey)> {
    let (kid, stored) = match state.store.signing_key(org_id).await? {
        Some(k) => k,
        None => {
            let generated = tokio::task::spawn_blocking(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048)).await.map_err(internal)?.map_err(internal)?;
            let pem = generated.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(internal)?;
            let kid = hex::encode(Sha256::digest(generated.n().to_bytes_be())).chars().take(16).collect::<String>();
            let sealed = state.sealer.seal(pem.as_bytes(), &format!("{org_id}/{kid}")).map_err(|e| ApiError::Internal(e.into()))?;
            // Another replica may have stored its key first: that one wins.
            state.store.put_signing_key(org_id, &kid, &sealed, state.now()).await?
        }
    };
    let pem = if crate::sealing::Sealer::is_sealed(&stored) {
        let plain = state.sealer.open(&stored, &format!("{org_id}/{kid}")).map_err(|e| ApiError::Internal(e.into()))?;
        String::from_utf8(plain).map_err(internal)?
    } else {
        // Stored before keys were sealed: sealed now.
        let sealed = state.sealer.seal(stored.as_bytes(), &format!("{org_id}/{kid}")).map_err(|e| ApiError::Internal(e.into()))?;
        if state.store.reseal_signing_key(org_id, &kid, &stored, &sealed).await? {
            tracing::info!(org = org_id, "sealed an org's signing key stored in the clear");
        }
        stored
    };
    let key = RsaPrivateKey::from_pkcs1_pem(&pem).map_err(internal)?;
    Ok((kid, key))
}

/// The org's SAML IdP entity ID (the issuer of its assertions).
pub fn saml_entity_id(state: &AppState, org_slug: &str) -> String {
    format!("{}/saml/{org_slug}", state.config.public_url())
}

/// The org's SAML signing key with its certificate (DER). The key is the
/// org's federation signing key; the certificate is derived from it.
async fn saml_signer(state: &AppState, org_id: &str, org_slug: &str) -> ApiResult<(RsaPrivateKey, Vec<u8>)> {
    let (_, key) = key(state, org_id).await?;
    let slug = org_slug.to_owned();
    tokio::task::spawn_blocking(move || {
        let cert = crate::saml::cert::self_signed(&key, &slug).map_err(|e| ApiError::Internal(e.into()))?;
        Ok((key, cert))
    })
    .await
    .map_err(internal)?
}

/// The org's SAML IdP metadata (for `iam:CreateSAMLProvider`).
pub async fn saml_metadata(state: &AppState, org_id: &str, org_slug: &str) -> ApiResult<String> {
    let (_, cert) = saml_signer(state, org_id, org_slug).await?;
    let entity = saml_entity_id(state, org_slug);
    Ok(crate::saml::metadata(&entity, &format!("{entity}/sso"), &cert))
}

/// A signed SAML response (base64, as AWS takes it) letting `email` assume
/// `role_arn` through `provider_arn`, valid for five minutes at most and
/// never past `grant_end`; with when it stops working.
pub async fn saml_response(state: &AppState, org: (&str, &str), email: &str, role_arn: &str, provider_arn: &str, grant_end: latch_core::Timestamp) -> ApiResult<(String, latch_core::Timestamp)> {
    let now = state.now();
    let until = grant_end.min(now.plus(SAML_LIFE));
    // AWS sessions last 900 s at least; the grant's end bounds the rest
    // (revocation ends sessions issued before it).
    let session_secs = now.seconds_until(grant_end).clamp(900, 3600);
    let (key, cert) = saml_signer(state, org.0, org.1).await?;
    let issuer = saml_entity_id(state, org.1);
    let ids = (format!("_{}", latch_core::id::new_id("saml")), format!("_{}", latch_core::id::new_id("saml")));
    let (email, role_arn, provider_arn) = (email.to_owned(), role_arn.to_owned(), provider_arn.to_owned());
    let xml = tokio::task::spawn_blocking(move || {
        let g = crate::saml::Grant { issuer: &issuer, subject: &email, role_arn: &role_arn, provider_arn: &provider_arn, session_secs, now, not_on_or_after: until, ids: (&ids.0, &ids.1) };
        crate::saml::signed_response(&g, &key, &cert)
    })
    .await
    .map_err(internal)?;
    Ok((base64::engine::general_purpose::STANDARD.encode(xml), until))
}

/// The org's public keys as a JWK set.
pub async fn jwks(state: &AppState, org_id: &str) -> ApiResult<Value> {
    let (kid, key) = key(state, org_id).await?;
    Ok(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
    }]}))
}

/// The org's discovery document.
pub fn discovery(state: &AppState, org_slug: &str) -> Value {
    let iss = issuer(state, org_slug);
    json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/jwks.json"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "email"],
    })
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    email: &'a str,
    #[serde(rename = "latch:request")]
    request: &'a str,
}

/// A web identity token for `email`'s grant of `role_name` (request
/// `request_id`) that ends at `grant_end`.
pub async fn mint(state: &AppState, org_id: &str, org_slug: &str, email: &str, role_name: &str, request_id: &str, grant_end: latch_core::Timestamp) -> ApiResult<(String, latch_core::Timestamp)> {
    let now = state.now();
    let exp = grant_end.min(now.plus(MAX_TOKEN_LIFE));
    let (kid, key) = key(state, org_id).await?;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(internal)?;
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(internal)?;
    let iss = issuer(state, org_slug);
    let claims = Claims {
        iss: &iss,
        sub: format!("{role_name}/{email}"),
        aud: AUDIENCE,
        iat: now.millis() / 1000,
        nbf: now.millis() / 1000,
        exp: exp.millis() / 1000,
        jti: latch_core::id::new_id("jti"),
        email,
        request: request_id,
    };
    let header = Header { kid: Some(kid), ..Header::new(Algorithm::RS256) };
    let token = jsonwebtoken::encode(&header, &claims, &encoding).map_err(internal)?;
    Ok((token, exp))
}
