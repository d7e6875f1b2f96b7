//! Secrets Latch keeps in its database (each org's federation signing key)
//! are sealed under a key that is not in the database: XChaCha20-Poly1305
//! with a random nonce, the record's identity as associated data (a sealed
//! value moved to another org or key id does not open). Reading the
//! database alone no longer lets anyone mint Latch's tokens or assertions.

use std::path::Path;

use anyhow::{bail, Context as _};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

use crate::config::Config;

/// The prefix of a sealed value (and its format version).
const SEALED: &str = "sealed:v1:";
/// The key file in the data directory when none is configured.
const KEY_FILE: &str = "key-encryption.key";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Seals and opens database secrets.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    /// A sealer from 32 key bytes.
    pub fn new(key: &[u8]) -> anyhow::Result<Sealer> {
        if key.len() != 32 {
            bail!("the key-encryption key must be 32 bytes (base64), not {}", key.len());
        }
        Ok(Sealer(XChaCha20Poly1305::new_from_slice(key).map_err(|_| anyhow::anyhow!("unusable key-encryption key"))?))
    }

    /// The configured key, or the data directory's key file (made on first
    /// start: 32 random bytes, 0600 in a 0700 directory).
    pub fn load(config: &Config) -> anyhow::Result<Sealer> {
        if let Some(k) = &config.key_encryption_key {
            let bytes = b64().decode(k.expose().trim()).context("key_encryption_key is not base64")?;
            return Sealer::new(&bytes);
        }
        Self::from_file(&config.data_dir)
    }

    fn from_file(dir: &Path) -> anyhow::Result<Sealer> {
        use std::io::Write as _;
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        let path = dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = b64().decode(text.trim()).with_context(|| format!("`{}` is not a base64 key", path.display()))?;
                Sealer::new(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("while creating `{}`", dir.display()))?;
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                // create_new: two servers starting at once cannot both write one.
                match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                    Ok(mut f) => {
                        f.write_all(b64().encode(key).as_bytes())?;
                        f.sync_all()?;
                        Sealer::new(&key)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::from_file(dir),
                    Err(e) => Err(e).with_context(|| format!("while writing `{}`", path.display())),
                }
            }
            Err(e) => Err(e).with_context(|| format!("while reading `{}`", path.display())),
        }
    }

    /// Seals `plain`, bound to `context` (the record it belongs to).
    pub fn seal(&self, plain: &[u8], context: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.0.encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() }).map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED}{}", b64().encode(out)))
    }

    /// Opens what [`Sealer::seal`] made for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> anyhow::Result<Vec<u8>> {
        let body = sealed.strip_prefix(SEALED).context("not a sealed value")?;
        let bytes = b64().decode(body).context("a sealed value is not base64")?;
        if bytes.len() < 24 {
            bail!("a sealed value is too short");
        }
        let (nonce, ct) = bytes.split_at(24);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() }).map_err(|_| {
            anyhow::anyhow!("a sealed secret does not open with this server's key-encryption key\nhelp: every replica needs the same `key_encryption_key` (LATCH_KEY_ENCRYPTION_KEY)")
        })
    }

    /// Whether `stored` is sealed (older databases hold plain values).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_key_and_context() {
        let s = Sealer::new(&[7u8; 32]).unwrap();
        let sealed = s.seal(b"-----BEGIN RSA PRIVATE KEY-----", "org_1/kid").unwrap();
        assert!(Sealer::is_sealed(&sealed) && !sealed.contains("BEGIN"));
        assert_eq!(s.open(&sealed, "org_1/kid").unwrap(), b"-----BEGIN RSA PRIVATE KEY-----");
        assert!(s.open(&sealed, "org_2/kid").is_err(), "moved to another record");
        assert!(Sealer::new(&[8u8; 32]).unwrap().open(&sealed, "org_1/kid").is_err(), "another key");
        assert_ne!(s.seal(b"x", "c").unwrap(), s.seal(b"x", "c").unwrap(), "fresh nonces");
        assert!(Sealer::new(&[0u8; 16]).is_err());
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let a = Sealer::from_file(&data).unwrap();
        let sealed = a.seal(b"k", "c").unwrap();
        let b = Sealer::from_file(&data).unwrap();
        assert_eq!(b.open(&sealed, "c").unwrap(), b"k", "the same key on the next start");
        assert_eq!(std::fs::metadata(data.join(KEY_FILE)).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
