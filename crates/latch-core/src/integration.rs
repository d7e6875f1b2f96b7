//! An AWS account connected to Latch: how people are found in it, which
//! components are on, the ExternalId that guards the integration role, and
//! whether the role was verified.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// How people get their access in an account (seed 000's three ways).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AwsMode {
    /// People are IAM users of the account.
    IamUsers,
    /// People are Identity Center users; Latch assigns permission sets.
    IdentityCenter,
    /// People sign in through Latch as the identity provider AWS trusts.
    Federated,
}

/// How a federated account trusts Latch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FederationProtocol {
    /// An IAM OIDC provider for Latch's issuer; `sts:AssumeRoleWithWebIdentity`.
    #[default]
    Oidc,
    /// An IAM SAML provider from Latch's metadata; `sts:AssumeRoleWithSAML`.
    Saml,
}

impl FederationProtocol {
    /// The stored and typed name.
    pub fn as_str(self) -> &'static str {
        match self {
            FederationProtocol::Oidc => "oidc",
            FederationProtocol::Saml => "saml",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<FederationProtocol> {
        [FederationProtocol::Oidc, FederationProtocol::Saml].into_iter().find(|p| p.as_str() == s)
    }
}

impl AwsMode {
    /// Every mode.
    pub const ALL: [AwsMode; 3] = [AwsMode::IamUsers, AwsMode::IdentityCenter, AwsMode::Federated];

    /// The stored and typed name.
    pub fn as_str(self) -> &'static str {
        match self {
            AwsMode::IamUsers => "iam-users",
            AwsMode::IdentityCenter => "identity-center",
            AwsMode::Federated => "federated",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<AwsMode> {
        AwsMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How an IAM user is found for a person (iam-users mode).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case", tag = "by", content = "key")]
pub enum UserLookup {
    /// The IAM user name is the person's email.
    Email,
    /// The IAM user carries a tag with this key whose value is the email.
    Tag(String),
}

impl UserLookup {
    /// The typed and stored form: `email` or `tag:KEY`.
    pub fn as_string(&self) -> String {
        match self {
            UserLookup::Email => "email".to_owned(),
            UserLookup::Tag(k) => format!("tag:{k}"),
        }
    }

    /// Parses `email` or `tag:KEY`.
    pub fn parse(s: &str) -> Option<UserLookup> {
        match s.split_once(':') {
            None if s == "email" => Some(UserLookup::Email),
            Some(("tag", key)) if !key.is_empty() && key.len() <= 128 => Some(UserLookup::Tag(key.to_owned())),
            _ => None,
        }
    }
}

/// Where an integration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Registered; the customer has not run the install yet, or verify failed.
    Pending,
    /// Verified: the role can be assumed with the ExternalId and every
    /// needed permission is there.
    Installed,
}

impl IntegrationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationStatus::Pending => "pending",
            IntegrationStatus::Installed => "installed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<IntegrationStatus> {
        match s {
            "pending" => Some(IntegrationStatus::Pending),
            "installed" => Some(IntegrationStatus::Installed),
            _ => None,
        }
    }
}

/// One AWS account connected to one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwsIntegration {
    /// The org.
    pub org_id: String,
    /// The 12-digit AWS account id.
    pub account_id: String,
    /// A name people may type instead of the id.
    pub alias: Option<String>,
    /// How people get access here.
    pub mode: AwsMode,
    /// How IAM users are found (iam-users mode).
    pub user_lookup: UserLookup,
    /// Resource inventory (tagging API, Resource Explorer) is on.
    pub inventory: bool,
    /// This is an Organizations management account whose members Latch reaches.
    pub organizations: bool,
    /// The integration role's name in the account.
    pub role_name: String,
    /// The ExternalId the role's trust policy requires (per org × account).
    pub external_id: String,
    /// Identity Center: the AWS access portal URL, when not the instance's
    /// default (`https://{identity store id}.awsapps.com/start`).
    #[serde(default)]
    pub sso_start_url: Option<String>,
    /// Federated mode: how people's identity reaches AWS — Latch's OpenID
    /// Connect tokens or its SAML assertions.
    #[serde(default)]
    pub federation: FederationProtocol,
    /// Pending or installed.
    pub status: IntegrationStatus,
    /// What the last verify found missing (IAM action names).
    pub missing: Vec<String>,
    /// When verify last passed.
    pub verified_at: Option<Timestamp>,
    /// When it was registered.
    pub created_at: Timestamp,
}
