//! The SSO stand-in with the official `aws-sdk-ssooidc` and `aws-sdk-sso`
//! clients: the device flow and its documented errors, and portal answers
//! that follow what moto's Identity Center says, with credentials that work
//! (and stop short) under moto's IAM enforcement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};
use latch_core::{Clock as _, ManualClock, SystemClock, Timestamp};
use latch_testkit::aws::{AwsWorld, SdkConfig, HOST_ACCOUNT};
use latch_testkit::sso_standin::{SsoStandin, StandinOptions};

const START_URL: &str = "https://d-0000000000.awsapps.com/start";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const LIST_ROLES: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#;
/// Pretty-printed, as people write policies (see the stand-in's `compact`).
const LIST_USERS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{ "Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*" }]
}"#;

/// moto's Identity Center in the management account, seen by its administrator.
struct Center {
    admin: SdkConfig,
    sso: aws_sdk_ssoadmin::Client,
    ids: aws_sdk_identitystore::Client,
    instance_arn: String,
    store_id: String,
}

impl Center {
    async fn new(w: &AwsWorld) -> Self {
        let admin = w.config(&w.admin.id, &w.admin.secret, None);
        let sso = aws_sdk_ssoadmin::Client::new(&admin);
        let ids = aws_sdk_identitystore::Client::new(&admin);
        let out = sso.list_instances().send().await.unwrap();
        let i = &out.instances()[0];
        let (instance_arn, store_id) = (i.instance_arn().unwrap().to_owned(), i.identity_store_id().unwrap().to_owned());
        Self { admin, sso, ids, instance_arn, store_id }
    }

    async fn user(&self, name: &str) -> String {
        let full = aws_sdk_identitystore::types::Name::builder().given_name(name).family_name("Tester").build();
        self.ids.create_user().identity_store_id(&self.store_id).user_name(name).display_name(name).name(full).send().await.unwrap().user_id
    }

    /// A permission set with an inline policy. moto needs the session
    /// duration given: without one it answers a number the SDK cannot read.
    async fn permission_set(&self, name: &str, policy: &str) -> String {
        let ps = self.sso.create_permission_set().instance_arn(&self.instance_arn).name(name).session_duration("PT1H").send().await.unwrap();
        let arn = ps.permission_set.unwrap().permission_set_arn.unwrap();
        self.sso.put_inline_policy_to_permission_set().instance_arn(&self.instance_arn).permission_set_arn(&arn).inline_policy(policy).send().await.unwrap();
        arn
    }

    async fn assign(&self, account: &str, ps: &str, kind: PrincipalType, principal: &str) {
        self.sso
            .create_account_assignment()
            .instance_arn(&self.instance_arn)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(ps)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap();
    }

    async fn unassign(&self, account: &str, ps: &str, kind: PrincipalType, principal: &str) {
        self.sso
            .delete_account_assignment()
            .instance_arn(&self.instance_arn)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(ps)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap();
    }
}

/// The official clients, pointed at the stand-in and holding no AWS credentials.
fn clients(standin: &SsoStandin) -> (aws_sdk_ssooidc::Client, aws_sdk_sso::Client) {
    use aws_sdk_sso::config::{BehaviorVersion, Region};
    let oidc = aws_sdk_ssooidc::Config::builder().behavior_version(BehaviorVersion::latest()).region(Region::new("us-east-1")).endpoint_url(&standin.url).build();
    let sso = aws_sdk_sso::Config::builder().behavior_version(BehaviorVersion::latest()).region(Region::new("us-east-1")).endpoint_url(&standin.url).build();
    (aws_sdk_ssooidc::Client::from_conf(oidc), aws_sdk_sso::Client::from_conf(sso))
}

struct Registered {
    id: String,
    secret: String,
}

async fn register(oidc: &aws_sdk_ssooidc::Client) -> Registered {
    let c = oidc.register_client().client_name("latch").client_type("public").scopes("sso:account:access").send().await.unwrap();
    Registered { id: c.client_id.unwrap(), secret: c.client_secret.unwrap() }
}

async fn device(oidc: &aws_sdk_ssooidc::Client, c: &Registered) -> (String, String) {
    let d = oidc.start_device_authorization().client_id(&c.id).client_secret(&c.secret).start_url(START_URL).send().await.unwrap();
    (d.device_code.unwrap(), d.user_code.unwrap())
}

async fn token(oidc: &aws_sdk_ssooidc::Client, c: &Registered, device_code: &str) -> Result<String, aws_sdk_ssooidc::operation::create_token::CreateTokenError> {
    oidc.create_token()
        .client_id(&c.id)
        .client_secret(&c.secret)
        .grant_type(GRANT)
        .device_code(device_code)
        .send()
        .await
        .map(|t| t.access_token.unwrap())
        .map_err(|e| e.into_service_error())
}

/// Registers, approves as `user` and returns an access token.
async fn login(standin: &SsoStandin, oidc: &aws_sdk_ssooidc::Client, user: &str) -> String {
    let c = register(oidc).await;
    let (code, user_code) = device(oidc, &c).await;
    standin.approve(&user_code, user).await.unwrap();
    token(oidc, &c, &code).await.unwrap()
}

async fn role_credentials(sso: &aws_sdk_sso::Client, token: &str, role: &str, account: &str) -> Result<aws_sdk_sso::types::RoleCredentials, aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError> {
    sso.get_role_credentials().access_token(token).role_name(role).account_id(account).send().await.map(|o| o.role_credentials.unwrap()).map_err(|e| e.into_service_error())
}

fn session_config(w: &AwsWorld, c: &aws_sdk_sso::types::RoleCredentials) -> SdkConfig {
    w.config(c.access_key_id().unwrap(), c.secret_access_key().unwrap(), Some(c.session_token().unwrap().to_owned()))
}

fn curl(args: &[&str]) -> (u16, String) {
    let out = std::process::Command::new("curl").args(["-sS", "-w", "\n%{http_code}"]).args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_gives_role_credentials_that_follow_the_assignment() {
    let w = AwsWorld::build().await.unwrap();
    let center = Center::new(&w).await;
    let alice = center.user("alice").await;
    let reader = center.permission_set("RoleReader", LIST_ROLES).await;
    center.permission_set("Unassigned", LIST_ROLES).await;
    center.assign(HOST_ACCOUNT, &reader, PrincipalType::User, &alice).await;
    let standin = SsoStandin::start(&w.endpoint, center.admin.clone()).await.unwrap();
    let (oidc, sso) = clients(&standin);

    // RegisterClient: both timestamps in epoch seconds, 90 days apart.
    let now_s = SystemClock.now().millis() / 1000;
    let reg = oidc.register_client().client_name("latch").client_type("public").send().await.unwrap();
    assert!((reg.client_id_issued_at - now_s).abs() < 60, "issued at {} is not epoch seconds", reg.client_id_issued_at);
    assert_eq!(reg.client_secret_expires_at - reg.client_id_issued_at, 90 * 24 * 3600);
    let c = Registered { id: reg.client_id.unwrap(), secret: reg.client_secret.unwrap() };

    let d = oidc.start_device_authorization().client_id(&c.id).client_secret(&c.secret).start_url(START_URL).send().await.unwrap();
    let (code, user_code) = (d.device_code.clone().unwrap(), d.user_code.clone().unwrap());
    assert_eq!((d.expires_in, d.interval), (600, 1));
    assert!(user_code.len() == 9 && user_code.as_bytes()[4] == b'-' && user_code.chars().filter(|c| *c != '-').all(|c| c.is_ascii_uppercase()), "{user_code}");
    assert_eq!(d.verification_uri.as_deref(), Some(format!("{}/start", standin.url).as_str()));
    assert!(d.verification_uri_complete.unwrap().ends_with(&format!("?user_code={user_code}")));

    // Not approved yet, then polled faster than the interval.
    let e = token(&oidc, &c, &code).await.unwrap_err();
    assert!(e.is_authorization_pending_exception(), "{e:?}");
    let e = token(&oidc, &c, &code).await.unwrap_err();
    assert!(e.is_slow_down_exception(), "{e:?}");
    let wrong = Registered { id: c.id.clone(), secret: "nope".to_owned() };
    assert!(token(&oidc, &wrong, &code).await.unwrap_err().is_invalid_client_exception());

    // The consent page, then approval as alice.
    let (status, page) = curl(&[&format!("{}/start?user_code={user_code}", standin.url)]);
    assert_eq!(status, 200);
    assert!(page.contains(&format!("value=\"{user_code}\"")) && page.contains("action=\"/start/approve\""), "{page}");
    assert!(standin.approve(&user_code, "mallory").await.unwrap_err().to_string().contains("no user named `mallory`"));
    standin.approve(&user_code, "alice").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t = oidc.create_token().client_id(&c.id).client_secret(&c.secret).grant_type(GRANT).device_code(&code).send().await.unwrap();
    assert_eq!((t.token_type.as_deref(), t.expires_in), (Some("Bearer"), 28_800));
    let access = t.access_token.unwrap();
    // The device code is spent.
    assert!(token(&oidc, &c, &code).await.unwrap_err().is_invalid_grant_exception());
    assert!(token(&oidc, &c, "never-issued").await.unwrap_err().is_invalid_grant_exception());

    // The portal lists what moto assigns.
    let accounts = sso.list_accounts().access_token(&access).send().await.unwrap();
    let ids: Vec<_> = accounts.account_list().iter().map(|a| a.account_id().unwrap()).collect();
    assert_eq!(ids, [HOST_ACCOUNT]);
    let roles = sso.list_account_roles().access_token(&access).account_id(HOST_ACCOUNT).send().await.unwrap();
    let names: Vec<_> = roles.role_list().iter().map(|r| (r.role_name().unwrap(), r.account_id().unwrap())).collect();
    assert_eq!(names, [("RoleReader", HOST_ACCOUNT)]);

    // Credentials of the provisioned role, good under enforcement for what
    // the permission set allows and nothing else.
    let creds = role_credentials(&sso, &access, "RoleReader", HOST_ACCOUNT).await.unwrap();
    let left_ms = creds.expiration - SystemClock.now().millis();
    assert!((3_500_000..=3_700_000).contains(&left_ms), "expiration {} is not epoch milliseconds an hour ahead", creds.expiration);
    w.enforce().unwrap();
    let conf = session_config(&w, &creds);
    let me = aws_sdk_sts::Client::new(&conf).get_caller_identity().send().await.unwrap();
    let arn = me.arn().unwrap();
    assert!(arn.starts_with(&format!("arn:aws:sts::{HOST_ACCOUNT}:assumed-role/AWSReservedSSO_RoleReader_")) && arn.ends_with("/alice"), "{arn}");
    let iam = aws_sdk_iam::Client::new(&conf);
    let listed = iam.list_roles().send().await.unwrap();
    assert!(listed.roles().iter().any(|r| r.path() == "/aws-reserved/sso.amazonaws.com/" && r.role_name().starts_with("AWSReservedSSO_RoleReader_")));
    let denied = iam.list_users().send().await.unwrap_err();
    assert_eq!(denied.raw_response().map(|r| r.status().as_u16()), Some(403));

    // A change to the permission set reaches the role on the next call.
    center.sso.put_inline_policy_to_permission_set().instance_arn(&center.instance_arn).permission_set_arn(&reader).inline_policy(LIST_USERS).send().await.unwrap();
    let creds = role_credentials(&sso, &access, "RoleReader", HOST_ACCOUNT).await.unwrap();
    let iam = aws_sdk_iam::Client::new(&session_config(&w, &creds));
    iam.list_users().send().await.unwrap();
    assert_eq!(iam.list_roles().send().await.unwrap_err().raw_response().map(|r| r.status().as_u16()), Some(403));

    // Not assigned, not existing, then no longer assigned.
    assert!(role_credentials(&sso, &access, "Unassigned", HOST_ACCOUNT).await.unwrap_err().is_resource_not_found_exception());
    assert!(role_credentials(&sso, &access, "NoSuchSet", HOST_ACCOUNT).await.unwrap_err().is_resource_not_found_exception());
    center.unassign(HOST_ACCOUNT, &reader, PrincipalType::User, &alice).await;
    assert!(role_credentials(&sso, &access, "RoleReader", HOST_ACCOUNT).await.unwrap_err().is_resource_not_found_exception());
    assert!(sso.list_accounts().access_token(&access).send().await.unwrap().account_list().is_empty());

    // Logout ends the session.
    sso.logout().access_token(&access).send().await.unwrap();
    let e = sso.list_accounts().access_token(&access).send().await.unwrap_err().into_service_error();
    assert!(e.is_unauthorized_exception(), "{e:?}");
    assert!(role_credentials(&sso, "made-up", "RoleReader", HOST_ACCOUNT).await.unwrap_err().is_unauthorized_exception());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_expiry_answer_the_documented_errors() {
    let w = AwsWorld::build().await.unwrap();
    let center = Center::new(&w).await;
    center.user("carol").await;
    let clock = Arc::new(ManualClock::new(Timestamp(1_763_849_000_000)));
    let options = StandinOptions { clock: clock.clone(), ..StandinOptions::default() };
    let standin = SsoStandin::start_with(&w.endpoint, center.admin.clone(), options).await.unwrap();
    let (oidc, sso) = clients(&standin);
    let c = register(&oidc).await;
    let e = oidc.register_client().client_name("latch").client_type("confidential").send().await.unwrap_err().into_service_error();
    assert!(e.is_invalid_client_metadata_exception(), "{e:?}");
    let e = oidc.create_token().client_id(&c.id).client_secret(&c.secret).grant_type("refresh_token").refresh_token("x").send().await.unwrap_err().into_service_error();
    assert!(e.is_unsupported_grant_type_exception(), "{e:?}");

    // Denied through the page's JSON form: AccessDenied, and no second decision.
    let (code, user_code) = device(&oidc, &c).await;
    let body = format!(r#"{{"user_code":"{user_code}","approve":false}}"#);
    let (status, text) = curl(&["-H", "content-type: application/json", "--data", &body, &format!("{}/start/approve", standin.url)]);
    assert_eq!((status, text.as_str()), (200, r#"{"status":"denied"}"#));
    let e = token(&oidc, &c, &code).await.unwrap_err();
    assert!(e.is_access_denied_exception(), "{e:?}");
    assert!(standin.approve(&user_code, "carol").await.is_err());

    // The approval endpoint's own errors.
    let (status, text) = curl(&["-H", "content-type: application/json", "--data", r#"{"user_code":"ZZZZ-ZZZZ","user_name":"carol","approve":true}"#, &format!("{}/start/approve", standin.url)]);
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("user_code_not_found"), "{text}");
    let (_, user_code) = device(&oidc, &c).await;
    let body = format!(r#"{{"user_code":"{user_code}","user_name":"nobody","approve":true}}"#);
    let (status, text) = curl(&["-H", "content-type: application/json", "--data", &body, &format!("{}/start/approve", standin.url)]);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("user_not_found"), "{text}");
    assert!(standin.deny("ZZZZ-ZZZZ").await.is_err());

    // A device code left too long.
    let (code, _) = device(&oidc, &c).await;
    clock.advance(Duration::from_secs(601));
    assert!(token(&oidc, &c, &code).await.unwrap_err().is_expired_token_exception());

    // An access token past its 8 hours.
    let access = login(&standin, &oidc, "carol").await;
    sso.list_accounts().access_token(&access).send().await.unwrap();
    clock.advance(Duration::from_secs(8 * 3600));
    let e = sso.list_accounts().access_token(&access).send().await.unwrap_err().into_service_error();
    assert!(e.is_unauthorized_exception(), "{e:?}");

    // A client secret past its 90 days.
    clock.advance(Duration::from_secs(90 * 24 * 3600));
    let e = oidc.start_device_authorization().client_id(&c.id).client_secret(&c.secret).start_url(START_URL).send().await.unwrap_err().into_service_error();
    assert!(e.is_invalid_client_exception(), "{e:?}");
    let e = oidc.create_token().client_id(&c.id).client_secret(&c.secret).grant_type(GRANT).device_code("x").send().await.unwrap_err().into_service_error();
    assert!(e.is_invalid_client_exception(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_assignment_in_a_member_account_gives_access_under_enforcement() {
    let w = AwsWorld::build().await.unwrap();
    let center = Center::new(&w).await;
    let dave = center.user("dave").await;
    let oncall = center.ids.create_group().identity_store_id(&center.store_id).display_name("Oncall").send().await.unwrap().group_id;
    center
        .ids
        .create_group_membership()
        .identity_store_id(&center.store_id)
        .group_id(&oncall)
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(dave.clone()))
        .send()
        .await
        .unwrap();
    let reader = center.permission_set("OncallReader", LIST_ROLES).await;
    let managed = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    center.sso.attach_managed_policy_to_permission_set().instance_arn(&center.instance_arn).permission_set_arn(&reader).managed_policy_arn(managed).send().await.unwrap();
    center.assign(&w.customer_account, &reader, PrincipalType::Group, &oncall).await;
    // moto's `CreateAccount` leaves `OrganizationAccountAccessRole` without
    // the `AdministratorAccess` AWS attaches; with it, the stand-in's work in
    // the member account passes IAM enforcement.
    w.customer_iam().attach_role_policy().role_name("OrganizationAccountAccessRole").policy_arn("arn:aws:iam::aws:policy/AdministratorAccess").send().await.unwrap();
    w.enforce().unwrap();
    let standin = SsoStandin::start(&w.endpoint, center.admin.clone()).await.unwrap();
    let (oidc, sso) = clients(&standin);

    // Approved through the HTML form, as a browser would.
    let c = register(&oidc).await;
    let (code, user_code) = device(&oidc, &c).await;
    let (status, page) = curl(&["--data-urlencode", &format!("user_code={user_code}"), "--data-urlencode", "user_name=dave", "--data", "approve=true", &format!("{}/start/approve", standin.url)]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("approved"), "{page}");
    let access = token(&oidc, &c, &code).await.unwrap();

    let accounts = sso.list_accounts().access_token(&access).send().await.unwrap();
    let listed: Vec<_> = accounts.account_list().iter().map(|a| (a.account_id().unwrap(), a.account_name().unwrap(), a.email_address().unwrap())).collect();
    assert_eq!(listed, [(w.customer_account.as_str(), "customer", "aws-customer@example.com")]);
    let roles = sso.list_account_roles().access_token(&access).account_id(&w.customer_account).send().await.unwrap();
    assert_eq!(roles.role_list().iter().map(|r| r.role_name().unwrap()).collect::<Vec<_>>(), ["OncallReader"]);
    assert!(sso.list_account_roles().access_token(&access).account_id(HOST_ACCOUNT).send().await.unwrap().role_list().is_empty());

    // The role is provisioned in the member account with the inline and the
    // managed policy, and its session is in that account.
    let creds = role_credentials(&sso, &access, "OncallReader", &w.customer_account).await.unwrap();
    let conf = session_config(&w, &creds);
    let me = aws_sdk_sts::Client::new(&conf).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(w.customer_account.as_str()));
    let role = me.arn().unwrap().split('/').nth(1).unwrap().to_owned();
    assert!(role.starts_with("AWSReservedSSO_OncallReader_"), "{role}");
    let customer_iam = w.customer_iam();
    let attached = customer_iam.list_attached_role_policies().role_name(&role).send().await.unwrap();
    assert_eq!(attached.attached_policies().iter().map(|p| p.policy_arn().unwrap()).collect::<Vec<_>>(), [managed]);
    let inline = customer_iam.get_role_policy().role_name(&role).policy_name("AwsSSOInlinePolicy").send().await.unwrap();
    assert!(inline.policy_document().contains("iam:ListRoles") || inline.policy_document().contains("iam%3AListRoles"));

    // Detaching from the permission set detaches from the role on the next call.
    center.sso.detach_managed_policy_from_permission_set().instance_arn(&center.instance_arn).permission_set_arn(&reader).managed_policy_arn(managed).send().await.unwrap();
    let creds = role_credentials(&sso, &access, "OncallReader", &w.customer_account).await.unwrap();
    assert!(customer_iam.list_attached_role_policies().role_name(&role).send().await.unwrap().attached_policies().is_empty());
    let iam = aws_sdk_iam::Client::new(&session_config(&w, &creds));
    iam.list_roles().send().await.unwrap();
    assert_eq!(iam.list_users().send().await.unwrap_err().raw_response().map(|r| r.status().as_u16()), Some(403));

    // Leaving the group takes the access away.
    let membership = center
        .ids
        .get_group_membership_id()
        .identity_store_id(&center.store_id)
        .group_id(&oncall)
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(dave.clone()))
        .send()
        .await
        .unwrap()
        .membership_id;
    center.ids.delete_group_membership().identity_store_id(&center.store_id).membership_id(membership).send().await.unwrap();
    assert!(role_credentials(&sso, &access, "OncallReader", &w.customer_account).await.unwrap_err().is_resource_not_found_exception());
}
