//! Signed responses are checked by an independent verifier, xmlsec1
//! (Debian's package, installed by `scripts/install-test-deps`): the
//! signature holds, and any change to the assertion breaks it.

use std::time::Duration;

use base64::Engine as _;
use latch_core::Timestamp;
use rsa::RsaPrivateKey;

use super::{cert, metadata, signed_response, Grant};

fn key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap()
}

fn grant(now: Timestamp) -> Grant<'static> {
    Grant {
        issuer: "https://latch.example/saml/acme",
        subject: "alice@acme.io",
        role_arn: "arn:aws:iam::111111111111:role/Admin",
        provider_arn: "arn:aws:iam::111111111111:saml-provider/Latch",
        session_secs: 1800,
        now,
        not_on_or_after: now.plus(Duration::from_secs(300)),
        ids: ("_r1", "_a1"),
    }
}

/// xmlsec1's verdict on `xml` with the certificate.
fn xmlsec_verifies(xml: &str, cert_der: &[u8]) -> bool {
    latch_testkit::xmlsec::verifies(xml, &base64::engine::general_purpose::STANDARD.encode(cert_der)).unwrap()
}

#[test]
fn xmlsec1_verifies_the_signature_and_refuses_any_change() {
    let key = key();
    let cert = cert::self_signed(&key, "acme").unwrap();
    assert_eq!(cert, cert::self_signed(&key, "acme").unwrap(), "the certificate is the same every time");
    let xml = signed_response(&grant(Timestamp(1_795_400_000_000)), &key, &cert);
    assert!(xmlsec_verifies(&xml, &cert), "xmlsec1 refused Latch's signature:\n{xml}");
    for (from, to) in [("alice@acme.io", "mallory@acme.io"), ("role/Admin", "role/Root"), (">1800<", ">43200<")] {
        let tampered = xml.replacen(from, to, 1);
        assert_ne!(tampered, xml);
        assert!(!xmlsec_verifies(&tampered, &cert), "a changed assertion ({from} → {to}) still verified");
    }
    let other = cert::self_signed(&self::key(), "acme").unwrap();
    assert!(!xmlsec_verifies(&xml, &other), "verified with another key");
}

#[test]
fn the_assertion_says_what_aws_reads() {
    let key = key();
    let cert = cert::self_signed(&key, "acme").unwrap();
    let xml = signed_response(&grant(Timestamp(1_795_400_000_000)), &key, &cert);
    for want in [
        "<saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/Role\"><saml:AttributeValue>arn:aws:iam::111111111111:role/Admin,arn:aws:iam::111111111111:saml-provider/Latch</saml:AttributeValue>",
        "<saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/RoleSessionName\"><saml:AttributeValue>alice@acme.io</saml:AttributeValue>",
        "<saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/SessionDuration\"><saml:AttributeValue>1800</saml:AttributeValue>",
        "<saml:Audience>https://signin.aws.amazon.com/saml</saml:Audience>",
        "Recipient=\"https://signin.aws.amazon.com/saml\"",
    ] {
        assert!(xml.contains(want), "missing {want} in\n{xml}");
    }
    let md = metadata("https://latch.example/saml/acme", "https://latch.example/saml/acme/sso", &cert);
    assert!(md.contains("entityID=\"https://latch.example/saml/acme\""));
    assert!(md.contains(&base64::engine::general_purpose::STANDARD.encode(&cert)));
}
