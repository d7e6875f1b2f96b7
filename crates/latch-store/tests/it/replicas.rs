//! Replica liveness: the work a crashed replica held (job leases,
//! entitlement locks) is freed as soon as another replica looks, long
//! before the leases lapse; live replicas are never reaped.

use std::time::Duration;

use latch_core::jobs::NewJob;
use latch_core::store::{GrantStore, JobStore, OrgStore, ReplicaStore, StoreError};
use latch_core::Timestamp;
use latch_store::{connect, StoreOptions};

const T0: Timestamp = Timestamp(1_700_000_000_000);
const LEASE: Duration = Duration::from_secs(30);

async fn a_crashed_replicas_work_is_freed_at_once(engine: &str) {
    let Some((url, _keep)) = crate::engines::url(engine).await else { return };
    let a = connect(&url, &StoreOptions::default()).await.unwrap();
    let b = connect(&url, &StoreOptions::default()).await.unwrap();
    let org = a.create_org("acme", "Acme", T0).await.unwrap();
    a.join("wrk_a", T0).await.unwrap();
    b.join("wrk_b", T0).await.unwrap();
    assert!(matches!(b.join("wrk_a", T0).await, Err(StoreError::Conflict)), "a live replica's id is taken");

    let job = NewJob { org_id: org.id.clone(), kind: "expire".into(), subject: "req_1".into(), idempotency_key: "k1".into(), run_at: T0, max_attempts: 5, leased: None };
    a.enqueue(&job, T0).await.unwrap();
    let held = a.claim("wrk_a-0", T0, T0.plus(LEASE)).await.unwrap().unwrap();
    assert!(a.lock_entitlement(&org.id, "u1", "aws/1/role/R/", "wrk_a-1", T0, T0.plus(LEASE)).await.unwrap().is_some());
    // A look while `a` lives changes nothing.
    assert!(b.reap(T0).await.unwrap().is_empty());
    assert!(b.claim("wrk_b-0", T0, T0.plus(LEASE)).await.unwrap().is_none());
    assert!(b.lock_entitlement(&org.id, "u1", "aws/1/role/R/", "wrk_b-1", T0, T0.plus(LEASE)).await.unwrap().is_none());

    // `a` dies without stopping cleanly: its liveness lock goes with it.
    drop(a);
    let mut reaped = Vec::new();
    for _ in 0..100 {
        reaped = b.reap(T0).await.unwrap();
        if !reaped.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reaped, ["wrk_a"]);
    // Well inside the dead lease, the job and the entitlement are free.
    let t = T0.plus(Duration::from_secs(1));
    let again = b.claim("wrk_b-0", t, t.plus(LEASE)).await.unwrap().expect("the dead replica's job is free");
    assert_eq!((again.id.as_str(), again.attempts), (held.id.as_str(), 2));
    assert!(b.lock_entitlement(&org.id, "u1", "aws/1/role/R/", "wrk_b-1", t, t.plus(LEASE)).await.unwrap().is_some());

    // Neither the live replica nor one that left cleanly is reaped.
    assert!(b.reap(t).await.unwrap().is_empty());
    let c = connect(&url, &StoreOptions::default()).await.unwrap();
    c.join("wrk_c", t).await.unwrap();
    c.leave("wrk_c").await.unwrap();
    assert!(b.reap(t).await.unwrap().is_empty());
    // Reaping a replica leaves alone one whose name merely starts like it.
    c.join("wrk_b2", t).await.unwrap();
    c.enqueue(&NewJob { idempotency_key: "k2".into(), ..job }, t).await.unwrap();
    let theirs = c.claim("wrk_b2-0", t, t.plus(LEASE)).await.unwrap().unwrap();
    drop(b);
    let mut reaped = Vec::new();
    for _ in 0..100 {
        reaped = c.reap(t).await.unwrap();
        if !reaped.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reaped, ["wrk_b"]);
    assert!(c.complete(&theirs.id, "wrk_b2-0", t).await.unwrap(), "the lease of wrk_b2 survived");
    assert_eq!(c.claim("wrk_b2-1", t, t.plus(LEASE)).await.unwrap().map(|j| j.id), Some(again.id), "wrk_b's job is free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_crashed_replicas_work_is_freed_at_once() {
    a_crashed_replicas_work_is_freed_at_once("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_crashed_replicas_work_is_freed_at_once() {
    a_crashed_replicas_work_is_freed_at_once("postgres").await;
}
