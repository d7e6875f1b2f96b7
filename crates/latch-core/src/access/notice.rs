//! Notifications of request events. A notice is recorded in the transaction
//! of the change it reports (see [`Effects`](super::request::Effects)), so a
//! crash can neither lose it nor send it for a change that did not happen.
//! The store turns each notice into one queued notification (and one
//! delivery job) per webhook of the org that wants its event.

use serde_json::json;

use super::request::Request;
use crate::clock::Timestamp;

/// The job kind that delivers one notification.
pub const JOB_KIND: &str = "notify";

/// Attempts before a delivery is given up (dead, visible, alerting).
pub const MAX_ATTEMPTS: i64 = 8;

/// The events a webhook can receive.
pub const EVENTS: &[&str] = &[
    "request.created",
    "request.approved",
    "request.denied",
    "request.active",
    "request.expiring_soon",
    "request.expired",
    "request.revoked",
    "request.relinquished",
    "request.failed",
    "request.break_glass",
];

/// One event about a request, as it is stored for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The event, one of [`EVENTS`].
    pub event: String,
    /// `{"event", "at", "request"}` as JSON text: the body of a generic
    /// webhook, and what a Slack message is rendered from.
    pub document: String,
}

impl Notice {
    /// `event` about `r` (as the change leaves it), at `at`.
    #[must_use]
    pub fn new(event: &str, at: Timestamp, r: &Request) -> Self {
        Self { event: event.to_owned(), document: json!({"event": event, "at": at, "request": r}).to_string() }
    }

    /// Whether a webhook subscribed to `events` (none: every event) gets it.
    #[must_use]
    pub fn wanted_by(&self, events: &[String]) -> bool {
        wants(events, &self.event)
    }
}

/// Whether a webhook listing `events` wants `event` (none listed: every
/// event).
pub fn wants(events: &[String], event: &str) -> bool {
    events.is_empty() || events.iter().any(|e| e == event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_with_no_events_gets_every_event_and_others_only_theirs() {
        let n = Notice { event: "request.active".into(), document: String::new() };
        assert!(n.wanted_by(&[]));
        assert!(n.wanted_by(&["request.denied".into(), "request.active".into()]));
        assert!(!n.wanted_by(&["request.denied".into()]));
        assert!(!n.wanted_by(&["request.activ".into()]), "whole names only");
    }
}
