//! Policies and requests: versions, conditional transitions, decisions,
//! filters, org scoping.

use std::time::Duration;

use latch_core::access::lifecycle::{EndReason, State};
use latch_core::access::notice::{self, Notice};
use latch_core::access::request::{Changes, Decision, Effects, Extension, NewRequest, RequestFilter};
use latch_core::audit::NewAuditEvent;
use latch_core::jobs::NewJob;
use latch_core::access::target::{Kind, Level, Target};
use latch_core::store::{AccessStore, AuditStore, JobStore, OrgStore, StoreError, WebhookStore};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn new_request(requester: &str, state: State) -> NewRequest {
    NewRequest {
        id: latch_core::id::new_id("req"),
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
    let r = s.create_request(&a.id, &new_request("alice", State::Pending), T0, &Effects::default()).await.unwrap();
    assert_eq!(s.request(&a.id, &r.id).await.unwrap().as_ref(), Some(&r), "what create returns is what was stored");
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
    // A second approver, earlier in time: decisions come back in time
    // order, each once, next to both targets.
    let d2 = Decision { approver_id: "carol".into(), approver_email: "carol@x.io".into(), decision: "approve".into(), reason: "ok".into(), at: Timestamp(T0.0 - 1) };
    s.add_decision(&a.id, &r.id, &d2).await.unwrap();
    let got = s.request(&a.id, &r.id).await.unwrap().unwrap();
    assert_eq!((got.state, got.end_reason, got.decided_at), (State::Expiring, Some(EndReason::Revoked), Some(T0)));
    assert_eq!(got.decisions, vec![d2, d]);
    assert_eq!(got.targets, r.targets);
}

async fn requests_are_listed_by_requester_and_state(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let r1 = s.create_request(&a.id, &new_request("alice", State::Pending), T0, &Effects::default()).await.unwrap();
    let r2 = s.create_request(&a.id, &new_request("alice", State::Approved), T0.plus(Duration::from_secs(1)), &Effects::default()).await.unwrap();
    assert_eq!(s.request(&a.id, &r2.id).await.unwrap().as_ref(), Some(&r2), "what create returns is what was stored");
    let r3 = s.create_request(&a.id, &new_request("bob", State::Pending), T0.plus(Duration::from_secs(2)), &Effects::default()).await.unwrap();
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

fn job(org: &str, key: &str) -> NewJob {
    NewJob { org_id: org.into(), kind: key.into(), subject: "req".into(), idempotency_key: key.into(), run_at: T0, max_attempts: 3, leased: None }
}

/// A change and what follows from it are one transaction: both or neither.
async fn effects_are_recorded_with_the_change_or_not_at_all(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    // Several events of one change keep their order in the chain.
    let created = Effects::default()
        .audit(NewAuditEvent::new("u", "request.created", "r"))
        .audit(NewAuditEvent::new("system", "first", "r"))
        .audit(NewAuditEvent::new("system", "second", "r"))
        .job(job(&a.id, "timeout"));
    let r = s.create_request(&a.id, &new_request("alice", State::Pending), T0, &created).await.unwrap();
    let approve = Effects::default().audit(NewAuditEvent::new("u", "request.approved", &r.id)).job(job(&a.id, "provision"));
    let changes = Changes { decided_at: Some(T0), effects: approve, ..Changes::default() };
    assert!(s.transition(&a.id, &r.id, State::Pending, State::Approved, &changes, T0).await.unwrap());
    assert_eq!(s.request(&a.id, &r.id).await.unwrap(), Some(r.moved(State::Approved, &changes)), "Request::moved predicts the stored row");
    // The racing loser's effects are not recorded.
    let lost = Changes { effects: Effects::default().audit(NewAuditEvent::new("v", "request.approved", &r.id)).job(job(&a.id, "twice")), ..Changes::default() };
    assert!(!s.transition(&a.id, &r.id, State::Pending, State::Approved, &lost, T0).await.unwrap());
    s.transition(&a.id, &r.id, State::Approved, State::Provisioning, &Changes::default(), T0).await.unwrap();
    let end = T0.plus(Duration::from_secs(60));
    let active = Changes { expires_at: Some(end), ..Changes::default() };
    s.transition(&a.id, &r.id, State::Provisioning, State::Active, &active, T0).await.unwrap();
    let now = s.request(&a.id, &r.id).await.unwrap().unwrap();
    assert_eq!(now.moved(State::Expiring, &Changes { end_reason: Some(EndReason::Revoked), ..Changes::default() }).end_reason, Some(EndReason::Revoked));
    let later = end.plus(Duration::from_secs(60));
    let ext = |from, key: &str| Extension { from, to: later, duration: Duration::from_secs(120), effects: Effects::default().job(job(&a.id, key)).audit(NewAuditEvent::new("u", "request.extended", "r")) };
    assert!(!s.extend(&a.id, &r.id, &ext(T0, "stale"), T0).await.unwrap(), "not its end any more");
    assert!(s.extend(&a.id, &r.id, &ext(end, "expire-later"), T0).await.unwrap());

    let actions: Vec<String> = s.audit_page(&a.id, 0, 100).await.unwrap().into_iter().map(|e| format!("{} {}", e.actor, e.action)).collect();
    assert_eq!(actions, ["u request.created", "system first", "system second", "u request.approved", "u request.extended"]);
    let mut keys = Vec::new();
    while let Some(j) = s.claim("w", T0, T0.plus(Duration::from_secs(30))).await.unwrap() {
        keys.push(j.kind);
    }
    keys.sort();
    assert_eq!(keys, ["expire-later", "provision", "timeout"]);
}

/// A job that makes a change is marked done with it, if its worker still
/// holds it and the change happens.
async fn a_change_can_end_the_job_that_made_it(s: SqlStore) {
    use latch_core::jobs::Lease;
    use latch_core::store::JobStore;
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let r = s.create_request(&a.id, &new_request("alice", State::Approved), T0, &Effects::default().job(job(&a.id, "provision"))).await.unwrap();
    let lease_until = T0.plus(Duration::from_secs(30));
    let j = s.claim("w1", T0, lease_until).await.unwrap().unwrap();
    let lease = |worker: &str| Lease { job_id: j.id.clone(), worker: worker.into() };
    // A change that does not happen ends nothing; nor does another worker's lease.
    let lost = Changes { effects: Effects::default().completing(lease("w1")), ..Changes::default() };
    assert!(!s.transition(&a.id, &r.id, State::Pending, State::Approved, &lost, T0).await.unwrap());
    let other = Changes { effects: Effects::default().completing(lease("w2")), ..Changes::default() };
    assert!(s.transition(&a.id, &r.id, State::Approved, State::Provisioning, &other, T0).await.unwrap());
    assert!(s.heartbeat(&j.id, "w1", lease_until).await.unwrap(), "still running, still w1's");
    let done = Changes { expires_at: Some(lease_until), effects: Effects::default().completing(lease("w1")), ..Changes::default() };
    assert!(s.transition(&a.id, &r.id, State::Provisioning, State::Active, &done, T0).await.unwrap());
    assert!(!s.heartbeat(&j.id, "w1", lease_until).await.unwrap(), "done with the change");
    assert!(!s.complete(&j.id, "w1", T0).await.unwrap(), "done already");
    assert!(s.claim("w1", T0.plus(Duration::from_secs(60)), T0.plus(Duration::from_secs(90))).await.unwrap().is_none(), "never run again");
}

/// Notices are queued with the change they report, once per webhook that
/// wants them, or not at all; each with its delivery job.
async fn notices_are_queued_with_the_change_for_the_webhooks_that_want_them(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    let every = s.create_webhook(&a.id, "https://h.example/1", "generic", "s1", &[], T0).await.unwrap();
    let denials = s.create_webhook(&a.id, "https://h.example/2", "slack", "s2", &["request.denied".to_owned()], T0).await.unwrap();
    s.create_webhook(&b.id, "https://h.example/3", "generic", "s3", &[], T0).await.unwrap();
    let new = new_request("alice", State::Pending);
    let created = Notice::new("request.created", T0, &new.created(&a.id, T0));
    let r = s.create_request(&a.id, &new, T0, &Effects::default().notice(created.clone())).await.unwrap();
    let denied = Notice::new("request.denied", T0, &r.moved(State::Denied, &Changes::default()));
    let deny = Changes { effects: Effects::default().notice(denied.clone()), ..Changes::default() };
    // A transition that does not happen queues nothing.
    assert!(!s.transition(&a.id, &r.id, State::Approved, State::Denied, &deny, T0).await.unwrap());
    assert!(s.transition(&a.id, &r.id, State::Pending, State::Denied, &deny, T0).await.unwrap());

    let mut got = Vec::new();
    while let Some(j) = s.claim("w", T0, T0.plus(Duration::from_secs(30))).await.unwrap() {
        assert_eq!((j.kind.as_str(), j.org_id.as_str(), j.max_attempts), (notice::JOB_KIND, a.id.as_str(), notice::MAX_ATTEMPTS));
        let n = s.notification(&a.id, &j.subject).await.unwrap().expect("the job's notification");
        assert!(n.is_document);
        assert!(s.notification(&b.id, &j.subject).await.unwrap().is_none(), "another org cannot read it");
        got.push((n.webhook.id, n.secret, n.payload));
    }
    got.sort();
    let mut want = vec![(every.id.clone(), "s1".to_owned(), created.document), (every.id, "s1".to_owned(), denied.document.clone()), (denials.id, "s2".to_owned(), denied.document)];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(s.queue_notices(&a.id, &[Notice::new("request.expiring_soon", T0, &r)], T0).await.unwrap(), 1, "only the webhook with no filter");
}

/// A decision made with a transition is recorded only if the request
/// moves, and never replaces the person's first decision.
async fn a_transition_records_its_decision(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let decision = |who: &str, what: &str| Decision { approver_id: who.into(), approver_email: format!("{who}@x.io"), decision: what.into(), reason: format!("{who} says {what}"), at: T0 };
    let r = s.create_request(&a.id, &new_request("alice", State::Pending), T0, &Effects::default()).await.unwrap();
    let approve = |who: &str| Changes { decided_at: Some(T0), decision: Some(decision(who, "approve")), ..Changes::default() };
    assert!(!s.transition(&a.id, &r.id, State::Approved, State::Provisioning, &approve("bob"), T0).await.unwrap());
    assert!(s.request(&a.id, &r.id).await.unwrap().unwrap().decisions.is_empty(), "no move, no decision");
    assert!(s.transition(&a.id, &r.id, State::Pending, State::Approved, &approve("bob"), T0).await.unwrap());
    let got = s.request(&a.id, &r.id).await.unwrap().unwrap();
    assert_eq!(got.decisions, vec![decision("bob", "approve")]);
    assert_eq!(got, r.moved(State::Approved, &approve("bob")), "what the move says it leaves");
    // Carol approved first, then denies: her approval stands.
    let r = s.create_request(&a.id, &new_request("alice", State::Pending), T0, &Effects::default()).await.unwrap();
    s.add_decision(&a.id, &r.id, &decision("carol", "approve")).await.unwrap();
    let deny = Changes { decided_at: Some(T0), decision: Some(decision("carol", "deny")), ..Changes::default() };
    assert!(s.transition(&a.id, &r.id, State::Pending, State::Denied, &deny, T0).await.unwrap());
    assert_eq!(s.request(&a.id, &r.id).await.unwrap().unwrap().decisions, vec![decision("carol", "approve")]);
}

/// A claim may bring the request its job works on, read as
/// `request` reads it (PostgreSQL reads it with the claim); never another
/// org's, and nothing for a subject that is not a request.
async fn a_claim_can_bring_the_jobs_request(s: SqlStore) {
    use latch_core::jobs::Claimed;
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    let r = s.create_request(&a.id, &new_request("alice", State::Pending), T0, &Effects::default()).await.unwrap();
    for who in ["bob", "carol"] {
        let d = Decision { approver_id: who.into(), approver_email: format!("{who}@x.io"), decision: "approve".into(), reason: String::new(), at: T0 };
        s.add_decision(&a.id, &r.id, &d).await.unwrap();
    }
    let on = |org: &str, subject: &str, key: &str| NewJob { org_id: org.into(), kind: "provision".into(), subject: subject.into(), idempotency_key: key.into(), run_at: T0, max_attempts: 3, leased: None };
    for (i, j) in [on(&a.id, &r.id, "1"), on(&b.id, &r.id, "2"), on(&a.id, "ntf_1", "3")].iter().enumerate() {
        s.enqueue(j, T0.plus(Duration::from_millis(u64::try_from(i).unwrap()))).await.unwrap();
    }
    let want = s.request(&a.id, &r.id).await.unwrap().unwrap();
    assert_eq!((want.targets.len(), want.decisions.len()), (2, 2));
    let pg = s.engine_kind() == latch_store::Engine::Postgres;
    let mut seen = Vec::new();
    while let Claimed::Job(j, read) = s.claim_or_next_due("w", T0, T0.plus(Duration::from_secs(30))).await.unwrap() {
        let expect = (pg && j.org_id == a.id && j.subject == r.id).then(|| Box::new(want.clone()));
        assert_eq!(read, expect, "job {} of {}", j.subject, j.org_id);
        seen.push(j.id);
    }
    assert_eq!(seen.len(), 3);
}

crate::conformance!(
    a_claim_can_bring_the_jobs_request,
    a_transition_records_its_decision,
    notices_are_queued_with_the_change_for_the_webhooks_that_want_them,
    effects_are_recorded_with_the_change_or_not_at_all,
    a_change_can_end_the_job_that_made_it,
    policies_are_versioned_per_org,
    requests_round_trip_and_move_only_from_the_expected_state,
    requests_are_listed_by_requester_and_state,
);
