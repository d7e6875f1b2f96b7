//! The `Provisioner` port: where access is actually granted and taken away
//! (the AWS integration implements it; tests use a recording one).
//!
//! The contract every implementation keeps:
//! - `grant` and `revoke` are idempotent: called again after a crash at any
//!   point, they converge and never fail because the work was half done;
//! - `grant` returns what it did in the integration's own identifiers
//!   ([`Applied`]) so that `revoke` undoes exactly that, even after a restart;
//! - "already granted" and "already revoked" are reported distinctly from
//!   fresh success, so callers can audit what really changed.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::target::Target;
use crate::clock::Timestamp;

/// One entitlement for one person, as a provisioner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantSpec {
    /// The org.
    pub org_id: String,
    /// The person's id.
    pub user_id: String,
    /// The person's email (integrations find their identity by it).
    pub email: String,
    /// What to grant.
    pub target: Target,
    /// When access must stop working even if Latch never revokes it
    /// (integrations bound the grant by time where they can).
    pub expires_at: Timestamp,
}

/// What a grant did, in the integration's identifiers (e.g. the inline policy
/// name and user, or the account assignment), kept to undo exactly that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Applied(pub serde_json::Value);

/// How a grant went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantOutcome {
    /// Access was given now.
    Granted(Applied),
    /// It was already in place (a retry after a crash, or a prior grant).
    AlreadyGranted(Applied),
}

/// How a revocation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Access was taken away now.
    Revoked,
    /// It was already gone.
    AlreadyRevoked,
}

/// Why a provisioner call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProvisionError {
    /// Worth retrying (throttling, timeouts, eventual consistency).
    #[error("{0}")]
    Retryable(String),
    /// Retrying will not help (no such role, no such person, access denied).
    #[error("{0}")]
    Permanent(String),
}

/// Grants and revokes access in an integration.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// The identity of the access `spec` asks for, for reference counting:
    /// two grants with the same key share one piece of access, granted once
    /// and removed with the last holder. By default the target's own key;
    /// an integration overrides it where the same access is reached through
    /// several targets (an Identity Center group is one membership whatever
    /// account a request names). Read once, when the grant is first held,
    /// and kept with it: releasing never recomputes it.
    async fn entitlement_key(&self, spec: &GrantSpec) -> Result<String, ProvisionError> {
        Ok(spec.target.entitlement_key())
    }
    /// Gives `spec`'s access.
    async fn grant(&self, spec: &GrantSpec) -> Result<GrantOutcome, ProvisionError>;
    /// Takes away what `applied` records for `spec`.
    async fn revoke(&self, spec: &GrantSpec, applied: &Applied) -> Result<RevokeOutcome, ProvisionError>;
}
