//! Deciding one approval: who may approve, self-approval, break-glass, and
//! counting distinct approvers towards a rule's `required`.
//!
//! Eligibility is checked with the approver's groups *at the time of the
//! decision*: someone who left the approvers' group since the request was
//! made can no longer approve it.

use thiserror::Error;

use super::policy::{Approval, Person, Rule};

/// What an accepted approval did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted; more approvals are needed.
    Recorded {
        /// Distinct approvals so far, this one included.
        have: u32,
        /// Approvals the rule requires.
        need: u32,
    },
    /// The request is approved.
    Approved {
        /// The requester approved their own request under a break-glass
        /// rule: flag it, tell everyone, and review it afterwards.
        break_glass: bool,
    },
}

/// Why an approval was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refused {
    /// The requester tried to approve their own request.
    #[error("you cannot approve your own request")]
    SelfApproval,
    /// Break-glass self-approval needs a reason.
    #[error("a break-glass approval of your own request needs a reason")]
    BreakGlassReason,
    /// The approver is not one the rule names (now).
    #[error("you are not an approver for this request")]
    NotEligible,
    /// This person already approved it.
    #[error("you have already approved this request")]
    Duplicate,
    /// The rule grants nothing, or needs nobody.
    #[error("this request does not take approvals")]
    NotApprovable,
}

/// Decides `approver`'s approval of `requester`'s request under `rule`,
/// given the emails of those who approved it already.
pub fn approve(rule: &Rule, requester_email: &str, approver: &Person, already: &[String], reason: Option<&str>) -> Result<Outcome, Refused> {
    let Approval::Approvers { required, .. } = &rule.approval else {
        return Err(Refused::NotApprovable);
    };
    let own = approver.email.eq_ignore_ascii_case(requester_email);
    if own {
        if rule.break_glass {
            // INVARIANT: break-glass is the requester's own emergency
            // approval; it never passes silently (the caller flags and
            // notifies on `break_glass: true`).
            if reason.is_none_or(|r| r.trim().is_empty()) {
                return Err(Refused::BreakGlassReason);
            }
            return Ok(Outcome::Approved { break_glass: true });
        }
        if !rule.allow_self_approval {
            return Err(Refused::SelfApproval);
        }
    }
    if !rule.approval.eligible(approver) {
        return Err(Refused::NotEligible);
    }
    if already.iter().any(|a| a.eq_ignore_ascii_case(&approver.email)) {
        return Err(Refused::Duplicate);
    }
    let have = u32::try_from(already.len()).unwrap_or(u32::MAX).saturating_add(1);
    if have >= *required {
        Ok(Outcome::Approved { break_glass: false })
    } else {
        Ok(Outcome::Recorded { have, need: *required })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::access::policy::{Requesters, ResourceMatch};

    fn rule(approval: Approval, allow_self: bool, break_glass: bool) -> Rule {
        Rule {
            name: "r".into(),
            requesters: Requesters::Any,
            resource: ResourceMatch::default(),
            approval,
            require_reason: false,
            default_duration: Duration::from_secs(3600),
            max_duration: Duration::from_secs(3600),
            allow_self_approval: allow_self,
            break_glass,
        }
    }

    fn leads(required: u32) -> Approval {
        Approval::Approvers { users: vec!["boss@x.io".into()], groups: vec!["leads".into()], required }
    }

    fn p(email: &str, groups: &[&str]) -> Person {
        Person { email: email.into(), groups: groups.iter().map(|g| (*g).to_owned()).collect() }
    }

    #[test]
    fn approvals_table() {
        let alice = p("alice@x.io", &["leads"]);
        let bob = p("bob@x.io", &["leads"]);
        let carol = p("carol@x.io", &["eng"]);
        let boss = p("boss@x.io", &[]);
        type Case<'a> = (&'a str, Rule, &'a Person, &'a Person, Vec<String>, Option<&'a str>, Result<Outcome, Refused>);
        let cases: Vec<Case<'_>> = vec![
            ("one of the group", rule(leads(1), false, false), &carol, &alice, vec![], None, Ok(Outcome::Approved { break_glass: false })),
            ("a listed user", rule(leads(1), false, false), &carol, &boss, vec![], None, Ok(Outcome::Approved { break_glass: false })),
            ("outsider", rule(leads(1), false, false), &alice, &carol, vec![], None, Err(Refused::NotEligible)),
            ("self refused", rule(leads(1), false, false), &alice, &alice, vec![], None, Err(Refused::SelfApproval)),
            ("self allowed", rule(leads(1), true, false), &alice, &alice, vec![], None, Ok(Outcome::Approved { break_glass: false })),
            ("self allowed still needs eligibility", rule(leads(1), true, false), &carol, &carol, vec![], None, Err(Refused::NotEligible)),
            ("2 of: first", rule(leads(2), false, false), &carol, &alice, vec![], None, Ok(Outcome::Recorded { have: 1, need: 2 })),
            ("2 of: second", rule(leads(2), false, false), &carol, &bob, vec!["alice@x.io".into()], None, Ok(Outcome::Approved { break_glass: false })),
            ("2 of: same twice", rule(leads(2), false, false), &carol, &alice, vec!["ALICE@x.io".into()], None, Err(Refused::Duplicate)),
            ("break glass", rule(leads(2), false, true), &carol, &carol, vec![], Some("prod is down"), Ok(Outcome::Approved { break_glass: true })),
            ("break glass needs a reason", rule(leads(2), false, true), &carol, &carol, vec![], Some("  "), Err(Refused::BreakGlassReason)),
            ("break glass rule, normal approver", rule(leads(1), false, true), &carol, &alice, vec![], None, Ok(Outcome::Approved { break_glass: false })),
            ("auto takes none", rule(Approval::Auto, false, false), &carol, &alice, vec![], None, Err(Refused::NotApprovable)),
            ("deny takes none", rule(Approval::Deny, false, false), &carol, &alice, vec![], None, Err(Refused::NotApprovable)),
        ];
        for (name, rule, requester, approver, already, reason, want) in cases {
            assert_eq!(approve(&rule, &requester.email, approver, &already, reason), want, "{name}");
        }
    }
}
