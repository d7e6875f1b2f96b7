//! An access request as stored and shown.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::lifecycle::{EndReason, State};
use super::target::Target;
use crate::clock::Timestamp;

/// One person's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// Who decided.
    pub approver_id: String,
    /// Their email at the time.
    pub approver_email: String,
    /// `approve` or `deny`.
    pub decision: String,
    /// Their reason (may be empty).
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// A request for access to one or more targets (one per account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Request {
    /// Opaque id (`req_…`).
    pub id: String,
    /// The org.
    pub org_id: String,
    /// Who asked.
    pub requester_id: String,
    /// Their email at the time.
    pub requester_email: String,
    /// The policy rule that decides it.
    pub rule: String,
    /// The policy version the rule came from.
    pub policy_version: i64,
    /// Why they need it.
    pub reason: String,
    /// How long access lasts once active, in seconds.
    #[serde(with = "duration_secs")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub duration: Duration,
    /// Where it is.
    pub state: State,
    /// Why access ended or is ending.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub end_reason: Option<EndReason>,
    /// Self-approved under a break-glass rule.
    pub break_glass: bool,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it expires if nobody decides.
    pub pending_until: Timestamp,
    /// When it was approved or denied.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decided_at: Option<Timestamp>,
    /// When access ends (set when it becomes active).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<Timestamp>,
    /// Why provisioning failed (state `failed`), for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// What is requested.
    pub targets: Vec<Target>,
    /// Decisions so far.
    pub decisions: Vec<Decision>,
}

impl Request {
    /// The request as a successful transition to `to` with `changes` leaves
    /// it (what the store would return if read again).
    #[must_use]
    pub fn moved(&self, to: State, changes: &Changes) -> Request {
        Request {
            state: to,
            end_reason: changes.end_reason.or(self.end_reason),
            decided_at: changes.decided_at.or(self.decided_at),
            expires_at: changes.expires_at.or(self.expires_at),
            break_glass: changes.break_glass.unwrap_or(self.break_glass),
            failure: changes.failure.clone().or_else(|| self.failure.clone()),
            decisions: match &changes.decision {
                Some(d) if !self.decisions.iter().any(|x| x.approver_id == d.approver_id) => {
                    let mut all = self.decisions.clone();
                    all.push(d.clone());
                    all
                }
                _ => self.decisions.clone(),
            },
            ..self.clone()
        }
    }
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Its id (`req_…`), chosen by the caller so that what follows the
    /// creation can name it in the same transaction.
    pub id: String,
    /// Who asks.
    pub requester_id: String,
    /// Their email.
    pub requester_email: String,
    /// Deciding rule.
    pub rule: String,
    /// Its policy version.
    pub policy_version: i64,
    /// Why.
    pub reason: String,
    /// For how long.
    pub duration: Duration,
    /// Initial state (`pending`, or `approved` for automatic rules).
    pub state: State,
    /// Undecided until.
    pub pending_until: Timestamp,
    /// What.
    pub targets: Vec<Target>,
}

impl NewRequest {
    /// The request as creating it in `org_id` at `now` stores it (durations
    /// are stored in whole seconds).
    #[must_use]
    pub fn created(&self, org_id: &str, now: Timestamp) -> Request {
        Request {
            id: self.id.clone(),
            org_id: org_id.to_owned(),
            requester_id: self.requester_id.clone(),
            requester_email: self.requester_email.clone(),
            rule: self.rule.clone(),
            policy_version: self.policy_version,
            reason: self.reason.clone(),
            duration: Duration::from_secs(self.duration.as_secs()),
            state: self.state,
            end_reason: None,
            break_glass: false,
            created_at: now,
            pending_until: self.pending_until,
            decided_at: (self.state == State::Approved).then_some(now),
            expires_at: None,
            failure: None,
            targets: self.targets.clone(),
            decisions: Vec::new(),
        }
    }
}

/// Fields a transition may set along with the state.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Why access ends.
    pub end_reason: Option<EndReason>,
    /// Decision time.
    pub decided_at: Option<Timestamp>,
    /// End of access.
    pub expires_at: Option<Timestamp>,
    /// Break-glass flag.
    pub break_glass: Option<bool>,
    /// Why provisioning failed, for people.
    pub failure: Option<String>,
    /// A decision recorded with the transition (kept out if the person
    /// decided already: their first decision stands).
    pub decision: Option<Decision>,
    /// What follows the transition, recorded in the same transaction.
    pub effects: Effects,
}

/// A request's transition, made by the store together with another change
/// in one transaction (see [`crate::store::GrantStore`]).
#[derive(Debug, Clone)]
pub struct Move {
    /// The request.
    pub id: String,
    /// The state it must still be in.
    pub from: State,
    /// The state it moves to.
    pub to: State,
    /// What the transition sets and records.
    pub changes: Changes,
}

/// What must be recorded together with a change to a request — jobs queued
/// and audit events appended in the same database transaction — so that a
/// crash can never leave the change without what follows from it: an
/// active request with no expiry queued, an approval with nothing to
/// provision it, a transition missing from the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Jobs to queue (idempotently, by key).
    pub jobs: Vec<crate::jobs::NewJob>,
    /// Audit events to append, in order.
    pub audit: Vec<crate::audit::NewAuditEvent>,
    /// Events to tell the org's webhooks about.
    pub notices: Vec<super::notice::Notice>,
    /// The job making the change, marked done with it (if its worker still
    /// holds it): the change and the job's end are one transaction.
    pub completes: Option<crate::jobs::Lease>,
}

impl Effects {
    /// Adds a job.
    #[must_use]
    pub fn job(mut self, job: crate::jobs::NewJob) -> Self {
        self.jobs.push(job);
        self
    }

    /// Adds an audit event.
    #[must_use]
    pub fn audit(mut self, event: crate::audit::NewAuditEvent) -> Self {
        self.audit.push(event);
        self
    }

    /// Marks the job making the change done with it.
    #[must_use]
    pub fn completing(mut self, lease: crate::jobs::Lease) -> Self {
        self.completes = Some(lease);
        self
    }

    /// Adds a notice for the org's webhooks.
    #[must_use]
    pub fn notice(mut self, notice: super::notice::Notice) -> Self {
        self.notices.push(notice);
        self
    }
}

/// An extension of active access: its end moves from `from` to `to`.
#[derive(Debug, Clone)]
pub struct Extension {
    /// The end it has now (the extension applies only if it still has it).
    pub from: Timestamp,
    /// The new end.
    pub to: Timestamp,
    /// The new total duration.
    pub duration: Duration,
    /// What follows, recorded in the same transaction.
    pub effects: Effects,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this requester's.
    pub requester_id: Option<String>,
    /// Only in these states (any when empty).
    pub states: Vec<State>,
    /// At most this many, newest first.
    pub limit: i64,
}

mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
