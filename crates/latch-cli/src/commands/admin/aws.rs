//! `latch admin aws install|verify|ls|rm` and `latch admin sync`.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::bail;
use reqwest::Method;
use serde_json::{json, Value};

use super::{field, table};
use crate::cli::{AwsAdminCommand, GlobalArgs, IamUserCommand};
use crate::client::Api;

/// Runs one aws verb.
pub async fn run(global: &GlobalArgs, cmd: AwsAdminCommand) -> anyhow::Result<()> {
    match cmd {
        AwsAdminCommand::Install { account, alias, mode, user_lookup, inventory, organizations, sso_start_url, federation, print } => {
            if !matches!(print.as_str(), "cli" | "terraform" | "cloudformation") {
                bail!("`{print}` is not a format\nhelp: use --print cli, terraform or cloudformation");
            }
            let api = Api::connect(global).await?;
            let body = json!({
                "account_id": account, "alias": alias, "mode": mode, "user_lookup": user_lookup,
                "inventory": inventory, "organizations": organizations, "sso_start_url": sso_start_url, "federation": federation,
            });
            let out: Value = api.post("/v1/integrations/aws", &body).await?;
            let doc = out.pointer(&format!("/documents/{print}")).and_then(Value::as_str).unwrap_or_default();
            print!("{doc}");
            eprintln!(
                "Run the above in AWS account {account} as an administrator, then:\n  latch admin aws verify --account {account}\nLatch's principal: {}",
                field(&out, "principal_arn")
            );
        }
        AwsAdminCommand::Verify { account } => {
            let api = Api::connect(global).await?;
            let out: Value = api.post(&format!("/v1/integrations/aws/{account}/verify"), &json!({})).await?;
            let list = |k: &str| out.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
            for p in list("problems") {
                eprintln!("problem: {}", p.as_str().unwrap_or_default());
            }
            for m in list("missing") {
                eprintln!("missing permission: {}", m.as_str().unwrap_or_default());
            }
            for u in list("unverified") {
                eprintln!("not checked now: {}", u.as_str().unwrap_or_default());
            }
            let status = out.pointer("/integration/status").and_then(Value::as_str).unwrap_or_default();
            if status != "installed" {
                bail!("AWS account `{account}` is not verified\nhelp: fix the problems above, then run `latch admin aws verify --account {account}` again");
            }
            println!("AWS account {account} is installed");
        }
        AwsAdminCommand::Ls { json } => {
            let api = Api::connect(global).await?;
            let list: Vec<Value> = api.get("/v1/integrations/aws").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|i| {
                    let lookup = i.pointer("/user_lookup/by").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let key = i.pointer("/user_lookup/key").and_then(Value::as_str).map(|k| format!(":{k}")).unwrap_or_default();
                    vec![field(i, "account_id"), field(i, "alias"), field(i, "mode"), format!("{lookup}{key}"), field(i, "status")]
                })
                .collect();
            table(&["ACCOUNT", "ALIAS", "MODE", "USERS BY", "STATUS"], &rows);
        }
        AwsAdminCommand::IamUser { command: IamUserCommand::Create { account, email, user_name } } => {
            let api = Api::connect(global).await?;
            let out: Value = api.post(&format!("/v1/integrations/aws/{account}/iam-users"), &json!({"email": email, "user_name": user_name})).await?;
            let verb = if out.get("created").and_then(Value::as_bool) == Some(true) { "created" } else { "already existed; tagged" };
            eprintln!("IAM user {verb} (tag `{}` = {email})", field(&out, "tag"));
            println!("{}", field(&out, "arn"));
        }
        AwsAdminCommand::IamUser { command: IamUserCommand::Delete { account, name, yes } } => {
            if !yes {
                bail!("this deletes IAM user `{name}` and its keys, login profile, certificates, SSH keys, MFA devices, policies and group memberships\nhelp: run again with --yes");
            }
            let api = Api::connect(global).await?;
            let resp = api.send(Method::DELETE, &format!("/v1/integrations/aws/{account}/iam-users/{name}"), None).await?;
            let out: Value = resp.json().await?;
            println!("{}", serde_json::to_string_pretty(out.get("report").unwrap_or(&Value::Null))?);
        }
        AwsAdminCommand::Rm { account } => {
            let api = Api::connect(global).await?;
            api.send(Method::DELETE, &format!("/v1/integrations/aws/{account}"), None).await?;
            eprintln!("AWS account {account} is disconnected; delete the integration role in it when you no longer need it.");
        }
    }
    Ok(())
}

/// `latch admin sync --account ID`: queues a sync and follows it, with a
/// progress line on a terminal; prints what appeared, changed and vanished.
pub async fn sync(global: &GlobalArgs, account: &str, json: bool) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    let before: Value = api.post(&format!("/v1/integrations/aws/{account}/sync"), &json!({})).await?;
    // A sync already running is followed; otherwise the next version is.
    let floor = match before.get("status").and_then(Value::as_str) {
        Some("running") => before.get("version").and_then(Value::as_i64).unwrap_or(0),
        _ => before.get("version").and_then(Value::as_i64).unwrap_or(0) + 1,
    };
    let tty = std::io::stderr().is_terminal();
    let run = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let run: Value = api.get(&format!("/v1/integrations/aws/{account}/sync")).await?;
        let version = run.get("version").and_then(Value::as_i64).unwrap_or(0);
        let status = run.get("status").and_then(Value::as_str).unwrap_or("");
        if version >= floor && tty {
            eprint!("\rsyncing {account}: version {version}, {} items written", run.get("items").and_then(Value::as_i64).unwrap_or(0));
            let _ = std::io::stderr().flush();
        }
        if version >= floor && status != "running" {
            break run;
        }
    };
    if tty {
        eprintln!();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    }
    if run.get("status").and_then(Value::as_str) == Some("failed") {
        bail!("the sync of `{account}` failed: {}", field(&run, "error"));
    }
    let n = |k: &str| run.get(k).and_then(Value::as_i64).unwrap_or(0);
    if !json {
        println!("version {}: {} items; {} appeared, {} changed, {} vanished", n("version"), n("items"), n("appeared"), n("changed"), n("vanished"));
    }
    Ok(())
}
