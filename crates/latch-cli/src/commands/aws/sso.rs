//! Identity Center credentials: the AWS SSO OIDC device flow
//! (`RegisterClient`, cached for the client's lifetime; `StartDeviceAuthorization`;
//! `CreateToken` polling) and the portal's `GetRoleCredentials`.
//!
//! `clientSecretExpiresAt` is epoch **seconds**. The client registration and
//! the access token are cached per portal URL and region in a 0600 file.

use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sso::error::SdkError;
use aws_sdk_ssooidc::error::ProvideErrorMetadata as _;
use serde::{Deserialize, Serialize};

use super::account::Account;
use crate::private_file::write_private;
use super::retry::{Retry, Verdict};
use super::{now_secs, Credentials};

const CLIENT_NAME: &str = "latch";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What is kept between runs for one portal.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Session {
    client_id: String,
    client_secret: String,
    /// Epoch seconds.
    client_secret_expires_at: i64,
    #[serde(default)]
    access_token: Option<String>,
    /// Epoch seconds.
    #[serde(default)]
    token_expires_at: i64,
}

/// The directory of Identity Center sessions.
pub fn dir() -> anyhow::Result<std::path::PathBuf> {
    Ok(crate::creds::config_dir()?.join("aws-sso"))
}

fn path(start_url: &str, region: &str) -> anyhow::Result<std::path::PathBuf> {
    Ok(dir()?.join(format!("{}.json", super::cache::digest(&[start_url, region]))))
}

fn load(start_url: &str, region: &str) -> Session {
    path(start_url, region).ok().and_then(|p| std::fs::read(p).ok()).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn save(start_url: &str, region: &str, s: &Session) -> anyhow::Result<()> {
    write_private(&path(start_url, region)?, &serde_json::to_vec(s)?)
}

fn aws_error<E: aws_sdk_ssooidc::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(e: SdkError<E>, what: &str) -> anyhow::Error {
    let msg = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{what}: {c}: {m}"),
        (Some(c), None) => format!("{what}: {c}"),
        _ => format!("{what}: AWS could not be reached or answered {}", e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0)),
    };
    anyhow::anyhow!(msg)
}

/// A client registration that is still good, registering a new one if not.
async fn client(oidc: &aws_sdk_ssooidc::Client, s: &mut Session, now: i64) -> anyhow::Result<()> {
    // A day's margin: a registration must not lapse mid-flow.
    if !s.client_id.is_empty() && s.client_secret_expires_at - 86_400 > now {
        return Ok(());
    }
    let out = oidc.register_client().client_name(CLIENT_NAME).client_type("public").send().await.map_err(|e| aws_error(e, "RegisterClient"))?;
    s.client_id = out.client_id().context("RegisterClient returned no client id")?.to_owned();
    s.client_secret = out.client_secret().context("RegisterClient returned no client secret")?.to_owned();
    s.client_secret_expires_at = out.client_secret_expires_at();
    s.access_token = None;
    Ok(())
}

/// The device flow: prints where to confirm (stderr), polls for the token.
async fn sign_in(oidc: &aws_sdk_ssooidc::Client, s: &mut Session, start_url: &str) -> anyhow::Result<()> {
    let auth = oidc
        .start_device_authorization()
        .client_id(&s.client_id)
        .client_secret(&s.client_secret)
        .start_url(start_url)
        .send()
        .await
        .map_err(|e| aws_error(e, "StartDeviceAuthorization"))?;
    let device_code = auth.device_code().context("no device code")?.to_owned();
    let user_code = auth.user_code().unwrap_or_default();
    let url = auth.verification_uri_complete().or(auth.verification_uri()).unwrap_or_default();
    eprintln!("To sign in to AWS Identity Center, open this page and confirm the code {user_code}:\n  {url}");
    let mut interval = Duration::from_secs(u64::try_from(auth.interval().max(1)).unwrap_or(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::try_from(auth.expires_in().max(1)).unwrap_or(600));
    loop {
        tokio::time::sleep(interval).await;
        let out = oidc.create_token().client_id(&s.client_id).client_secret(&s.client_secret).grant_type(DEVICE_GRANT).device_code(&device_code).send().await;
        match out {
            Ok(t) => {
                s.access_token = Some(t.access_token().context("CreateToken returned no access token")?.to_owned());
                s.token_expires_at = now_secs() + i64::from(t.expires_in());
                eprintln!("Signed in to AWS Identity Center.");
                return Ok(());
            }
            Err(e) => {
                let service = e.as_service_error();
                if service.is_some_and(|x| x.is_authorization_pending_exception()) {
                } else if service.is_some_and(|x| x.is_slow_down_exception()) {
                    interval += Duration::from_secs(5);
                } else if service.is_some_and(|x| x.is_access_denied_exception()) {
                    anyhow::bail!("AWS Identity Center sign-in was denied\nhelp: run the command again and confirm the code");
                } else if service.is_some_and(|x| x.is_expired_token_exception()) || tokio::time::Instant::now() >= deadline {
                    anyhow::bail!("the AWS Identity Center sign-in code expired before it was confirmed\nhelp: run the command again");
                } else {
                    return Err(aws_error(e, "CreateToken"));
                }
            }
        }
    }
}

fn role_verdict(e: &SdkError<aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError>) -> Verdict {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let pending = e.as_service_error().is_some_and(|x| x.is_resource_not_found_exception() || x.is_too_many_requests_exception());
    if pending || matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) || status.is_some_and(|s| s >= 500) {
        Verdict::Retry
    } else {
        Verdict::Fail
    }
}

/// Credentials for `permission_set` in the account, signing in to Identity
/// Center first when there is no good token.
pub async fn credentials(conf: &aws_config::SdkConfig, account: &Account, permission_set: &str, retry: &mut Retry) -> anyhow::Result<Credentials> {
    let start_url = account.sso_start_url.clone().context(
        "Latch does not know this account's AWS access portal yet\nhelp: ask your Latch administrator to sync the account, or to install it with --sso-start-url",
    )?;
    let oidc = aws_sdk_ssooidc::Client::new(conf);
    let portal = aws_sdk_sso::Client::new(conf);
    let mut s = load(&start_url, &account.region);
    let mut signed_in_now = false;
    loop {
        let now = now_secs();
        if s.access_token.is_none() || s.token_expires_at - 300 <= now {
            client(&oidc, &mut s, now).await?;
            sign_in(&oidc, &mut s, &start_url).await?;
            save(&start_url, &account.region, &s)?;
            signed_in_now = true;
        }
        let token = s.access_token.clone().unwrap_or_default();
        match portal.get_role_credentials().account_id(&account.account_id).role_name(permission_set).access_token(&token).send().await {
            Ok(out) => {
                let c = out.role_credentials().context("GetRoleCredentials returned no credentials")?;
                return Ok(Credentials {
                    access_key_id: c.access_key_id().unwrap_or_default().to_owned(),
                    secret_access_key: c.secret_access_key().unwrap_or_default().to_owned(),
                    session_token: c.session_token().unwrap_or_default().to_owned(),
                    // The portal gives milliseconds.
                    expiration: c.expiration() / 1000,
                });
            }
            Err(e) if e.as_service_error().is_some_and(|x| x.is_unauthorized_exception()) && !signed_in_now => {
                // The stored token was revoked or has lapsed: sign in again, once.
                s.access_token = None;
            }
            Err(e) => {
                let v = role_verdict(&e);
                let msg = match e.as_service_error() {
                    Some(x) if x.is_resource_not_found_exception() => format!("permission set {permission_set} is not (yet) assigned to you in account {}", account.account_id),
                    _ => match (e.code(), e.message()) {
                        (Some(c), Some(m)) => format!("GetRoleCredentials: {c}: {m}"),
                        _ => format!("GetRoleCredentials: AWS could not be reached or answered {}", e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0)),
                    },
                };
                retry.after(v, anyhow::anyhow!(msg)).await?;
            }
        }
    }
}
