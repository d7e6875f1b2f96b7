//! Identity Center mode through the integration on the Organizations
//! management account, with IAM enforcement on: permission sets are
//! assigned on a member account that has no integration of its own, groups
//! are joined, both idempotently, and what cannot work fails permanently
//! with a message naming the thing.
//!
//! moto creates an assignment at once (its answer already says
//! `SUCCEEDED`) and never answers `ConflictException`: the polling and the
//! conflict backoff are covered by the unit tests next to the code.

use std::sync::Arc;
use std::time::Duration;

use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{InstallPlan, POLICY_NAME};
use latch_aws::provision::{AwsProvisioner, IdentityCenterTiming};
use latch_aws::{AwsSettings, ClientFactory};
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::access::target::{Kind, Target};
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus};
use latch_core::store::{IntegrationStore, OrgStore};
use latch_core::{ManualClock, Timestamp};
use latch_store::{connect, sqlite_url_in, SqlStore, StoreOptions};
use latch_testkit::aws::{AwsWorld, SdkConfig, HOST_ACCOUNT};

const EXTERNAL_ID: &str = "latch-ext-7c1e3a5b9d2f4e6a8c0b1d3f5a7c9e1b";
const ROLE: &str = "LatchIntegration";
const ALICE: &str = "alice@acme.io";
const T0: Timestamp = Timestamp(1_763_849_000_000);

/// The estate: Identity Center data in the management account, the
/// integration role there, and the store that knows it.
struct Estate {
    w: AwsWorld,
    admin: SdkConfig,
    instance_arn: String,
    identity_store_id: String,
    alice_id: String,
    read_only_arn: String,
    oncall_id: String,
    org_id: String,
    plan: InstallPlan,
    provisioner: AwsProvisioner,
    store: SqlStore,
    dir: tempfile::TempDir,
}

fn components() -> Components {
    Components { mode: AwsMode::IdentityCenter, organizations: true, inventory: false, federation: latch_core::integration::FederationProtocol::Oidc }
}

async fn estate() -> Estate {
    let w = AwsWorld::build().await.unwrap();
    let admin = w.config(&w.admin.id, &w.admin.secret, None);

    // moto makes one instance per account; its ARN and identity store id
    // change with every reset.
    let sso = aws_sdk_ssoadmin::Client::new(&admin);
    let instances = sso.list_instances().send().await.unwrap();
    let instance = &instances.instances()[0];
    let (instance_arn, identity_store_id) = (instance.instance_arn().unwrap().to_owned(), instance.identity_store_id().unwrap().to_owned());
    let ids = aws_sdk_identitystore::Client::new(&admin);
    let name = aws_sdk_identitystore::types::Name::builder().given_name("Alice").family_name("Liddell").build();
    let alice_id = ids.create_user().identity_store_id(&identity_store_id).user_name(ALICE).display_name("Alice Liddell").name(name).send().await.unwrap().user_id;
    // The session duration is given: without one, moto answers the number
    // 3600 where AWS writes an ISO 8601 string, which the SDK cannot read.
    let create_ps = |name: &'static str| sso.create_permission_set().instance_arn(&instance_arn).name(name).session_duration("PT1H").send();
    // Another permission set first, so that finding one by name has to look.
    create_ps("Admin").await.unwrap();
    let read_only_arn = create_ps("ReadOnly").await.unwrap().permission_set.unwrap().permission_set_arn.unwrap();
    let oncall_id = ids.create_group().identity_store_id(&identity_store_id).display_name("Oncall").send().await.unwrap().group_id;
    ids.create_group().identity_store_id(&identity_store_id).display_name("Auditors").send().await.unwrap();

    // The integration role in the management account, as printed.
    let ctx = RoleContext { partition: "aws", account_id: HOST_ACCOUNT, role_name: ROLE, member_role_name: "OrganizationAccountAccessRole" };
    let plan = InstallPlan::new(&components(), &ctx, &w.latch_arn, EXTERNAL_ID);
    let iam = aws_sdk_iam::Client::new(&admin);
    iam.create_role().role_name(ROLE).assume_role_policy_document(plan.trust.to_string()).send().await.unwrap();
    iam.put_role_policy().role_name(ROLE).policy_name(POLICY_NAME).policy_document(plan.permissions.to_string()).send().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap();
    let org = store.create_org("acme", "Acme", T0).await.unwrap();
    store.put_aws_integration(&management(&org.id)).await.unwrap();
    store.set_aws_status(&org.id, HOST_ACCOUNT, IntegrationStatus::Installed, &[], T0).await.unwrap();

    let provisioner = provisioner(&w.endpoint, &w, store.clone());
    Estate { w, admin, instance_arn, identity_store_id, alice_id, read_only_arn, oncall_id, org_id: org.id, plan, provisioner, store, dir }
}

fn management(org_id: &str) -> AwsIntegration {
    AwsIntegration {
        alias: Some("management".into()),
        organizations: true,
        role_name: ROLE.to_owned(),
        external_id: EXTERNAL_ID.to_owned(),
        status: IntegrationStatus::Pending,
        created_at: T0,
        ..crate::integration(org_id, HOST_ACCOUNT, AwsMode::IdentityCenter)
    }
}

fn provisioner(endpoint: &str, w: &AwsWorld, store: SqlStore) -> AwsProvisioner {
    let settings = AwsSettings { endpoint_url: Some(endpoint.to_owned()), ..AwsSettings::default() };
    let factory = ClientFactory::with_credentials(settings, &w.latch.id, &w.latch.secret);
    let timing = IdentityCenterTiming { poll_interval: Duration::from_millis(20), poll_timeout: Duration::from_secs(2), conflict_backoff: Duration::from_millis(20), conflict_retries: 3 };
    AwsProvisioner::new(Arc::new(factory), Arc::new(store), Arc::new(ManualClock::new(T0))).with_identity_center_timing(timing)
}

impl Estate {
    fn spec(&self, account: &str, kind: Kind, name: &str, email: &str) -> GrantSpec {
        GrantSpec {
            org_id: self.org_id.clone(),
            user_id: "u-alice".into(),
            email: email.to_owned(),
            target: Target { integration: "aws".into(), account: account.to_owned(), kind, name: name.to_owned(), level: None },
            expires_at: T0.plus(Duration::from_secs(3600)),
        }
    }

    /// Who holds ReadOnly on `account`, as the management account's
    /// administrator reads it.
    async fn read_only_holders(&self, account: &str) -> Vec<String> {
        let out = aws_sdk_ssoadmin::Client::new(&self.admin)
            .list_account_assignments()
            .instance_arn(&self.instance_arn)
            .account_id(account)
            .permission_set_arn(&self.read_only_arn)
            .send()
            .await
            .unwrap();
        out.account_assignments().iter().map(|a| format!("{}:{}", a.principal_type().unwrap().as_str(), a.principal_id().unwrap())).collect()
    }

    async fn alice_in_oncall(&self) -> bool {
        let out = aws_sdk_identitystore::Client::new(&self.admin).list_group_memberships().identity_store_id(&self.identity_store_id).group_id(&self.oncall_id).send().await.unwrap();
        out.group_memberships().iter().any(|m| matches!(m.member_id(), Some(aws_sdk_identitystore::types::MemberId::UserId(u)) if *u == self.alice_id))
    }
}

#[async_trait::async_trait]
impl crate::crash::Estate for Estate {
    fn endpoint(&self) -> &str {
        &self.w.endpoint
    }

    fn provisioner(&self, endpoint: &str) -> AwsProvisioner {
        provisioner(endpoint, &self.w, self.store.clone())
    }

    /// Every account assignment of every permission set on both accounts,
    /// and every group's members.
    async fn snapshot(&self) -> serde_json::Value {
        let sso = aws_sdk_ssoadmin::Client::new(&self.admin);
        let ids = aws_sdk_identitystore::Client::new(&self.admin);
        let mut out = serde_json::Map::new();
        for ps in sso.list_permission_sets().instance_arn(&self.instance_arn).send().await.unwrap().permission_sets() {
            for account in [HOST_ACCOUNT, self.w.customer_account.as_str()] {
                let found = sso.list_account_assignments().instance_arn(&self.instance_arn).account_id(account).permission_set_arn(ps).send().await.unwrap();
                let mut held: Vec<String> = found.account_assignments().iter().map(|a| format!("{}:{}", a.principal_type().unwrap().as_str(), a.principal_id().unwrap())).collect();
                held.sort();
                out.insert(format!("{ps}@{account}"), serde_json::json!(held));
            }
        }
        for g in ids.list_groups().identity_store_id(&self.identity_store_id).send().await.unwrap().groups() {
            let found = ids.list_group_memberships().identity_store_id(&self.identity_store_id).group_id(&g.group_id).send().await.unwrap();
            let mut members: Vec<String> = found.group_memberships().iter().filter_map(|m| match m.member_id() {
                Some(aws_sdk_identitystore::types::MemberId::UserId(u)) => Some(u.clone()),
                _ => None,
            }).collect();
            members.sort();
            out.insert(format!("group/{}", g.group_id), serde_json::json!(members));
        }
        serde_json::Value::Object(out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_converge_after_a_crash_at_any_call() {
    let e = estate().await;
    let member = e.w.customer_account.clone();
    for spec in [e.spec(&member, Kind::PermissionSet, "ReadOnly", ALICE), e.spec(&member, Kind::Group, "Oncall", ALICE)] {
        crate::crash::converges_after_every_cut(&e, &spec).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_get_through_a_throttling_storm() {
    let e = estate().await;
    let member = e.w.customer_account.clone();
    for (seed, spec) in [e.spec(&member, Kind::PermissionSet, "ReadOnly", ALICE), e.spec(&member, Kind::Group, "Oncall", ALICE)].iter().enumerate() {
        crate::crash::weathers_a_throttling_storm(&e, spec, seed as u64).await;
    }
}

fn granted(outcome: GrantOutcome) -> Applied {
    match outcome {
        GrantOutcome::Granted(a) => a,
        other => panic!("expected a fresh grant, got {other:?}"),
    }
}

fn permanent(r: Result<GrantOutcome, ProvisionError>) -> String {
    match r {
        Err(ProvisionError::Permanent(m)) => m,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_set_is_assigned_on_a_member_account_and_removed_idempotently() {
    let e = estate().await;
    e.w.enforce().unwrap();
    let member = e.w.customer_account.clone();
    let spec = e.spec(&member, Kind::PermissionSet, "ReadOnly", ALICE);

    let applied = granted(e.provisioner.grant(&spec).await.unwrap());
    assert_eq!(e.read_only_holders(&member).await, [format!("USER:{}", e.alice_id)]);
    let a = &applied.0;
    assert_eq!((a["mode"].as_str(), a["kind"].as_str()), (Some("identity-center"), Some("account-assignment")), "{a}");
    assert_eq!(a["instance_arn"], e.instance_arn.as_str());
    assert_eq!(a["permission_set_arn"], e.read_only_arn.as_str());
    assert_eq!(a["principal_id"], e.alice_id.as_str());
    assert_eq!(a["account"], member.as_str());
    assert_eq!(a["integration_account"], HOST_ACCOUNT);

    // Again (a retry after a crash): nothing new, and moto — which would
    // happily store a duplicate — still holds one assignment.
    assert_eq!(e.provisioner.grant(&spec).await.unwrap(), GrantOutcome::AlreadyGranted(applied.clone()));
    assert_eq!(e.read_only_holders(&member).await.len(), 1);

    assert_eq!(e.provisioner.revoke(&spec, &applied).await.unwrap(), RevokeOutcome::Revoked);
    assert!(e.read_only_holders(&member).await.is_empty());
    assert_eq!(e.provisioner.revoke(&spec, &applied).await.unwrap(), RevokeOutcome::AlreadyRevoked);

    // The management account itself, which has its own (identity-center)
    // integration, named by its alias.
    let on_management = e.spec("management", Kind::PermissionSet, "ReadOnly", ALICE);
    let applied = granted(e.provisioner.grant(&on_management).await.unwrap());
    assert_eq!(applied.0["account"], HOST_ACCOUNT);
    assert_eq!(e.read_only_holders(HOST_ACCOUNT).await.len(), 1);
    assert!(e.read_only_holders(&member).await.is_empty(), "only the requested account is assigned");
    assert_eq!(e.provisioner.revoke(&on_management, &applied).await.unwrap(), RevokeOutcome::Revoked);
    assert!(e.read_only_holders(HOST_ACCOUNT).await.is_empty());

    // The calls above ran with the printed permissions only: without
    // `sso:CreateAccountAssignment` the grant is refused, naming it.
    e.w.relax().unwrap();
    let mut trimmed = e.plan.permissions.clone();
    for st in trimmed["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| a != "sso:CreateAccountAssignment");
        }
    }
    assert_ne!(trimmed, e.plan.permissions);
    aws_sdk_iam::Client::new(&e.admin).put_role_policy().role_name(ROLE).policy_name(POLICY_NAME).policy_document(trimmed.to_string()).send().await.unwrap();
    e.w.enforce().unwrap();
    let m = permanent(e.provisioner.grant(&spec).await);
    assert!(m.contains("`sso:CreateAccountAssignment`"), "{m}");
    assert!(e.read_only_holders(&member).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_works_from_the_record_alone() {
    let e = estate().await;
    e.w.enforce().unwrap();
    let member = e.w.customer_account.clone();
    let spec = e.spec(&member, Kind::PermissionSet, "ReadOnly", ALICE);
    let applied = granted(e.provisioner.grant(&spec).await.unwrap());

    // The request as the revoke sees it after a restart: only the org and
    // the record are trusted (the permission set could have been renamed).
    let mut later = spec.clone();
    later.target.name = "renamed since".into();
    later.email = "alice.renamed@acme.io".into();
    assert_eq!(e.provisioner.revoke(&later, &applied).await.unwrap(), RevokeOutcome::Revoked);
    assert!(e.read_only_holders(&member).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_membership_is_granted_and_revoked_idempotently() {
    let e = estate().await;
    e.w.enforce().unwrap();
    let spec = e.spec(&e.w.customer_account, Kind::Group, "Oncall", ALICE);

    let applied = granted(e.provisioner.grant(&spec).await.unwrap());
    assert!(e.alice_in_oncall().await);
    let a = &applied.0;
    assert_eq!((a["mode"].as_str(), a["kind"].as_str()), (Some("identity-center"), Some("group-membership")), "{a}");
    assert_eq!(a["group_id"], e.oncall_id.as_str());
    assert_eq!(a["user_id"], e.alice_id.as_str());
    assert!(a["membership_id"].as_str().is_some_and(|m| !m.is_empty()), "{a}");

    assert_eq!(e.provisioner.grant(&spec).await.unwrap(), GrantOutcome::AlreadyGranted(applied.clone()));
    assert_eq!(e.provisioner.revoke(&spec, &applied).await.unwrap(), RevokeOutcome::Revoked);
    assert!(!e.alice_in_oncall().await);
    // moto's DeleteGroupMembership accepts an unknown id silently (AWS
    // answers ResourceNotFoundException): the membership is looked up first.
    assert_eq!(e.provisioner.revoke(&spec, &applied).await.unwrap(), RevokeOutcome::AlreadyRevoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_one_entitlement_whatever_account_names_it() {
    let e = estate().await;
    let member = e.w.customer_account.clone();
    let p = &e.provisioner;
    let key = |account: &str, kind: Kind, name: &str| {
        let spec = e.spec(account, kind, name, ALICE);
        async move { p.entitlement_key(&spec).await.unwrap() }
    };
    // One membership in the management account's identity store, whether a
    // request names the member account or the management account.
    let through_member = key(&member, Kind::Group, "Oncall").await;
    assert_eq!(through_member, format!("aws/identity-center@{HOST_ACCOUNT}/group/Oncall/"));
    assert_eq!(key(HOST_ACCOUNT, Kind::Group, "Oncall").await, through_member);
    assert_ne!(key(&member, Kind::Group, "Auditors").await, through_member);
    // An account assignment is per account.
    assert_ne!(key(&member, Kind::PermissionSet, "ReadOnly").await, key(HOST_ACCOUNT, Kind::PermissionSet, "ReadOnly").await);
    assert_eq!(key(&member, Kind::PermissionSet, "ReadOnly").await, e.spec(&member, Kind::PermissionSet, "ReadOnly", ALICE).target.entitlement_key());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_granted_fails_permanently_and_says_what() {
    let e = estate().await;
    // A second member account, closed: Organizations keeps it as SUSPENDED.
    let orgs = aws_sdk_organizations::Client::new(&e.admin);
    let created = orgs.create_account().account_name("closed").email("aws-closed@example.com").send().await.unwrap();
    let request = created.create_account_status().unwrap().id().unwrap().to_owned();
    let closed = orgs.describe_create_account_status().create_account_request_id(&request).send().await.unwrap().create_account_status().unwrap().account_id().unwrap().to_owned();
    orgs.close_account().account_id(&closed).send().await.unwrap();
    e.w.enforce().unwrap();
    let member = e.w.customer_account.clone();
    let p = &e.provisioner;

    let m = permanent(p.grant(&e.spec(&member, Kind::PermissionSet, "ReadOnly", "bob@acme.io")).await);
    assert!(m.contains("no Identity Center user named `bob@acme.io`") && m.contains("\nhelp: "), "{m}");

    let m = permanent(p.grant(&e.spec(&member, Kind::PermissionSet, "PowerUser", ALICE)).await);
    assert!(m.contains("permission set `PowerUser` not found") && m.contains("\nhelp: "), "{m}");

    let m = permanent(p.grant(&e.spec(&member, Kind::Group, "Nobody", ALICE)).await);
    assert!(m.contains("no Identity Center group named `Nobody`"), "{m}");

    let m = permanent(p.grant(&e.spec("999999999999", Kind::PermissionSet, "ReadOnly", ALICE)).await);
    assert!(m.contains("AWS account `999999999999` is not in the organization") && m.contains("\nhelp: "), "{m}");

    let m = permanent(p.grant(&e.spec(&closed, Kind::PermissionSet, "ReadOnly", ALICE)).await);
    assert!(m.contains(&format!("AWS account `{closed}` is `SUSPENDED`")) && m.contains("\nhelp: "), "{m}");

    let m = permanent(p.grant(&e.spec(&member, Kind::Role, "Admin", ALICE)).await);
    assert!(m.contains("identity-center mode") && m.contains("permission sets, not roles") && m.contains("\nhelp: "), "{m}");

    // Nothing was assigned on the way.
    assert!(e.read_only_holders(&member).await.is_empty());
    assert!(e.read_only_holders(&closed).await.is_empty());
    assert!(e.read_only_holders("999999999999").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_account_needs_a_verified_management_integration() {
    let e = estate().await;
    let store = connect(&sqlite_url_in(e.dir.path()), &StoreOptions::default()).await.unwrap();
    e.w.enforce().unwrap();
    let member = e.w.customer_account.clone();

    // Another org of the same Latch: nothing connected.
    let other = store.create_org("globex", "Globex", T0).await.unwrap();
    let mut spec = e.spec(&member, Kind::PermissionSet, "ReadOnly", ALICE);
    spec.org_id = other.id.clone();
    let m = permanent(e.provisioner.grant(&spec).await);
    assert!(m.contains(&format!("AWS account `{member}` is not connected to Latch")) && m.contains("--mode identity-center --organizations"), "{m}");

    // The management account registered but not verified.
    store.put_aws_integration(&management(&other.id)).await.unwrap();
    let m = permanent(e.provisioner.grant(&spec).await);
    assert!(m.contains(&format!("AWS account `{HOST_ACCOUNT}` is not verified")) && m.contains("latch admin aws verify"), "{m}");
    assert!(e.read_only_holders(&member).await.is_empty());
}
