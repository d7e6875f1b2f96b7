//! The browser session cookie and its CSRF token.
//!
//! The CSRF token is derived from the session secret (SHA-256 with a domain
//! prefix), so the server needs no extra state to check it, and it is useless
//! without the cookie, which scripts cannot read (HttpOnly).

use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The cookie's name.
pub const NAME: &str = "latch_session";
/// The header carrying the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session secret from the request's cookies.
pub fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == NAME)
        .map(|(_, v)| v.to_owned())
}

/// The CSRF token belonging to a session secret.
pub fn csrf_token(session_secret: &str) -> String {
    hex::encode(Sha256::digest(format!("latch-csrf:{session_secret}").as_bytes()))
}

/// Whether the request carries the right CSRF token for its session.
pub fn csrf_ok(headers: &HeaderMap, session_secret: &str) -> bool {
    let want = csrf_token(session_secret);
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|got| bool::from(got.as_bytes().ct_eq(want.as_bytes())))
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Secure on TLS.
pub fn set(secret: &str, max_age_secs: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{NAME}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")).ok()
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("latch_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure")
    } else {
        HeaderValue::from_static("latch_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_bind_to_the_session() {
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_static("a=b; latch_session=latch_ses_xyz; c=d"));
        let secret = session_secret(&h).unwrap();
        assert_eq!(secret, "latch_ses_xyz");
        assert!(!csrf_ok(&h, &secret));
        h.insert(CSRF_HEADER, HeaderValue::from_str(&csrf_token("latch_ses_other")).unwrap());
        assert!(!csrf_ok(&h, &secret));
        h.insert(CSRF_HEADER, HeaderValue::from_str(&csrf_token(&secret)).unwrap());
        assert!(csrf_ok(&h, &secret));
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let v = set("s", 60, true).unwrap();
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Strict") && v.contains("Secure"));
        assert!(!set("s", 60, false).unwrap().to_str().unwrap().contains("Secure"));
    }
}
