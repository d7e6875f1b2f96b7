//! `latch admin tokens create|ls|revoke`.

use reqwest::Method;
use serde_json::{json, Value};

use super::{field, table};
use crate::cli::{GlobalArgs, TokensCommand};
use crate::client::{seg, Api};

/// Runs one tokens verb.
pub async fn run(global: &GlobalArgs, cmd: TokensCommand) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    match cmd {
        TokensCommand::Create { name, scopes, expires_in_days } => {
            let mut body = serde_json::Map::new();
            body.insert("name".into(), json!(name));
            if !scopes.is_empty() {
                body.insert("scopes".into(), json!(scopes));
            }
            if let Some(d) = expires_in_days {
                body.insert("expires_in_days".into(), json!(d));
            }
            let body = Value::Object(body);
            let created: Value = api.post("/v1/tokens", &body).await?;
            let token = created.get("token").cloned().unwrap_or_default();
            eprintln!("Created token {} (expires {}). It is shown once; store it now:", field(&token, "id"), field(&token, "expires_at"));
            println!("{}", field(&created, "secret"));
        }
        TokensCommand::Ls { all, json } => {
            let path = if all { "/v1/tokens?all=true" } else { "/v1/tokens" };
            let tokens: Vec<Value> = api.get(path).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|t| {
                        let scopes = t.get("scopes").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")).unwrap_or_default();
                        let state = if field(t, "revoked_at").is_empty() { "active" } else { "revoked" };
                        vec![field(t, "id"), field(t, "name"), scopes, state.to_owned(), field(t, "expires_at"), field(t, "last_used_at")]
                    })
                    .collect();
                table(&["ID", "NAME", "SCOPES", "STATE", "EXPIRES", "LAST USED"], &rows);
            }
        }
        TokensCommand::Revoke { id } => {
            api.send(Method::DELETE, &format!("/v1/tokens/{}", seg(&id)), None).await?;
            eprintln!("Revoked {id}.");
        }
    }
    Ok(())
}
