//! `latch aws role assume` end to end: the real binary as client and
//! server, moto as AWS with IAM enforcement on where it proves something.
//! A person logs in, requests, another person approves, the printed
//! credentials work in AWS, and stop working when the grant is taken back.
//! Every error row of the `role assume` and `permission-set assume`
//! references that these accounts can provoke is asserted by snapshot.

use std::process::Stdio;
use std::time::Duration;

use latch_testkit::aws::{apply_integration, AwsWorld, HOST_ACCOUNT};
use latch_testkit::ServerProcess;
use reqwest::Method;
use serde_json::{json, Value};

use latch_testkit::sso_standin::SsoStandin;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::support::{finish, login, read_until, text, Browser, Home};

const ALICE: &str = "alice@acme.io";

const POLICY: &str = r#"
[[rule]]
name = "deploy"
requesters = "any"
resource = { kinds = ["role"], names = ["Deploy", "Admin"] }
approval = { users = ["admin@acme.io"] }
default_duration = "1h"

[[rule]]
name = "ps"
requesters = "any"
resource = { kinds = ["permission-set"], names = ["ReadOnly"] }
approval = "auto"
default_duration = "1h"

[[rule]]
name = "read"
requesters = "any"
resource = { kinds = ["role"], names = ["Reader"] }
approval = "auto"
default_duration = "1h"
"#;

struct Estate {
    w: AwsWorld,
    server: ServerProcess,
    admin: Home,
    admin_web: Browser,
    alice: Home,
}

/// moto, a server using it, the admin and alice logged in through the CLI.
async fn estate() -> Estate {
    let w = AwsWorld::build().await.unwrap();
    let (endpoint, id, secret) = (w.endpoint.clone(), w.latch.id.clone(), w.latch.secret.clone());
    let server = tokio::task::spawn_blocking(move || ServerProcess::start_on_aws(&endpoint, &id, &secret)).await.unwrap().unwrap();
    let admin_web = Browser::enroll(&server).await;
    let admin = Home::new();
    login(&admin, &server, &admin_web).await;
    let policy = admin.dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let out = admin.run(&["admin", "policy", "apply", policy.to_str().unwrap()], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = admin.run(&["admin", "users", "add", ALICE], &[]).await;
    let token = text(&out.stdout).trim().rsplit("token=").next().unwrap().to_owned();
    let alice_web = Browser::enroll_with(&server, &token).await;
    let alice = Home::new();
    login(&alice, &server, &alice_web).await;
    Estate { w, server, admin, admin_web, alice }
}

impl Estate {
    /// Alice's environment: AWS calls go to moto.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("AWS_ENDPOINT_URL", self.w.endpoint.clone())]
    }

    async fn alice(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        self.alice.run(args, &all).await
    }

    /// Starts `latch ARGS…` as alice without waiting for it.
    fn spawn_alice(&self, args: &[&str], extra: &[(&str, &str)]) -> tokio::process::Child {
        let mut c = self.alice.command();
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in self.env() {
            c.env(k, v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        c.spawn().unwrap()
    }

    /// Waits for a pending request of alice's to appear and decides it as the admin.
    async fn decide_next(&self, verb: &str, reason: &str) -> String {
        for _ in 0..300 {
            let out = self.admin.run(&["requests", "--to-approve", "--json"], &[]).await;
            let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if let Some(id) = list.as_array().and_then(|l| l.first()).and_then(|r| r["id"].as_str()) {
                let out = self.admin.run(&[verb, id, "--reason", reason], &[]).await;
                assert!(out.status.success(), "{}", text(&out.stderr));
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no request came to approve")
    }

    async fn alice_requests(&self) -> Vec<Value> {
        let out = self.alice.run(&["requests", "--mine", "--json"], &[]).await;
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }

    /// Installs `account` as the admin and applies the printed integration role.
    async fn install(&self, account: &str, mode: &str, alias: Option<&str>, iam: &aws_sdk_iam::Client) -> Value {
        self.install_with(json!({"account_id": account, "mode": mode, "alias": alias}), iam).await
    }

    /// [`Estate::install`] with the whole request body.
    async fn install_with(&self, body: Value, iam: &aws_sdk_iam::Client) -> Value {
        let (status, installed) = self.admin_web.call(Method::POST, "/v1/integrations/aws", Some(body)).await;
        assert_eq!(status, 200, "{installed}");
        apply_integration(iam, &installed).await.unwrap();
        installed
    }

    async fn verify(&self, account: &str) {
        self.w.enforce().unwrap();
        let (_, verified) = self.admin_web.call(Method::POST, &format!("/v1/integrations/aws/{account}/verify"), None).await;
        assert_eq!(verified["integration"]["status"], "installed", "{verified}");
        self.w.relax().unwrap();
    }
}

/// What a run printed, for snapshots: exit code, stdout, stderr, with
/// request ids and times replaced.
fn shown(out: &std::process::Output) -> String {
    format!("exit: {:?}\n--- stdout\n{}--- stderr\n{}", out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"req_[A-Za-z0-9]+", "[request]");
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[time]");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Parses `export NAME=value` lines.
fn exports(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|l| {
            let (k, v) = l.strip_prefix("export ").unwrap().split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('\'').to_owned())
        })
        .collect()
}

fn session(w: &AwsWorld, vars: &[(String, String)]) -> aws_sdk_iam::Client {
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).unwrap().1.clone();
    aws_sdk_iam::Client::new(&w.config(&get("AWS_ACCESS_KEY_ID"), &get("AWS_SECRET_ACCESS_KEY"), Some(get("AWS_SESSION_TOKEN"))))
}

/// The role `name` in the host account, trusting Latch's tokens for it and
/// allowed to list roles.
async fn federated_role(iam: &aws_sdk_iam::Client, installed: &Value, name: &str) {
    let trust = installed["role_trust_template"].to_string().replace("ROLE/*", &format!("{name}/*"));
    iam.create_role().role_name(name).assume_role_policy_document(trust).send().await.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    iam.put_role_policy().role_name(name).policy_name("work").policy_document(allow.to_string()).send().await.unwrap();
}

/// Runs a snippet in a real shell (scripts/install-test-deps installs them).
fn in_shell(shell: &str, script: &str) -> String {
    let out = std::process::Command::new(shell).args(["-c", script]).output().unwrap_or_else(|e| panic!("cannot run {shell} ({e}); scripts/install-test-deps installs it"));
    assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_role_assume_end_to_end() {
    let e = estate().await;
    let s = settings();
    let _guard = s.bind_to_scope();

    // Nothing installed yet.
    let out = e.alice(&["aws", "role", "assume", "Deploy"], &[]).await;
    insta::assert_snapshot!("role_not_installed_anywhere", shown(&out));

    // The admin installs the host account in federated mode and gives the
    // roles the printed trust; Latch's issuer is registered in IAM.
    let admin_iam = aws_sdk_iam::Client::new(&e.w.config(&e.w.admin.id, &e.w.admin.secret, None));
    let installed = e.install(HOST_ACCOUNT, "federated", Some("host"), &admin_iam).await;
    admin_iam.create_open_id_connect_provider().url(format!("{}/oidc/acme", e.server.url)).client_id_list("sts.amazonaws.com").send().await.unwrap();
    federated_role(&admin_iam, &installed, "Deploy").await;
    federated_role(&admin_iam, &installed, "Reader").await;
    e.verify(HOST_ACCOUNT).await;

    // Help shows the command this account uses, and the account.
    let help = text(&e.alice(&["aws", "--help"], &[]).await.stdout);
    assert!(help.contains("  role ") && !help.contains("  permission-set "), "{help}");
    assert!(help.contains(&format!("host ({HOST_ACCOUNT}): latch aws --account host role assume NAME")), "{help}");

    // The seeds' error rows this account can show.
    let out = e.alice(&["aws", "role", "assume", "Deploy", "--no-request"], &[]).await;
    insta::assert_snapshot!("role_not_available", shown(&out));
    let out = e.alice(&["aws", "permission-set", "assume", "Deploy"], &[]).await;
    insta::assert_snapshot!("permission_set_on_a_role_account", shown(&out));
    let out = e.alice(&["aws", "--account", "999999999999", "role", "assume", "Deploy"], &[]).await;
    insta::assert_snapshot!("role_account_not_installed", shown(&out));
    let out = e.alice(&["aws", "--account", "", "role", "assume", "Deploy"], &[]).await;
    insta::assert_snapshot!("role_no_account_id", shown(&out));

    // Denied: exit 2.
    let child = e.spawn_alice(&["aws", "role", "assume", "Deploy", "--reason", "hotfix"], &[]);
    e.decide_next("deny", "not today").await;
    let out = child.wait_with_output().await.unwrap();
    insta::assert_snapshot!("role_denied", shown(&out));
    // Not decided in time: exit 4, and the request stays open (then withdrawn).
    let out = e.alice(&["aws", "role", "assume", "Deploy", "--wait-timeout", "2s"], &[]).await;
    insta::assert_snapshot!("role_timed_out", shown(&out));
    let open = e.alice_requests().await.into_iter().find(|r| r["state"] == "pending").unwrap();
    assert!(e.alice.run(&["cancel", open["id"].as_str().unwrap()], &[]).await.status.success());

    // Approved by the admin while alice's command waits.
    let child = e.spawn_alice(&["aws", "role", "assume", "Deploy", "--reason", "deploy"], &[]);
    let id = e.decide_next("approve", "ok").await;
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let vars = exports(&printed);
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"], "piped: only the exports");
    assert!(text(&out.stderr).contains("Access is active until"), "{}", text(&out.stderr));
    let iam = session(&e.w, &vars);
    e.w.enforce().unwrap();
    assert!(iam.list_roles().send().await.is_ok(), "the printed credentials work during the grant");
    assert!(iam.list_users().send().await.is_err(), "and only for what the role allows");
    e.w.relax().unwrap();

    // Cached: the same credentials, no new request, even as credential_process JSON.
    let before = e.alice_requests().await.len();
    let again = e.alice(&["aws", "role", "assume", "Deploy"], &[]).await;
    assert_eq!(text(&again.stdout), printed);
    let cp = e.alice(&["aws", "role", "assume", "Deploy", "--format", "credential-process"], &[]).await;
    let cp: Value = serde_json::from_slice(&cp.stdout).unwrap();
    assert_eq!((cp["Version"].as_i64(), cp["AccessKeyId"].as_str()), (Some(1), Some(vars[0].1.as_str())));
    assert!(cp["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e.alice_requests().await.len(), before);
    let cache_dir = e.alice.config_dir().join("aws");
    assert_eq!(crate::support::mode(&cache_dir), 0o700);
    for f in std::fs::read_dir(&cache_dir).unwrap() {
        assert_eq!(crate::support::mode(&f.unwrap().path()), 0o600);
    }

    // The exports work in real shells.
    let file = e.alice.dir.path().join("exports.sh");
    std::fs::write(&file, &printed).unwrap();
    let script = format!("eval \"$(cat {})\"; printf %s \"$AWS_SESSION_TOKEN\"", file.display());
    let token = vars[2].1.clone();
    for sh in ["bash", "zsh", "sh"] {
        assert_eq!(in_shell(sh, &script), token, "{sh}");
    }
    let fish = e.alice(&["aws", "role", "assume", "Deploy", "--format", "fish"], &[]).await;
    let fish_file = e.alice.dir.path().join("exports.fish");
    std::fs::write(&fish_file, fish.stdout).unwrap();
    assert_eq!(in_shell("fish", &format!("source {}; printf %s $AWS_SESSION_TOKEN", fish_file.display())), token, "fish");

    // exec: the command sees the credentials, and its exit status is latch's.
    let out = e.alice(&["aws", "exec", "Deploy", "--", "sh", "-c", "printf %s \"$AWS_ACCESS_KEY_ID\""], &[]).await;
    assert_eq!(text(&out.stdout), vars[0].1);
    let out = e.alice(&["aws", "exec", "Deploy", "--", "sh", "-c", "exit 3"], &[]).await;
    assert_eq!(out.status.code(), Some(3));

    // ls: Deploy held, Reader requestable without approval.
    let out = e.alice(&["ls", "aws", "role", "--json"], &[]).await;
    let ls: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deploy = ls.as_array().unwrap().iter().find(|x| x["name"] == "Deploy").unwrap();
    assert_eq!(deploy["active"][0]["request_id"], id.as_str());
    let reader = ls.as_array().unwrap().iter().find(|x| x["name"] == "Reader").unwrap();
    assert_eq!((reader["approval"].as_str(), reader["active"].as_array().map(Vec::len)), (Some("auto"), Some(0)));

    // Ten shells at once with nothing cached make one request, and print
    // the same credentials.
    let before = e.alice_requests().await.len();
    let children: Vec<_> = (0..10).map(|_| e.spawn_alice(&["aws", "role", "assume", "Reader"], &[])).collect();
    let mut outs = Vec::new();
    for c in children {
        let out = c.wait_with_output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        outs.push(text(&out.stdout));
    }
    assert!(outs.iter().all(|o| *o == outs[0]), "every shell printed the same credentials");
    assert_eq!(e.alice_requests().await.len(), before + 1, "one request for ten shells");

    // Revoked: the session issued during the grant stops working.
    let out = e.admin.run(&["revoke", &id, "--reason", "done"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut gone = false;
    for _ in 0..100 {
        let r = e.alice_requests().await.into_iter().find(|r| r["id"] == id.as_str()).unwrap();
        if r["state"] == "revoked" {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone);
    e.w.enforce().unwrap();
    assert!(iam.list_roles().send().await.is_err(), "revoked: the session no longer works");
    e.w.relax().unwrap();

    // Logout wipes the cache; the old login is useless afterwards.
    let saved = std::fs::read(e.alice.config_dir().join("credentials.json")).unwrap();
    assert!(e.alice.run(&["logout"], &[]).await.status.success());
    let left: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().filter_map(Result::ok).filter(|f| f.path().extension().is_some_and(|x| x == "json")).collect();
    assert!(left.is_empty(), "logout wipes cached credentials");
    std::fs::write(e.alice.config_dir().join("credentials.json"), saved).unwrap();
    let out = e.alice(&["aws", "role", "assume", "Deploy"], &[]).await;
    insta::assert_snapshot!("role_session_expired", shown(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_role_assume_with_saml() {
    let e = estate().await;
    // Installed with SAML: the account makes its IAM SAML provider from the
    // metadata in the printed template, and the role trusts it.
    let admin_iam = aws_sdk_iam::Client::new(&e.w.config(&e.w.admin.id, &e.w.admin.secret, None));
    let installed = e.install_with(json!({"account_id": HOST_ACCOUNT, "mode": "federated", "federation": "saml"}), &admin_iam).await;
    let template: Value = serde_json::from_str(installed["documents"]["cloudformation"].as_str().unwrap()).unwrap();
    let provider = &template["Resources"]["LatchIdentityProvider"]["Properties"];
    admin_iam.create_saml_provider().name(provider["Name"].as_str().unwrap()).saml_metadata_document(provider["SamlMetadataDocument"].as_str().unwrap()).send().await.unwrap();
    // A role with a path: its ARN is `…:role/team/Reader`, which Latch learns
    // from the inventory sync that verify starts.
    let trust = installed["role_trust_template"].to_string();
    admin_iam.create_role().role_name("Reader").path("/team/").assume_role_policy_document(trust).send().await.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    admin_iam.put_role_policy().role_name("Reader").policy_name("work").policy_document(allow.to_string()).send().await.unwrap();
    e.verify(HOST_ACCOUNT).await;
    let want = format!("arn:aws:iam::{HOST_ACCOUNT}:role/team/Reader");
    let mut synced = false;
    for _ in 0..200 {
        let out = e.alice(&["ls", "aws", "role", "--json"], &[]).await;
        if serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|ls| ls.to_string().contains(&want)) {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(synced, "the sync never listed {want}");

    let out = e.alice(&["aws", "role", "assume", "Reader", "--reason", "look"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let vars = exports(&text(&out.stdout));
    let iam = session(&e.w, &vars);
    e.w.enforce().unwrap();
    assert!(iam.list_roles().send().await.is_ok(), "the credentials from AssumeRoleWithSAML work during the grant");
    e.w.relax().unwrap();
    let id = e.alice_requests().await.into_iter().find(|r| r["state"] == "active").unwrap()["id"].as_str().unwrap().to_owned();
    // It went through Latch's SAML assertion, not a web identity token.
    let (_, audit) = e.admin_web.call(Method::GET, "/v1/audit", None).await;
    let actions: Vec<&str> = audit["records"].as_array().unwrap().iter().filter(|r| r["target"] == id.as_str()).filter_map(|r| r["action"].as_str()).collect();
    assert!(actions.contains(&"federation.saml_issued") && !actions.contains(&"federation.token_issued"), "{actions:?}");
    let issued = audit["records"].as_array().unwrap().iter().find(|r| r["action"] == "federation.saml_issued").unwrap();
    assert!(issued["detail"].to_string().contains(&want), "the assertion named the role's real ARN: {issued}");
    assert!(e.alice.run(&["relinquish", &id], &[]).await.status.success());
    let mut ended = false;
    for _ in 0..100 {
        if e.alice_requests().await.iter().any(|r| r["id"] == id.as_str() && r["state"] == "relinquished") {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended);
    e.w.enforce().unwrap();
    assert!(iam.list_roles().send().await.is_err(), "relinquished: the session no longer works");
    e.w.relax().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_user_role_assume_with_several_accounts() {
    let e = estate().await;
    let s = settings();
    let _guard = s.bind_to_scope();
    let account = e.w.customer_account.clone();

    // Alice's IAM user in the member account, and an Admin role there.
    let iam = e.w.customer_iam();
    iam.create_user().user_name(ALICE).send().await.unwrap();
    let key = iam.create_access_key().user_name(ALICE).send().await.unwrap().access_key.unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": [format!("arn:aws:iam::{account}:root"), format!("arn:aws:iam::{account}:user/{ALICE}")]},
        "Action": "sts:AssumeRole"}]});
    iam.create_role().role_name("Admin").assume_role_policy_document(trust.to_string()).send().await.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    iam.put_role_policy().role_name("Admin").policy_name("admin").policy_document(allow.to_string()).send().await.unwrap();
    e.install(&account, "iam-users", Some("customer"), &iam).await;
    e.verify(&account).await;
    let admin_iam = aws_sdk_iam::Client::new(&e.w.config(&e.w.admin.id, &e.w.admin.secret, None));
    // A bucket anyone may read, for who-can from outside the inventory.
    let s3_config = aws_sdk_s3::config::Builder::from(&e.w.config(&e.w.admin.id, &e.w.admin.secret, None)).force_path_style(true).build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    s3.create_bucket().bucket("public-reports").send().await.unwrap();
    let public = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public-reports/*"}]});
    s3.put_bucket_policy().bucket("public-reports").policy(public.to_string()).send().await.unwrap();
    e.install_with(json!({"account_id": HOST_ACCOUNT, "mode": "iam-users", "inventory": true}), &admin_iam).await;
    // Verified with IAM enforcement off: under it moto refuses Lambda's
    // `ListFunctions` whatever the signature, and checks `tag:GetResources`
    // as `tagging:GetResources` (latch-aws's install test covers the probes).
    let (_, verified) = e.admin_web.call(Method::POST, &format!("/v1/integrations/aws/{HOST_ACCOUNT}/verify"), None).await;
    assert_eq!(verified["integration"]["status"], "installed", "{verified}");

    let own = [("AWS_ACCESS_KEY_ID", key.access_key_id.as_str()), ("AWS_SECRET_ACCESS_KEY", key.secret_access_key.as_str())];
    let out = e.alice(&["aws", "role", "assume", "Admin"], &own).await;
    insta::assert_snapshot!("role_several_accounts", shown(&out));

    // LATCH_AWS_ACCOUNT names the account; alice's own keys assume the role
    // once the grant is active (enforcement on: the grant is what allows it).
    let mut with_account = own.to_vec();
    with_account.push(("LATCH_AWS_ACCOUNT", "customer"));
    e.w.enforce().unwrap();
    let child = e.spawn_alice(&["aws", "role", "assume", "Admin", "--reason", "audit"], &with_account);
    e.decide_next("approve", "ok").await;
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let vars = exports(&text(&out.stdout));
    assert!(session(&e.w, &vars).list_roles().send().await.is_ok());
    e.w.relax().unwrap();

    // Someone removes the grant in AWS behind Latch's back: AWS refuses, the
    // CLI retries while access could still be propagating, then says so.
    let policy = iam.list_user_policies().user_name(ALICE).send().await.unwrap().policy_names[0].clone();
    iam.delete_user_policy().user_name(ALICE).policy_name(&policy).send().await.unwrap();
    std::fs::remove_dir_all(e.alice.config_dir().join("aws")).unwrap();
    with_account.push(("LATCH_AWS_CREDENTIALS_TIMEOUT", "2s"));
    e.w.enforce().unwrap();
    let out = e.alice(&["aws", "role", "assume", "Admin", "--no-request"], &with_account).await;
    e.w.relax().unwrap();
    insta::assert_snapshot!("role_credentials_timed_out", shown(&out));

    // The admin asks who can list roles, over the synced inventory (the
    // first sync started when the account was verified).
    let role = format!("arn:aws:iam::{account}:role/Admin");
    let mut table = String::new();
    for _ in 0..100 {
        let out = e.admin.run(&["iam", "who-can", "--action", "iam:ListRoles"], &[]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        table = text(&out.stdout);
        if table.contains(&role) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(table.contains(&role) && table.contains("inline policy `admin`"), "{table}");

    // Who can read the public bucket: everyone, by its bucket policy.
    let mut found = serde_json::Value::Null;
    for _ in 0..100 {
        let out = e.admin.run(&["iam", "who-can", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::public-reports/2026.csv", "--json"], &[]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        found = serde_json::from_slice(&out.stdout).unwrap();
        if found.as_array().is_some_and(|a| a.iter().any(|f| f["outside"] == true)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let anyone: Vec<&serde_json::Value> = found.as_array().unwrap().iter().filter(|f| f["outside"] == true).collect();
    assert_eq!(anyone.len(), 1, "{found:#}");
    assert_eq!((anyone[0]["principal"].as_str(), anyone[0]["entity"].as_str()), (Some("*"), Some("anyone")), "{found:#}");
    assert_eq!(anyone[0]["statements"][0]["sid"], "Everyone", "{found:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_set_assume_through_identity_center() {
    let e = estate().await;
    let s = settings();
    let _guard = s.bind_to_scope();

    // Identity Center in the host account: alice, and a ReadOnly permission set.
    let admin = e.w.config(&e.w.admin.id, &e.w.admin.secret, None);
    let sso = aws_sdk_ssoadmin::Client::new(&admin);
    let instances = sso.list_instances().send().await.unwrap();
    let (instance_arn, store_id) = (instances.instances()[0].instance_arn().unwrap().to_owned(), instances.instances()[0].identity_store_id().unwrap().to_owned());
    let ids = aws_sdk_identitystore::Client::new(&admin);
    let name = aws_sdk_identitystore::types::Name::builder().given_name("Alice").family_name("Liddell").build();
    ids.create_user().identity_store_id(&store_id).user_name(ALICE).display_name("Alice Liddell").name(name).send().await.unwrap();
    let ps = sso.create_permission_set().instance_arn(&instance_arn).name("ReadOnly").session_duration("PT1H").send().await.unwrap().permission_set.unwrap().permission_set_arn.unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]});
    sso.put_inline_policy_to_permission_set().instance_arn(&instance_arn).permission_set_arn(&ps).inline_policy(allow.to_string()).send().await.unwrap();

    let admin_iam = aws_sdk_iam::Client::new(&admin);
    let (status, installed) = e
        .admin_web
        .call(Method::POST, "/v1/integrations/aws", Some(json!({"account_id": HOST_ACCOUNT, "mode": "identity-center", "sso_start_url": "https://d-0000000000.awsapps.com/start"})))
        .await;
    assert_eq!(status, 200, "{installed}");
    apply_integration(&admin_iam, &installed).await.unwrap();
    e.verify(HOST_ACCOUNT).await;
    let standin = SsoStandin::start(&e.w.endpoint, admin.clone()).await.unwrap();
    let portal = [("AWS_ENDPOINT_URL_SSO_OIDC", standin.url.as_str()), ("AWS_ENDPOINT_URL_SSO", standin.url.as_str())];

    let help = text(&e.alice(&["aws", "--help"], &[]).await.stdout);
    assert!(help.contains("  permission-set ") && !help.contains("  role "), "{help}");
    let out = e.alice(&["aws", "role", "assume", "ReadOnly"], &portal).await;
    insta::assert_snapshot!("role_on_a_permission_set_account", shown(&out));

    // The request is auto-approved; the CLI then signs in to Identity Center
    // with the device flow (alice confirms the code) and gets the set's credentials.
    let mut child = e.spawn_alice(&["aws", "permission-set", "assume", "ReadOnly", "--reason", "read"], &portal);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let prompt = "To sign in to AWS Identity Center, open this page and confirm the code ";
    let (code, _) = read_until(&mut lines, prompt).await;
    standin.approve(code.trim_end_matches(':'), ALICE).await.unwrap();
    let (out, stderr) = finish(child, lines).await;
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let printed = text(&out.stdout);
    let vars = exports(&printed);
    e.w.enforce().unwrap();
    assert!(session(&e.w, &vars).list_roles().send().await.is_ok(), "the permission set's credentials work");
    assert!(session(&e.w, &vars).list_users().send().await.is_err(), "and only for what the set allows");
    e.w.relax().unwrap();

    // Cached credentials; and with the cache gone, the Identity Center
    // sign-in is reused: no second prompt.
    assert_eq!(text(&e.alice(&["aws", "permission-set", "assume", "ReadOnly"], &portal).await.stdout), printed);
    std::fs::remove_dir_all(e.alice.config_dir().join("aws")).unwrap();
    let out = e.alice(&["aws", "permission-set", "assume", "ReadOnly"], &portal).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(prompt), "{}", text(&out.stderr));
    let sso_dir = e.alice.config_dir().join("aws-sso");
    for f in std::fs::read_dir(&sso_dir).unwrap() {
        assert_eq!(crate::support::mode(&f.unwrap().path()), 0o600);
    }
    // Logout signs out of Identity Center too.
    assert!(e.alice.run(&["logout"], &[]).await.status.success());
    assert!(!sso_dir.exists());
}
