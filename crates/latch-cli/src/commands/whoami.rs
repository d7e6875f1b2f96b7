//! `latch whoami`.

use serde_json::Value;

use crate::cli::GlobalArgs;
use crate::client::Api;

/// Prints the signed-in identity.
pub async fn run(global: &GlobalArgs, json: bool) -> anyhow::Result<()> {
    let api = Api::connect(global).await?;
    let me: Value = api.get("/v1/me").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&me)?);
    } else {
        let s = |k: &str| me.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        println!("{} ({}) in org `{}`", s("email"), s("role"), s("org_slug"));
    }
    Ok(())
}
