//! What a person can ask for: an entitlement in an integration.

use serde::{Deserialize, Serialize};

/// The kind of entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An IAM role to assume.
    Role,
    /// An Identity Center permission set on an account.
    PermissionSet,
    /// Membership of a group (IAM or Identity Center).
    Group,
    /// A managed policy attached to the person.
    Policy,
    /// Access to one resource at a level.
    Resource,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [Kind::Role, Kind::PermissionSet, Kind::Group, Kind::Policy, Kind::Resource];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::PermissionSet => "permission-set",
            Kind::Group => "group",
            Kind::Policy => "policy",
            Kind::Resource => "resource",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How much access to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Read.
    Read,
    /// Read and write.
    Write,
    /// Everything, including changing who has access.
    Admin,
}

/// One entitlement in one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Target {
    /// The integration (`aws`).
    pub integration: String,
    /// The account id.
    pub account: String,
    /// What kind of entitlement.
    pub kind: Kind,
    /// Its name (role name, permission set name, group, policy, or resource ARN).
    pub name: String,
    /// For resources, the level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

impl Target {
    /// The entitlement's identity for reference counting: the same access to
    /// the same person is granted once, however many requests hold it.
    pub fn entitlement_key(&self) -> String {
        let level = self.level.map(|l| format!("{l:?}").to_lowercase()).unwrap_or_default();
        format!("{}/{}/{}/{}/{level}", self.integration, self.account, self.kind.as_str(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(Kind::parse("Role"), None);
    }

    #[test]
    fn entitlement_keys_distinguish_levels() {
        let t = Target { integration: "aws".into(), account: "1".into(), kind: Kind::Resource, name: "arn:aws:s3:::b".into(), level: Some(Level::Read) };
        let mut w = t.clone();
        w.level = Some(Level::Write);
        assert_ne!(t.entitlement_key(), w.entitlement_key());
        assert_eq!(t.entitlement_key(), "aws/1/resource/arn:aws:s3:::b/read");
    }
}
