//! `latch logout`: revokes the login's session on the server and deletes it.

use crate::cli::GlobalArgs;
use crate::client::{http, seg};
use crate::commands::aws;
use crate::creds::{self, Logins};

/// Signs out of the selected login (or all of them).
pub async fn run(global: &GlobalArgs, all: bool) -> anyhow::Result<()> {
    let mut logins = Logins::load()?;
    let targets: Vec<_> = if all {
        logins.logins.values().cloned().collect()
    } else {
        logins.select(global.server.as_deref(), global.org.as_deref()).cloned().into_iter().collect()
    };
    if targets.is_empty() {
        eprintln!("Not logged in.");
        return Ok(());
    }
    let client = http()?;
    for login in &targets {
        let url = format!("{}/v1/orgs/{}/revoke", login.server, seg(&login.org));
        // Remove the login locally even when the server cannot be reached;
        // say so, since the session then lives until it expires.
        match client.post(&url).form(&[("token", login.refresh_token.as_str())]).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => eprintln!("warning: the server answered {} when revoking the session", r.status()),
            Err(e) => eprintln!("warning: could not reach {} to revoke the session: {e}", login.server),
        }
        let wiped = aws::cache::wipe(Some(&login.server), Some(&login.org))?;
        if wiped > 0 {
            eprintln!("Removed {wiped} cached AWS credential(s).");
        }
        let key = creds::key(&login.server, &login.org);
        logins.logins.remove(&key);
        if logins.current.as_deref() == Some(key.as_str()) {
            logins.current = None;
        }
        eprintln!("Signed out of `{}` on {}.", login.org, login.server);
    }
    // Identity Center sign-ins are the person's, whichever org used them.
    let sso = aws::sso::dir()?;
    if sso.exists() {
        std::fs::remove_dir_all(&sso).map_err(|e| anyhow::anyhow!("while removing `{}`: {e}", sso.display()))?;
    }
    logins.save()
}
