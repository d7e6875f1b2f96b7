//! Policies and requests: versions, conditional transitions, decisions,
//! filters, org scoping.

use std::time::Duration;

use latch_core::access::lifecycle::{EndReason, State};
use latch_core::access::request::{Changes, Decision, NewRequest, RequestFilter};
use latch_core::access::target::{Kind, Level, Target};
use latch_core::store::{AccessStore, OrgStore, StoreError};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn new_request(requester: &str, state: State) -> NewRequest {
    NewRequest {
        requester_id: requester.into(),
        requester_email: format!("{requester}@x.io"),
        rule: "r1".into(),
        policy_version: 1,
        reason: "debugging".into(),
        duration: Duration::from_secs(3600),
        state,
        pending_until: T0.plus(Duration::from_secs(86_400)),
        targets: vec![
            Target { integration: "aws".into(), account: "111111111111".into(), kind: Kind::Role, name: "Admin".into(), level: None },
            Target { integration: "aws".into(), account: "222222222222".into(), kind: Kind::Resource, name: "arn:aws:s3:::b".into(), level: Some(Level::Read) },
        ],
    }
}

async fn policies_are_versioned_per_org(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    assert!(s.current_policy(&a.id).await.unwrap().is_none());
    assert_eq!(s.put_policy(&a.id, "v1", "usr_1", T0).await.unwrap(), 1);
    assert_eq!(s.put_policy(&a.id, "v2", "usr_1", T0).await.unwrap(), 2);
    assert_eq!(s.put_policy(&b.id, "b1", "usr_2", T0).await.unwrap(), 1);
    assert_eq!(s.current_policy(&a.id).await.unwrap(), Some((2, "v2".into())));
    assert_eq!(s.current_policy(&b.id).await.unwrap(), Some((1, "b1".into())));
    assert_eq!(s.policy_version(&a.id, 1).await.unwrap().as_deref(), Some("v1"));
    assert_eq!(s.policy_version(&b.id, 2).await.unwrap(), None);
}

async fn requests_round_trip_and_move_only_from_the_expected_state(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    let r = s.create_request(&a.id, &new_request("alice", State::Pending), T0).await.unwrap();
    assert_eq!(r.targets.len(), 2);
    assert_eq!(r.targets[1].level, Some(Level::Read));
    assert_eq!((r.state, r.decided_at, r.expires_at), (State::Pending, None, None));
    assert!(s.request(&b.id, &r.id).await.unwrap().is_none(), "other org");
    assert!(!s.transition(&b.id, &r.id, State::Pending, State::Approved, &Changes::default(), T0).await.unwrap(), "other org");

    let d = Decision { approver_id: "bob".into(), approver_email: "bob@x.io".into(), decision: "approve".into(), reason: String::new(), at: T0 };
    s.add_decision(&a.id, &r.id, &d).await.unwrap();
    assert!(matches!(s.add_decision(&a.id, &r.id, &d).await, Err(StoreError::Conflict)));
    assert!(matches!(s.add_decision(&b.id, &r.id, &d).await, Err(StoreError::NotFound)));

    let approved = Changes { decided_at: Some(T0), ..Changes::default() };
    assert!(s.transition(&a.id, &r.id, State::Pending, State::Approved, &approved, T0).await.unwrap());
    // A racing second approval finds it no longer pending.
    assert!(!s.transition(&a.id, &r.id, State::Pending, State::Approved, &approved, T0).await.unwrap());
    let end = Changes { end_reason: Some(EndReason::Revoked), ..Changes::default() };
    assert!(s.transition(&a.id, &r.id, State::Approved, State::Expiring, &end, T0).await.unwrap());
    let got = s.request(&a.id, &r.id).await.unwrap().unwrap();
    assert_eq!((got.state, got.end_reason, got.decided_at), (State::Expiring, Some(EndReason::Revoked), Some(T0)));
    assert_eq!(got.decisions, vec![d]);
}

async fn requests_are_listed_by_requester_and_state(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let r1 = s.create_request(&a.id, &new_request("alice", State::Pending), T0).await.unwrap();
    let r2 = s.create_request(&a.id, &new_request("alice", State::Approved), T0.plus(Duration::from_secs(1))).await.unwrap();
    let r3 = s.create_request(&a.id, &new_request("bob", State::Pending), T0.plus(Duration::from_secs(2))).await.unwrap();
    assert_eq!(r2.decided_at, Some(T0.plus(Duration::from_secs(1))));
    let ids = |v: Vec<latch_core::access::request::Request>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = s.list_requests(&a.id, &RequestFilter::default()).await.unwrap();
    assert_eq!(ids(all.clone()), [r3.id.clone(), r2.id.clone(), r1.id.clone()]);
    assert!(all.iter().all(|r| r.targets.len() == 2));
    let mine = RequestFilter { requester_id: Some("alice".into()), ..RequestFilter::default() };
    assert_eq!(ids(s.list_requests(&a.id, &mine).await.unwrap()), [r2.id.clone(), r1.id.clone()]);
    let pending = RequestFilter { states: vec![State::Pending], ..RequestFilter::default() };
    assert_eq!(ids(s.list_requests(&a.id, &pending).await.unwrap()), [r3.id, r1.id]);
}

crate::conformance!(
    policies_are_versioned_per_org,
    requests_round_trip_and_move_only_from_the_expected_state,
    requests_are_listed_by_requester_and_state,
);
