//! Jobs: idempotent enqueue, leases that expire, retries, dead letters,
//! concurrent claims taking different jobs; entitlement locks and holders.

use std::collections::HashSet;
use std::time::Duration;

use latch_core::jobs::NewJob;
use latch_core::access::request::{Effects, Move};
use latch_core::store::{Finish, GrantStore, JobStore, OrgStore, Take, Taken};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const SEC: Duration = Duration::from_secs(1);

/// `holder` takes `key` of `u1` for target `idx` of request `rid`, with `first`.
fn take<'a>(org: &'a str, rid: &'a str, idx: i64, key: &'a str, holder: &'a str, now: Timestamp, first: Option<&'a Move>) -> Take<'a> {
    Take { org_id: org, user_id: "u1", key, holder, now, until: now.plus(SEC * 30), request_id: rid, idx, first }
}

/// `holder` records `applied` for `key` of `u1`, with `effects` and `then`.
fn finish<'a>(org: &'a str, key: &'a str, holder: &'a str, applied: &'a str, effects: &'a Effects, then: Option<&'a Move>) -> Finish<'a> {
    Finish { org_id: org, user_id: "u1", key, holder, applied, effects, then, now: T0 }
}

fn job(org: &str, key: &str, run_at: Timestamp) -> NewJob {
    NewJob { org_id: org.into(), kind: "provision".into(), subject: "req_1".into(), idempotency_key: key.into(), run_at, max_attempts: 3, leased: None }
}

async fn jobs_are_leased_retried_and_buried(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    assert!(s.enqueue(&job(&org.id, "k1", T0), T0).await.unwrap());
    assert!(!s.enqueue(&job(&org.id, "k1", T0), T0).await.unwrap(), "same idempotency key");
    assert!(s.enqueue(&job(&org.id, "k2", T0.plus(SEC * 60)), T0).await.unwrap());
    assert_eq!(s.next_due(T0.minus(SEC)).await.unwrap(), Some(T0));
    assert_eq!(s.next_due(T0).await.unwrap(), Some(T0.plus(SEC * 60)), "later than the time asked about");

    let j = s.claim("w1", T0, T0.plus(SEC * 30)).await.unwrap().unwrap();
    assert_eq!((j.attempts, j.state.as_str()), (1, "running"));
    assert!(s.claim("w2", T0, T0.plus(SEC * 30)).await.unwrap().is_none(), "k1 is leased, k2 not due");
    // The worker dies: its lease runs out and another worker takes the job.
    let later = T0.plus(SEC * 31);
    let again = s.claim("w2", later, later.plus(SEC * 30)).await.unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (j.id.as_str(), 2));
    assert!(!s.complete(&j.id, "w1", later).await.unwrap(), "w1 lost the lease");
    assert!(s.heartbeat(&j.id, "w2", later.plus(SEC * 60)).await.unwrap());
    assert!(s.retry(&j.id, "w2", later.plus(SEC * 5), "throttled", later).await.unwrap());
    assert!(s.claim("w2", later, later.plus(SEC * 30)).await.unwrap().is_none(), "backing off");
    let t = later.plus(SEC * 5);
    let third = s.claim("w3", t, t.plus(SEC * 30)).await.unwrap().unwrap();
    assert_eq!(third.last_error.as_deref(), Some("throttled"));
    assert!(s.bury(&third.id, "w3", "gave up", t).await.unwrap());
    let dead = s.dead_jobs(&org.id).await.unwrap();
    assert_eq!((dead.len(), dead[0].last_error.as_deref()), (1, Some("gave up")));
    let k2 = s.claim("w1", T0.plus(SEC * 60), T0.plus(SEC * 90)).await.unwrap().unwrap();
    // Waiting on another change does not use up attempts.
    let t = T0.plus(SEC * 60);
    assert!(s.postpone(&k2.id, "w1", t, t).await.unwrap());
    let k2 = s.claim("w1", t, t.plus(SEC * 30)).await.unwrap().unwrap();
    assert_eq!(k2.attempts, 1, "a postponed attempt is not counted");
    assert!(s.complete(&k2.id, "w1", T0.plus(SEC * 61)).await.unwrap());
    assert_eq!(s.next_due(T0).await.unwrap(), None);
}

async fn concurrent_claims_take_different_jobs(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    for i in 0..40 {
        s.enqueue(&job(&org.id, &format!("k{i}"), T0), T0).await.unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = s.claim(&format!("w{w}"), T0, T0.plus(SEC * 30)).await.unwrap() {
                got.push(j.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (40, 40), "every job claimed exactly once");
}

async fn an_idle_claim_says_when_the_next_job_is_due(s: SqlStore) {
    use latch_core::jobs::Claimed;
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    assert_eq!(s.claim_or_next_due("w1", T0, T0.plus(SEC * 30)).await.unwrap(), Claimed::Idle { next_due: None }, "nothing queued");
    s.enqueue(&job(&org.id, "now", T0), T0).await.unwrap();
    s.enqueue(&job(&org.id, "later", T0.plus(SEC * 60)), T0).await.unwrap();
    let Claimed::Job(j, _) = s.claim_or_next_due("w1", T0, T0.plus(SEC * 30)).await.unwrap() else { panic!("the due job is claimed") };
    assert_eq!((j.run_at == T0, j.state.as_str(), j.attempts), (true, "running", 1));
    assert_eq!(s.claim_or_next_due("w2", T0, T0.plus(SEC * 30)).await.unwrap(), Claimed::Idle { next_due: Some(T0.plus(SEC * 60)) });
    // A lapsed lease is claimed like a due job.
    let Claimed::Job(again, _) = s.claim_or_next_due("w2", T0.plus(SEC * 31), T0.plus(SEC * 61)).await.unwrap() else { panic!("the lapsed lease is taken over") };
    assert_eq!((again.id, again.attempts), (j.id, 2));
}

async fn entitlement_locks_exclude_and_expire(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let until = T0.plus(SEC * 30);
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_a", T0, until).await.unwrap(), Some(None));
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_b", T0, until).await.unwrap(), None, "held by a");
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_a", T0, until).await.unwrap(), Some(None), "re-entrant");
    assert!(!s.finish_grant(&finish(&org.id, "k", "job_a", r#"{"policy":"p"}"#, &Effects::default(), None)).await.unwrap(), "no move asked");
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_b", T0, until).await.unwrap(), Some(Some(r#"{"policy":"p"}"#.into())));
    // b crashes holding it; after the lease, c gets it.
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_c", T0.plus(SEC), until).await.unwrap(), None);
    assert!(s.lock_entitlement(&org.id, "u1", "k", "job_c", until.plus(SEC), until.plus(SEC * 30)).await.unwrap().is_some());
    s.drop_entitlement(&org.id, "u1", "k", "job_c").await.unwrap();
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_d", T0, until).await.unwrap(), Some(None), "forgotten");
}

async fn finishing_a_grant_records_it_audits_it_and_unlocks(s: SqlStore) {
    use latch_core::audit::NewAuditEvent;
    use latch_core::store::AuditStore;
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let until = T0.plus(SEC * 30);
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_a", T0, until).await.unwrap(), Some(None));
    let applied = Effects::default().audit(NewAuditEvent::new("system", "grant.applied", "req_1"));
    s.finish_grant(&finish(&org.id, "k", "job_a", r#"{"p":1}"#, &applied, None)).await.unwrap();
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_b", T0, until).await.unwrap(), Some(Some(r#"{"p":1}"#.into())), "unlocked, with what was applied");
    // a finishes late, after b took the lapsed lock over: what a applied is
    // recorded, and b keeps the lock.
    s.finish_grant(&finish(&org.id, "k", "job_a", r#"{"p":2}"#, &Effects::default(), None)).await.unwrap();
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_c", T0.plus(SEC), until).await.unwrap(), None, "still b's");
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_b", T0, until).await.unwrap(), Some(Some(r#"{"p":2}"#.into())));
    // Finishing an entitlement that does not exist records nothing.
    s.finish_grant(&finish(&org.id, "other", "job_a", "{}", &applied, None)).await.unwrap();
    let actions: Vec<String> = s.audit_page(&org.id, 0, 100).await.unwrap().into_iter().map(|r| r.action).filter(|a| a.starts_with("grant.")).collect();
    assert_eq!(actions, ["grant.applied"]);
}

/// A job queued leased (as a replica hands itself a job it runs at once)
/// is its holder's: no worker claims it while the lease lasts, the holder
/// heartbeats and completes it, and once the lease lapses (the holder
/// died) any worker claims it, its first attempt counted. Queued alone or
/// with a change (one statement on PostgreSQL), alike.
async fn a_job_queued_leased_is_its_holders_until_the_lease_lapses(s: SqlStore) {
    use latch_core::jobs::{Lease, Leased};
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let leased = |key: &str, id: &str, holder: &str| NewJob {
        leased: Some(Leased { lease: Lease { job_id: id.into(), worker: holder.into() }, until: T0.plus(SEC * 30) }),
        ..job(&org.id, key, T0)
    };
    assert!(s.enqueue(&leased("k1", "job_1", "wrk_a-h0"), T0).await.unwrap());
    let (j, lease) = leased("k1", "job_1", "wrk_a-h0").as_leased().unwrap();
    assert_eq!((j.id.as_str(), j.attempts, j.state.as_str(), lease.worker.as_str()), ("job_1", 1, "running", "wrk_a-h0"));
    // Queued with a change: here, the record of a grant.
    let until = T0.plus(SEC * 30);
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "wrk_a-h1", T0, until).await.unwrap(), Some(None));
    let effects = Effects::default().job(leased("k2", "job_2", "wrk_a-h1"));
    s.finish_grant(&finish(&org.id, "k", "wrk_a-h1", "{}", &effects, None)).await.unwrap();

    assert!(s.claim("w1", T0, T0.plus(SEC * 30)).await.unwrap().is_none(), "both are leased");
    assert!(s.heartbeat("job_1", "wrk_a-h0", T0.plus(SEC * 60)).await.unwrap());
    assert!(!s.heartbeat("job_1", "w1", T0.plus(SEC * 60)).await.unwrap(), "not w1's");
    assert!(s.complete("job_1", "wrk_a-h0", T0).await.unwrap());
    // The other's holder never got to it: after its lease, anyone may.
    let later = T0.plus(SEC * 31);
    let taken = s.claim("w1", later, later.plus(SEC * 30)).await.unwrap().expect("the lapsed lease is free");
    assert_eq!((taken.id.as_str(), taken.attempts), ("job_2", 2));
    assert!(!s.complete("job_2", "wrk_a-h1", later).await.unwrap(), "the holder lost it");
    assert!(s.claim("w2", later, later.plus(SEC * 30)).await.unwrap().is_none(), "job_1 is done");
}

async fn grants_count_holders_idempotently(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    // Requests must exist for the foreign key.
    let (r1, r2) = (approved(&s, &org.id).await, approved(&s, &org.id).await);
    let held = Taken::Held(None);
    assert_eq!(s.take_entitlement(&take(&org.id, &r1.id, 0, "k", "job_a", T0, None)).await.unwrap(), held);
    assert_eq!(s.take_entitlement(&take(&org.id, &r1.id, 0, "k", "job_a", T0, None)).await.unwrap(), held, "again");
    assert_eq!(s.take_entitlement(&take(&org.id, &r2.id, 0, "k", "job_a", T0, None)).await.unwrap(), held);
    assert_eq!(s.holders(&org.id, "u1", "k").await.unwrap(), 2);
    // The key a grant was first held under is kept: holding it again under
    // another key changes nothing.
    assert_eq!(s.take_entitlement(&take(&org.id, &r1.id, 0, "other", "job_a", T0, None)).await.unwrap(), held);
    assert_eq!(s.grant_key(&org.id, &r1.id, 0).await.unwrap().as_deref(), Some("k"));
    assert_eq!(s.grant_key(&org.id, &r1.id, 1).await.unwrap(), None);
    assert_eq!(s.grant_key("another-org", &r1.id, 0).await.unwrap(), None);
    s.release_grant(&org.id, &r1.id, 0, T0).await.unwrap();
    s.release_grant(&org.id, &r1.id, 0, T0).await.unwrap();
    assert_eq!(s.holders(&org.id, "u1", "k").await.unwrap(), 1);
    s.release_grant(&org.id, &r2.id, 0, T0).await.unwrap();
    assert_eq!(s.holders(&org.id, "u1", "k").await.unwrap(), 0);
}

/// A request for the move tests: `u1`'s, approved, one target.
async fn approved(s: &SqlStore, org: &str) -> latch_core::access::request::Request {
    use latch_core::access::lifecycle::State;
    use latch_core::access::request::NewRequest;
    use latch_core::store::AccessStore;
    let new = NewRequest {
        id: latch_core::id::new_id("req"),
        requester_id: "u1".into(),
        requester_email: "u1@x.io".into(),
        rule: "r".into(),
        policy_version: 1,
        reason: String::new(),
        duration: SEC * 60,
        state: State::Approved,
        pending_until: T0,
        targets: vec![],
    };
    s.create_request(org, &new, T0, &Effects::default()).await.unwrap()
}

/// Taking an entitlement with a move: the move, the lock and the hold
/// happen together; a stale move does nothing at all; a busy lock still
/// lets the move happen.
async fn taking_an_entitlement_moves_locks_and_holds(s: SqlStore) {
    use latch_core::access::lifecycle::State;
    use latch_core::access::request::Changes;
    use latch_core::audit::NewAuditEvent;
    use latch_core::store::{AccessStore, AuditStore};
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let r = approved(&s, &org.id).await;
    let start = Move { id: r.id.clone(), from: State::Approved, to: State::Provisioning, changes: Changes { effects: Effects::default().audit(NewAuditEvent::new("system", "request.provisioning", &r.id)), ..Changes::default() } };
    assert_eq!(s.take_entitlement(&take(&org.id, &r.id, 0, "k", "job_a", T0, Some(&start))).await.unwrap(), Taken::Held(None));
    assert_eq!(s.request(&org.id, &r.id).await.unwrap().unwrap().state, State::Provisioning);
    assert_eq!(s.grant_key(&org.id, &r.id, 0).await.unwrap().as_deref(), Some("k"));
    // The same move again is stale: no lock, no hold, no audit.
    assert_eq!(s.take_entitlement(&take(&org.id, &r.id, 1, "k2", "job_b", T0, Some(&start))).await.unwrap(), Taken::Stale);
    assert_eq!(s.grant_key(&org.id, &r.id, 1).await.unwrap(), None, "nothing held");
    assert!(s.lock_entitlement(&org.id, "u1", "k2", "job_c", T0, T0.plus(SEC)).await.unwrap().is_some(), "nothing locked");
    // A live lock of another holder: busy, nothing held, the move made.
    let onward = Move { id: r.id.clone(), from: State::Provisioning, to: State::Failed, changes: Changes::default() };
    assert_eq!(s.take_entitlement(&take(&org.id, &r.id, 2, "k", "job_b", T0, Some(&onward))).await.unwrap(), Taken::Busy);
    assert_eq!(s.grant_key(&org.id, &r.id, 2).await.unwrap(), None);
    assert_eq!(s.request(&org.id, &r.id).await.unwrap().unwrap().state, State::Failed);
    let actions: Vec<String> = s.audit_page(&org.id, 0, 100).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["request.provisioning"]);
    // Another org's request is never moved.
    let other = s.create_org("other", "Other", T0).await.unwrap();
    let theirs = approved(&s, &other.id).await;
    let start = Move { id: theirs.id.clone(), ..start };
    assert_eq!(s.take_entitlement(&take(&org.id, &theirs.id, 0, "k3", "job_a", T0, Some(&start))).await.unwrap(), Taken::Stale);
    assert_eq!(s.request(&other.id, &theirs.id).await.unwrap().unwrap().state, State::Approved);
}

/// Finishing a grant with a move: both in one transaction, each audit
/// event only with its own change, in order; a stale move still records
/// what was applied and unlocks.
async fn finishing_a_grant_can_move_the_request(s: SqlStore) {
    use latch_core::access::lifecycle::State;
    use latch_core::access::request::Changes;
    use latch_core::audit::NewAuditEvent;
    use latch_core::store::{AccessStore, AuditStore};
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let r = approved(&s, &org.id).await;
    let start = Move { id: r.id.clone(), from: State::Approved, to: State::Provisioning, changes: Changes::default() };
    assert_eq!(s.take_entitlement(&take(&org.id, &r.id, 0, "k", "job_a", T0, Some(&start))).await.unwrap(), Taken::Held(None));
    let applied = Effects::default().audit(NewAuditEvent::new("system", "grant.applied", &r.id));
    let activate = Move {
        id: r.id.clone(),
        from: State::Provisioning,
        to: State::Active,
        changes: Changes {
            expires_at: Some(T0.plus(SEC * 60)),
            effects: Effects::default().audit(NewAuditEvent::new("system", "request.active", &r.id)).job(job(&org.id, "expire:1", T0.plus(SEC * 60))),
            ..Changes::default()
        },
    };
    assert!(s.finish_grant(&finish(&org.id, "k", "job_a", r#"{"p":1}"#, &applied, Some(&activate))).await.unwrap());
    let now = s.request(&org.id, &r.id).await.unwrap().unwrap();
    assert_eq!((now.state, now.expires_at), (State::Active, Some(T0.plus(SEC * 60))));
    assert_eq!(s.next_due(T0).await.unwrap(), Some(T0.plus(SEC * 60)), "the move's job is queued");
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_b", T0, T0.plus(SEC)).await.unwrap(), Some(Some(r#"{"p":1}"#.into())), "unlocked");
    // Again: the move is stale, what was applied is still recorded.
    let again = Effects::default().audit(NewAuditEvent::new("system", "grant.already_applied", &r.id));
    assert!(!s.finish_grant(&finish(&org.id, "k", "job_b", r#"{"p":2}"#, &again, Some(&activate))).await.unwrap());
    assert_eq!(s.lock_entitlement(&org.id, "u1", "k", "job_c", T0, T0.plus(SEC)).await.unwrap(), Some(Some(r#"{"p":2}"#.into())));
    let actions: Vec<String> = s.audit_page(&org.id, 0, 100).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["grant.applied", "request.active", "grant.already_applied"]);
}

async fn done_jobs_are_forgotten_once_old(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    // Queues a job under `key` at `at`, runs it and completes it (or buries it).
    async fn run(s: &SqlStore, org: &str, key: &str, at: Timestamp, bury: bool) {
        assert!(s.enqueue(&job(org, key, at), at).await.unwrap());
        let j = s.claim("w1", at, at.plus(SEC * 30)).await.unwrap().unwrap();
        assert!(if bury { s.bury(&j.id, "w1", "gave up", at).await } else { s.complete(&j.id, "w1", at).await }.unwrap());
    }
    run(&s, &org.id, "old", T0, false).await;
    run(&s, &org.id, "dead", T0, true).await;
    run(&s, &org.id, "recent", T0.plus(SEC * 100), false).await;
    assert!(s.enqueue(&job(&org.id, "queued", T0), T0).await.unwrap());
    let running = s.claim("w2", T0, T0.plus(SEC * 30)).await.unwrap().unwrap();
    assert!(s.enqueue(&job(&org.id, "later", T0.plus(SEC * 3600)), T0).await.unwrap());
    // Only what was done before the cut.
    assert_eq!(s.forget_done(T0.plus(SEC * 50), 100).await.unwrap(), 1);
    assert!(s.enqueue(&job(&org.id, "old", T0.plus(SEC * 7200)), T0).await.unwrap(), "its key went with it");
    assert!(!s.enqueue(&job(&org.id, "recent", T0), T0).await.unwrap(), "a recent key is still known");
    // At most `limit` at a time; dead, running and queued jobs stay.
    run(&s, &org.id, "also-old", T0.plus(SEC), false).await;
    assert_eq!(s.forget_done(T0.plus(SEC * 200), 1).await.unwrap(), 1);
    assert_eq!(s.forget_done(T0.plus(SEC * 200), 100).await.unwrap(), 1);
    assert_eq!(s.forget_done(T0.plus(SEC * 99_999), 100).await.unwrap(), 0);
    assert_eq!(s.dead_jobs(&org.id).await.unwrap().len(), 1);
    assert!(s.complete(&running.id, "w2", T0).await.unwrap(), "a running job is still its worker's");
    assert_eq!(s.next_due(T0).await.unwrap(), Some(T0.plus(SEC * 3600)));
}

crate::conformance!(
    done_jobs_are_forgotten_once_old,
    taking_an_entitlement_moves_locks_and_holds,
    finishing_a_grant_can_move_the_request,
    jobs_are_leased_retried_and_buried,
    concurrent_claims_take_different_jobs,
    an_idle_claim_says_when_the_next_job_is_due,
    entitlement_locks_exclude_and_expire,
    finishing_a_grant_records_it_audits_it_and_unlocks,
    grants_count_holders_idempotently,
    a_job_queued_leased_is_its_holders_until_the_lease_lapses,
);
