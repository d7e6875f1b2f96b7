//! The life of an access request, in one place: every state change goes
//! through [`next`], which knows every legal transition and refuses the rest.
//!
//! ```text
//! pending ──approve──▶ approved ──start──▶ provisioning ──provisioned──▶ active ─┐
//!    │ deny/cancel/timeout   │ cancel           │ end(reason)           extend ◀─┘
//!    ▼                       ▼                  ▼                          │ end(reason)
//! denied/cancelled/expired  cancelled       expiring ◀─────────────────────┘
//!                                              │ deprovisioned(reason)
//!                                              ▼
//!                          expired / relinquished / revoked / failed
//! ```
//!
//! `expiring` is "access is being taken away", whatever the reason; the
//! reason decides the final state, so a request that failed half-way is
//! cleaned up exactly like one that ran out of time.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for approvals.
    Pending,
    /// Approved; provisioning not started.
    Approved,
    /// Being granted in the integration.
    Provisioning,
    /// Granted.
    Active,
    /// Being taken away (see the end reason).
    Expiring,
    /// Ended on time, or never decided in time.
    Expired,
    /// Refused.
    Denied,
    /// Withdrawn by the requester before access was granted.
    Cancelled,
    /// Given back early by the requester.
    Relinquished,
    /// Taken away early by an approver or admin.
    Revoked,
    /// Could not be granted (and whatever was granted was taken back).
    Failed,
}

/// Why access ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    /// Its time ran out.
    Expired,
    /// The requester gave it back.
    Relinquished,
    /// Someone took it away.
    Revoked,
    /// Provisioning failed.
    Failed,
}

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event", content = "reason")]
pub enum Event {
    /// Enough approvals (or an automatic rule).
    Approve,
    /// An approver refused.
    Deny,
    /// The requester withdrew it before it was granted.
    Cancel,
    /// Nobody decided in time.
    PendingTimeout,
    /// A worker started granting.
    StartProvisioning,
    /// Granting finished.
    Provisioned,
    /// The end time moved.
    Extend,
    /// Access must be taken away.
    End(EndReason),
    /// Access was taken away.
    Deprovisioned(EndReason),
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a request that is {from} cannot {event}")]
pub struct IllegalTransition {
    /// The state it was in.
    pub from: State,
    /// What was attempted.
    pub event: Event,
}

impl State {
    /// Every state.
    pub const ALL: [State; 11] = [
        State::Pending,
        State::Approved,
        State::Provisioning,
        State::Active,
        State::Expiring,
        State::Expired,
        State::Denied,
        State::Cancelled,
        State::Relinquished,
        State::Revoked,
        State::Failed,
    ];

    /// Stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Provisioning => "provisioning",
            State::Active => "active",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::Denied => "denied",
            State::Cancelled => "cancelled",
            State::Relinquished => "relinquished",
            State::Revoked => "revoked",
            State::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// How far along the lifecycle: every transition that changes the
    /// state increases it, so of two sightings of one request the one with
    /// more progress is the newer.
    pub fn progress(self) -> u8 {
        match self {
            State::Pending => 0,
            State::Approved => 1,
            State::Provisioning => 2,
            State::Active => 3,
            State::Expiring => 4,
            State::Expired | State::Denied | State::Cancelled | State::Relinquished | State::Revoked | State::Failed => 5,
        }
    }

    /// Whether nothing more can happen.
    pub fn is_final(self) -> bool {
        matches!(self, State::Expired | State::Denied | State::Cancelled | State::Relinquished | State::Revoked | State::Failed)
    }

    /// Whether access may exist in the integration in this state (so a
    /// crash here needs cleaning up).
    pub fn may_hold_access(self) -> bool {
        matches!(self, State::Provisioning | State::Active | State::Expiring)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Event::Approve => "be approved",
            Event::Deny => "be denied",
            Event::Cancel => "be cancelled",
            Event::PendingTimeout => "time out waiting for approval",
            Event::StartProvisioning => "start provisioning",
            Event::Provisioned => "become active",
            Event::Extend => "be extended",
            Event::End(EndReason::Expired) => "expire",
            Event::End(EndReason::Relinquished) => "be relinquished",
            Event::End(EndReason::Revoked) => "be revoked",
            Event::End(EndReason::Failed) => "fail",
            Event::Deprovisioned(_) => "finish being taken away",
        })
    }
}

fn final_state(reason: EndReason) -> State {
    match reason {
        EndReason::Expired => State::Expired,
        EndReason::Relinquished => State::Relinquished,
        EndReason::Revoked => State::Revoked,
        EndReason::Failed => State::Failed,
    }
}

/// The state after `event`, or why it cannot happen.
pub fn next(from: State, event: Event) -> Result<State, IllegalTransition> {
    let to = match (from, event) {
        (State::Pending, Event::Approve) => State::Approved,
        (State::Pending, Event::Deny) => State::Denied,
        (State::Pending | State::Approved, Event::Cancel) => State::Cancelled,
        (State::Pending, Event::PendingTimeout) => State::Expired,
        (State::Approved, Event::StartProvisioning) => State::Provisioning,
        (State::Provisioning, Event::Provisioned) => State::Active,
        (State::Active, Event::Extend) => State::Active,
        (State::Approved | State::Provisioning | State::Active, Event::End(_)) => State::Expiring,
        (State::Expiring, Event::Deprovisioned(reason)) => final_state(reason),
        _ => return Err(IllegalTransition { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASONS: [EndReason; 4] = [EndReason::Expired, EndReason::Relinquished, EndReason::Revoked, EndReason::Failed];

    fn all_events() -> Vec<Event> {
        let mut v = vec![Event::Approve, Event::Deny, Event::Cancel, Event::PendingTimeout, Event::StartProvisioning, Event::Provisioned, Event::Extend];
        v.extend(REASONS.map(Event::End));
        v.extend(REASONS.map(Event::Deprovisioned));
        v
    }

    /// Every legal transition, written out; everything else must be refused.
    fn legal() -> Vec<(State, Event, State)> {
        use State::*;
        let mut t = vec![
            (Pending, Event::Approve, Approved),
            (Pending, Event::Deny, Denied),
            (Pending, Event::Cancel, Cancelled),
            (Pending, Event::PendingTimeout, Expired),
            (Approved, Event::Cancel, Cancelled),
            (Approved, Event::StartProvisioning, Provisioning),
            (Provisioning, Event::Provisioned, Active),
            (Active, Event::Extend, Active),
            (Expiring, Event::Deprovisioned(EndReason::Expired), Expired),
            (Expiring, Event::Deprovisioned(EndReason::Relinquished), Relinquished),
            (Expiring, Event::Deprovisioned(EndReason::Revoked), Revoked),
            (Expiring, Event::Deprovisioned(EndReason::Failed), Failed),
        ];
        for from in [Approved, Provisioning, Active] {
            for r in REASONS {
                t.push((from, Event::End(r), Expiring));
            }
        }
        t
    }

    #[test]
    fn every_pair_is_legal_exactly_when_the_table_says() {
        let table = legal();
        let mut checked = 0;
        for from in State::ALL {
            for event in all_events() {
                let want = table.iter().find(|(f, e, _)| *f == from && *e == event).map(|(_, _, to)| *to);
                match (next(from, event), want) {
                    (Ok(to), Some(w)) => assert_eq!(to, w, "{from} + {event:?}"),
                    (Err(e), None) => assert_eq!(e, IllegalTransition { from, event }),
                    (got, want) => panic!("{from} + {event:?}: got {got:?}, want {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, State::ALL.len() * all_events().len());
    }

    #[test]
    fn every_change_of_state_makes_progress() {
        for (from, event, to) in legal().into_iter().filter(|(f, _, t)| f != t) {
            assert!(to.progress() > from.progress(), "{from} + {event:?} -> {to}");
        }
    }

    #[test]
    fn final_states_accept_nothing() {
        for s in State::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(all_events().into_iter().all(|e| next(s, e).is_err()), "{s}");
            assert!(!s.may_hold_access());
        }
    }

    #[test]
    fn names_round_trip_and_errors_read_well() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        let e = next(State::Denied, Event::Approve).unwrap_err();
        assert_eq!(e.to_string(), "a request that is denied cannot be approved");
    }
}
