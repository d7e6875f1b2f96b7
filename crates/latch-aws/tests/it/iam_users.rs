//! The iam-users provisioner against moto, as the Provisioner contract
//! asks: each kind granted and revoked idempotently (already-granted and
//! already-revoked reported apart), the time bound written into AWS and
//! never shortened, and what cannot work failing permanently with the
//! thing named. Latch's calls run with enforcement on.

use std::sync::Arc;
use std::time::Duration;

use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{InstallPlan, POLICY_NAME};
use latch_aws::provision::AwsProvisioner;
use latch_aws::{AwsSettings, ClientFactory};
use latch_core::access::provision::{GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::access::target::{Kind, Level, Target};
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus, UserLookup};
use latch_core::store::{IntegrationStore, OrgStore};
use latch_core::{ManualClock, Timestamp};
use latch_store::{connect, sqlite_url_in, StoreOptions};
use latch_testkit::aws::AwsWorld;
use serde_json::{json, Value};

const EXTERNAL_ID: &str = "latch-ext-0b1d3f5a7c9e1b7c1e3a5b9d2f4e6a8c";
const ALICE: &str = "alice@acme.io";
const T0: Timestamp = Timestamp(1_763_849_000_000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_granted_and_revoked_idempotently_and_bounded_in_time() {
    let w = AwsWorld::build().await.unwrap();
    let iam = w.customer_iam();
    iam.create_user().user_name(ALICE).send().await.unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", w.customer_account)}, "Action": "sts:AssumeRole"}]});
    iam.create_role().role_name("Admin").assume_role_policy_document(trust.to_string()).send().await.unwrap();
    let narrow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:user/bob", w.customer_account)}, "Action": "sts:AssumeRole"}]});
    iam.create_role().role_name("BobOnly").assume_role_policy_document(narrow.to_string()).send().await.unwrap();
    iam.create_group().group_name("oncall").send().await.unwrap();
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    iam.create_policy().policy_name("ReadReports").policy_document(doc.to_string()).send().await.unwrap();
    let c = Components { mode: AwsMode::IamUsers, inventory: false, organizations: false, federation: latch_core::integration::FederationProtocol::Oidc };
    let ctx = RoleContext { partition: "aws", account_id: &w.customer_account, role_name: "LatchIntegration", member_role_name: "OrganizationAccountAccessRole" };
    let plan = InstallPlan::new(&c, &ctx, &w.latch_arn, EXTERNAL_ID);
    iam.create_role().role_name("LatchIntegration").assume_role_policy_document(plan.trust.to_string()).send().await.unwrap();
    iam.put_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).policy_document(plan.permissions.to_string()).send().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap();
    let org = store.create_org("acme", "Acme", T0).await.unwrap();
    let integration = AwsIntegration {
        org_id: org.id.clone(),
        account_id: w.customer_account.clone(),
        alias: None,
        mode: AwsMode::IamUsers,
        user_lookup: UserLookup::Email,
        inventory: false,
        organizations: false,
        role_name: "LatchIntegration".into(),
        external_id: EXTERNAL_ID.into(),
        sso_start_url: None,
        federation: latch_core::integration::FederationProtocol::Oidc,
        status: IntegrationStatus::Pending,
        missing: vec![],
        verified_at: None,
        created_at: T0,
    };
    store.put_aws_integration(&integration).await.unwrap();
    store.set_aws_status(&org.id, &w.customer_account, IntegrationStatus::Installed, &[], T0).await.unwrap();
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    let factory = ClientFactory::with_credentials(settings, &w.latch.id, &w.latch.secret);
    let p = AwsProvisioner::new(Arc::new(factory), Arc::new(store), Arc::new(ManualClock::new(T0)));
    w.enforce().unwrap();

    let spec = |kind: Kind, name: &str, level: Option<Level>, hours: u64| GrantSpec {
        org_id: org.id.clone(),
        user_id: "u-alice".into(),
        email: ALICE.into(),
        target: Target { integration: "aws".into(), account: w.customer_account.clone(), kind, name: name.into(), level },
        expires_at: T0.plus(Duration::from_secs(hours * 3600)),
    };
    let inline = |applied: &Value| applied["policy_name"].as_str().unwrap().to_owned();
    let read = |name: String| {
        let iam = w.customer_iam();
        let w = &w;
        async move {
            w.relax().unwrap();
            let doc = iam.get_user_policy().user_name(ALICE).policy_name(name).send().await.ok().map(|o| o.policy_document);
            w.enforce().unwrap();
            doc.map(|d| serde_json::from_str::<Value>(&latch_aws::trust::decode_document(&d)).unwrap())
        }
    };

    for (kind, name, level) in [(Kind::Role, "Admin", None), (Kind::Policy, "ReadReports", None), (Kind::Resource, "arn:aws:s3:::reports", Some(Level::Read))] {
        let GrantOutcome::Granted(applied) = p.grant(&spec(kind, name, level, 2)).await.unwrap() else { panic!("{name}: not fresh") };
        let doc = read(inline(&applied.0)).await.expect("the grant is an inline user policy");
        assert_eq!(doc["Statement"][0]["Condition"]["DateLessThan"]["aws:CurrentTime"], "2025-11-23T00:03:20Z", "{name}: AWS itself ends it");
        // Again with a shorter end (an overlapping grant): already granted, and the bound is kept.
        assert!(matches!(p.grant(&spec(kind, name, level, 1)).await.unwrap(), GrantOutcome::AlreadyGranted(_)), "{name}");
        assert_eq!(read(inline(&applied.0)).await.unwrap(), doc, "{name}: a bound is never shortened");
        // Again with a later end: the bound moves.
        assert!(matches!(p.grant(&spec(kind, name, level, 3)).await.unwrap(), GrantOutcome::AlreadyGranted(_)), "{name}");
        let later = read(inline(&applied.0)).await.unwrap();
        assert_eq!(later["Statement"][0]["Condition"]["DateLessThan"]["aws:CurrentTime"], "2025-11-23T01:03:20Z", "{name}");
        assert_eq!(p.revoke(&spec(kind, name, level, 3), &applied).await.unwrap(), RevokeOutcome::Revoked, "{name}");
        assert!(read(inline(&applied.0)).await.is_none(), "{name}: removed");
        assert_eq!(p.revoke(&spec(kind, name, level, 3), &applied).await.unwrap(), RevokeOutcome::AlreadyRevoked, "{name}");
    }

    let group = spec(Kind::Group, "oncall", None, 1);
    let GrantOutcome::Granted(applied) = p.grant(&group).await.unwrap() else { panic!("group: not fresh") };
    assert!(matches!(p.grant(&group).await.unwrap(), GrantOutcome::AlreadyGranted(_)));
    assert_eq!(p.revoke(&group, &applied).await.unwrap(), RevokeOutcome::Revoked);
    assert_eq!(p.revoke(&group, &applied).await.unwrap(), RevokeOutcome::AlreadyRevoked);

    // What cannot work fails for good, naming the thing.
    let permanent = |r: Result<GrantOutcome, ProvisionError>| match r {
        Err(ProvisionError::Permanent(m)) => m,
        other => panic!("expected a permanent failure, got {other:?}"),
    };
    assert!(permanent(p.grant(&spec(Kind::Role, "Nope", None, 1)).await).contains("role `Nope` not found"));
    assert!(permanent(p.grant(&spec(Kind::Role, "BobOnly", None, 1)).await).contains("trust policy of role `BobOnly`"));
    assert!(permanent(p.grant(&spec(Kind::PermissionSet, "ReadOnly", None, 1)).await).contains("permission sets"));
    assert!(permanent(p.grant(&spec(Kind::Resource, "arn:aws:rds:us-east-1:1:db:x", Some(Level::Read), 1)).await).contains("rds:db"));
    let mut stranger = spec(Kind::Role, "Admin", None, 1);
    stranger.email = "carol@acme.io".into();
    assert!(permanent(p.grant(&stranger).await).contains("no IAM user named `carol@acme.io`"));
}
