//! `latch iam who-can` and `latch iam what-can`: effective access over the
//! server's latest synced AWS inventory, with the statements behind it.

use serde_json::Value;

use crate::cli::{GlobalArgs, IamCommand};
use crate::client::{seg, Api};
use crate::commands::admin::{field, table};

fn statements(v: &Value) -> String {
    v.as_array()
        .map(|ss| {
            ss.iter()
                .map(|s| {
                    let sid = s.get("sid").and_then(Value::as_str).map(|x| format!(" ({x})")).unwrap_or_default();
                    // An SCP or RCP: the root, OU or account it is attached to.
                    let at = s.get("attached_to").and_then(Value::as_str).map(|t| format!(" at {t}")).unwrap_or_default();
                    format!("{} #{}{sid}{at}", field(s, "policy"), field(s, "statement"))
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Runs who-can or what-can (other iam verbs never reach here).
pub async fn run(global: &GlobalArgs, cmd: IamCommand) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    match cmd {
        IamCommand::WhoCan { action, resource, json } => {
            let found: Vec<Value> = api.get(&format!("/v1/iam/who-can?action={}&resource={}", seg(&action), seg(&resource))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = found
                .iter()
                .map(|f| {
                    let by = f.get("assumed_by").and_then(Value::as_array).map_or(0, Vec::len);
                    vec![field(f, "principal"), field(f, "entity"), statements(&f["statements"]), if by > 0 { format!("{by} path(s)") } else { String::new() }]
                })
                .collect();
            table(&["PRINCIPAL", "KIND", "ALLOWED BY", "ASSUMABLE BY"], &rows);
        }
        IamCommand::WhatCan { principal, action, resource, json } => {
            let mut path = format!("/v1/iam/what-can?principal={}", seg(&principal));
            if let Some(a) = &action {
                path.push_str(&format!("&action={}", seg(a)));
            }
            if let Some(r) = &resource {
                path.push_str(&format!("&resource={}", seg(r)));
            }
            let found: Vec<Value> = api.get(&path).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
                return Ok(());
            }
            for c in &found {
                if let Some(d) = c.get("decision") {
                    println!("{} {} on {}: {} ({})", field(d, "principal"), field(d, "action"), field(d, "resource"), field(d, "outcome"), field(d, "reason"));
                } else if let Some(g) = c.get("allow") {
                    let list = |k: &str| g.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                    println!("allow {} on {}  [{}]", list("actions"), list("resources"), statements(&Value::Array(vec![g["statement"].clone()])));
                } else if let Some(p) = c.get("assume_role") {
                    let roles: Vec<String> = p.as_array().map(|s| s.iter().map(|h| field(h, "role")).collect()).unwrap_or_default();
                    println!("assume {}", roles.join(" -> "));
                } else if let Some(why) = c.get("incomplete").and_then(Value::as_str) {
                    println!("incomplete: {why}");
                }
            }
        }
        IamCommand::Simulate { .. } | IamCommand::Validate { .. } | IamCommand::Explain { .. } => {}
    }
    Ok(())
}
