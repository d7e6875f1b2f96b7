//! Access policies: an ordered list of rules, written as TOML by admins.
//! The first rule whose requester and resource match a request decides who
//! must approve it and for how long it may last; no matching rule means no
//! access.

mod err;
mod parse;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

pub use err::{PolicyError, PolicyErrors};

use crate::access::glob;
use crate::access::target::{Kind, Level, Target};

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Unique name, used in requests and audit records.
    pub name: String,
    /// Who the rule is for.
    pub requesters: Requesters,
    /// What the rule is about.
    pub resource: ResourceMatch,
    /// Who must approve.
    pub approval: Approval,
    /// The requester must give a reason.
    pub require_reason: bool,
    /// Duration when the request names none.
    pub default_duration: Duration,
    /// Longest duration (and longest total after extensions).
    pub max_duration: Duration,
    /// The requester may approve their own request.
    pub allow_self_approval: bool,
    /// The requester may approve their own request in an emergency, with a
    /// reason; flagged, notified loudly, and reviewed afterwards.
    pub break_glass: bool,
}

/// Who may ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requesters {
    /// Anyone in the org.
    Any,
    /// These people, or members of these groups.
    Listed {
        /// Emails.
        users: Vec<String>,
        /// Group names.
        groups: Vec<String>,
    },
}

/// What a rule covers; an absent field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceMatch {
    /// Integration name.
    pub integration: Option<String>,
    /// Account ids.
    pub accounts: Vec<String>,
    /// Kinds.
    pub kinds: Vec<Kind>,
    /// Name patterns (`*`, `?`).
    pub names: Vec<String>,
    /// Tags the resource must carry, all of them.
    pub tags: BTreeMap<String, String>,
    /// Access levels (resource requests).
    pub levels: Vec<Level>,
}

/// Who must approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Granted without anyone deciding.
    Auto,
    /// Never granted.
    Deny,
    /// `required` distinct people from `users` or members of `groups`.
    Approvers {
        /// Emails.
        users: Vec<String>,
        /// Group names.
        groups: Vec<String>,
        /// How many distinct approvals.
        required: u32,
    },
}

/// A person, as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Canonical email.
    pub email: String,
    /// Names of the groups they are in.
    pub groups: Vec<String>,
}

impl Person {
    fn in_any(&self, users: &[String], groups: &[String]) -> bool {
        users.iter().any(|u| u.eq_ignore_ascii_case(&self.email)) || groups.iter().any(|g| self.groups.contains(g))
    }
}

impl Requesters {
    /// Whether `p` may ask under this rule.
    pub fn admit(&self, p: &Person) -> bool {
        match self {
            Requesters::Any => true,
            Requesters::Listed { users, groups } => p.in_any(users, groups),
        }
    }
}

impl ResourceMatch {
    /// Whether the rule covers `target`, whose resource carries `tags`.
    pub fn covers(&self, target: &Target, tags: &BTreeMap<String, String>) -> bool {
        self.integration.as_ref().is_none_or(|i| *i == target.integration)
            && (self.accounts.is_empty() || self.accounts.contains(&target.account))
            && (self.kinds.is_empty() || self.kinds.contains(&target.kind))
            && (self.names.is_empty() || self.names.iter().any(|p| glob::matches(p, &target.name)))
            && self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
            && (self.levels.is_empty() || target.level.is_some_and(|l| self.levels.contains(&l)))
    }
}

impl Approval {
    /// Whether `p` may approve under this rule (at the time of asking).
    pub fn eligible(&self, p: &Person) -> bool {
        match self {
            Approval::Approvers { users, groups, .. } => p.in_any(users, groups),
            Approval::Auto | Approval::Deny => false,
        }
    }
}

impl Policy {
    /// Parses and validates a policy, reporting every problem with its position.
    pub fn parse(source: &str) -> Result<Policy, PolicyErrors> {
        parse::parse(source)
    }

    /// The rule that decides a request: the first whose requesters admit the
    /// person and whose resource covers the target.
    pub fn rule_for(&self, p: &Person, target: &Target, tags: &BTreeMap<String, String>) -> Option<&Rule> {
        self.rules.iter().find(|r| r.requesters.admit(p) && r.resource.covers(target, tags))
    }

    /// Whether the tags of what `p` requests can change which rule decides:
    /// only if a rule admitting them matches on tags. (If not, there is no
    /// need to look the tags up.)
    pub fn reads_tags(&self, p: &Person) -> bool {
        self.rules.iter().any(|r| !r.resource.tags.is_empty() && r.requesters.admit(p))
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests;
