//! Latch as the SAML identity provider of a federated account, end to end
//! on moto: the account registers Latch's metadata as an IAM SAML provider,
//! a role trusts it, and during a grant (only then) Latch signs assertions
//! that an independent verifier (xmlsec1) accepts with the certificate from
//! the metadata and that STS exchanges for a working session; the session
//! ends with the grant. The console sign-in page posts the same assertion.

use base64::Engine as _;
use latch_testkit::aws::AwsWorld;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::aws::{apply_with, factory, session_works};
use crate::support::{assert_error, TestApp};

const POLICY: &str = r#"
[[rule]]
name = "operate"
requesters = "any"
resource = { kinds = ["role"], names = ["Operate"] }
approval = "auto"
default_duration = "1h"
"#;

/// The certificate (base64 DER) in Latch's metadata.
fn metadata_cert(metadata: &str) -> String {
    let start = metadata.find("<ds:X509Certificate>").unwrap() + "<ds:X509Certificate>".len();
    let end = metadata[start..].find("</ds:X509Certificate>").unwrap() + start;
    metadata[start..end].to_owned()
}

fn xmlsec_verifies(xml: &str, cert_b64: &str) -> bool {
    latch_testkit::xmlsec::verifies(xml, cert_b64).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_roles_take_latch_saml_assertions_only_during_a_grant() {
    let w = AwsWorld::build().await.unwrap();
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let alice = app.add_user(&admin, "alice@acme.io", "member").await;
    let account = latch_testkit::aws::HOST_ACCOUNT;
    let (status, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "federated", "federation": "saml"}))).await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    assert_eq!(installed["integration"]["federation"], "saml");
    let admin_iam = aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None));
    apply_with(&admin_iam, &installed).await;

    // The documents make an IAM SAML provider from Latch's metadata, which
    // Latch also serves publicly.
    let resp = reqwest::get(format!("{}/saml/acme/metadata", app.url)).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/samlmetadata+xml");
    let metadata = resp.text().await.unwrap();
    assert!(metadata.contains(&format!("entityID=\"{}/saml/acme\"", app.url)), "{metadata}");
    let template: Value = serde_json::from_str(installed["documents"]["cloudformation"].as_str().unwrap()).unwrap();
    let provider_doc = &template["Resources"]["LatchIdentityProvider"];
    assert_eq!(provider_doc["Type"], "AWS::IAM::SAMLProvider");
    assert_eq!(provider_doc["Properties"]["SamlMetadataDocument"], metadata.as_str());
    assert!(installed["documents"]["cli"].as_str().unwrap().contains("aws iam create-saml-provider --name 'Latch'"));
    assert!(installed["documents"]["terraform"].as_str().unwrap().contains("resource \"aws_iam_saml_provider\" \"latch\""));
    // Before the provider exists, verify says so.
    w.enforce().unwrap();
    let (_, early) = admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    assert_eq!(early["integration"]["status"], "pending", "{early}");
    assert!(early["problems"].to_string().contains("is not registered"), "{early}");
    w.relax().unwrap();
    let provider = admin_iam
        .create_saml_provider()
        .name(provider_doc["Properties"]["Name"].as_str().unwrap())
        .saml_metadata_document(&metadata)
        .send()
        .await
        .unwrap()
        .saml_provider_arn
        .unwrap();
    let trust = installed["role_trust_template"].to_string();
    assert!(trust.contains("sts:AssumeRoleWithSAML") && trust.contains(&provider), "{trust}");
    let operate = admin_iam.create_role().role_name("Operate").assume_role_policy_document(trust).send().await.unwrap().role.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    admin_iam.put_role_policy().role_name("Operate").policy_name("operate").policy_document(allow.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    let (_, verified) = admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");
    let (_, accounts) = alice.call(Method::GET, "/v1/aws/accounts", None).await;
    assert_eq!(accounts[0]["federation"], "saml", "{accounts}");

    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Operate", "accounts": [account]}))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&alice, &id, "active").await;
    let path = format!("/v1/requests/{id}/saml-response");
    let (status, signed) = alice.call(Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!((signed["role_arn"].as_str(), signed["principal_arn"].as_str()), (Some(operate.arn.as_str()), Some(provider.as_str())));
    let assertion = signed["saml_response"].as_str().unwrap().to_owned();
    let xml = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&assertion).unwrap()).unwrap();
    let cert = metadata_cert(&metadata);
    assert!(xmlsec_verifies(&xml, &cert), "xmlsec1 refused the assertion with the metadata's certificate:\n{xml}");
    assert!(!xmlsec_verifies(&xml.replace("alice@acme.io", "admin@acme.io"), &cert));
    // Only the requester gets assertions for a grant.
    let got = admin.call(Method::POST, &path, Some(json!({}))).await;
    assert!(got.0 == StatusCode::FORBIDDEN || got.0 == StatusCode::NOT_FOUND, "{got:?}");

    // STS takes it (moto does not check signatures; xmlsec1 did), and the
    // session works under enforcement.
    w.relax().unwrap();
    let sts = aws_sdk_sts::Client::new(&w.config("unused", "unused", None));
    let out = sts.assume_role_with_saml().role_arn(&operate.arn).principal_arn(&provider).saml_assertion(&assertion).send().await.unwrap();
    assert!(out.assumed_role_user.unwrap().arn.ends_with("/alice@acme.io"));
    let k = out.credentials.unwrap();
    let session = w.config(&k.access_key_id, &k.secret_access_key, Some(k.session_token));
    w.enforce().unwrap();
    assert!(session_works(&session).await);

    // The console sign-in page posts the same kind of assertion to AWS.
    let page = alice.request(Method::GET, &format!("/saml/acme/sso?request={id}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("form-action https://signin.aws.amazon.com/saml"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("action=\"https://signin.aws.amazon.com/saml\"") && html.contains("name=\"SAMLResponse\""), "{html}");

    let (status, _) = alice.call(Method::POST, &format!("/v1/requests/{id}/relinquish"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    app.wait_for_state_as_time_passes(&alice, &id, "relinquished").await;
    assert_error(&alice.call(Method::POST, &path, Some(json!({}))).await, StatusCode::CONFLICT, "invalid_state");
    assert!(!session_works(&session).await, "the session issued during the grant ended with it");
    let audited: Value = admin.call(Method::GET, "/v1/audit", None).await.1;
    assert!(audited.to_string().contains("federation.saml_issued"));
    assert!(!audited.to_string().contains(&assertion[..40]), "an assertion was written to the audit log");
}
