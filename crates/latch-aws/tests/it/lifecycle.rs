//! IAM user lifecycle through the integration role, with enforcement on:
//! a user is created tagged with the person's email, and deleted with
//! everything attached, in seed 003's order, idempotently.
//!
//! moto's `DeleteUser` only refuses while policies remain (AWS also refuses
//! while keys, login profile, MFA, groups, SSH keys or certificates do), so
//! the tests list what remains themselves instead of trusting it.

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_iam::types::AssignmentStatusType;
use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{InstallPlan, POLICY_NAME};
use latch_aws::lifecycle::{create_user, delete_user, Created, DeletionReport};
use latch_aws::verify::integration_hop;
use latch_aws::{AwsError, AwsSettings, ClientFactory, Clients};
use latch_core::integration::AwsMode;
use latch_testkit::aws::AwsWorld;
use serde_json::Value;

const EXTERNAL_ID: &str = "latch-ext-3b9d1f7a5c2e4b6d8f0a1c3e5b7d9f1a";
const ROLE: &str = "LatchIntegration";
const LEAVER: &str = "leaver";
const TAG_KEY: &str = "email";

fn components() -> Components {
    Components { mode: AwsMode::IamUsers, inventory: false, organizations: false, federation: latch_core::integration::FederationProtocol::Oidc }
}

fn plan(w: &AwsWorld) -> InstallPlan {
    let ctx = RoleContext { partition: "aws", account_id: &w.customer_account, role_name: ROLE, member_role_name: "OrganizationAccountAccessRole" };
    InstallPlan::new(&components(), &ctx, &w.latch_arn, EXTERNAL_ID)
}

/// Installs the integration role in the member account as install.rs does.
async fn install(w: &AwsWorld, trust: &Value, permissions: &Value) {
    let iam = w.customer_iam();
    iam.create_role().role_name(ROLE).assume_role_policy_document(trust.to_string()).send().await.unwrap();
    put_permissions(w, permissions).await;
}

async fn put_permissions(w: &AwsWorld, permissions: &Value) {
    w.customer_iam().put_role_policy().role_name(ROLE).policy_name(POLICY_NAME).policy_document(permissions.to_string()).send().await.unwrap();
}

fn without(permissions: &Value, action: &str) -> Value {
    let mut trimmed = permissions.clone();
    for st in trimmed["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = st["Action"].as_array_mut() {
            actions.retain(|a| a != action);
        }
    }
    assert_ne!(&trimmed, permissions, "`{action}` is not in the printed policy");
    trimmed
}

/// Clients acting through the integration role.
async fn through_role(w: &AwsWorld) -> Clients {
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    let f = ClientFactory::with_credentials(settings, &w.latch.id, &w.latch.secret);
    let hop = integration_hop(&f, &w.customer_account, ROLE, EXTERNAL_ID);
    f.assume(&[hop]).await.unwrap()
}

/// A scratch directory for generated keys, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("latch-lifecycle-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fresh self-signed certificate (PEM): moto parses signing certificates.
fn certificate(dir: &Path) -> String {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    run(Command::new("openssl").args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=t", "-days", "1", "-keyout"]).arg(&key).arg("-out").arg(&cert));
    std::fs::read_to_string(cert).unwrap()
}

/// A fresh OpenSSH public key.
fn ssh_public_key(dir: &Path) -> String {
    let key = dir.join("id_rsa");
    run(Command::new("ssh-keygen").args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "leaver@example.com", "-f"]).arg(&key));
    std::fs::read_to_string(dir.join("id_rsa.pub")).unwrap().trim().to_owned()
}

/// What the leaver was given, by id.
struct Given {
    access_keys: Vec<String>,
    certificate: String,
    ssh_key: String,
    mfa: String,
    managed: String,
}

/// Gives `LEAVER` one of everything `delete_user` must remove (two access
/// keys, two groups), as the member account's administrator.
async fn give_everything(w: &AwsWorld, scratch: &Scratch) -> Given {
    let iam = w.customer_iam();
    iam.create_user().user_name(LEAVER).send().await.unwrap();
    iam.create_login_profile().user_name(LEAVER).password("Correct-Horse-Battery-9").send().await.unwrap();
    let mut access_keys = Vec::new();
    for _ in 0..2 {
        let k = iam.create_access_key().user_name(LEAVER).send().await.unwrap();
        access_keys.push(k.access_key.unwrap().access_key_id);
    }
    let cert = iam.upload_signing_certificate().user_name(LEAVER).certificate_body(certificate(&scratch.0)).send().await.unwrap();
    let ssh = iam.upload_ssh_public_key().user_name(LEAVER).ssh_public_key_body(ssh_public_key(&scratch.0)).send().await.unwrap();
    let device = iam.create_virtual_mfa_device().virtual_mfa_device_name(LEAVER).send().await.unwrap();
    let mfa = device.virtual_mfa_device.unwrap().serial_number;
    iam.enable_mfa_device().user_name(LEAVER).serial_number(&mfa).authentication_code1("123456").authentication_code2("654321").send().await.unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;
    iam.put_user_policy().user_name(LEAVER).policy_name("scratch").policy_document(doc).send().await.unwrap();
    let managed = iam.create_policy().policy_name("LeaverManaged").policy_document(doc).send().await.unwrap().policy.unwrap().arn.unwrap();
    iam.attach_user_policy().user_name(LEAVER).policy_arn(&managed).send().await.unwrap();
    for group in ["devs", "ops"] {
        iam.create_group().group_name(group).send().await.unwrap();
        iam.add_user_to_group().group_name(group).user_name(LEAVER).send().await.unwrap();
    }
    Given { access_keys, certificate: cert.certificate.unwrap().certificate_id, ssh_key: ssh.ssh_public_key.unwrap().ssh_public_key_id, mfa, managed }
}

/// Everything still attached to `user`, as `kind: id`, read by the
/// member account's administrator (enforcement off).
async fn attached(w: &AwsWorld, user: &str) -> Vec<String> {
    let iam = w.customer_iam();
    let mut found = Vec::new();
    if iam.get_login_profile().user_name(user).send().await.is_ok() {
        found.push("login profile".to_owned());
    }
    let keys = iam.list_access_keys().user_name(user).send().await.unwrap();
    found.extend(keys.access_key_metadata.into_iter().map(|k| format!("access key: {}", k.access_key_id.unwrap())));
    let certs = iam.list_signing_certificates().user_name(user).send().await.unwrap();
    found.extend(certs.certificates.into_iter().map(|c| format!("signing certificate: {}", c.certificate_id)));
    let ssh = iam.list_ssh_public_keys().user_name(user).send().await.unwrap();
    found.extend(ssh.ssh_public_keys.unwrap_or_default().into_iter().map(|k| format!("ssh key: {}", k.ssh_public_key_id)));
    let mfa = iam.list_mfa_devices().user_name(user).send().await.unwrap();
    found.extend(mfa.mfa_devices.into_iter().map(|d| format!("mfa: {}", d.serial_number)));
    let inline = iam.list_user_policies().user_name(user).send().await.unwrap();
    found.extend(inline.policy_names.into_iter().map(|p| format!("inline policy: {p}")));
    let managed = iam.list_attached_user_policies().user_name(user).send().await.unwrap();
    found.extend(managed.attached_policies.unwrap_or_default().into_iter().map(|p| format!("managed policy: {}", p.policy_arn.unwrap())));
    let groups = iam.list_groups_for_user().user_name(user).send().await.unwrap();
    found.extend(groups.groups.into_iter().map(|g| format!("group: {}", g.group_name)));
    found
}

async fn user_exists(w: &AwsWorld, user: &str) -> bool {
    match w.customer_iam().get_user().user_name(user).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => false,
        Err(e) => panic!("GetUser: {e:?}"),
    }
}

async fn tags_of(w: &AwsWorld, user: &str) -> Vec<(String, String)> {
    let out = w.customer_iam().list_user_tags().user_name(user).send().await.unwrap();
    out.tags.into_iter().map(|t| (t.key, t.value)).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_user_removes_everything_attached_then_the_user_and_a_rerun_finds_it_gone() {
    let w = AwsWorld::build().await.unwrap();
    let p = plan(&w);
    install(&w, &p.trust, &p.permissions).await;
    let scratch = Scratch::new("everything");
    let given = give_everything(&w, &scratch).await;
    assert_eq!(attached(&w, LEAVER).await.len(), 10);
    w.enforce().unwrap();
    let c = through_role(&w).await;

    let report = delete_user(&c, LEAVER).await.unwrap();
    assert!(!report.already_gone, "{report:#?}");
    assert!(report.login_profile, "{report:#?}");
    assert_eq!(sorted(report.access_keys.clone()), sorted(given.access_keys.clone()));
    assert_eq!(report.signing_certificates, [given.certificate.as_str()]);
    assert_eq!(report.ssh_public_keys, [given.ssh_key.as_str()]);
    assert_eq!(report.mfa_devices, [given.mfa.as_str()]);
    assert_eq!(report.inline_policies, ["scratch"]);
    assert_eq!(report.managed_policies, [given.managed.as_str()]);
    assert_eq!(sorted(report.groups.clone()), ["devs", "ops"]);
    // moto has no service-specific credentials API: the step could not
    // check, said so, and did not stop the deletion.
    assert!(report.service_specific_credentials.is_empty());
    assert_eq!(report.unchecked.len(), 1, "{report:#?}");
    assert!(report.unchecked[0].starts_with("service-specific credentials: AWS is throttling or unavailable: "), "{report:#?}");

    w.relax().unwrap();
    assert!(!user_exists(&w, LEAVER).await);
    // What lives on in the account after the user no longer holds any of it.
    let iam = w.customer_iam();
    for group in ["devs", "ops"] {
        let members = iam.get_group().group_name(group).send().await.unwrap().users;
        assert!(members.iter().all(|u| u.user_name != LEAVER), "{group}: {members:?}");
    }
    let assigned = iam.list_virtual_mfa_devices().assignment_status(AssignmentStatusType::Assigned).send().await.unwrap();
    assert!(assigned.virtual_mfa_devices.is_empty(), "{assigned:?}");
    let users_of_policy = iam.list_entities_for_policy().policy_arn(&given.managed).send().await.unwrap();
    assert!(users_of_policy.policy_users.unwrap_or_default().is_empty());

    w.enforce().unwrap();
    let again = delete_user(&c, LEAVER).await.unwrap();
    assert_eq!(again, DeletionReport { user_name: LEAVER.into(), already_gone: true, ..DeletionReport::default() });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_is_gone_before_delete_user_and_a_run_after_a_stop_converges() {
    // The role may not call `DeleteUser`: the run stops at the last step,
    // which shows what it left behind (moto's `DeleteUser` would not
    // refuse over most of it) and stands in for a crash just before it.
    let w = AwsWorld::build().await.unwrap();
    let p = plan(&w);
    install(&w, &p.trust, &without(&p.permissions, "iam:DeleteUser")).await;
    let scratch = Scratch::new("stopped");
    give_everything(&w, &scratch).await;
    w.enforce().unwrap();
    let c = through_role(&w).await;

    let err = delete_user(&c, LEAVER).await.unwrap_err();
    assert_eq!(err, AwsError::AccessDenied { action: "iam:DeleteUser".into() });
    w.relax().unwrap();
    assert!(user_exists(&w, LEAVER).await);
    assert_eq!(attached(&w, LEAVER).await, Vec::<String>::new());

    put_permissions(&w, &p.permissions).await;
    w.enforce().unwrap();
    let report = delete_user(&c, LEAVER).await.unwrap();
    assert_eq!(report, DeletionReport { user_name: LEAVER.into(), unchecked: report.unchecked.clone(), ..DeletionReport::default() });
    w.relax().unwrap();
    assert!(!user_exists(&w, LEAVER).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_step_names_its_action_and_nothing_after_it_is_removed() {
    let w = AwsWorld::build().await.unwrap();
    let p = plan(&w);
    install(&w, &p.trust, &p.permissions).await;
    let scratch = Scratch::new("denied");
    let given = give_everything(&w, &scratch).await;
    put_permissions(&w, &without(&p.permissions, "iam:DeleteAccessKey")).await;
    w.enforce().unwrap();
    let c = through_role(&w).await;

    let err = delete_user(&c, LEAVER).await.unwrap_err();
    assert_eq!(err, AwsError::AccessDenied { action: "iam:DeleteAccessKey".into() });
    assert!(err.to_string().contains("`iam:DeleteAccessKey`"), "{err}");

    w.relax().unwrap();
    assert!(user_exists(&w, LEAVER).await);
    // The login profile came before the refused step; everything else stays.
    let mut expected: Vec<String> = given.access_keys.iter().map(|k| format!("access key: {k}")).collect();
    expected.extend([
        format!("signing certificate: {}", given.certificate),
        format!("ssh key: {}", given.ssh_key),
        format!("mfa: {}", given.mfa),
        "inline policy: scratch".to_owned(),
        format!("managed policy: {}", given.managed),
        "group: devs".to_owned(),
        "group: ops".to_owned(),
    ]);
    assert_eq!(sorted(attached(&w, LEAVER).await), sorted(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_user_tags_the_person_and_a_second_call_finds_it() {
    let w = AwsWorld::build().await.unwrap();
    let p = plan(&w);
    install(&w, &p.trust, &p.permissions).await;
    w.customer_iam().create_user().user_name("handmade").send().await.unwrap();
    w.enforce().unwrap();
    let c = through_role(&w).await;
    let tagged = vec![(TAG_KEY.to_owned(), "new.comer@example.com".to_owned())];

    let created = create_user(&c, "newcomer", "new.comer@example.com", TAG_KEY).await.unwrap();
    let arn = format!("arn:aws:iam::{}:user/newcomer", w.customer_account);
    assert_eq!(created, Created::New { arn: arn.clone() });
    let again = create_user(&c, "newcomer", "New.Comer@example.com", TAG_KEY).await.unwrap();
    assert_eq!(again, Created::AlreadyExisted { arn, tagged: false });
    w.relax().unwrap();
    assert_eq!(tags_of(&w, "newcomer").await, tagged);

    // Made by hand without the tag: found, and tagged.
    w.enforce().unwrap();
    let found = create_user(&c, "handmade", "hand.made@example.com", TAG_KEY).await.unwrap();
    assert!(matches!(found, Created::AlreadyExisted { tagged: true, .. }), "{found:?}");

    // Tagged for someone else: refused, not re-pointed.
    let err = create_user(&c, "newcomer", "someone.else@example.com", TAG_KEY).await.unwrap_err();
    assert_eq!(err.code(), Some("EntityAlreadyExists"));
    let text = err.to_string();
    assert!(text.contains("`newcomer` already exists and is tagged `email` = `new.comer@example.com`, not `someone.else@example.com`"), "{text}");
    assert!(text.contains("\nhelp: "), "{text}");

    w.relax().unwrap();
    assert_eq!(tags_of(&w, "handmade").await, [(TAG_KEY.to_owned(), "hand.made@example.com".to_owned())]);
    assert_eq!(tags_of(&w, "newcomer").await, tagged);
}
