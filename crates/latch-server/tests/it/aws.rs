//! The AWS integration end to end against moto with IAM enforcement on:
//! install (applying the printed CloudFormation documents), verify, request,
//! approve, use the access, revoke, and the access is gone — also for the
//! session obtained while it held.

use std::sync::Arc;

use latch_aws::{AwsSettings, ClientFactory};
use latch_testkit::aws::{AwsWorld, SdkConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, TestApp};

const POLICY: &str = r#"
[[rule]]
name = "admin-role"
requesters = "any"
resource = { kinds = ["role"], names = ["Admin"] }
approval = "auto"
default_duration = "1h"
"#;

const ALICE: &str = "alice@acme.io";

struct Customer {
    alice: SdkConfig,
    admin_role: String,
}

/// The member account's people and roles: alice's IAM user (no access of
/// her own) and an `Admin` role trusting the account.
async fn customer(w: &AwsWorld) -> Customer {
    let iam = w.customer_iam();
    iam.create_user().user_name(ALICE).send().await.unwrap();
    let key = iam.create_access_key().user_name(ALICE).send().await.unwrap().access_key.unwrap();
    // The account root is how AWS says "the account's IAM policies decide";
    // moto matches trust principals literally, so alice is named as well.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": [format!("arn:aws:iam::{}:root", w.customer_account), format!("arn:aws:iam::{}:user/{ALICE}", w.customer_account)]},
        "Action": "sts:AssumeRole"}]});
    let role = iam.create_role().role_name("Admin").assume_role_policy_document(trust.to_string()).send().await.unwrap().role.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    iam.put_role_policy().role_name("Admin").policy_name("admin").policy_document(allow.to_string()).send().await.unwrap();
    Customer { alice: w.config(&key.access_key_id, &key.secret_access_key, None), admin_role: role.arn }
}

pub(crate) fn factory(w: &AwsWorld) -> Arc<ClientFactory> {
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    Arc::new(ClientFactory::with_credentials(settings, &w.latch.id, &w.latch.secret))
}

/// Applies the CloudFormation documents Latch printed, as the member account's administrator.
async fn apply(w: &AwsWorld, installed: &Value) {
    apply_with(&w.customer_iam(), installed).await;
}

/// Applies the integration role of the printed CloudFormation template with `iam`.
pub(crate) async fn apply_with(iam: &aws_sdk_iam::Client, installed: &Value) {
    latch_testkit::aws::apply_integration(iam, installed).await.unwrap();
}

async fn can_assume(c: &Customer) -> Option<SdkConfig> {
    let sts = aws_sdk_sts::Client::new(&c.alice);
    match sts.assume_role().role_arn(&c.admin_role).role_session_name(ALICE).send().await {
        Ok(out) => {
            let k = out.credentials.unwrap();
            Some(latch_testkit::aws::sdk_config(&c.alice_endpoint(), &k.access_key_id, &k.secret_access_key, Some(k.session_token)))
        }
        Err(e) => {
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403), "{e:?}");
            None
        }
    }
}

impl Customer {
    fn alice_endpoint(&self) -> String {
        self.alice.endpoint_url().unwrap().to_owned()
    }
}

pub(crate) async fn session_works(session: &SdkConfig) -> bool {
    aws_sdk_iam::Client::new(session).list_roles().send().await.is_ok()
}

/// Waits until sync `version` of `account` has finished.
async fn synced(app: &TestApp, admin: &crate::support::Client, account: &str, version: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        app.kick();
        let (_, run) = admin.call(Method::GET, &format!("/v1/integrations/aws/{account}/sync"), None).await;
        if run["version"].as_i64() == Some(version) && run["status"] != "running" {
            return run;
        }
        last = run;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("sync {version} of {account} never finished: {last}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_is_granted_in_aws_and_taken_back_with_its_sessions() {
    let w = AwsWorld::build().await.unwrap();
    let cust = customer(&w).await;
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    let (status, body) = admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alice = app.add_user(&admin, ALICE, "member").await;
    let account = w.customer_account.clone();

    // Install: pending, with documents naming Latch's principal and a long ExternalId.
    let (status, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "iam-users", "alias": "customer"}))).await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    assert_eq!(installed["integration"]["status"], "pending");
    assert_eq!(installed["principal_arn"], w.latch_arn);
    let external_id = installed["integration"]["external_id"].as_str().unwrap().to_owned();
    assert!(external_id.len() >= 32);
    assert!(installed["documents"]["cli"].as_str().unwrap().contains(&external_id));

    // A request before the account is verified fails with the fix named.
    let (status, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": [account]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let failed = app.wait_for_state(&alice, r["id"].as_str().unwrap(), "failed").await;
    assert!(failed.to_string().contains("verify"), "{failed}");

    apply(&w, &installed).await;
    w.enforce().unwrap();
    let (status, verified) = admin.call(Method::POST, "/v1/integrations/aws/customer/verify", None).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");
    // Installing again keeps the ExternalId (the customer's trust names it).
    let (_, again) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "iam-users", "alias": "customer"}))).await;
    assert_eq!(again["integration"]["external_id"], external_id.as_str());
    assert_eq!(again["integration"]["status"], "installed");

    // Verifying starts the first inventory sync, which runs with only the
    // printed permissions (enforcement is on).
    let v1 = synced(&app, &admin, &account, 1).await;
    assert_eq!(v1["status"], "done", "{v1}");
    let (_, users) = admin.call(Method::GET, &format!("/v1/integrations/aws/{account}/inventory?kind=iam-user"), None).await;
    let alice_arn = format!("arn:aws:iam::{account}:user/{ALICE}");
    assert!(users.as_array().unwrap().iter().any(|u| u["id"] == alice_arn.as_str()), "{users}");
    let (_, roles) = admin.call(Method::GET, &format!("/v1/integrations/aws/{account}/inventory?kind=iam-role"), None).await;
    let admin_role = roles.as_array().unwrap().iter().find(|r| r["data"]["name"] == "Admin").expect("the Admin role is in the inventory");
    assert_eq!(admin_role["data"]["trust_policy"]["Statement"][0]["Action"], "sts:AssumeRole");
    let (_, creds) = admin.call(Method::GET, &format!("/v1/integrations/aws/{account}/inventory?kind=credential"), None).await;
    assert!(creds.as_array().unwrap().iter().any(|c| c["id"] == alice_arn.as_str()), "the credential report is synced: {creds}");

    assert!(can_assume(&cust).await.is_none(), "no standing access");
    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": [account]}))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&alice, &id, "active").await;
    let session = can_assume(&cust).await.expect("the grant lets alice assume the role");
    assert!(session_works(&session).await);

    // A sync now sees the grant as a change to alice, and nothing else.
    let (status, _) = admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/sync"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let v2 = synced(&app, &admin, &account, 2).await;
    assert_eq!((v2["appeared"].as_i64(), v2["vanished"].as_i64()), (Some(0), Some(0)), "{v2}");
    let (_, changes) = admin.call(Method::GET, &format!("/v1/integrations/aws/{account}/changes?version=2"), None).await;
    assert!(changes.as_array().unwrap().iter().any(|c| c["change"] == "changed" && c["id"] == alice_arn.as_str()), "{changes}");

    // Drift: someone removes alice's grant in AWS and plants a Latch-named
    // policy no grant holds. Reconciliation (after the next sync) puts the
    // grant back and removes the stray one, auditing both.
    let iam = w.customer_iam();
    w.relax().unwrap();
    let grant_policy = iam.list_user_policies().user_name(ALICE).send().await.unwrap().policy_names[0].clone();
    iam.delete_user_policy().user_name(ALICE).policy_name(&grant_policy).send().await.unwrap();
    let stray = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    iam.put_user_policy().user_name(ALICE).policy_name("LatchGrant-0123456789abcdef").policy_document(stray.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/sync"), None).await;
    synced(&app, &admin, &account, 3).await;
    let mut repaired = false;
    for _ in 0..400 {
        app.kick();
        w.relax().unwrap();
        let names = iam.list_user_policies().user_name(ALICE).send().await.unwrap().policy_names;
        w.enforce().unwrap();
        if names == vec![grant_policy.clone()] {
            repaired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(repaired, "reconciliation did not restore the grant and remove the stray policy");
    let (_, audit) = admin.call(Method::GET, "/v1/audit?limit=5000", None).await;
    let actions: Vec<&str> = audit["records"].as_array().unwrap().iter().filter_map(|r| r["action"].as_str()).collect();
    assert!(actions.contains(&"grant.repaired") && actions.contains(&"aws.leftover.removed"), "{actions:?}");

    let (status, _) = alice.call(Method::POST, &format!("/v1/requests/{id}/relinquish"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    app.wait_for_state_as_time_passes(&alice, &id, "relinquished").await;
    assert!(can_assume(&cust).await.is_none(), "the grant is gone");
    assert!(!session_works(&session).await, "the session issued during the grant ended too");

    // A role that does not exist: the request fails, naming it.
    let (_, bad) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": ["999999999999"]}))).await;
    let failed = app.wait_for_state(&alice, bad["id"].as_str().unwrap(), "failed").await;
    assert!(failed.to_string().contains("not connected"), "{failed}");

    // Governance: an IAM user for a newcomer, tagged with their email, then
    // deleted with everything attached; both safe to repeat.
    let path = format!("/v1/integrations/aws/{account}/iam-users");
    let (status, made) = admin.call(Method::POST, &path, Some(json!({"email": "bob@acme.io"}))).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!((made["created"].as_bool(), made["tag"].as_str()), (Some(true), Some("Email")));
    let (_, again) = admin.call(Method::POST, &path, Some(json!({"email": "bob@acme.io"}))).await;
    assert_eq!(again["created"], false);
    let (status, gone) = admin.call(Method::DELETE, &format!("{path}/bob@acme.io"), None).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["report"]["already_gone"], false);
    let (_, twice) = admin.call(Method::DELETE, &format!("{path}/bob@acme.io"), None).await;
    assert_eq!(twice["report"]["already_gone"], true);
    let got = admin.call(Method::POST, &path, Some(json!({"email": "not an email"}))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");

    // Org isolation: another org cannot see or verify this account.
    let other = app.second_org("globex").await;
    let got = other.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let (_, list) = other.call(Method::GET, "/v1/integrations/aws", None).await;
    assert_eq!(list, json!([]));
}

const FEDERATED_POLICY: &str = r#"
[[rule]]
name = "deploy"
requesters = "any"
resource = { kinds = ["role"], names = ["Deploy"] }
approval = "auto"
default_duration = "1h"
"#;

/// Checks a token's signature and claims with an independent JOSE library
/// (Python's joserfc, installed with moto), against the keys Latch serves.
fn verify_independently(jwks_url: &str, token: &str) -> Value {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let script = "import json,sys,urllib.request\n\
                  from joserfc import jwt\n\
                  from joserfc.jwk import KeySet\n\
                  keys = KeySet.import_key_set(json.load(urllib.request.urlopen(sys.argv[1])))\n\
                  tok = jwt.decode(sys.argv[2], keys, algorithms=['RS256'])\n\
                  print(json.dumps({'header': tok.header, 'claims': tok.claims}))\n";
    let out = std::process::Command::new(python).args(["-c", script, jwks_url, token]).output().unwrap();
    assert!(out.status.success(), "joserfc refused the token: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_roles_take_latch_tokens_only_during_a_grant() {
    let w = AwsWorld::build().await.unwrap();
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    let (status, body) = admin.call(Method::PUT, "/v1/policy", Some(json!({"source": FEDERATED_POLICY}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alice = app.add_user(&admin, ALICE, "member").await;
    let account = latch_testkit::aws::HOST_ACCOUNT;

    let (status, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "federated"}))).await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    let issuer = format!("{}/oidc/acme", app.url);
    let template: Value = serde_json::from_str(installed["documents"]["cloudformation"].as_str().unwrap()).unwrap();
    assert_eq!(template["Resources"]["LatchIdentityProvider"]["Properties"]["Url"], issuer.as_str());
    // The account's administrator applies the documents, registers Latch as
    // the identity provider, and gives `Deploy` the printed trust.
    let admin_iam = aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None));
    apply_with(&admin_iam, &installed).await;
    // Before the identity provider is registered, verify says so.
    w.enforce().unwrap();
    let (_, early) = admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    assert_eq!(early["integration"]["status"], "pending", "{early}");
    assert!(early["problems"].to_string().contains("is not registered"), "{early}");
    w.relax().unwrap();
    admin_iam.create_open_id_connect_provider().url(&issuer).client_id_list("sts.amazonaws.com").send().await.unwrap();
    let trust = installed["role_trust_template"].to_string().replace("ROLE/*", "Deploy/*");
    let deploy = admin_iam.create_role().role_name("Deploy").assume_role_policy_document(trust).send().await.unwrap().role.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    admin_iam.put_role_policy().role_name("Deploy").policy_name("deploy").policy_document(allow.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    let (_, verified) = admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");

    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Deploy", "accounts": [account]}))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let active = app.wait_for_state(&alice, &id, "active").await;
    let token_path = format!("/v1/requests/{id}/web-identity-token");
    let (status, minted) = alice.call(Method::POST, &token_path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!(minted["role_arn"], deploy.arn.as_str());
    let token = minted["token"].as_str().unwrap().to_owned();

    // Signed as the discovery document and keys say, with the claims AWS checks.
    let (_, disco) = app.anon().call(Method::GET, "/oidc/acme/.well-known/openid-configuration", None).await;
    assert_eq!(disco["issuer"], issuer.as_str());
    let checked = verify_independently(disco["jwks_uri"].as_str().unwrap(), &token);
    let claims = &checked["claims"];
    assert_eq!((claims["iss"].as_str(), claims["aud"].as_str()), (Some(issuer.as_str()), Some("sts.amazonaws.com")));
    assert_eq!(claims["sub"], format!("Deploy/{ALICE}"));
    assert_eq!(checked["header"]["alg"], "RS256");
    let end = chrono::DateTime::parse_from_rfc3339(active["expires_at"].as_str().unwrap()).unwrap().timestamp();
    assert!(claims["exp"].as_i64().unwrap() <= end, "a token never outlives the grant");
    // Only the requester gets tokens for a grant.
    let got = admin.call(Method::POST, &token_path, Some(json!({}))).await;
    assert!(got.0 == StatusCode::FORBIDDEN || got.0 == StatusCode::NOT_FOUND, "{got:?}");

    // The token works at STS (moto does not check signatures; the check
    // above does), and the session works under enforcement.
    w.relax().unwrap();
    let sts = aws_sdk_sts::Client::new(&w.config("unused", "unused", None));
    let out = sts.assume_role_with_web_identity().role_arn(&deploy.arn).role_session_name(ALICE).web_identity_token(&token).send().await.unwrap();
    let k = out.credentials.unwrap();
    let session = w.config(&k.access_key_id, &k.secret_access_key, Some(k.session_token));
    w.enforce().unwrap();
    assert!(session_works(&session).await);

    let (status, _) = alice.call(Method::POST, &format!("/v1/requests/{id}/relinquish"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    app.wait_for_state_as_time_passes(&alice, &id, "relinquished").await;
    let got = alice.call(Method::POST, &token_path, Some(json!({}))).await;
    assert_error(&got, StatusCode::CONFLICT, "invalid_state");
    assert!(!session_works(&session).await, "the session issued during the grant ended with it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_accounts_are_reached_through_the_management_account() {
    let w = AwsWorld::build().await.unwrap();
    let cust = customer(&w).await;
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let alice = app.add_user(&admin, ALICE, "member").await;
    let management = latch_testkit::aws::HOST_ACCOUNT;

    // Only the management account is installed, with Organizations on.
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": management, "mode": "iam-users", "organizations": true}))).await;
    apply_with(&aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None)), &installed).await;
    w.enforce().unwrap();
    let (_, verified) = admin.call(Method::POST, &format!("/v1/integrations/aws/{management}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");

    // moto cannot resolve the policies of a role session made from another
    // account's session, so Latch's own calls into the member run relaxed;
    // alice's, in her own account, run enforced.
    w.relax().unwrap();
    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": [w.customer_account]}))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&alice, &id, "active").await;
    w.enforce().unwrap();
    let session = can_assume(&cust).await.expect("the grant in the member account lets alice assume the role");
    assert!(session_works(&session).await);

    w.relax().unwrap();
    alice.call(Method::POST, &format!("/v1/requests/{id}/relinquish"), Some(json!({}))).await;
    app.wait_for_state_as_time_passes(&alice, &id, "relinquished").await;
    w.enforce().unwrap();
    assert!(can_assume(&cust).await.is_none(), "the grant in the member account is gone");
    assert!(!session_works(&session).await, "and so is the session issued during it");

    // An account outside the organization cannot be reached; the request
    // fails and says why.
    w.relax().unwrap();
    let (_, bad) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": ["999999999999"]}))).await;
    let failed = app.wait_for_state(&alice, bad["id"].as_str().unwrap(), "failed").await;
    assert!(failed["failure"].as_str().unwrap_or_default().contains("999999999999"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_cannot_succeed_fails_and_the_schedule_goes_on() {
    use sqlx::Row as _;
    let w = AwsWorld::build().await.unwrap();
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    let account = w.customer_account.clone();
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "iam-users"}))).await;
    apply(&w, &installed).await;
    w.enforce().unwrap();
    admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    synced(&app, &admin, &account, 1).await;

    // The customer takes the sync permissions away: the next sync fails
    // for good, says why, and the next one is still scheduled.
    w.relax().unwrap();
    w.customer_iam().delete_role_policy().role_name("LatchIntegration").policy_name("LatchPermissions").send().await.unwrap();
    w.enforce().unwrap();
    admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/sync"), None).await;
    let failed = synced(&app, &admin, &account, 2).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap_or_default().contains("access denied"), "{failed}");
    let mut db = app.sql().await;
    let queued: i64 = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'aws_sync' AND subject = $1 AND state = 'queued'")
        .bind(&account)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
    assert!(queued >= 1, "the schedule stopped after a failed sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_found_by_their_email_tag() {
    let w = AwsWorld::build().await.unwrap();
    let iam = w.customer_iam();
    // alice's IAM user is not named after her email; a tag says who she is.
    let tag = aws_sdk_iam::types::Tag::builder().key("Email").value(ALICE).build().unwrap();
    iam.create_user().user_name("alice").tags(tag).send().await.unwrap();
    iam.create_user().user_name("bob").send().await.unwrap();
    let key = iam.create_access_key().user_name("alice").send().await.unwrap().access_key.unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": [format!("arn:aws:iam::{}:root", w.customer_account), format!("arn:aws:iam::{}:user/alice", w.customer_account)]},
        "Action": "sts:AssumeRole"}]});
    let role = iam.create_role().role_name("Admin").assume_role_policy_document(trust.to_string()).send().await.unwrap().role.unwrap();
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let alice = app.add_user(&admin, ALICE, "member").await;
    let account = w.customer_account.clone();
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "iam-users", "user_lookup": "tag:Email"}))).await;
    assert_eq!(installed["integration"]["user_lookup"], json!({"by": "tag", "key": "Email"}));
    apply(&w, &installed).await;
    w.enforce().unwrap();
    admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    synced(&app, &admin, &account, 1).await;

    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": [account]}))).await;
    app.wait_for_state(&alice, r["id"].as_str().unwrap(), "active").await;
    let sts = aws_sdk_sts::Client::new(&w.config(&key.access_key_id, &key.secret_access_key, None));
    sts.assume_role().role_arn(&role.arn).role_session_name("alice").send().await.expect("the grant went to the tagged user");
    w.relax().unwrap();
    assert!(iam.list_user_policies().user_name("bob").send().await.unwrap().policy_names.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_can_and_what_can_read_the_synced_inventory() {
    let w = AwsWorld::build().await.unwrap();
    customer(&w).await;
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    let alice = app.add_user(&admin, ALICE, "member").await;
    let account = w.customer_account.clone();
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "iam-users"}))).await;
    apply(&w, &installed).await;
    w.enforce().unwrap();
    let (_, verified) = admin.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");
    assert_eq!(synced(&app, &admin, &account, 1).await["status"], "done");
    w.relax().unwrap();

    // The Admin role may list roles through its inline policy; alice's own
    // user has no policy, so she cannot directly ...
    let role = format!("arn:aws:iam::{account}:role/Admin");
    let (status, found) = admin.call(Method::GET, "/v1/iam/who-can?action=iam:ListRoles&resource=*", None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let f = found.as_array().unwrap().iter().find(|f| f["principal"] == role.as_str()).unwrap_or_else(|| panic!("{found}"));
    assert_eq!(f["entity"], "role");
    assert_eq!(f["statements"][0]["policy"], format!("inline policy `admin` of `{role}`"));
    let alice_arn = format!("arn:aws:iam::{account}:user/{ALICE}");
    assert!(found.as_array().unwrap().iter().all(|f| f["principal"] != alice_arn.as_str()), "{found}");
    // ... but the role's trust names her, which in the same account is enough to assume it.
    assert_eq!(f["assumed_by"][0][0]["principal"], alice_arn.as_str(), "{found}");

    // What the role can do: the allow, and exact decisions.
    let (_, can) = admin.call(Method::GET, &format!("/v1/iam/what-can?principal={role}"), None).await;
    assert!(can.as_array().unwrap().iter().any(|c| c["allow"]["actions"].as_array().is_some_and(|a| a.contains(&json!("iam:ListRoles")))), "{can}");
    let (_, exact) = admin.call(Method::GET, &format!("/v1/iam/what-can?principal={role}&action=iam:ListUsers&resource=*"), None).await;
    let mine = exact.as_array().unwrap().iter().find(|c| c["decision"]["principal"] == role.as_str()).unwrap_or_else(|| panic!("{exact}"));
    assert_eq!(mine["decision"]["outcome"], "ImplicitlyDenied");

    let got = admin.call(Method::GET, "/v1/iam/what-can?principal=arn:aws:iam::111111111111:user/nobody", None).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    let got = alice.call(Method::GET, "/v1/iam/who-can?action=iam:ListRoles&resource=*", None).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN);
}

/// The grant policies on alice's IAM user in the member account, read as its administrator.
async fn alice_policies(w: &AwsWorld) -> Vec<String> {
    w.relax().unwrap();
    let names = w.customer_iam().list_user_policies().user_name(ALICE).send().await.unwrap().policy_names;
    w.enforce().unwrap();
    names
}

/// The management account is installed with Organizations on: its sync
/// syncs each active member account through the role hop into the member's
/// own snapshot (one member that cannot be reached fails alone, a closed one
/// is left out), and reconciliation in a member repairs drift and removes
/// leftovers through the same hop.
async fn member_accounts_are_synced_and_reconciled(engine: &str) {
    let w = AwsWorld::build().await.unwrap();
    let cust = customer(&w).await;
    let management = latch_testkit::aws::HOST_ACCOUNT;
    let member = w.customer_account.clone();
    // moto creates the member role with no policy; its administrator's.
    let admin_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    w.customer_iam().put_role_policy().role_name("OrganizationAccountAccessRole").policy_name("admin").policy_document(admin_policy.to_string()).send().await.unwrap();
    // A member whose role cannot be assumed (AWS answers a missing role
    // with AccessDenied, as it does here), and a closed one.
    let unreachable = w.create_member("unreachable").await.unwrap();
    // A member whose role may do nothing: reached, but its sync is refused.
    let bare = w.create_member("bare").await.unwrap();
    let closed = w.create_member("closed").await.unwrap();
    w.close_member(&closed).await.unwrap();

    let Some(app) = TestApp::spawn_with(engine, Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let alice = app.add_user(&admin, ALICE, "member").await;
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": management, "mode": "iam-users", "organizations": true}))).await;
    let host_iam = aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None));
    apply_with(&host_iam, &installed).await;
    let member_role = |account: &str| format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole");
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": member_role(&unreachable)}]});
    host_iam.put_role_policy().role_name("LatchIntegration").policy_name("no-hop").policy_document(deny.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    let (_, verified) = admin.call(Method::POST, &format!("/v1/integrations/aws/{management}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");

    // The management account's first sync lists the members and syncs each.
    assert_eq!(synced(&app, &admin, management, 1).await["status"], "done");
    let run = synced(&app, &admin, &member, 1).await;
    assert_eq!(run["status"], "done", "{run}");
    let (status, users) = admin.call(Method::GET, &format!("/v1/integrations/aws/{member}/inventory?kind=iam-user"), None).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert!(users.as_array().unwrap().iter().any(|u| u["data"]["name"] == ALICE), "the member's IAM users are its own snapshot: {users}");
    let (_, roles) = admin.call(Method::GET, &format!("/v1/integrations/aws/{member}/inventory?kind=iam-role"), None).await;
    assert!(roles.as_array().unwrap().iter().any(|r| r["id"] == cust.admin_role.as_str()), "{roles}");
    let (_, host_users) = admin.call(Method::GET, &format!("/v1/integrations/aws/{management}/inventory?kind=iam-user"), None).await;
    assert!(host_users.as_array().unwrap().iter().all(|u| u["data"]["name"] != ALICE), "members' items stay out of the management account's: {host_users}");

    let failed = synced(&app, &admin, &unreachable, 1).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("cannot reach member account `{unreachable}`")) && error.contains(&member_role(&unreachable)), "{failed}");
    assert!(error.contains(&format!("AWS account `{management}`")) && error.contains("\nhelp: "), "{failed}");

    let failed = synced(&app, &admin, &bare, 1).await;
    let error = failed["error"].as_str().unwrap_or_default();
    let context = format!("member account `{bare}` (reached from AWS account `{management}` through `{}`)", member_role(&bare));
    assert!(failed["status"] == "failed" && error.contains(&context) && error.contains("access denied"), "{failed}");

    let (status, none) = admin.call(Method::GET, &format!("/v1/integrations/aws/{closed}/sync"), None).await;
    assert_eq!((status, &none), (StatusCode::OK, &Value::Null), "a closed member is not synced");
    let (status, refused) = admin.call(Method::POST, &format!("/v1/integrations/aws/{closed}/sync"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("`SUSPENDED`"), "{refused}");
    let (status, _) = admin.call(Method::GET, "/v1/integrations/aws/999999999999/inventory", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Who-can reads the member's inventory too.
    let (_, found) = admin.call(Method::GET, "/v1/iam/who-can?action=iam:ListRoles&resource=*", None).await;
    assert!(found.as_array().unwrap().iter().any(|f| f["principal"] == cust.admin_role.as_str()), "{found}");

    // People see the member among their accounts, with what they may ask for there.
    let (_, accounts) = alice.call(Method::GET, "/v1/aws/accounts", None).await;
    let listed: Vec<&str> = accounts.as_array().unwrap().iter().filter_map(|a| a["account_id"].as_str()).collect();
    // (Every active member is listed: one whose role is missing is found out when used.)
    assert!(listed.contains(&member.as_str()) && listed.contains(&unreachable.as_str()) && !listed.contains(&closed.as_str()), "{accounts}");
    let (_, access) = alice.call(Method::GET, &format!("/v1/access?account={member}&kind=role"), None).await;
    assert!(access.as_array().unwrap().iter().any(|e| e["name"] == "Admin" && e["arn"] == cust.admin_role.as_str()), "{access}");

    // A grant in the member goes through the management account.
    let (_, r) = alice.call(Method::POST, "/v1/requests", Some(json!({"kind": "role", "name": "Admin", "accounts": [member]}))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&alice, &id, "active").await;
    let grant_policy = alice_policies(&w).await;
    assert_eq!(grant_policy.len(), 1, "{grant_policy:?}");

    // Drift in the member: the grant removed by hand, a Latch-named policy
    // no grant holds planted. A sync of the member (as `latch admin sync
    // --account MEMBER` asks) is followed by its reconciliation, which
    // grants again and removes the leftover, both through the hop.
    w.relax().unwrap();
    let iam = w.customer_iam();
    iam.delete_user_policy().user_name(ALICE).policy_name(&grant_policy[0]).send().await.unwrap();
    let stray = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    iam.put_user_policy().user_name(ALICE).policy_name("LatchGrant-0123456789abcdef").policy_document(stray.to_string()).send().await.unwrap();
    w.enforce().unwrap();
    let (status, body) = admin.call(Method::POST, &format!("/v1/integrations/aws/{member}/sync"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(synced(&app, &admin, &member, 2).await["status"], "done");
    let mut repaired = false;
    for _ in 0..400 {
        app.kick();
        if alice_policies(&w).await == grant_policy {
            repaired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(repaired, "reconciliation in the member did not restore the grant and remove the stray policy: {:?}", alice_policies(&w).await);
    let (_, audit) = admin.call(Method::GET, "/v1/audit?limit=5000", None).await;
    let records = audit["records"].as_array().unwrap();
    let on_member = |action: &str| records.iter().any(|r| r["action"] == action && r["target"] == member.as_str());
    assert!(on_member("aws.leftover.removed"), "{audit}");
    let via = format!("\"via_management_account\":\"{management}\"");
    assert!(records.iter().any(|r| r["action"] == "grant.repaired" && r.to_string().replace("\\\"", "\"").contains(&via)), "{audit}");
    assert!(can_assume(&cust).await.is_some(), "the repaired grant works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_accounts_are_synced_and_reconciled_on_sqlite() {
    member_accounts_are_synced_and_reconciled("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_accounts_are_synced_and_reconciled_on_postgres() {
    member_accounts_are_synced_and_reconciled("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_can_leaves_out_what_an_scp_denies() {
    use aws_sdk_organizations::types::PolicyType;

    let w = AwsWorld::build().await.unwrap();
    customer(&w).await;
    let Some(app) = TestApp::spawn_with("sqlite", Some(factory(&w))).await else { return };
    let admin = app.admin().await;
    let management = latch_testkit::aws::HOST_ACCOUNT;
    let account = w.customer_account.clone();
    let orgs = aws_sdk_organizations::Client::new(&w.config(&w.admin.id, &w.admin.secret, None));
    let root = orgs.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_owned();
    orgs.enable_policy_type().root_id(&root).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();

    // The management account with Organizations on, and the member account.
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": management, "mode": "iam-users", "organizations": true}))).await;
    apply_with(&aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None)), &installed).await;
    let (_, installed) = admin.call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": account, "mode": "iam-users"}))).await;
    apply(&w, &installed).await;
    w.enforce().unwrap();
    for a in [management, account.as_str()] {
        let (_, verified) = admin.call(Method::POST, &format!("/v1/integrations/aws/{a}/verify"), None).await;
        assert_eq!(verified["integration"]["status"], "installed", "{verified}");
        assert_eq!(synced(&app, &admin, a, 1).await["status"], "done");
    }
    let role = format!("arn:aws:iam::{account}:role/Admin");
    let who = || async {
        let (status, found) = admin.call(Method::GET, "/v1/iam/who-can?action=iam:ListRoles&resource=*", None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        found.as_array().unwrap().iter().any(|f| f["principal"] == role.as_str())
    };
    assert!(who().await, "the role's own policy allows, and FullAWSAccess is on every level");
    assert!(who().await, "asked again (from the cached inventory)");

    // An SCP on the member account denies it: once the management account
    // has synced again, the role is gone from who-can.
    w.relax().unwrap();
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoRoleListing", "Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]});
    let p = orgs.create_policy().name("NoRoleListing").description("no").r#type(PolicyType::ServiceControlPolicy).content(deny.to_string()).send().await.unwrap();
    let policy = p.policy().unwrap().policy_summary().unwrap();
    orgs.attach_policy().policy_id(policy.id().unwrap()).target_id(&account).send().await.unwrap();
    w.enforce().unwrap();
    admin.call(Method::POST, &format!("/v1/integrations/aws/{management}/sync"), None).await;
    assert_eq!(synced(&app, &admin, management, 2).await["status"], "done");
    assert!(!who().await, "the SCP denies the role");

    let (_, exact) = admin.call(Method::GET, &format!("/v1/iam/what-can?principal={role}&action=iam:ListRoles&resource=*"), None).await;
    let mine = exact.as_array().unwrap().iter().find(|c| c["decision"]["principal"] == role.as_str()).unwrap_or_else(|| panic!("{exact}"));
    assert_eq!(mine["decision"]["outcome"], "ExplicitlyDenied", "{exact}");
    let s = &mine["decision"]["statements"][0];
    assert_eq!((s["kind"].as_str(), s["sid"].as_str(), s["attached_to"].as_str()), (Some("SCP"), Some("NoRoleListing"), Some(account.as_str())), "{exact}");
    assert_eq!(s["policy"], format!("SCP `{}`", policy.arn().unwrap()));
}
