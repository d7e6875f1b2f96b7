//! The `Caller` extractor: resolves the request's credential to a
//! [`Principal`], and enforces CSRF on cookie-authenticated writes.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use latch_core::model::{CredentialKind, Principal, Scope};
use latch_core::token::{TokenHash, TokenKind};

use crate::auth::cookie;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How stale an API token's `last_used_at` may get before it is rewritten:
/// a write per request would halve throughput for no audit value.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Fails with 403 unless the caller signed in as a person (browser or
    /// CLI session): API tokens may not change how a person signs in.
    pub fn require_interactive(&self) -> ApiResult<()> {
        match self.0.credential {
            CredentialKind::Session | CredentialKind::Access => Ok(()),
            CredentialKind::Api => Err(ApiError::ForbiddenBecause(
                "an API token cannot do this; sign in as yourself (browser or `latch login`)".to_owned(),
            )),
        }
    }

    /// Fails with 403 unless the caller's role and token allow `scope`.
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.0.may(scope) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

impl std::ops::Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let now = state.now();
        if let Some(token) = bearer(parts) {
            let hash = TokenHash::of(token);
            let found = match TokenKind::of(token) {
                Some(TokenKind::Api) => state.store.authenticate_api_token(&hash, now).await?,
                Some(TokenKind::Access) => state.store.authenticate_access_token(&hash, now).await?,
                _ => None,
            };
            let principal = found.ok_or(ApiError::Unauthenticated)?;
            if principal.credential == CredentialKind::Api
                && principal.last_used_at.is_none_or(|t| t.plus(TOUCH_EVERY) < now)
            {
                let store = state.store.clone();
                let id = principal.credential_id.clone();
                tokio::spawn(async move {
                    if let Err(e) = store.touch_api_token(&id, now).await {
                        tracing::warn!(error = %e, "could not record API token use");
                    }
                });
            }
            return Ok(Caller(principal));
        }
        if let Some(secret) = cookie::session_secret(&parts.headers) {
            let principal = state
                .store
                .authenticate_session(&TokenHash::of(&secret), now)
                .await?
                .ok_or(ApiError::Unauthenticated)?;
            // INVARIANT: a cookie alone never authorises a state change; the
            // CSRF header proves the request came from Latch's own pages.
            if !is_safe(&parts.method) && !cookie::csrf_ok(&parts.headers, &secret) {
                return Err(ApiError::Csrf);
            }
            return Ok(Caller(principal));
        }
        Err(ApiError::Unauthenticated)
    }
}
