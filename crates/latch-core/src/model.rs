//! The records of Latch's foundation: orgs, users, roles, groups, credentials.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// A tenant. Everything else belongs to exactly one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// Opaque id.
    pub id: String,
    /// The name people type: `latch login acme`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What a user may do in their org.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Requests access for themselves.
    Member,
    /// May also decide others' requests, where a policy names them.
    Approver,
    /// May also manage people, tokens, integrations and policies.
    Admin,
}

impl Role {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or typed role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "approver" => Some(Role::Approver),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A person in an org. Users are per org: the same email in two orgs is two
/// users, so no org's admin can touch another org's people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Opaque id.
    pub id: String,
    /// The org the user belongs to.
    pub org_id: String,
    /// Canonical email, unique within the org.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role in the org.
    pub role: Role,
    /// Whether a local password is set.
    pub has_password: bool,
    /// Whether TOTP is required at password sign-in.
    pub totp_enabled: bool,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// Where a group's membership comes from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupSource {
    /// Managed in Latch.
    Local,
    /// Mirrored from the upstream identity provider's `groups` claim at sign-in.
    Idp,
}

impl GroupSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSource::Local => "local",
            GroupSource::Idp => "idp",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<GroupSource> {
        match s {
            "local" => Some(GroupSource::Local),
            "idp" => Some(GroupSource::Idp),
            _ => None,
        }
    }
}

/// A named set of users in one org.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Opaque id.
    pub id: String,
    /// The org it belongs to.
    pub org_id: String,
    /// Unique within the org.
    pub name: String,
    /// Local or mirrored from the IdP.
    pub source: GroupSource,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An API token's metadata; the secret itself is shown once and never stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Opaque id, used to revoke it.
    pub id: String,
    /// The org it acts in.
    pub org_id: String,
    /// The user it acts as.
    pub user_id: String,
    /// A label chosen by its creator.
    pub name: String,
    /// What it may do (see [`Scope`]).
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub revoked_at: Option<Timestamp>,
    /// Last use, to the minute.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used_at: Option<Timestamp>,
}

/// An org's upstream OpenID Connect provider.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoConfig {
    /// The provider's issuer URL (discovery is at
    /// `ISSUER/.well-known/openid-configuration`).
    pub issuer: String,
    /// Latch's client id at the provider.
    pub client_id: String,
    /// Latch's client secret at the provider.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub client_secret: crate::Secret,
    /// The ID-token or userinfo claim listing the person's groups.
    pub groups_claim: String,
    /// Whether a person the provider vouches for, and Latch does not know
    /// yet, is created on first sign-in.
    pub auto_create: bool,
    /// The role such a person gets.
    pub default_role: Role,
}

/// What an API token may do; a token never exceeds its user's role.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read-only calls.
    Read,
    /// Make and manage one's own requests.
    Request,
    /// Decide requests (as the user's role and policies allow).
    Approve,
    /// Admin calls (as the user's role allows).
    Admin,
}

impl Scope {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Request => "request",
            Scope::Approve => "approve",
            Scope::Admin => "admin",
        }
    }

    /// Parses a stored or typed scope.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "request" => Some(Scope::Request),
            "approve" => Some(Scope::Approve),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// Encodes a scope set for storage: space-separated, sorted.
    pub fn join(scopes: &[Scope]) -> String {
        let mut v: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v.join(" ")
    }

    /// Decodes a stored scope set, ignoring names it does not know.
    pub fn split(s: &str) -> Vec<Scope> {
        s.split_whitespace().filter_map(Scope::parse).collect()
    }
}

/// How a caller proved who they are.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A browser session cookie.
    Session,
    /// A CLI access token from the device flow.
    Access,
    /// An API token.
    Api,
}

/// An authenticated caller, as resolved from one credential.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The caller's org id.
    pub org_id: String,
    /// The caller's org slug.
    pub org_slug: String,
    /// The caller's user id.
    pub user_id: String,
    /// The caller's email.
    pub email: String,
    /// The caller's role.
    pub role: Role,
    /// How they authenticated.
    pub credential: CredentialKind,
    /// The id of the session or token used.
    pub credential_id: String,
    /// For API tokens, the scopes; sessions and access tokens carry every
    /// scope their role allows.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub scopes: Option<Vec<Scope>>,
    /// For API tokens, when `last_used_at` was last written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_used_at: Option<Timestamp>,
    /// The names of the caller's groups, when read with the credential
    /// (access policies match on them); `None`: not read.
    #[serde(skip)]
    pub groups: Option<Vec<String>>,
    /// The org's current access policy version, when read with the
    /// credential; `None`: not read, or the org has no policy yet.
    #[serde(skip)]
    pub policy_version: Option<i64>,
}

impl Principal {
    /// Whether the caller may use `scope` at all (role and token scopes both).
    pub fn may(&self, scope: Scope) -> bool {
        let role_allows = match scope {
            Scope::Read | Scope::Request => true,
            Scope::Approve => self.role >= Role::Approver,
            Scope::Admin => self.role == Role::Admin,
        };
        let token_allows = self.scopes.as_ref().is_none_or(|s| s.contains(&scope));
        role_allows && token_allows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, scopes: Option<Vec<Scope>>) -> Principal {
        Principal {
            org_id: "org_1".into(),
            org_slug: "acme".into(),
            user_id: "usr_1".into(),
            email: "a@x.io".into(),
            role,
            credential: CredentialKind::Api,
            credential_id: "tok_1".into(),
            scopes,
            last_used_at: None,
            groups: None,
            policy_version: None,
        }
    }

    #[test]
    fn a_token_never_exceeds_its_role() {
        let cases = [
            (Role::Member, None, Scope::Admin, false),
            (Role::Member, None, Scope::Request, true),
            (Role::Member, Some(vec![Scope::Admin]), Scope::Admin, false),
            (Role::Admin, Some(vec![Scope::Read]), Scope::Admin, false),
            (Role::Admin, Some(vec![Scope::Read]), Scope::Read, true),
            (Role::Admin, None, Scope::Admin, true),
            (Role::Approver, None, Scope::Approve, true),
            (Role::Member, None, Scope::Approve, false),
        ];
        for (role, scopes, scope, want) in cases {
            assert_eq!(principal(role, scopes.clone()).may(scope), want, "{role:?} {scopes:?} {scope:?}");
        }
    }

    #[test]
    fn scope_sets_round_trip() {
        let s = Scope::join(&[Scope::Read, Scope::Admin, Scope::Read]);
        assert_eq!(s, "admin read");
        assert_eq!(Scope::split(&s), vec![Scope::Admin, Scope::Read]);
    }
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// Opaque id.
    pub id: String,
    /// The org.
    pub org_id: String,
    /// Where to POST.
    pub url: String,
    /// `slack` (incoming-webhook JSON) or `generic` (signed JSON).
    pub kind: String,
    /// Event names it receives (`request.created`, …); empty means all.
    pub events: Vec<String>,
    /// When it was added.
    pub created_at: crate::Timestamp,
}
