//! The one place AWS clients are made: from Latch's own credentials, with
//! the endpoint override, and — for a customer account — through the
//! integration role and its ExternalId.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use tokio::sync::Mutex;

use crate::error::{classify, AwsError};
use crate::settings::{partition_of, AwsSettings};

/// A session is re-made when less than this is left of it.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Clients for every service Latch calls, acting as one principal.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The account these clients act in (when known).
    pub account_id: String,
    /// The ARN partition.
    pub partition: &'static str,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// Organizations.
    pub organizations: aws_sdk_organizations::Client,
    /// IAM Identity Center administration.
    pub sso_admin: aws_sdk_ssoadmin::Client,
    /// The Identity Center identity store.
    pub identity_store: aws_sdk_identitystore::Client,
    /// The Resource Groups Tagging API.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Resource Explorer 2, at its own endpoint when one is configured.
    pub resource_explorer: aws_sdk_resourceexplorer2::Client,
    /// S3 (path-style addressing behind an endpoint override).
    pub s3: aws_sdk_s3::Client,
    /// SQS, in the configured region.
    pub sqs: aws_sdk_sqs::Client,
    /// SNS, in the configured region.
    pub sns: aws_sdk_sns::Client,
    /// KMS, in the configured region.
    pub kms: aws_sdk_kms::Client,
    /// Lambda, in the configured region.
    pub lambda: aws_sdk_lambda::Client,
    /// Secrets Manager, in the configured region.
    pub secrets_manager: aws_sdk_secretsmanager::Client,
}

impl Clients {
    fn new(conf: &SdkConfig, account_id: String, partition: &'static str, settings: &AwsSettings) -> Self {
        let mut explorer = aws_sdk_resourceexplorer2::config::Builder::from(conf);
        if let Some(url) = &settings.resource_explorer_endpoint_url {
            explorer = explorer.endpoint_url(url);
        }
        let path_style = settings.endpoint_url.is_some();
        Self {
            account_id,
            partition,
            iam: aws_sdk_iam::Client::new(conf),
            sts: aws_sdk_sts::Client::new(conf),
            organizations: aws_sdk_organizations::Client::new(conf),
            sso_admin: aws_sdk_ssoadmin::Client::new(conf),
            identity_store: aws_sdk_identitystore::Client::new(conf),
            tagging: aws_sdk_resourcegroupstagging::Client::new(conf),
            resource_explorer: aws_sdk_resourceexplorer2::Client::from_conf(explorer.build()),
            s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(conf).force_path_style(path_style).build()),
            sqs: aws_sdk_sqs::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            kms: aws_sdk_kms::Client::new(conf),
            lambda: aws_sdk_lambda::Client::new(conf),
            secrets_manager: aws_sdk_secretsmanager::Client::new(conf),
        }
    }

    /// The S3 client for a bucket in `region` (a bucket is read in its own
    /// region); this one when the region is unknown or the same.
    pub fn s3_in(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let conf = self.s3.config();
        match region {
            Some(r) if conf.region().is_none_or(|own| own.as_ref() != r) => {
                aws_sdk_s3::Client::from_conf(conf.to_builder().region(Region::new(r.to_owned())).build())
            }
            _ => self.s3.clone(),
        }
    }

    /// `arn:PARTITION:iam::ACCOUNT:role/NAME` in this account.
    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account_id)
    }
}

/// Which role, in which account, with which ExternalId.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleHop {
    /// The role to assume.
    pub role_arn: String,
    /// The ExternalId its trust policy requires.
    pub external_id: Option<String>,
}

/// Makes clients.
#[derive(Debug)]
pub struct ClientFactory {
    base: SdkConfig,
    settings: AwsSettings,
    sessions: Mutex<HashMap<Vec<RoleHop>, (Clients, SystemTime)>>,
}

impl ClientFactory {
    /// Latch's own credentials from the usual chain (environment, profile,
    /// container or instance role), in the configured region and endpoint.
    pub async fn from_env(settings: AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(settings.region.clone()));
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_config(loader.load().await, settings)
    }

    /// Fixed credentials (tests, and operators who pass keys explicitly).
    pub fn with_credentials(settings: AwsSettings, access_key_id: &str, secret_access_key: &str) -> Self {
        let creds = Credentials::new(access_key_id, secret_access_key, None, None, "latch-static");
        Self::from_config(base_config(&settings, SharedCredentialsProvider::new(creds)), settings)
    }

    fn from_config(base: SdkConfig, settings: AwsSettings) -> Self {
        Self { base, settings, sessions: Mutex::new(HashMap::new()) }
    }

    /// The settings.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The ARN partition of the configured region.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.settings.region)
    }

    /// Clients acting as Latch itself.
    pub fn own(&self) -> Clients {
        Clients::new(&self.base, String::new(), self.partition(), &self.settings)
    }

    /// Latch's principal as a trust policy names it: the configured one, or
    /// the caller identity with an assumed-role session turned into its role.
    pub async fn principal_arn(&self) -> Result<String, AwsError> {
        if let Some(arn) = &self.settings.principal_arn {
            return Ok(arn.clone());
        }
        let me = self.own().sts.get_caller_identity().send().await.map_err(|e| classify("sts:GetCallerIdentity", e).1)?;
        let arn = me.arn().unwrap_or_default();
        Ok(principal_of(arn))
    }

    /// Clients acting through `hops` in order (the integration role, then
    /// perhaps a member-account role), cached until shortly before the
    /// sessions expire.
    pub async fn assume(&self, hops: &[RoleHop]) -> Result<Clients, AwsError> {
        let mut cache = self.sessions.lock().await;
        if let Some((clients, until)) = cache.get(hops) {
            if now() + REFRESH_MARGIN < *until {
                return Ok(clients.clone());
            }
        }
        let mut conf = self.base.clone();
        let mut expires = now() + Duration::from_secs(3600);
        let mut account = String::new();
        for hop in hops {
            let creds = assume_once(&conf, hop).await?;
            expires = expires.min(creds.expiry().unwrap_or(expires));
            account = account_of(&hop.role_arn).to_owned();
            conf = base_config(&self.settings, SharedCredentialsProvider::new(creds));
        }
        let clients = Clients::new(&conf, account, self.partition(), &self.settings);
        cache.insert(hops.to_vec(), (clients.clone(), expires));
        Ok(clients)
    }

    /// The hop into `i`'s account through its integration role.
    pub fn hop_into(&self, i: &latch_core::integration::AwsIntegration) -> RoleHop {
        crate::verify::integration_hop(self, &i.account_id, &i.role_name, &i.external_id)
    }

    /// Clients acting in `i`'s account through its integration role.
    pub async fn integration(&self, i: &latch_core::integration::AwsIntegration) -> Result<Clients, AwsError> {
        self.assume(&[self.hop_into(i)]).await
    }

    /// Forgets cached sessions (after the role or its ExternalId changed).
    pub async fn forget(&self) {
        self.sessions.lock().await.clear();
    }
}

#[expect(clippy::disallowed_methods, reason = "session expiry is AWS's wall clock, not Latch's injected one")]
fn now() -> SystemTime {
    SystemTime::now()
}

fn base_config(settings: &AwsSettings, creds: SharedCredentialsProvider) -> SdkConfig {
    let mut b = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).region(Region::new(settings.region.clone())).credentials_provider(creds);
    if let Some(url) = &settings.endpoint_url {
        b = b.endpoint_url(url);
    }
    b.build()
}

async fn assume_once(conf: &SdkConfig, hop: &RoleHop) -> Result<Credentials, AwsError> {
    let sts = aws_sdk_sts::Client::new(conf);
    let mut call = sts.assume_role().role_arn(&hop.role_arn).role_session_name("latch").duration_seconds(3600);
    if let Some(id) = &hop.external_id {
        call = call.external_id(id);
    }
    let out = call.send().await.map_err(|e| match classify("sts:AssumeRole", e) {
        (crate::error::Failure::Transient, err) => err,
        (_, err) => AwsError::CannotAssume { role_arn: hop.role_arn.clone(), reason: reason_of(&err) },
    })?;
    let c = out.credentials().ok_or_else(|| AwsError::CannotAssume { role_arn: hop.role_arn.clone(), reason: "STS returned no credentials".into() })?;
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    Ok(Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned()), expiry, "latch-assumed"))
}

fn reason_of(err: &AwsError) -> String {
    match err {
        AwsError::AccessDenied { .. } => "access denied (is the trust policy naming Latch's principal, and is the ExternalId right?)".into(),
        AwsError::NotFound { what } => what.clone(),
        other => other.to_string(),
    }
}

/// The account id in an ARN (`arn:aws:iam::123456789012:role/x`).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

/// `arn:P:sts::A:assumed-role/R/session` → `arn:P:iam::A:role/R`; other
/// ARNs unchanged. (Role paths are not in the session ARN; trust policies
/// name the role without its path.)
pub fn principal_of(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if let [_, partition, "sts", _, account, rest] = parts.as_slice() {
        if let Some(role) = rest.strip_prefix("assumed-role/").and_then(|r| r.split('/').next()) {
            return format!("arn:{partition}:iam::{account}:role/{role}");
        }
    }
    arn.to_owned()
}

#[cfg(test)]
mod tests {
    use super::{account_of, principal_of};

    #[test]
    fn assumed_role_sessions_become_their_role() {
        assert_eq!(principal_of("arn:aws:sts::123456789012:assumed-role/latch-server/i-0abc"), "arn:aws:iam::123456789012:role/latch-server");
        assert_eq!(principal_of("arn:aws-us-gov:sts::123456789012:assumed-role/r/s"), "arn:aws-us-gov:iam::123456789012:role/r");
        assert_eq!(principal_of("arn:aws:iam::123456789012:user/latch"), "arn:aws:iam::123456789012:user/latch");
        assert_eq!(account_of("arn:aws:iam::123456789012:role/x"), "123456789012");
        assert_eq!(account_of("nonsense"), "");
    }
}
