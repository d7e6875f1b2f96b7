//! Install and verify: the printed role works, a wrong or missing
//! ExternalId fails, and every missing permission is named.

use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{InstallPlan, POLICY_NAME};
use latch_aws::verify::verify;
use latch_aws::{AwsSettings, ClientFactory};
use latch_core::integration::AwsMode;
use latch_testkit::aws::AwsWorld;
use serde_json::Value;

const EXTERNAL_ID: &str = "latch-ext-5f0c2a9e7b1d4c3a8e6f0b2d4c6a8e0f";

fn factory(w: &AwsWorld) -> ClientFactory {
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    ClientFactory::with_credentials(settings, &w.latch.id, &w.latch.secret)
}

async fn install(w: &AwsWorld, c: &Components, trust: &Value, permissions: &Value) {
    let iam = w.customer_iam();
    let _ = iam.delete_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).send().await;
    let _ = iam.delete_role().role_name("LatchIntegration").send().await;
    iam.create_role().role_name("LatchIntegration").assume_role_policy_document(trust.to_string()).send().await.unwrap();
    iam.put_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).policy_document(permissions.to_string()).send().await.unwrap();
    let _ = c;
}

fn plan(w: &AwsWorld, c: &Components, external_id: &str) -> InstallPlan {
    let ctx = RoleContext { partition: "aws", account_id: &w.customer_account, role_name: "LatchIntegration", member_role_name: "OrganizationAccountAccessRole" };
    InstallPlan::new(c, &ctx, &w.latch_arn, external_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_role_verifies_and_missing_permissions_are_named() {
    let w = AwsWorld::build().await.unwrap();
    let c = Components { mode: AwsMode::IamUsers, inventory: false, organizations: false, federation: latch_core::integration::FederationProtocol::Oidc };
    let p = plan(&w, &c, EXTERNAL_ID);
    install(&w, &c, &p.trust, &p.permissions).await;
    w.enforce().unwrap();
    let f = factory(&w);

    let report = verify(&f, &c, &w.customer_account, "LatchIntegration", EXTERNAL_ID, None).await.unwrap();
    assert!(report.passed(), "{report:#?}");
    assert!(report.unverified.iter().any(|u| u.starts_with("iam:CreateUser")), "{report:#?}");

    // A wrong ExternalId: refused (AWS refuses the AssumeRole itself; the
    // trust policy is also read with Latch's engine, which catches it on
    // endpoints that do not check cross-account trust, like moto).
    let wrong = verify(&f, &c, &w.customer_account, "LatchIntegration", "latch-ext-wrong-0000000000000000000000", None).await.unwrap();
    assert!(!wrong.passed(), "{wrong:#?}");
    assert!(wrong.problems.iter().any(|p| p.contains("cannot assume") || p.contains("with this integration's ExternalId")), "{wrong:#?}");

    // The policy without two of its actions: both are named.
    let mut trimmed = p.permissions.clone();
    for st in trimmed["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| a != "iam:PutUserPolicy" && a != "iam:ListAccountAliases");
        }
    }
    w.relax().unwrap();
    w.customer_iam().put_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).policy_document(trimmed.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    let report = verify(&f, &c, &w.customer_account, "LatchIntegration", EXTERNAL_ID, None).await.unwrap();
    assert_eq!(report.missing, ["iam:ListAccountAliases", "iam:PutUserPolicy"], "{report:#?}");
    assert!(!report.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_policy_without_the_external_id_fails_verify() {
    let w = AwsWorld::build().await.unwrap();
    let c = Components { mode: AwsMode::IamUsers, inventory: false, organizations: false, federation: latch_core::integration::FederationProtocol::Oidc };
    let p = plan(&w, &c, EXTERNAL_ID);
    let mut trust = p.trust.clone();
    trust["Statement"][0].as_object_mut().unwrap().remove("Condition");
    install(&w, &c, &trust, &p.permissions).await;
    w.enforce().unwrap();
    let report = verify(&factory(&w), &c, &w.customer_account, "LatchIntegration", EXTERNAL_ID, None).await.unwrap();
    assert!(report.assumed);
    assert!(!report.passed());
    assert!(report.problems.iter().any(|p| p.contains("without the ExternalId")), "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_and_resource_policy_reads_are_probed() {
    let w = AwsWorld::build().await.unwrap();
    let c = Components { mode: AwsMode::IamUsers, inventory: true, organizations: true, federation: latch_core::integration::FederationProtocol::Oidc };
    let p = plan(&w, &c, EXTERNAL_ID);
    install(&w, &c, &p.trust, &p.permissions).await;
    // Each policy read is probed on a resource the account has.
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&w.customer_admin).force_path_style(true).build());
    s3.create_bucket().bucket("probe-me").send().await.unwrap();
    aws_sdk_sqs::Client::new(&w.customer_admin).create_queue().queue_name("probe-me").send().await.unwrap();
    aws_sdk_sns::Client::new(&w.customer_admin).create_topic().name("probe-me").send().await.unwrap();
    aws_sdk_kms::Client::new(&w.customer_admin).create_key().send().await.unwrap();
    aws_sdk_secretsmanager::Client::new(&w.customer_admin).create_secret().name("probe-me").secret_string("x").send().await.unwrap();
    let trimmed_out = ["organizations:ListPolicies", "s3:GetBucketPolicy", "sqs:GetQueueAttributes", "kms:GetKeyPolicy", "secretsmanager:GetResourcePolicy"];
    let mut trimmed = p.permissions.clone();
    for st in trimmed["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| !trimmed_out.iter().any(|t| a == t));
        }
    }
    w.customer_iam().put_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).policy_document(trimmed.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    let report = verify(&factory(&w), &c, &w.customer_account, "LatchIntegration", EXTERNAL_ID, None).await.unwrap();
    // moto names the tagging API's actions after its signing name
    // (`tagging:GetResources`), so it refuses `tag:GetResources` too; and
    // under enforcement it refuses every Lambda `GET` with
    // `SignatureDoesNotMatch`, so `lambda:ListFunctions` too.
    let moto_refuses = ["tag:GetResources", "lambda:ListFunctions"];
    let missing: Vec<&str> = report.missing.iter().map(String::as_str).filter(|a| !moto_refuses.contains(a)).collect();
    assert_eq!(missing, ["kms:GetKeyPolicy", "organizations:ListPolicies", "s3:GetBucketPolicy", "secretsmanager:GetResourcePolicy", "sqs:GetQueueAttributes"], "{report:#?}");
    // No function to probe `lambda:GetPolicy` with.
    assert!(report.unverified.iter().any(|u| u.starts_with("lambda:GetPolicy")), "{report:#?}");
}
