//! The Provisioner contract's "crash at any point", against moto: a grant
//! (or a revoke) is stopped after its k-th AWS call, for every k, as if
//! Latch died there; a restarted Latch (a new provisioner, no memory of the
//! attempt) does it again and must leave AWS exactly as an uninterrupted
//! run does, and a revoke must then leave nothing behind. The same work
//! through a throttling storm fails only retryably and ends the same way.
//!
//! The identity-center kinds run the same checks from `identity_center.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{InstallPlan, POLICY_NAME};
use latch_aws::provision::AwsProvisioner;
use latch_aws::{AwsSettings, ClientFactory};
use latch_core::access::provision::{Applied, GrantOutcome, GrantSpec, ProvisionError, Provisioner, RevokeOutcome};
use latch_core::access::target::{Kind, Level, Target};
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus};
use latch_core::store::{IntegrationStore, OrgStore, Store};
use latch_core::{ManualClock, Timestamp};
use latch_store::{connect, sqlite_url_in, StoreOptions};
use latch_testkit::aws::AwsWorld;
use latch_testkit::faulty::FaultyProxy;
use serde_json::{json, Value};

const EXTERNAL_ID: &str = "latch-ext-3e5a7c9e1b0d2f4a6c8e0b1d3f5a7c9e";
const ALICE: &str = "alice@acme.io";
const T0: Timestamp = Timestamp(1_763_849_000_000);
/// More AWS calls than any grant or revoke makes: a cut this late means
/// the work never finishes.
const MOST_CALLS: u64 = 40;

/// Where a grant runs: a way to start Latch against an endpoint, and a
/// reading of everything in AWS a grant could change.
#[async_trait]
pub(crate) trait Estate: Sync {
    /// moto's own endpoint.
    fn endpoint(&self) -> &str;
    /// A freshly started Latch talking to AWS at `endpoint`.
    fn provisioner(&self, endpoint: &str) -> AwsProvisioner;
    /// What AWS holds that a grant or revoke could have changed.
    async fn snapshot(&self) -> Value;
    /// Whether a grant writes to AWS at all (in federated mode it does not:
    /// Latch's token gate is the grant).
    fn grants_write(&self) -> bool {
        true
    }
    /// Takes away what earlier revokes of `spec` left on purpose (a session
    /// cut-off on its role), so that the next revoke has to put it back.
    async fn forget_revokes(&self, _spec: &GrantSpec) {}
}

fn applied(outcome: GrantOutcome) -> Applied {
    match outcome {
        GrantOutcome::Granted(a) | GrantOutcome::AlreadyGranted(a) => a,
    }
}

/// AWS (before a grant, granted) as one uninterrupted grant and revoke
/// leave it, from the state every later round starts in: the first round
/// leaves traces a revoke keeps on purpose, such as a session cut-off on a
/// role, so it is run once first.
async fn reference(e: &impl Estate, spec: &GrantSpec) -> (Value, Value) {
    let name = format!("{} `{}`", spec.target.kind.as_str(), spec.target.name);
    let direct = e.provisioner(e.endpoint());
    let once = applied(direct.grant(spec).await.unwrap());
    direct.revoke(spec, &once).await.unwrap();
    let before = e.snapshot().await;
    let once = applied(direct.grant(spec).await.unwrap());
    let granted = e.snapshot().await;
    if e.grants_write() {
        assert_ne!(granted, before, "{name}: a grant changes nothing in AWS");
    } else {
        assert_eq!(granted, before, "{name}: a grant wrote to AWS");
    }
    e.forget_revokes(spec).await;
    assert_eq!(direct.revoke(spec, &once).await.unwrap(), RevokeOutcome::Revoked, "{name}");
    assert_eq!(e.snapshot().await, before, "{name}: an uninterrupted revoke leaves something");
    (before, granted)
}

/// Proves the crash contract for `spec`: see the module's documentation.
pub(crate) async fn converges_after_every_cut(e: &impl Estate, spec: &GrantSpec) {
    let name = format!("{} `{}`", spec.target.kind.as_str(), spec.target.name);
    let direct = e.provisioner(e.endpoint());
    let (before, granted) = reference(e, spec).await;

    // Grants stopped after every call.
    let mut finished = false;
    for k in 0..MOST_CALLS {
        let proxy = FaultyProxy::cut_after(e.endpoint(), k).await.unwrap();
        let first = e.provisioner(&proxy.endpoint).grant(spec).await;
        finished = first.is_ok();
        let restarted = e.provisioner(e.endpoint());
        let outcome = restarted.grant(spec).await.unwrap_or_else(|err| panic!("{name}, cut after call {k}: granting again failed: {err}"));
        if finished {
            assert!(matches!(outcome, GrantOutcome::AlreadyGranted(_)), "{name}: a finished grant, repeated, is new: {outcome:?}");
        }
        assert_eq!(e.snapshot().await, granted, "{name}, cut after call {k}: granting again differs from one uninterrupted grant");
        let a = applied(outcome);
        e.forget_revokes(spec).await;
        assert_eq!(restarted.revoke(spec, &a).await.unwrap(), RevokeOutcome::Revoked, "{name}, cut after call {k}");
        assert_eq!(e.snapshot().await, before, "{name}, cut after call {k}: the revoke left something");
        if finished {
            assert!(k > 0, "{name}: the grant finished with every AWS call refused");
            break;
        }
    }
    assert!(finished, "{name}: a grant made more than {MOST_CALLS} AWS calls");

    // Revokes stopped after every call.
    let mut finished = false;
    for k in 0..MOST_CALLS {
        let a = applied(direct.grant(spec).await.unwrap());
        e.forget_revokes(spec).await;
        let proxy = FaultyProxy::cut_after(e.endpoint(), k).await.unwrap();
        finished = e.provisioner(&proxy.endpoint).revoke(spec, &a).await.is_ok();
        let again = e.provisioner(e.endpoint()).revoke(spec, &a).await;
        let again = again.unwrap_or_else(|err| panic!("{name}, revoke cut after call {k}: revoking again failed: {err}"));
        if finished {
            assert_eq!(again, RevokeOutcome::AlreadyRevoked, "{name}: a finished revoke, repeated");
        }
        assert_eq!(e.snapshot().await, before, "{name}, revoke cut after call {k}: something stayed");
        if finished {
            assert!(k > 0, "{name}: the revoke finished with every AWS call refused");
            break;
        }
    }
    assert!(finished, "{name}: a revoke made more than {MOST_CALLS} AWS calls");
}

/// Calls `f` until it succeeds, as the job queue does: every failure on the
/// way must be one worth retrying.
async fn until_done<T>(name: &str, mut f: impl AsyncFnMut() -> Result<T, ProvisionError>) -> T {
    for _ in 0..30 {
        match f().await {
            Ok(v) => return v,
            Err(ProvisionError::Retryable(_)) => {}
            Err(err @ ProvisionError::Permanent(_)) => panic!("{name}: a throttling storm made a permanent failure: {err}"),
        }
    }
    panic!("{name}: never got through the storm");
}

/// Proves that grants and revokes through a storm where four AWS calls in
/// ten are throttled fail only retryably and end as uninterrupted ones do.
pub(crate) async fn weathers_a_throttling_storm(e: &impl Estate, spec: &GrantSpec, seed: u64) {
    let name = format!("{} `{}` in a storm", spec.target.kind.as_str(), spec.target.name);
    let (before, granted) = reference(e, spec).await;

    let proxy = FaultyProxy::start(e.endpoint(), 40, seed).await.unwrap();
    let stormy = e.provisioner(&proxy.endpoint);
    let a = applied(until_done(&name, async || stormy.grant(spec).await).await);
    assert_eq!(e.snapshot().await, granted, "{name}");
    e.forget_revokes(spec).await;
    until_done(&name, async || stormy.revoke(spec, &a).await).await;
    assert_eq!(e.snapshot().await, before, "{name}");
    assert!(proxy.counts().0 > 0, "{name}: the storm never happened");
}

/// An account in iam-users (or federated) mode: alice, a role she may be
/// given and one only bob may assume, a managed policy, a group, roles that
/// trust Latch's web identity tokens and SAML assertions, and Latch's
/// integration role as printed.
pub(crate) struct IamUsers {
    pub(crate) w: AwsWorld,
    store: Arc<dyn Store>,
    pub(crate) org_id: String,
    mode: AwsMode,
    _dir: tempfile::TempDir,
}

impl IamUsers {
    pub(crate) async fn new() -> Self {
        Self::in_mode(AwsMode::IamUsers).await
    }

    pub(crate) async fn in_mode(mode: AwsMode) -> Self {
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
        for (role, principal, action) in [("WebAdmin", "oidc-provider/latch.acme.io", "sts:AssumeRoleWithWebIdentity"), ("SamlAdmin", "saml-provider/Latch", "sts:AssumeRoleWithSAML")] {
            let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{}:{principal}", w.customer_account)}, "Action": action}]});
            iam.create_role().role_name(role).assume_role_policy_document(trust.to_string()).send().await.unwrap();
        }
        let c = Components { mode, inventory: false, organizations: false, federation: latch_core::integration::FederationProtocol::Oidc };
        let ctx = RoleContext { partition: "aws", account_id: &w.customer_account, role_name: "LatchIntegration", member_role_name: "OrganizationAccountAccessRole" };
        let plan = InstallPlan::new(&c, &ctx, &w.latch_arn, EXTERNAL_ID);
        iam.create_role().role_name("LatchIntegration").assume_role_policy_document(plan.trust.to_string()).send().await.unwrap();
        iam.put_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).policy_document(plan.permissions.to_string()).send().await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let store = connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap();
        let org = store.create_org("acme", "Acme", T0).await.unwrap();
        let integration = AwsIntegration {
            external_id: EXTERNAL_ID.into(),
            status: IntegrationStatus::Pending,
            created_at: T0,
            ..crate::integration(&org.id, &w.customer_account, mode)
        };
        store.put_aws_integration(&integration).await.unwrap();
        store.set_aws_status(&org.id, &w.customer_account, IntegrationStatus::Installed, &[], T0).await.unwrap();
        Self { w, store: Arc::new(store), org_id: org.id, mode, _dir: dir }
    }

    fn spec(&self, kind: Kind, name: &str, level: Option<Level>) -> GrantSpec {
        GrantSpec {
            org_id: self.org_id.clone(),
            user_id: "u-alice".into(),
            email: ALICE.into(),
            target: Target { integration: "aws".into(), account: self.w.customer_account.clone(), kind, name: name.into(), level },
            expires_at: T0.plus(Duration::from_secs(2 * 3600)),
        }
    }

    fn every_kind(&self) -> [GrantSpec; 4] {
        [
            self.spec(Kind::Role, "Admin", None),
            self.spec(Kind::Policy, "ReadReports", None),
            self.spec(Kind::Group, "oncall", None),
            self.spec(Kind::Resource, "arn:aws:s3:::reports", Some(Level::Read)),
        ]
    }
}

#[async_trait]
impl Estate for IamUsers {
    fn endpoint(&self) -> &str {
        &self.w.endpoint
    }

    fn provisioner(&self, endpoint: &str) -> AwsProvisioner {
        let settings = AwsSettings { endpoint_url: Some(endpoint.to_owned()), ..AwsSettings::default() };
        let factory = ClientFactory::with_credentials(settings, &self.w.latch.id, &self.w.latch.secret);
        AwsProvisioner::new(Arc::new(factory), self.store.clone(), Arc::new(ManualClock::new(T0)))
    }

    async fn snapshot(&self) -> Value {
        iam_snapshot(&self.w.customer_iam()).await
    }

    fn grants_write(&self) -> bool {
        self.mode != AwsMode::Federated
    }

    async fn forget_revokes(&self, spec: &GrantSpec) {
        if spec.target.kind != Kind::Role {
            return;
        }
        let iam = self.w.customer_iam();
        let role = spec.target.name.as_str();
        for p in iam.list_role_policies().role_name(role).send().await.unwrap().policy_names() {
            if p.starts_with("LatchEndSessions-") {
                iam.delete_role_policy().role_name(role).policy_name(p).send().await.unwrap();
            }
        }
    }
}

/// Every user's and role's inline policies (with their documents), attached
/// policies and groups, and the account's own managed policies.
pub(crate) async fn iam_snapshot(iam: &aws_sdk_iam::Client) -> Value {
    let mut out = serde_json::Map::new();
    for u in iam.list_users().send().await.unwrap().users() {
        let name = u.user_name();
        let mut inline = serde_json::Map::new();
        for p in iam.list_user_policies().user_name(name).send().await.unwrap().policy_names() {
            let doc = iam.get_user_policy().user_name(name).policy_name(p).send().await.unwrap().policy_document;
            inline.insert(p.clone(), Value::String(latch_aws::trust::decode_document(&doc)));
        }
        let attached: Vec<_> = iam.list_attached_user_policies().user_name(name).send().await.unwrap().attached_policies().iter().filter_map(|p| p.policy_arn.clone()).collect();
        let groups: Vec<_> = iam.list_groups_for_user().user_name(name).send().await.unwrap().groups().iter().map(|g| g.group_name.clone()).collect();
        out.insert(format!("user/{name}"), json!({"inline": inline, "attached": attached, "groups": groups}));
    }
    for r in iam.list_roles().send().await.unwrap().roles() {
        let name = r.role_name();
        let mut inline = serde_json::Map::new();
        for p in iam.list_role_policies().role_name(name).send().await.unwrap().policy_names() {
            let doc = iam.get_role_policy().role_name(name).policy_name(p).send().await.unwrap().policy_document;
            inline.insert(p.clone(), Value::String(latch_aws::trust::decode_document(&doc)));
        }
        let attached: Vec<_> = iam.list_attached_role_policies().role_name(name).send().await.unwrap().attached_policies().iter().filter_map(|p| p.policy_arn.clone()).collect();
        out.insert(format!("role/{name}"), json!({"inline": inline, "attached": attached}));
    }
    let local = iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send().await.unwrap();
    let names: Vec<_> = local.policies().iter().filter_map(|p| p.policy_name.clone()).collect();
    out.insert("managed-policies".into(), json!(names));
    Value::Object(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_users_grants_converge_after_a_crash_at_any_call() {
    let e = IamUsers::new().await;
    for spec in e.every_kind() {
        converges_after_every_cut(&e, &spec).await;
    }
}

/// Federated roles: the grant only checks the role trusts Latch, and the
/// revoke ends the sessions already issued; a crash anywhere in either
/// leaves the same cut-off in place once done again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_grants_converge_after_a_crash_at_any_call() {
    let e = IamUsers::in_mode(AwsMode::Federated).await;
    for role in ["WebAdmin", "SamlAdmin"] {
        let spec = e.spec(Kind::Role, role, None);
        converges_after_every_cut(&e, &spec).await;
        weathers_a_throttling_storm(&e, &spec, 7).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_users_grants_get_through_a_throttling_storm() {
    let e = IamUsers::new().await;
    for (seed, spec) in e.every_kind().iter().enumerate() {
        weathers_a_throttling_storm(&e, spec, seed as u64).await;
    }
}
