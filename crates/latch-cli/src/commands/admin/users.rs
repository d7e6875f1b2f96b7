//! `latch admin users add|ls|rm|set-role`.

use reqwest::Method;
use serde_json::{json, Value};

use super::{field, table};
use crate::cli::{GlobalArgs, UsersCommand};
use crate::client::{seg, Api};

/// Runs one users verb.
pub async fn run(global: &GlobalArgs, cmd: UsersCommand) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    match cmd {
        UsersCommand::Add { email, name, role } => {
            let created: Value = api.post("/v1/users", &json!({"email": email, "name": name, "role": role})).await?;
            let enrollment = created.get("enrollment").cloned().unwrap_or_default();
            eprintln!("Added `{email}` as {role}. Send them this one-time enrollment link (expires {}):", field(&enrollment, "expires_at"));
            println!("{}", field(&enrollment, "url"));
        }
        UsersCommand::Ls { json } => {
            let users: Vec<Value> = api.get("/v1/users").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| vec![field(u, "email"), field(u, "role"), field(u, "name"), field(u, "id")])
                    .collect();
                table(&["EMAIL", "ROLE", "NAME", "ID"], &rows);
            }
        }
        UsersCommand::Rm { user } => {
            api.send(Method::DELETE, &format!("/v1/users/{}", seg(&user)), None).await?;
            eprintln!("Removed `{user}`.");
        }
        UsersCommand::SetRole { user, role } => {
            let body = json!({"role": role});
            api.send(Method::PATCH, &format!("/v1/users/{}", seg(&user)), Some(&body)).await?;
            eprintln!("`{user}` is now {role}.");
        }
    }
    Ok(())
}
