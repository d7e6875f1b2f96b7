//! A small AWS estate in moto for integration tests: Latch's host account
//! with an administrator and the `latch` user Latch runs as, an
//! Organizations management account, and one member ("customer") account
//! reached through `OrganizationAccountAccessRole`.
//!
//! moto keeps one state for the whole server, so tests that use it take
//! [`AwsWorld::build`]'s lock and hold it until they finish.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context as _};
pub use aws_config::SdkConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use tokio::sync::{Mutex, MutexGuard};

use crate::Moto;

/// moto's account for credentials it does not know.
pub const HOST_ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ALLOW_ASSUME: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;

/// A key pair.
#[derive(Debug, Clone)]
pub struct Key {
    /// Access key id.
    pub id: String,
    /// Secret.
    pub secret: String,
}

/// The estate.
pub struct AwsWorld {
    /// The moto endpoint.
    pub endpoint: String,
    /// The administrator of the host (management) account.
    pub admin: Key,
    /// The user Latch runs as (may only assume roles).
    pub latch: Key,
    /// `arn:aws:iam::HOST:user/latch`.
    pub latch_arn: String,
    /// The member account.
    pub customer_account: String,
    /// Administrator clients' configuration in the member account.
    pub customer_admin: SdkConfig,
    _lock: MutexGuard<'static, ()>,
}

/// The moto server shared by a test binary, and its lock.
pub fn shared_moto() -> anyhow::Result<&'static Moto> {
    static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start().map_err(|e| format!("{e:#}"))).as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

static LOCK: Mutex<()> = Mutex::const_new(());

/// SDK configuration for moto with `key`.
pub fn sdk_config(endpoint: &str, id: &str, secret: &str, token: Option<String>) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(id, secret, token, None, "testkit")))
        .build()
}

async fn user_with_key(iam: &aws_sdk_iam::Client, name: &str, policy: &str) -> anyhow::Result<Key> {
    iam.create_user().user_name(name).send().await.context("while creating a user")?;
    iam.put_user_policy().user_name(name).policy_name("base").policy_document(policy).send().await?;
    let key = iam.create_access_key().user_name(name).send().await?;
    let k = key.access_key().context("no key")?;
    Ok(Key { id: k.access_key_id().to_owned(), secret: k.secret_access_key().to_owned() })
}

impl AwsWorld {
    /// Resets moto and builds the estate with IAM enforcement off; call
    /// [`AwsWorld::enforce`] once the test's own setup is done.
    pub async fn build() -> anyhow::Result<Self> {
        let lock = LOCK.lock().await;
        let moto = shared_moto()?;
        moto.enforce_iam(false)?;
        moto.reset()?;
        let endpoint = moto.endpoint.clone();
        let anon = sdk_config(&endpoint, "AKIAIOSFODNN7EXAMPLE", "setup", None);
        let iam = aws_sdk_iam::Client::new(&anon);
        let admin = user_with_key(&iam, "admin", ALLOW_ALL).await?;
        let latch = user_with_key(&iam, "latch", ALLOW_ASSUME).await?;
        let admin_conf = sdk_config(&endpoint, &admin.id, &admin.secret, None);
        let orgs = aws_sdk_organizations::Client::new(&admin_conf);
        orgs.create_organization().feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All).send().await.context("while creating the organization")?;
        let customer_account = create_account(&orgs, "customer").await?;
        let customer_admin = assume(&admin_conf, &endpoint, &format!("arn:aws:iam::{customer_account}:role/OrganizationAccountAccessRole"), None).await?;
        Ok(Self { endpoint, admin, latch, latch_arn: format!("arn:aws:iam::{HOST_ACCOUNT}:user/latch"), customer_account, customer_admin, _lock: lock })
    }

    /// Turns moto's IAM enforcement on: from now on every call is checked.
    pub fn enforce(&self) -> anyhow::Result<()> {
        shared_moto()?.enforce_iam(true)
    }

    /// Turns enforcement off again (for setup changes mid-test: moto does not
    /// resolve the member account's administrator role under enforcement).
    pub fn relax(&self) -> anyhow::Result<()> {
        shared_moto()?.enforce_iam(false)
    }

    /// Creates another member account named `name` (moto gives it an
    /// `OrganizationAccountAccessRole` with no policy); returns its id.
    pub async fn create_member(&self, name: &str) -> anyhow::Result<String> {
        create_account(&self.organizations(), name).await
    }

    /// Closes member account `account`: Organizations keeps it as `SUSPENDED`.
    pub async fn close_member(&self, account: &str) -> anyhow::Result<()> {
        self.organizations().close_account().account_id(account).send().await.context("while closing a member account")?;
        Ok(())
    }

    /// Organizations in the management account, as its administrator.
    fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.config(&self.admin.id, &self.admin.secret, None))
    }

    /// IAM in the member account, as its administrator.
    pub fn customer_iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.customer_admin)
    }

    /// Configuration acting with a key (and session token).
    pub fn config(&self, id: &str, secret: &str, token: Option<String>) -> SdkConfig {
        sdk_config(&self.endpoint, id, secret, token)
    }
}

/// Creates member account `name` and waits until Organizations says its id.
async fn create_account(orgs: &aws_sdk_organizations::Client, name: &str) -> anyhow::Result<String> {
    let created = orgs.create_account().account_name(name).email(format!("aws-{name}@example.com")).send().await.context("while creating a member account")?;
    let request = created.create_account_status().and_then(|s| s.id()).context("no create-account request")?.to_owned();
    for _ in 0..50 {
        let st = orgs.describe_create_account_status().create_account_request_id(&request).send().await?;
        if let Some(id) = st.create_account_status().and_then(|s| s.account_id()) {
            return Ok(id.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("moto never created member account `{name}`")
}

/// Assumes a role and returns configuration acting as the session.
pub async fn assume(conf: &SdkConfig, endpoint: &str, role_arn: &str, session: Option<&str>) -> anyhow::Result<SdkConfig> {
    let out = aws_sdk_sts::Client::new(conf)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session.unwrap_or("testkit"))
        .send()
        .await
        .with_context(|| format!("while assuming {role_arn}"))?;
    let c = out.credentials().context("no credentials")?;
    Ok(sdk_config(endpoint, c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned())))
}

/// Creates the integration role of the CloudFormation template Latch printed
/// at install (`installed["documents"]["cloudformation"]`), as the account's
/// administrator would.
pub async fn apply_integration(iam: &aws_sdk_iam::Client, installed: &serde_json::Value) -> anyhow::Result<()> {
    let doc = installed.pointer("/documents/cloudformation").and_then(serde_json::Value::as_str).context("no CloudFormation document")?;
    let template: serde_json::Value = serde_json::from_str(doc)?;
    let role = template.pointer("/Resources/LatchIntegration/Properties").context("no integration role in the template")?;
    let text = |v: Option<&serde_json::Value>| v.map(serde_json::Value::to_string).unwrap_or_default();
    let name = role.get("RoleName").and_then(serde_json::Value::as_str).context("no role name")?;
    iam.create_role().role_name(name).assume_role_policy_document(text(role.get("AssumeRolePolicyDocument"))).send().await?;
    let policy = role.pointer("/Policies/0").context("no policy")?;
    iam.put_role_policy()
        .role_name(name)
        .policy_name(policy.get("PolicyName").and_then(serde_json::Value::as_str).context("no policy name")?)
        .policy_document(text(policy.get("PolicyDocument")))
        .send()
        .await?;
    Ok(())
}

/// Calls a query-protocol API of moto that Latch has no SDK client for (SNS,
/// SQS) with `params`, in `region` as the account of `key_id`, and returns the
/// XML answer. Unsigned: moto does not check signatures while IAM
/// enforcement is off.
pub fn unsigned_query(endpoint: &str, key_id: &str, service: &str, region: &str, params: &[(&str, &str)]) -> anyhow::Result<String> {
    let auth = format!("Authorization: AWS4-HMAC-SHA256 Credential={key_id}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0");
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "-f", "-X", "POST", "-H", &auth]);
    for (k, v) in params {
        cmd.arg("--data-urlencode").arg(format!("{k}={v}"));
    }
    let out = cmd.arg(format!("{endpoint}/")).output().context("while calling moto with curl")?;
    if !out.status.success() {
        bail!("moto {service} call failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
