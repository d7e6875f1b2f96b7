//! Local passwords: argon2id hashes in PHC string format.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use thiserror::Error;

use crate::secret::Secret;

/// Why a password was refused or could not be hashed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Shorter than the minimum.
    #[error("the password is too short: use at least {0} characters")]
    TooShort(usize),
    /// Longer than the maximum (bounded so hashing cost stays bounded).
    #[error("the password is too long: use at most {0} characters")]
    TooLong(usize),
    /// The hasher failed.
    #[error("could not hash the password")]
    Hash,
}

/// Fewest characters a local password may have.
pub const MIN_LEN: usize = 12;
/// Most characters a local password may have.
pub const MAX_LEN: usize = 256;

/// Checks the policy and hashes with argon2id and a random salt.
pub fn hash(password: &Secret) -> Result<String, PasswordProblem> {
    let n = password.expose().chars().count();
    if n < MIN_LEN {
        return Err(PasswordProblem::TooShort(MIN_LEN));
    }
    if n > MAX_LEN {
        return Err(PasswordProblem::TooLong(MAX_LEN));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordProblem::Hash)
}

/// Whether `password` matches the stored PHC `hash`. A malformed stored hash
/// never matches.
pub fn verify(password: &Secret, hash: &str) -> bool {
    if password.expose().chars().count() > MAX_LEN {
        return false;
    }
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A hash of nothing anyone can type, verified against when the account does
/// not exist so that timing does not reveal which emails are registered.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Wm5bqnF0ADEhdF0cA0T1NlJYc5DZzDbm+v0KMxGwhM"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let pw = Secret::new("correct horse battery");
        let a = hash(&pw).unwrap();
        let b = hash(&pw).unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify(&pw, &a));
        assert!(!verify(&Secret::new("wrong horse battery"), &a));
        assert!(!verify(&pw, "not a hash"));
        assert!(!verify(&pw, decoy_hash()));
    }

    #[test]
    fn policy_bounds() {
        assert_eq!(hash(&Secret::new("short")), Err(PasswordProblem::TooShort(MIN_LEN)));
        assert_eq!(hash(&Secret::new("x".repeat(300))), Err(PasswordProblem::TooLong(MAX_LEN)));
    }
}
