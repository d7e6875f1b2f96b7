//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second
//! steps, one step of clock skew either way), with the matched step returned
//! so a code can be refused the second time it is presented.

use rand::RngCore as _;
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Secret as TotpSecret, TOTP};

use crate::clock::Timestamp;

const STEP: u64 = 30;
const DIGITS: usize = 6;

/// A new random secret (160 bits), base32 as authenticator apps expect.
pub fn generate_secret() -> String {
    let mut bytes = vec![0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    TotpSecret::Raw(bytes).to_encoded().to_string()
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = TotpSecret::Encoded(secret_b32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, bytes).ok()
}

/// Whether a secret is usable (valid base32, at least 128 bits).
pub fn is_valid_secret(secret_b32: &str) -> bool {
    totp(secret_b32).is_some()
}

/// The step `code` is valid for at `now` (±1 step), if any.
pub fn verify(secret_b32: &str, code: &str, now: Timestamp) -> Option<i64> {
    let t = totp(secret_b32)?;
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = u64::try_from(now.millis() / 1000).ok()?;
    let current = secs / STEP;
    // Check every candidate step without stopping early.
    let mut found = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        if bool::from(t.generate(step * STEP).as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = i64::try_from(step).ok();
        }
    }
    found
}

/// The code for `now` (tests and the demo use it; people use an app).
pub fn code_at(secret_b32: &str, now: Timestamp) -> Option<String> {
    let secs = u64::try_from(now.millis() / 1000).ok()?;
    totp(secret_b32).map(|t| t.generate(secs))
}

/// The `otpauth://` URL authenticator apps import (usually as a QR code).
pub fn otpauth_url(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B: the SHA-1 key "12345678901234567890".
    const RFC_KEY_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        // (time, 8-digit code); 6-digit codes are their last six digits.
        for (t, code8) in [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037")] {
            let now = Timestamp(t * 1000);
            assert_eq!(code_at(RFC_KEY_B32, now).unwrap(), code8[2..], "t={t}");
            assert!(verify(RFC_KEY_B32, &code8[2..], now).is_some());
        }
    }

    #[test]
    fn skew_is_one_step_and_the_step_is_reported() {
        let now = Timestamp(1_000_000_000_000);
        let code = code_at(RFC_KEY_B32, now).unwrap();
        let step = verify(RFC_KEY_B32, &code, now).unwrap();
        assert_eq!(step, 1_000_000_000 / 30);
        assert_eq!(verify(RFC_KEY_B32, &code, Timestamp(now.millis() + 30_000)), Some(step));
        assert_eq!(verify(RFC_KEY_B32, &code, Timestamp(now.millis() + 90_000)), None);
        assert_eq!(verify(RFC_KEY_B32, "12345", now), None);
        assert_eq!(verify(RFC_KEY_B32, "abcdef", now), None);
    }

    #[test]
    fn secrets_and_urls() {
        let s = generate_secret();
        assert!(is_valid_secret(&s));
        assert!(!is_valid_secret("not base32!"));
        assert_eq!(
            otpauth_url("Latch", "a@x.io", "ABC"),
            "otpauth://totp/Latch:a@x.io?secret=ABC&issuer=Latch&algorithm=SHA1&digits=6&period=30"
        );
    }
}
