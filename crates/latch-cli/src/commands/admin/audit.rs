//! `latch admin audit verify|export`. Verification runs here, in the client,
//! with the same chain code the server appends with.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use latch_core::audit::{verify, AuditRecord, ChainBreak};
use serde::Deserialize;

use crate::cli::{AuditCommand, GlobalArgs};
use crate::client::Api;

#[derive(Debug, Deserialize)]
struct Page {
    records: Vec<AuditRecord>,
    head: Option<Head>,
}

#[derive(Debug, Deserialize)]
struct Head {
    seq: i64,
    hash: String,
}

async fn all(api: &Api) -> anyhow::Result<(Vec<AuditRecord>, Option<Head>)> {
    let mut out = Vec::new();
    let mut after = 0;
    let mut head = None;
    loop {
        let page: Page = api.get(&format!("/v1/audit?after={after}&limit=5000")).await?;
        if head.is_none() {
            head = page.head;
        }
        let Some(last) = page.records.last() else { break };
        after = last.seq;
        out.extend(page.records);
    }
    Ok((out, head))
}

/// Runs one audit verb.
pub async fn run(global: &GlobalArgs, cmd: AuditCommand) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    let (records, head) = all(&api).await?;
    match cmd {
        AuditCommand::Verify => {
            let head_ref = head.as_ref().map(|h| (h.seq, h.hash.as_str()));
            match verify(&records, head_ref) {
                Ok(n) => {
                    println!("audit chain intact: {n} records");
                    Ok(())
                }
                Err(ChainBreak::Edited { seq }) => bail!("audit record {seq} was edited: its content no longer matches its hash"),
                Err(ChainBreak::Broken { seq }) => bail!("the audit chain is broken before record {seq}: records were deleted or inserted"),
                Err(ChainBreak::Truncated { last_seq, head_seq }) => {
                    bail!("the audit chain ends at record {last_seq} but {head_seq} were written: the newest records were deleted")
                }
            }
        }
        AuditCommand::Export { output } => export(&records, output),
    }
}

fn export(records: &[AuditRecord], output: Option<PathBuf>) -> anyhow::Result<()> {
    let mut w: Box<dyn std::io::Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("while creating `{}`", p.display()))?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for r in records {
        serde_json::to_writer(&mut w, r)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}
