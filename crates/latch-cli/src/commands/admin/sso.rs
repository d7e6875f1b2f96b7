//! `latch admin sso set|show|rm`.

use std::io::BufRead as _;

use anyhow::bail;
use reqwest::Method;
use serde_json::{json, Value};

use super::field;
use crate::cli::{GlobalArgs, SsoCommand};
use crate::client::Api;

/// Runs one sso verb.
pub async fn run(global: &GlobalArgs, cmd: SsoCommand) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    match cmd {
        SsoCommand::Set { issuer, client_id, groups_claim, auto_create, default_role } => {
            eprintln!("Client secret (read from stdin):");
            let mut secret = String::new();
            std::io::stdin().lock().read_line(&mut secret)?;
            let secret = secret.trim_end_matches(['\n', '\r']);
            if secret.is_empty() {
                bail!("no client secret on stdin\nhelp: echo \"$SECRET\" | latch admin sso set …");
            }
            let body = json!({
                "issuer": issuer, "client_id": client_id, "client_secret": secret,
                "groups_claim": groups_claim, "auto_create": auto_create, "default_role": default_role,
            });
            let resp = api.send(Method::PUT, "/v1/sso", Some(&body)).await?;
            let view: Value = resp.json().await?;
            eprintln!("Single sign-on is on. Register this redirect URI at the provider:");
            println!("{}", field(&view, "redirect_uri"));
        }
        SsoCommand::Show => {
            let view: Value = api.get("/v1/sso").await?;
            for k in ["issuer", "client_id", "groups_claim", "auto_create", "default_role", "redirect_uri"] {
                println!("{k:<13} {}", field(&view, k));
            }
        }
        SsoCommand::Rm => {
            api.send(Method::DELETE, "/v1/sso", None).await?;
            eprintln!("Single sign-on is off.");
        }
    }
    Ok(())
}
