//! Credentials from STS: `AssumeRoleWithWebIdentity` with a Latch token
//! (federated accounts) and `AssumeRole` with the person's own IAM user
//! keys (iam-users accounts). New access takes a moment to reach every AWS
//! endpoint, so refusals are retried until the credentials timeout.

use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sts::error::{ProvideErrorMetadata as _, SdkError};
use serde::Deserialize;
use serde_json::json;

use super::account::Account;
use super::retry::{Retry, Verdict};
use super::Credentials;
use crate::client::{seg, Api};

/// Longest session asked for: role chaining and most roles cap it at 1 h.
const MAX_SESSION: i64 = 3600;
/// STS's shortest session.
const MIN_SESSION: i64 = 900;

/// The session length to ask for: the grant's remaining time, within STS's bounds.
pub fn session_secs(now: i64, grant_ends_at: i64) -> i32 {
    i32::try_from((grant_ends_at - now).clamp(MIN_SESSION, MAX_SESSION)).unwrap_or(900)
}

/// A role session name from an email or user name (`[\w+=,.@-]`, ≤ 64).
pub fn session_name(who: &str) -> String {
    let cleaned: String = who.chars().map(|c| if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) { c } else { '-' }).collect();
    cleaned.chars().take(64).collect()
}

/// Whether an STS failure may go away by itself (propagation, throttling,
/// the network).
fn verdict<E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(e: &SdkError<E>) -> Verdict {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or_default();
    let retry = matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))
        || status.is_some_and(|s| s >= 500 || s == 429 || s == 403)
        || matches!(code, "AccessDenied" | "InvalidIdentityToken" | "IDPCommunicationError" | "Throttling" | "ThrottlingException");
    if retry { Verdict::Retry } else { Verdict::Fail }
}

fn describe<E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(e: SdkError<E>) -> anyhow::Error {
    let msg = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        _ => e.raw_response().map(|r| format!("AWS answered {}", r.status().as_u16())).unwrap_or_else(|| "AWS could not be reached".to_owned()),
    };
    // The SDK's own error chain ("service error", "unhandled error", …)
    // says nothing more to a person; the code and message are the news.
    anyhow::anyhow!(msg)
}

fn from_sts(c: Option<&aws_sdk_sts::types::Credentials>) -> anyhow::Result<Credentials> {
    let c = c.context("STS returned no credentials")?;
    Ok(Credentials {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: c.secret_access_key().to_owned(),
        session_token: c.session_token().to_owned(),
        expiration: c.expiration().secs(),
    })
}

/// A web identity token minted by Latch for an active grant.
#[derive(Debug, Deserialize)]
struct Minted {
    token: String,
    role_arn: String,
}

/// Federated: a Latch token for the grant, exchanged at STS.
pub async fn web_identity(api: &Api, conf: &aws_config::SdkConfig, account: &Account, request_id: &str, who: &str, secs: i32, retry: &mut Retry) -> anyhow::Result<Credentials> {
    let minted: Minted = api.post(&format!("/v1/requests/{}/web-identity-token", seg(request_id)), &json!({"account": account.account_id})).await?;
    let sts = aws_sdk_sts::Client::new(conf);
    loop {
        let out = sts
            .assume_role_with_web_identity()
            .role_arn(&minted.role_arn)
            .role_session_name(session_name(who))
            .web_identity_token(&minted.token)
            .duration_seconds(secs)
            .send()
            .await;
        match out {
            Ok(o) => return from_sts(o.credentials()),
            Err(e) => {
                let v = verdict(&e);
                retry.after(v, describe(e)).await?;
            }
        }
    }
}

#[derive(Deserialize)]
struct Signed {
    saml_response: String,
    role_arn: String,
    principal_arn: String,
}

/// Federated with SAML: a signed assertion from Latch for the grant,
/// exchanged at STS (its session length is the assertion's
/// `SessionDuration`, which Latch caps at the grant's end). Each attempt
/// takes a fresh assertion: one is for one use.
pub async fn saml(api: &Api, conf: &aws_config::SdkConfig, account: &Account, request_id: &str, retry: &mut Retry) -> anyhow::Result<Credentials> {
    let sts = aws_sdk_sts::Client::new(conf);
    loop {
        let signed: Signed = api.post(&format!("/v1/requests/{}/saml-response", seg(request_id)), &json!({"account": account.account_id})).await?;
        let out = sts.assume_role_with_saml().role_arn(&signed.role_arn).principal_arn(&signed.principal_arn).saml_assertion(&signed.saml_response).send().await;
        match out {
            Ok(o) => return from_sts(o.credentials()),
            Err(e) => {
                let v = verdict(&e);
                retry.after(v, describe(e)).await?;
            }
        }
    }
}

/// IAM users: `AssumeRole` with the person's own keys (the default AWS
/// credential chain), as a session named after their IAM user — the grant's
/// policy allows exactly that session name.
pub async fn assume_role(conf: &aws_config::SdkConfig, account: &Account, role: &str, synced_arn: Option<&str>, secs: i32, retry: &mut Retry) -> anyhow::Result<Credentials> {
    let sts = aws_sdk_sts::Client::new(conf);
    let me = loop {
        match sts.get_caller_identity().send().await {
            Ok(me) => break me,
            Err(e) => {
                let v = if matches!(e, SdkError::ConstructionFailure(_)) { Verdict::Fail } else { verdict(&e) };
                retry.after(v, describe(e).context("your own AWS credentials do not work\nhelp: iam-users accounts need your IAM user's keys (AWS_PROFILE or AWS_ACCESS_KEY_ID)")).await?;
            }
        }
    };
    let arn = me.arn().unwrap_or_default();
    let user = arn.split_once(":user/").map(|(_, u)| u.rsplit('/').next().unwrap_or(u)).with_context(|| {
        format!("your AWS credentials belong to `{arn}`, not to an IAM user\nhelp: iam-users accounts need your IAM user's own keys, not a role session (unset AWS_SESSION_TOKEN)")
    })?;
    let partition = arn.split(':').nth(1).unwrap_or("aws");
    // The synced inventory's ARN knows the role's path; else the plain form.
    let role_arn = synced_arn.map_or_else(|| format!("arn:{partition}:iam::{}:role/{role}", account.account_id), str::to_owned);
    loop {
        match sts.assume_role().role_arn(&role_arn).role_session_name(session_name(user)).duration_seconds(secs).send().await {
            Ok(o) => return from_sts(o.credentials()),
            Err(e) => {
                let v = verdict(&e);
                retry.after(v, describe(e)).await?;
            }
        }
    }
}

/// How long to keep retrying AWS while new access propagates.
pub fn credentials_timeout() -> anyhow::Result<Duration> {
    match std::env::var(crate::env::LATCH_AWS_CREDENTIALS_TIMEOUT) {
        Ok(v) => humantime::parse_duration(&v).with_context(|| format!("LATCH_AWS_CREDENTIALS_TIMEOUT: `{v}` is not a duration")),
        Err(_) => Ok(Duration::from_secs(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_fit_the_grant_within_sts_bounds() {
        assert_eq!(session_secs(0, 30 * 60), 1800);
        assert_eq!(session_secs(0, 5 * 60), 900);
        assert_eq!(session_secs(0, 8 * 3600), 3600);
    }

    #[test]
    fn session_names_keep_to_the_allowed_characters() {
        assert_eq!(session_name("alice@acme.io"), "alice@acme.io");
        assert_eq!(session_name("a b/c"), "a-b-c");
        assert_eq!(session_name(&"x".repeat(80)).len(), 64);
    }
}
