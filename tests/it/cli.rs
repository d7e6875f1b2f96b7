//! The CLI against a real server: device login approved by the signed-in
//! person, admin commands, API tokens, audit verification, logout.

use std::time::Duration;

use latch_testkit::ServerProcess;

use crate::support::{engines, login, mode, text, Browser, Home};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_login_and_admin_commands_end_to_end() {
    for engine in engines() {
        let server = tokio::task::spawn_blocking(move || ServerProcess::start(engine)).await.unwrap().unwrap();
        let browser = Browser::enroll(&server).await;
        let home = Home::new();
        login(&home, &server, &browser).await;

        let creds = home.config_dir().join("credentials.json");
        assert_eq!(mode(&home.config_dir()), 0o700, "{engine}");
        assert_eq!(mode(&creds), 0o600, "{engine}");

        let out = home.run(&["whoami"], &[]).await;
        assert_eq!(text(&out.stdout), "admin@acme.io (admin) in org `acme`\n", "{}", text(&out.stderr));

        let out = home.run(&["admin", "users", "add", "bob@acme.io", "--role", "approver"], &[]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("/enroll?org=acme&token=latch_enr_"), "{}", text(&out.stdout));
        let out = home.run(&["admin", "users", "ls"], &[]).await;
        let ls = text(&out.stdout);
        assert!(ls.starts_with("EMAIL") && ls.contains("bob@acme.io") && ls.contains("approver"), "{ls}");
        let out = home.run(&["admin", "users", "add", "bob@acme.io"], &[]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("error: a user with email `bob@acme.io` already exists [conflict]"), "{}", text(&out.stderr));

        for args in [
            vec!["admin", "groups", "add", "ops"],
            vec!["admin", "groups", "add-member", "ops", "bob@acme.io"],
        ] {
            let out = home.run(&args, &[]).await;
            assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        }
        let out = home.run(&["admin", "groups", "show", "ops"], &[]).await;
        assert!(text(&out.stdout).contains("bob@acme.io"), "{}", text(&out.stdout));

        let out = home.run(&["admin", "tokens", "create", "ci", "--scope", "read"], &[]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let secret = text(&out.stdout).trim().to_owned();
        assert!(secret.starts_with("latch_pat_"), "{secret}");
        // LATCH_TOKEN works without any stored login.
        let bare = Home::new();
        let out = bare.run(&["whoami", "--json"], &[("LATCH_TOKEN", &secret), ("LATCH_SERVER", &server.url)]).await;
        let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((me["email"].as_str(), me["credential"].as_str()), (Some("admin@acme.io"), Some("api")));
        let out = home.run(&["admin", "tokens", "ls"], &[]).await;
        assert!(text(&out.stdout).contains("ci") && text(&out.stdout).contains("read"), "{}", text(&out.stdout));

        let out = home.run(&["admin", "audit", "verify"], &[]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("audit chain intact: "), "{}", text(&out.stdout));
        let export = home.dir.path().join("audit.jsonl");
        let out = home.run(&["admin", "audit", "export", "-o", export.to_str().unwrap()], &[]).await;
        assert!(out.status.success());
        let lines = std::fs::read_to_string(&export).unwrap();
        assert!(lines.lines().count() >= 6);
        assert!(lines.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));

        // Logout revokes server-side: a copy of the old credentials is useless.
        let saved = std::fs::read(&creds).unwrap();
        let out = home.run(&["logout"], &[]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = home.run(&["whoami"], &[]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("you are not logged in"), "{}", text(&out.stderr));
        std::fs::write(&creds, saved).unwrap();
        let out = home.run(&["whoami"], &[]).await;
        assert_eq!(out.status.code(), Some(1), "a revoked login still worked: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains("Your Latch session has expired."), "{}", text(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_detects_an_edited_audit_record() {
    let server = tokio::task::spawn_blocking(|| ServerProcess::start("sqlite")).await.unwrap().unwrap();
    let browser = Browser::enroll(&server).await;
    let home = Home::new();
    login(&home, &server, &browser).await;
    assert!(home.run(&["admin", "audit", "verify"], &[]).await.status.success());
    {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&server.db_url).await.unwrap();
        sqlx::query("UPDATE audit_log SET target = 'forged' WHERE seq = 2").execute(&mut conn).await.unwrap();
    }
    let out = home.run(&["admin", "audit", "verify"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: audit record 2 was edited: its content no longer matches its hash\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_requests_from_the_command_line() {
    let server = tokio::task::spawn_blocking(|| ServerProcess::start("sqlite")).await.unwrap().unwrap();
    let browser = Browser::enroll(&server).await;
    let admin = Home::new();
    login(&admin, &server, &browser).await;

    let policy = admin.dir.path().join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"admin\"\nrequesters = \"any\"\nresource = { kinds = [\"role\"], names = [\"Admin\"] }\napproval = { users = [\"admin@acme.io\"] }\nrequire_reason = true\n\n[[rule]]\nname = \"typo\"\nrequesters = \"any\"\napproval = \"maybe\"\n").unwrap();
    let p = policy.to_str().unwrap();
    let out = admin.run(&["admin", "policy", "apply", p], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("policy.toml:11:12: `maybe` is not an approval"), "{}", text(&out.stderr));
    std::fs::write(&policy, std::fs::read_to_string(&policy).unwrap().replace("\"maybe\"", "\"deny\"")).unwrap();
    let out = admin.run(&["admin", "policy", "apply", p], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Applied policy version 1."));

    // Alice asks through the CLI with an API token of her own.
    let out = admin.run(&["admin", "users", "add", "alice@acme.io"], &[]).await;
    let link = text(&out.stdout);
    let token = link.trim().rsplit("token=").next().unwrap().to_owned();
    let alice_web = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let enrolled: serde_json::Value = alice_web
        .post(format!("{}/v1/orgs/acme/enroll", server.url))
        .json(&serde_json::json!({"token": token, "password": crate::support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created: serde_json::Value = alice_web
        .post(format!("{}/v1/tokens", server.url))
        .header("x-csrf-token", enrolled["csrf_token"].as_str().unwrap())
        .json(&serde_json::json!({"name": "cli", "scopes": ["read", "request"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice_env = [("LATCH_TOKEN", created["secret"].as_str().unwrap().to_owned()), ("LATCH_SERVER", server.url.clone())];
    let env: Vec<(&str, &str)> = alice_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let alice = Home::new();
    let out = alice.run(&["request", "role", "Admin", "--account", "123456789012"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("policy rule `admin` requires a reason"), "{}", text(&out.stderr));
    let out = alice.run(&["request", "role", "Admin", "--account", "123456789012", "--reason", "deploy"], &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    assert!(id.starts_with("req_"), "{id}");
    let out = alice.run(&["request", "role", "Billing", "--account", "123456789012"], &env).await;
    assert!(text(&out.stderr).contains("[no_access]"), "{}", text(&out.stderr));

    let out = admin.run(&["requests", "--to-approve"], &[]).await;
    assert!(text(&out.stdout).contains(&id), "{}", text(&out.stdout));
    let out = admin.run(&["approve", &id], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // No AWS integration is installed on this server: provisioning fails
    // cleanly instead of pretending.
    let mut state = String::new();
    for _ in 0..100 {
        let out = alice.run(&["requests", "--mine", "--json"], &env).await;
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        state = list[0]["state"].as_str().unwrap_or_default().to_owned();
        if state == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_wait_exit_codes() {
    let server = tokio::task::spawn_blocking(|| ServerProcess::start("sqlite")).await.unwrap().unwrap();
    let browser = Browser::enroll(&server).await;
    let admin = Home::new();
    login(&admin, &server, &browser).await;
    let policy = admin.dir.path().join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"admin\"\nrequesters = \"any\"\nresource = { names = [\"Admin\"] }\napproval = { users = [\"boss@acme.io\"] }\n").unwrap();
    assert!(admin.run(&["admin", "policy", "apply", policy.to_str().unwrap()], &[]).await.status.success());
    // Nobody decides in time: exit 4, and the request stays open.
    let out = admin.run(&["request", "role", "Admin", "--account", "123456789012", "--wait", "--wait-timeout", "2s"], &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("gave up waiting after 2s"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty());
    let out = admin.run(&["requests", "--mine", "--json"], &[]).await;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((list.as_array().unwrap().len(), list[0]["state"].as_str()), (1, Some("pending")));
}
