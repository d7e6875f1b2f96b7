//! `latch admin policy check|apply|show`. Files are validated here first, so
//! mistakes are reported as `FILE:LINE:COL` before anything is sent.

use std::path::Path;

use anyhow::{bail, Context as _};
use latch_core::access::policy::Policy;
use reqwest::Method;
use serde_json::{json, Value};

use super::field;
use crate::cli::{GlobalArgs, PolicyCommand};
use crate::client::Api;

fn read_and_check(file: &Path) -> anyhow::Result<(String, Policy)> {
    let source = std::fs::read_to_string(file).with_context(|| format!("while reading `{}`", file.display()))?;
    match Policy::parse(&source) {
        Ok(p) => Ok((source, p)),
        Err(errors) => {
            let shown: Vec<String> = errors.0.iter().map(|e| format!("{}:{e}", file.display())).collect();
            bail!("the policy is not valid:\n{}", shown.join("\n"))
        }
    }
}

/// Runs one policy verb.
pub async fn run(global: &GlobalArgs, cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Check { file } => {
            let (_, p) = read_and_check(&file)?;
            println!("{}: {} rules, valid", file.display(), p.rules.len());
            Ok(())
        }
        PolicyCommand::Apply { file } => {
            let (source, _) = read_and_check(&file)?;
            let api = Api::connect(global).await?;
            let resp = api.send(Method::PUT, "/v1/policy", Some(&json!({"source": source}))).await?;
            let applied: Value = resp.json().await?;
            eprintln!("Applied policy version {}.", field(&applied, "version"));
            Ok(())
        }
        PolicyCommand::Show => {
            let api = Api::connect(global).await?;
            let current: Value = api.get("/v1/policy").await?;
            eprintln!("# version {}", field(&current, "version"));
            print!("{}", field(&current, "source"));
            Ok(())
        }
    }
}
