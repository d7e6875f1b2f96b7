//! Single sign-on with an org's upstream OpenID Connect provider:
//! authorization code flow with PKCE, state and nonce, ID token verified
//! against the provider's published keys; the `groups` claim (configurable)
//! mirrored into Latch's IdP groups.

use std::time::Duration;

use base64::Engine as _;
use latch_core::model::SsoConfig;
use latch_core::store::SsoState;
use latch_core::token::{random_secret, TokenHash};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use thiserror::Error;

use crate::state::AppState;

/// How long a person has to finish signing in at the provider.
const FLOW_TTL: Duration = Duration::from_secs(600);

/// Why single sign-on failed. Messages are shown to the person; detail from
/// the provider goes to the log.
#[derive(Debug, Error)]
pub enum SsoError {
    /// The org has no provider configured.
    #[error("single sign-on is not set up for this org")]
    NotConfigured,
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider could not be reached or gave an invalid answer")]
    Provider(String),
    /// The sign-in is unknown, used, expired, or from another browser.
    #[error("this sign-in link is invalid or expired; start again")]
    BadState,
    /// The provider's answer did not verify.
    #[error("the identity provider's answer could not be verified")]
    Invalid(String),
    /// The provider did not vouch for an email address.
    #[error("the identity provider did not give a verified email address")]
    NoEmail,
    /// The person is not a user of this org and users are not created on sign-in.
    #[error("`{0}` has no account in this org; ask an admin to add you")]
    UnknownUser(String),
    /// The database failed.
    #[error("something went wrong on our side; try again shortly")]
    Store(#[from] latch_core::store::StoreError),
    /// Recording the sign-in failed.
    #[error("something went wrong on our side; try again shortly")]
    Server(#[from] crate::error::ApiError),
}

/// What the provider vouched for.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Verified email.
    pub email: String,
    /// Display name, when given.
    pub name: Option<String>,
    /// Groups from the configured claim.
    pub groups: Vec<String>,
}

fn http() -> Result<openidconnect::reqwest::Client, SsoError> {
    // No redirects: the provider's endpoints are used exactly as published.
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SsoError::Provider(e.to_string()))
}

/// The callback URL registered at the provider.
pub fn redirect_url(state: &AppState) -> String {
    format!("{}/sso/callback", state.config.public_url())
}

async fn metadata(cfg: &SsoConfig, http: &openidconnect::reqwest::Client) -> Result<CoreProviderMetadata, SsoError> {
    let issuer = IssuerUrl::new(cfg.issuer.clone()).map_err(|e| SsoError::Provider(format!("issuer: {e}")))?;
    CoreProviderMetadata::discover_async(issuer, http).await.map_err(|e| SsoError::Provider(format!("discovery: {e}")))
}

/// Starts a sign-in: returns the provider URL to send the browser to, and
/// the `state` value to bind to this browser (in a cookie).
pub async fn begin(state: &AppState, org_id: &str, cfg: &SsoConfig, next: &str) -> Result<(String, String), SsoError> {
    let http = http()?;
    let md = metadata(cfg, &http).await?;
    let redirect = RedirectUrl::new(redirect_url(state)).map_err(|e| SsoError::Provider(e.to_string()))?;
    let client = CoreClient::from_provider_metadata(md, ClientId::new(cfg.client_id.clone()), Some(ClientSecret::new(cfg.client_secret.expose().to_owned())))
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    // The state is one of Latch's own 256-bit secrets: stored hashed.
    let state_value = random_secret();
    let sv = state_value.clone();
    let (url, _csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || CsrfToken::new(sv), Nonce::new_random)
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let flow = SsoState {
        org_id: org_id.to_owned(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next: next.to_owned(),
        expires_at: state.now().plus(FLOW_TTL),
    };
    state.store.create_sso_state(&TokenHash::of(&state_value), &flow).await?;
    Ok((url.to_string(), state_value))
}

/// Looks up the sign-in in flight for `state_value`, once.
pub async fn take(state: &AppState, state_value: &str) -> Result<SsoState, SsoError> {
    state.store.take_sso_state(&TokenHash::of(state_value), state.now()).await?.ok_or(SsoError::BadState)
}

/// Finishes a sign-in: exchanges the code, verifies the ID token (issuer,
/// audience, signature, expiry, nonce) and reads the identity.
pub async fn finish(state: &AppState, cfg: &SsoConfig, flow: &SsoState, code: &str) -> Result<Identity, SsoError> {
    let http = http()?;
    let md = metadata(cfg, &http).await?;
    let redirect = RedirectUrl::new(redirect_url(state)).map_err(|e| SsoError::Provider(e.to_string()))?;
    let client = CoreClient::from_provider_metadata(md, ClientId::new(cfg.client_id.clone()), Some(ClientSecret::new(cfg.client_secret.expose().to_owned())))
        .set_redirect_uri(redirect);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| SsoError::Provider(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| SsoError::Invalid(format!("code exchange: {e}")))?;
    let id_token = tokens.id_token().ok_or_else(|| SsoError::Invalid("no ID token in the token response".to_owned()))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(flow.nonce.clone()))
        .map_err(|e| SsoError::Invalid(format!("ID token: {e}")))?;
    // Claims beyond the standard ones (groups) come from the verified token's
    // own payload: the signature covered exactly this text.
    let raw = id_token.to_string();
    let extra = raw.split('.').nth(1).and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok()).and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()).unwrap_or_default();
    let mut email = claims.email().map(|e| e.to_string());
    let mut verified = claims.email_verified();
    let mut name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let mut groups = groups_of(&extra, &cfg.groups_claim);
    // Providers that keep profile claims out of the ID token serve them at
    // userinfo; its answer counts only for the same subject (OIDC Core 5.3.2).
    if email.is_none() || groups.is_none() {
        if let Some(info) = userinfo(&client, &tokens, &http).await {
            if info.get("sub").and_then(|v| v.as_str()) == Some(claims.subject().as_str()) {
                email = email.or_else(|| info.get("email").and_then(|v| v.as_str()).map(str::to_owned));
                verified = verified.or_else(|| info.get("email_verified").and_then(serde_json::Value::as_bool));
                name = name.or_else(|| info.get("name").and_then(|v| v.as_str()).map(str::to_owned));
                groups = groups.or_else(|| groups_of(&info, &cfg.groups_claim));
            }
        }
    }
    let email = email.ok_or(SsoError::NoEmail)?;
    // INVARIANT: an address the provider says it has not verified never
    // signs anyone in; an absent flag means the provider vouches for it.
    if verified == Some(false) {
        return Err(SsoError::NoEmail);
    }
    Ok(Identity { email, name, groups: groups.unwrap_or_default() })
}

async fn userinfo(
    client: &openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    tokens: &openidconnect::core::CoreTokenResponse,
    http: &openidconnect::reqwest::Client,
) -> Option<serde_json::Value> {
    let url = client.user_info_url()?.url().clone();
    let resp = http.get(url).bearer_auth(tokens.access_token().secret()).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let bytes = resp.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads a groups claim: an array of strings, or one string.
fn groups_of(claims: &serde_json::Value, claim: &str) -> Option<Vec<String>> {
    match claims.get(claim)? {
        serde_json::Value::Array(items) => Some(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
        serde_json::Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::groups_of;
    use serde_json::json;

    #[test]
    fn groups_claims_in_their_shapes() {
        assert_eq!(groups_of(&json!({"groups": ["a", "b", 3]}), "groups"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(groups_of(&json!({"roles": "ops"}), "roles"), Some(vec!["ops".into()]));
        assert_eq!(groups_of(&json!({"groups": 5}), "groups"), None);
        assert_eq!(groups_of(&json!({}), "groups"), None);
    }
}
