//! xmlsec1 (Debian's package, installed by `scripts/install-test-deps`) as
//! the independent verifier of the XML signatures Latch makes: SAML
//! responses whose assertion is signed (ID attribute `ID`).

/// Whether xmlsec1 accepts the signed assertion in `xml` with the X.509
/// certificate `cert_b64` (base64 DER).
pub fn verifies(xml: &str, cert_b64: &str) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("cert.pem"), format!("-----BEGIN CERTIFICATE-----\n{cert_b64}\n-----END CERTIFICATE-----\n"))?;
    std::fs::write(dir.path().join("response.xml"), xml)?;
    let out = std::process::Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem", "cert.pem", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "response.xml"])
        .current_dir(dir.path())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run xmlsec1 ({e}); scripts/install-test-deps installs it"))?;
    Ok(out.status.success())
}
