//! The self-signed X.509 certificate that carries an org's SAML signing key
//! in its IdP metadata (AWS reads only the public key from it). It is made
//! the same every time from the key alone: serial from the key's hash,
//! validity fixed, RSA PKCS#1 v1.5 signatures deterministic — so nothing
//! beyond the key needs storing, and the metadata never changes under AWS.

use std::str::FromStr as _;
use std::time::Duration;

use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use sha2::{Digest as _, Sha256};
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::der::Encode as _;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// The DER certificate for `key`, naming `org` as its subject.
pub fn self_signed(key: &RsaPrivateKey, org: &str) -> anyhow::Result<Vec<u8>> {
    let hash = Sha256::digest(key.n().to_bytes_be());
    // A positive serial: the top bit cleared.
    let mut serial = hash.get(..16).unwrap_or_default().to_vec();
    if let Some(first) = serial.first_mut() {
        *first &= 0x7f;
    }
    let serial = SerialNumber::new(&serial)?;
    // From 2000-01-01 for 9,000 years: AWS reads the key, not the dates.
    let not_before = Duration::from_secs(946_684_800);
    let validity = Validity {
        not_before: x509_cert::time::Time::GeneralTime(x509_cert::der::asn1::GeneralizedTime::from_unix_duration(not_before)?),
        not_after: x509_cert::time::Time::GeneralTime(x509_cert::der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(253_402_300_799))?),
    };
    let cn: String = org.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let subject = Name::from_str(&format!("CN=Latch SAML {cn}"))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(key.to_public_key().to_public_key_der()?.as_bytes())?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &signer)?;
    let cert = builder.build::<rsa::pkcs1v15::Signature>()?;
    Ok(cert.to_der()?)
}
