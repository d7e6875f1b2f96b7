//! `latch aws configure`: AWS CLI profiles, one per account × role or
//! permission set the person can request or holds, whose credentials come
//! from `latch aws … assume --format credential-process`. Latch owns one
//! marked block of the config file and leaves the rest as it was.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::Value;

use super::account;
use crate::private_file::write_private;
use crate::cli::GlobalArgs;
use crate::client::{seg, Api};
use crate::commands::admin::field;

const BEGIN: &str = "# BEGIN latch: managed by `latch aws configure`; edits inside are replaced";
const END: &str = "# END latch";

fn config_path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("AWS_CONFIG_FILE") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").context("HOME is not set\nhelp: set AWS_CONFIG_FILE")?;
    Ok(PathBuf::from(home).join(".aws").join("config"))
}

/// A profile name part: letters, digits, `-`, `_`, `.`.
fn part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect()
}

/// Replaces Latch's block in `existing` with `block` (appending it if absent).
pub fn splice(existing: &str, block: &str) -> String {
    let (before, after) = match (existing.find(BEGIN), existing.find(END)) {
        (Some(b), Some(e)) if e > b => (&existing[..b], existing[e + END.len()..].trim_start_matches('\n')),
        _ => (existing, ""),
    };
    let mut out = before.trim_end_matches('\n').to_owned();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(block);
    if !after.is_empty() {
        out.push('\n');
        out.push_str(after);
    }
    out
}

/// Writes (or prints) the profiles.
pub async fn run(global: &GlobalArgs, prefix: &str, print: bool) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    let accounts = account::list(&api).await?;
    let exe = std::env::current_exe().context("could not find the latch executable")?;
    let exe = exe.to_string_lossy();
    let mut block = format!("{BEGIN}\n");
    let mut count = 0;
    for a in &accounts {
        let entries: Vec<Value> = api.get(&format!("/v1/access?account={}&kind={}", seg(&a.account_id), seg(&a.command))).await?;
        for e in &entries {
            let name = field(e, "name");
            block.push_str(&format!(
                "\n[profile {}-{}-{}]\ncredential_process = {exe} aws --account {} {} assume {name} --format credential-process\nregion = {}\n",
                part(prefix),
                part(a.label()),
                part(&name),
                a.account_id,
                a.command,
                a.region
            ));
            count += 1;
        }
    }
    block.push_str(&format!("\n{END}\n"));
    if print {
        print!("{block}");
        return Ok(());
    }
    let path = config_path()?;
    let existing = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("while reading `{}`", path.display())),
    };
    write_private(&path, splice(&existing, &block).as_bytes())?;
    eprintln!("Wrote {count} profile(s) to {}; use one with `aws --profile {}-ACCOUNT-NAME …`.", path.display(), part(prefix));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_replaced_and_the_rest_kept() {
        let block = format!("{BEGIN}\n[profile latch-a-R]\n{END}\n");
        let first = splice("[default]\nregion = eu-west-1\n", &block);
        assert_eq!(first, format!("[default]\nregion = eu-west-1\n\n{block}"));
        let newer = format!("{BEGIN}\n[profile latch-b-S]\n{END}\n");
        let with_more = format!("{first}\n[profile mine]\nregion = us-east-2\n");
        let second = splice(&with_more, &newer);
        assert!(second.contains("[profile latch-b-S]") && !second.contains("latch-a-R"), "{second}");
        assert!(second.starts_with("[default]\n") && second.ends_with("[profile mine]\nregion = us-east-2\n"), "{second}");
        assert_eq!(splice("", &block), block);
    }
}
