//! `latch login ORG`: the OAuth 2.0 device authorization grant. Everything
//! meant for the person (URL, code, waiting) goes to stderr.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use latch_core::{Clock as _, SystemClock};
use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::client::{check, http, seg};
use crate::creds::{self, Login, Logins};

#[derive(Debug, Deserialize)]
struct OrgInfo {
    slug: String,
    login: LoginMethods,
}

#[derive(Debug, Deserialize)]
struct LoginMethods {
    device_authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
}

#[derive(Debug, Deserialize)]
struct DeviceCode {
    device_code: String,
    user_code: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: u64,
}

#[derive(Debug, Deserialize)]
struct Tokens {
    access_token: String,
    expires_in: u64,
    refresh_token: String,
}

#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

fn server_url(global: &GlobalArgs) -> anyhow::Result<String> {
    if let Some(s) = &global.server {
        return Ok(s.trim_end_matches('/').to_owned());
    }
    let logins = Logins::load()?;
    logins
        .select(None, None)
        .map(|l| l.server.clone())
        .ok_or_else(|| anyhow!("which server?\nhelp: pass --server URL or set LATCH_SERVER"))
}

fn tokens_to_login(server: &str, org: &str, t: Tokens) -> Login {
    Login {
        server: server.to_owned(),
        org: org.to_owned(),
        access_expires_at: SystemClock.now().plus(Duration::from_secs(t.expires_in)),
        access_token: t.access_token,
        refresh_token: t.refresh_token,
    }
}

/// Signs in to `org` and stores the login.
pub async fn run(global: &GlobalArgs, org: &str) -> anyhow::Result<()> {
    let server = server_url(global)?;
    let client = http()?;
    let info_url = format!("{server}/v1/orgs/{}", seg(org));
    let resp = client.get(&info_url).send().await.with_context(|| format!("while looking up org `{org}` at {server}"))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        bail!("org `{org}` does not exist on {server}");
    }
    let info: OrgInfo = check(resp).await?.json().await?;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "latch CLI".to_owned());
    let code: DeviceCode = check(
        client
            .post(&info.login.device_authorization_endpoint)
            .form(&[("client_id", info.login.client_id.as_str()), ("client_name", host.as_str())])
            .send()
            .await?,
    )
    .await?
    .json()
    .await?;
    eprintln!("To sign in to `{}`, open this URL in a browser where you are signed in to Latch:\n", info.slug);
    eprintln!("  {}\n", code.verification_uri_complete);
    eprintln!("and check that it shows the code: {}\n", code.user_code);
    eprintln!("Waiting for approval…");
    let mut interval = Duration::from_secs(code.interval.max(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(code.expires_in);
    loop {
        if std::time::Instant::now() > deadline {
            bail!("the sign-in code expired before it was approved\nhelp: run `latch login {org}` again");
        }
        tokio::time::sleep(interval).await;
        let resp = client
            .post(&info.login.token_endpoint)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", code.device_code.as_str()),
                ("client_id", info.login.client_id.as_str()),
            ])
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            // A dropped connection is retried at the next interval.
            Err(e) if e.is_connect() || e.is_timeout() => continue,
            Err(e) => return Err(e.into()),
        };
        if resp.status().is_success() {
            let tokens: Tokens = resp.json().await?;
            let login = tokens_to_login(&server, &info.slug, tokens);
            let mut logins = Logins::load()?;
            let key = creds::key(&server, &info.slug);
            logins.logins.insert(key.clone(), login);
            logins.current = Some(key);
            logins.save()?;
            eprintln!("Signed in to `{}` on {server}.", info.slug);
            return Ok(());
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let err: OAuthError = serde_json::from_str(&text).map_err(|_| anyhow!("the server answered {status}"))?;
        match err.error.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += Duration::from_secs(5),
            "access_denied" => bail!("the sign-in was denied"),
            "expired_token" => bail!("the sign-in code expired before it was approved\nhelp: run `latch login {org}` again"),
            _ => bail!("sign-in failed: {} ({})", err.error_description, err.error),
        }
    }
}

/// Exchanges a login's refresh token for new tokens (the refresh token
/// rotates: the old one is spent).
pub async fn refresh(client: &reqwest::Client, login: &Login) -> anyhow::Result<Login> {
    let url = format!("{}/v1/orgs/{}/token", login.server, seg(&login.org));
    let resp = client
        .post(&url)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", login.refresh_token.as_str())])
        .send()
        .await
        .with_context(|| format!("while refreshing the login at {}", login.server))?;
    if !resp.status().is_success() {
        bail!("Your Latch session has expired.\nhelp: run `latch login {} --server {}`", login.org, login.server);
    }
    let tokens: Tokens = resp.json().await?;
    Ok(tokens_to_login(&login.server, &login.org, tokens))
}
