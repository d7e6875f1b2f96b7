//! Bearer secrets: generation, recognition by prefix, and hashing at rest.
//!
//! Every secret Latch hands out is 256 random bits, so a single SHA-256 is the
//! right hash for storage (argon2 is for low-entropy passwords). The database
//! only ever sees [`TokenHash`]es.

use base64::Engine as _;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// What a bearer secret is for; the prefix says it so a leaked string is
/// recognisable (and scannable) and so the server knows where to look it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A long-lived, scoped, revocable token for automation.
    Api,
    /// A short-lived access token issued to the CLI.
    Access,
    /// A rotating refresh token issued to the CLI.
    Refresh,
    /// A browser session cookie.
    Session,
    /// A one-time enrollment token for a new user.
    Enrollment,
    /// The device code of an RFC 8628 device authorization.
    DeviceCode,
}

impl TokenKind {
    const ALL: [TokenKind; 6] = [
        TokenKind::Api,
        TokenKind::Access,
        TokenKind::Refresh,
        TokenKind::Session,
        TokenKind::Enrollment,
        TokenKind::DeviceCode,
    ];

    /// The prefix every token of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Api => "latch_pat_",
            TokenKind::Access => "latch_at_",
            TokenKind::Refresh => "latch_rt_",
            TokenKind::Session => "latch_ses_",
            TokenKind::Enrollment => "latch_enr_",
            TokenKind::DeviceCode => "latch_dc_",
        }
    }

    /// The kind a presented token claims to be, from its prefix.
    pub fn of(token: &str) -> Option<TokenKind> {
        Self::ALL.into_iter().find(|k| token.starts_with(k.prefix()))
    }
}

/// The SHA-256 of a secret, lowercase hex: what the database stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

impl TokenHash {
    /// Hashes a presented secret.
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }
}

/// A freshly minted token: the secret goes to the holder once, the hash to
/// the database.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The value to show once.
    pub secret: Secret,
    /// The value to store.
    pub hash: TokenHash,
}

/// 256 random bits, base64url without padding: the body of every secret
/// Latch makes (tokens, OAuth `state` values, webhook signing keys).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Mints a new token of `kind`.
pub fn mint(kind: TokenKind) -> Minted {
    let secret = format!("{}{}", kind.prefix(), random_secret());
    Minted { hash: TokenHash::of(&secret), secret: Secret::new(secret) }
}

/// The characters of a device user code: consonants only (RFC 8628 §6.1
/// suggests it: no vowels, so no words; no look-alikes).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// A device-flow user code, `XXXX-XXXX`: what a person types or checks.
pub fn mint_user_code() -> String {
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let idx = rng.gen_range(0..USER_CODE_ALPHABET.len());
        code.push(char::from(USER_CODE_ALPHABET.get(idx).copied().unwrap_or(b'B')));
    }
    code
}

/// Normalises a typed user code: case-insensitive, dashes and spaces ignored.
pub fn normalize_user_code(input: &str) -> String {
    let compact: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match (compact.get(..4), compact.get(4..)) {
        (Some(a), Some(b)) if compact.len() == 8 => format!("{a}-{b}"),
        _ => compact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_carry_their_kind_and_hash() {
        for kind in TokenKind::ALL {
            let m = mint(kind);
            assert_eq!(TokenKind::of(m.secret.expose()), Some(kind));
            assert_eq!(m.hash, TokenHash::of(m.secret.expose()));
            assert_eq!(m.hash.0.len(), 64);
            assert!(!m.hash.0.contains(m.secret.expose()));
        }
        assert_eq!(TokenKind::of("ghp_abc"), None);
    }

    #[test]
    fn user_codes_use_the_safe_alphabet() {
        let code = mint_user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(code.chars().nth(4), Some('-'));
        assert!(code.chars().filter(|c| *c != '-').all(|c| USER_CODE_ALPHABET.contains(&(c as u8))));
    }

    #[test]
    fn typed_user_codes_normalise() {
        for (typed, want) in [
            ("bcdf-ghjk", "BCDF-GHJK"),
            ("BCDFGHJK", "BCDF-GHJK"),
            (" bcdf ghjk ", "BCDF-GHJK"),
            ("bcd", "BCD"),
        ] {
            assert_eq!(normalize_user_code(typed), want, "{typed}");
        }
    }
}
