//! Latch as a SAML 2.0 identity provider for AWS federation
//! (`sts:AssumeRoleWithSAML`): each org's IdP metadata (entity ID, signing
//! certificate), and signed `Response`s whose assertion carries the
//! attributes AWS reads — `Role` (role ARN, SAML provider ARN),
//! `RoleSessionName` and `SessionDuration` — for the audience
//! `https://signin.aws.amazon.com/saml`. The assertion is signed
//! (enveloped XML-DSig, exclusive canonicalization, RSA-SHA256) with the
//! org's signing key, and valid no longer than the grant behind it.

pub mod cert;
mod xml;

use base64::Engine as _;
use latch_core::Timestamp;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::RsaPrivateKey;
use sha2::{Digest as _, Sha256};

use xml::El;

/// The audience and recipient AWS expects.
pub const AWS_SAML_AUDIENCE: &str = "https://signin.aws.amazon.com/saml";
const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const AWS_ATTR: &str = "https://aws.amazon.com/SAML/Attributes/";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// What one assertion says.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    /// The IdP's entity ID (the issuer).
    pub issuer: &'a str,
    /// The person (their email), as the persistent name ID and session name.
    pub subject: &'a str,
    /// The role to assume.
    pub role_arn: &'a str,
    /// The account's IAM SAML provider for Latch.
    pub provider_arn: &'a str,
    /// Seconds the AWS session may last (900–43200; capped by the role).
    pub session_secs: u64,
    /// Issued at.
    pub now: Timestamp,
    /// The assertion is refused by AWS from this time on.
    pub not_on_or_after: Timestamp,
    /// Unique ids for the response and the assertion (`_` + hex).
    pub ids: (&'a str, &'a str),
}

fn attribute(name: &str, value: &str) -> El {
    El::new("saml:Attribute").attr("Name", &format!("{AWS_ATTR}{name}")).child(El::new("saml:AttributeValue").text(value))
}

fn assertion(g: &Grant<'_>, signature: Option<El>) -> El {
    let (now, until) = (time(g.now), time(g.not_on_or_after));
    let mut a = El::new("saml:Assertion").ns("saml", NS_SAML).attr("ID", g.ids.1).attr("IssueInstant", &now).attr("Version", "2.0").child(El::new("saml:Issuer").text(g.issuer));
    if let Some(sig) = signature {
        a = a.child(sig);
    }
    let confirmation = El::new("saml:SubjectConfirmation")
        .attr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
        .child(El::new("saml:SubjectConfirmationData").attr("NotOnOrAfter", &until).attr("Recipient", AWS_SAML_AUDIENCE));
    a.child(El::new("saml:Subject").child(El::new("saml:NameID").attr("Format", PERSISTENT).text(g.subject)).child(confirmation))
        .child(
            El::new("saml:Conditions")
                .attr("NotBefore", &now)
                .attr("NotOnOrAfter", &until)
                .child(El::new("saml:AudienceRestriction").child(El::new("saml:Audience").text(AWS_SAML_AUDIENCE))),
        )
        .child(
            El::new("saml:AuthnStatement")
                .attr("AuthnInstant", &now)
                .attr("SessionIndex", g.ids.1)
                .child(El::new("saml:AuthnContext").child(El::new("saml:AuthnContextClassRef").text("urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"))),
        )
        .child(
            El::new("saml:AttributeStatement")
                .child(attribute("Role", &format!("{},{}", g.role_arn, g.provider_arn)))
                .child(attribute("RoleSessionName", g.subject))
                .child(attribute("SessionDuration", &g.session_secs.to_string())),
        )
}

/// The signed `samlp:Response` XML for `g`.
pub fn signed_response(g: &Grant<'_>, key: &RsaPrivateKey, cert_der: &[u8]) -> String {
    // The digest covers the assertion as the verifier sees it once the
    // enveloped signature is taken out: the same element without it.
    let digest = b64(&Sha256::digest(assertion(g, None).to_canonical().as_bytes()));
    let algorithm = |name: &str, uri: &str| El::new(name).attr("Algorithm", uri);
    let signed_info = El::new("ds:SignedInfo")
        .ns("ds", NS_DS)
        .child(algorithm("ds:CanonicalizationMethod", EXC_C14N))
        .child(algorithm("ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"))
        .child(
            El::new("ds:Reference")
                .attr("URI", &format!("#{}", g.ids.1))
                .child(El::new("ds:Transforms").child(algorithm("ds:Transform", "http://www.w3.org/2000/09/xmldsig#enveloped-signature")).child(algorithm("ds:Transform", EXC_C14N)))
                .child(algorithm("ds:DigestMethod", "http://www.w3.org/2001/04/xmlenc#sha256"))
                .child(El::new("ds:DigestValue").text(&digest)),
        );
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(signed_info.to_canonical().as_bytes());
    let sig = El::new("ds:Signature")
        .ns("ds", NS_DS)
        .child(signed_info)
        .child(El::new("ds:SignatureValue").text(&b64(&signature.to_vec())))
        .child(El::new("ds:KeyInfo").child(El::new("ds:X509Data").child(El::new("ds:X509Certificate").text(&b64(cert_der)))));
    El::new("samlp:Response")
        .ns("samlp", NS_SAMLP)
        .attr("Destination", AWS_SAML_AUDIENCE)
        .attr("ID", g.ids.0)
        .attr("IssueInstant", &time(g.now))
        .attr("Version", "2.0")
        .child(El::new("saml:Issuer").ns("saml", NS_SAML).text(g.issuer))
        .child(El::new("samlp:Status").child(El::new("samlp:StatusCode").attr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")))
        .child(assertion(g, Some(sig)))
        .to_canonical()
}

/// The IdP metadata document for `entity_id` (what `iam:CreateSAMLProvider`
/// takes), with the signing certificate.
pub fn metadata(entity_id: &str, sso_url: &str, cert_der: &[u8]) -> String {
    let key_info = El::new("ds:KeyInfo").ns("ds", NS_DS).child(El::new("ds:X509Data").child(El::new("ds:X509Certificate").text(&b64(cert_der))));
    let idp = El::new("md:IDPSSODescriptor")
        .attr("WantAuthnRequestsSigned", "false")
        .attr("protocolSupportEnumeration", NS_SAMLP)
        .child(El::new("md:KeyDescriptor").attr("use", "signing").child(key_info))
        .child(El::new("md:NameIDFormat").text(PERSISTENT))
        .child(El::new("md:SingleSignOnService").attr("Binding", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST").attr("Location", sso_url));
    let doc = El::new("md:EntityDescriptor").ns("md", NS_MD).attr("entityID", entity_id).child(idp).to_canonical();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{doc}")
}

#[cfg(test)]
mod tests;
