//! `latch enroll TOKEN`: sets your password with a one-time enrollment token.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::{anyhow, bail, Context as _};
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::client::{check, http, seg};

/// Enrolls, reading the password from stdin or a no-echo prompt.
pub async fn run(global: &GlobalArgs, token: &str, password_stdin: bool) -> anyhow::Result<()> {
    let server = global.server.as_deref().ok_or_else(|| anyhow!("which server?\nhelp: pass --server URL or set LATCH_SERVER"))?;
    let org = global.org.as_deref().ok_or_else(|| anyhow!("which org?\nhelp: pass --org SLUG or set LATCH_ORG"))?;
    let password = if password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        let p = rpassword::prompt_password("New password: ")?;
        if rpassword::prompt_password("Again: ")? != p {
            bail!("the passwords do not match");
        }
        p
    };
    let url = format!("{}/v1/orgs/{}/enroll", server.trim_end_matches('/'), seg(org));
    let resp = http()?.post(&url).json(&json!({"token": token, "password": password})).send().await.with_context(|| format!("while calling {url}"))?;
    check(resp).await?;
    eprintln!("Enrolled in `{org}`. Sign in on the web, then run `latch login {org} --server {server}`.");
    Ok(())
}
