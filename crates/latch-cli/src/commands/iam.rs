//! `latch iam simulate|validate|explain`: Latch's IAM policy engine from the
//! command line, no server needed; `who-can|what-can` ask the server.

use std::io::Read as _;

use anyhow::{anyhow, bail, Context as _};

use crate::cli::{GlobalArgs, IamCommand};

/// Runs one iam verb.
pub async fn run(global: &GlobalArgs, cmd: IamCommand) -> anyhow::Result<()> {
    match cmd {
        c @ (IamCommand::WhoCan { .. } | IamCommand::WhatCan { .. }) => super::effective::run(global, c).await,
        IamCommand::Simulate { .. } => {
            latch_iam::simulate_jsonl(std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(())
        }
        IamCommand::Validate { kind, files } => {
            let names: Vec<&str> = latch_iam::PolicyType::ALL.iter().map(|(n, _)| *n).collect();
            let policy_type = latch_iam::PolicyType::parse(&kind)
                .ok_or_else(|| anyhow!("`{kind}` is not a policy type\nhelp: use one of {}", names.join(", ")))?;
            let mut errors = 0;
            for file in &files {
                let text = std::fs::read_to_string(file).with_context(|| format!("while reading `{}`", file.display()))?;
                for d in latch_iam::validate_file(&text, policy_type) {
                    errors += usize::from(d.is_error());
                    eprintln!("{}\n", d.render(&file.display().to_string()));
                }
            }
            if errors > 0 {
                bail!("{errors} error(s) in {} file(s)", files.len());
            }
            println!("{} file(s) valid", files.len());
            Ok(())
        }
        IamCommand::Explain { file } => {
            let text = match file {
                Some(f) => std::fs::read_to_string(&f).with_context(|| format!("while reading `{}`", f.display()))?,
                None => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s
                }
            };
            // A case may be pretty-printed over several lines.
            let one_line: String = serde_json::from_str::<serde_json::Value>(&text).map(|v| v.to_string()).unwrap_or(text);
            let trace = latch_iam::explain_case(&one_line).map_err(|e| anyhow!("{e}"))?;
            println!("{trace}");
            Ok(())
        }
    }
}
