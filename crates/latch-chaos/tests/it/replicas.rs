//! Two replicas on one PostgreSQL share the work; one is killed with
//! SIGKILL mid-run and never comes back. The survivor frees what the dead
//! one held (its liveness lock is gone) and finishes it: every request
//! becomes active once and expires once, no access is left in place, none
//! is taken away early.

use std::time::Duration;

use latch_chaos::Journal;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;

use crate::support::{late_revocations, now_ms, Deployment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_run_leaves_every_job_done_exactly_once() {
    let Some(mut d) = Deployment::start("postgres", 2).await else { return };
    let seed = u64::try_from(now_ms()).unwrap_or(0);
    eprintln!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let urls: Vec<String> = d.servers.iter().map(|s| s.url.clone()).collect();
    let kill_after = rng.gen_range(20..60);
    let mut accepted = Vec::new();
    let mut killed_at = None;
    for i in 0..80 {
        if i == kill_after {
            d.servers[0].kill9().unwrap();
            killed_at = Some(now_ms());
        }
        // Before the kill both replicas take requests and approvals; after
        // it, only the survivor.
        let (asker, approver) = if killed_at.is_some() { (1, 1) } else { (i % 2, (i + 1) % 2) };
        let alice = d.alice.on(&urls[asker]);
        let secs = rng.gen_range(1..=3);
        if rng.gen_bool(0.3) {
            let Some(id) = alice.ask(&format!("Approved{}", rng.gen_range(0..2)), &["111111111111"], secs).await else { continue };
            let (status, body) = d.admin.on(&urls[approver]).call(reqwest::Method::POST, &format!("/v1/requests/{id}/approve"), Some(json!({}))).await.unwrap();
            assert_eq!(status, 200, "{body}");
            accepted.push(id);
        } else if let Some(id) = alice.ask(&format!("R{}", rng.gen_range(0..4)), &["111111111111", "222222222222"], secs).await {
            accepted.push(id);
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..80))).await;
    }
    assert_eq!(accepted.len(), 80, "a live replica refused a request");
    d.admin = d.admin.on(&urls[1]);
    let states = {
        let states = d.settle(&accepted, Duration::from_secs(90)).await;
        let journal = Journal::read(&d.journal).unwrap();
        // The survivor looks for dead replicas every second, then works:
        // access the dead replica was about to revoke is late by that much.
        let (late, worst) = late_revocations(&journal, &[(0, i64::MAX)], 2500);
        eprintln!("killed after {kill_after} requests; {} access episodes; worst revocation lag {worst} ms", journal.episodes().len());
        assert!(late.is_empty(), "late revocations:\n{}", late.join("\n"));
        assert!(journal.live().is_empty(), "access left in place: {:?}", journal.live());
        let early = journal.premature_revocations();
        assert!(early.is_empty(), "access taken away while a grant still held it: {early:?}");
        let fresh = |op: &str| journal.records.iter().filter(|r| r.op == op && r.fresh).count();
        assert_eq!(fresh("grant"), fresh("revoke"));
        let active = d.audit_counts("request.active").await;
        let expired = d.audit_counts("request.expired").await;
        for id in &accepted {
            assert_eq!((active.get(id), expired.get(id)), (Some(&1), Some(&1)), "request {id}: active/expired audited other than once");
        }
        assert_eq!(d.jobs_in("dead").await, Vec::<String>::new());
        assert_eq!(d.jobs_in("running").await, Vec::<String>::new());
        states
    };
    let unfinished: Vec<_> = states.iter().filter(|(_, s)| s != "expired").collect();
    assert!(unfinished.is_empty(), "requests that did not end by expiring: {unfinished:?}");
}
