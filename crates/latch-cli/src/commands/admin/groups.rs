//! `latch admin groups add|ls|show|rm|add-member|rm-member`.

use reqwest::Method;
use serde_json::{json, Value};

use super::{field, table};
use crate::cli::{GlobalArgs, GroupsCommand};
use crate::client::{seg, Api};

/// Runs one groups verb.
pub async fn run(global: &GlobalArgs, cmd: GroupsCommand) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    match cmd {
        GroupsCommand::Add { name } => {
            let _: Value = api.post("/v1/groups", &json!({"name": name})).await?;
            eprintln!("Created group `{name}`.");
        }
        GroupsCommand::Ls { json } => {
            let groups: Vec<Value> = api.get("/v1/groups").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&groups)?);
            } else {
                let rows: Vec<Vec<String>> = groups.iter().map(|g| vec![field(g, "name"), field(g, "source"), field(g, "id")]).collect();
                table(&["NAME", "SOURCE", "ID"], &rows);
            }
        }
        GroupsCommand::Show { name, json } => {
            let g: Value = api.get(&format!("/v1/groups/{}", seg(&name))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&g)?);
            } else {
                println!("{} ({})", field(&g, "name"), field(&g, "source"));
                let members = g.get("members").and_then(Value::as_array).cloned().unwrap_or_default();
                let rows: Vec<Vec<String>> = members.iter().map(|u| vec![field(u, "email"), field(u, "role")]).collect();
                table(&["MEMBER", "ROLE"], &rows);
            }
        }
        GroupsCommand::Rm { name } => {
            api.send(Method::DELETE, &format!("/v1/groups/{}", seg(&name)), None).await?;
            eprintln!("Deleted group `{name}`.");
        }
        GroupsCommand::AddMember { group, user } => {
            api.send(Method::PUT, &format!("/v1/groups/{}/members/{}", seg(&group), seg(&user)), None).await?;
            eprintln!("Added `{user}` to `{group}`.");
        }
        GroupsCommand::RmMember { group, user } => {
            api.send(Method::DELETE, &format!("/v1/groups/{}/members/{}", seg(&group), seg(&user)), None).await?;
            eprintln!("Removed `{user}` from `{group}`.");
        }
    }
    Ok(())
}
