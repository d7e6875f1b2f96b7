//! What exists in a connected account, as the last sync saw it: items
//! (users, groups, roles, policies, Identity Center objects, resources),
//! versioned per sync with what appeared, changed and vanished.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// One thing in an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    /// `iam-user`, `iam-group`, `iam-role`, `iam-policy`, `account`,
    /// `ic-user`, `ic-group`, `permission-set`, `assignment`, `resource`.
    pub kind: String,
    /// Its stable id (an ARN where AWS has one).
    pub id: String,
    /// What the sync read.
    pub data: serde_json::Value,
}

/// How an item moved between two syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New since the previous sync.
    Appeared,
    /// Different from the previous sync.
    Changed,
    /// Gone since the previous sync.
    Vanished,
}

impl ChangeKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Changed => "changed",
            ChangeKind::Vanished => "vanished",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        [ChangeKind::Appeared, ChangeKind::Changed, ChangeKind::Vanished].into_iter().find(|k| k.as_str() == s)
    }
}

/// One change a sync found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// The sync that found it.
    pub version: i64,
    /// Appeared, changed or vanished.
    pub change: ChangeKind,
    /// The item's kind.
    pub kind: String,
    /// The item's id.
    pub id: String,
}

/// One sync of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRun {
    /// The snapshot version it makes (1, 2, …).
    pub version: i64,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// Where a resumed sync picks up (stages finished, page markers).
    pub cursor: serde_json::Value,
    /// Items written so far.
    pub items: i64,
    /// New since the previous version.
    pub appeared: i64,
    /// Different from the previous version.
    pub changed: i64,
    /// Gone since the previous version.
    pub vanished: i64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it finished.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub finished_at: Option<Timestamp>,
}
