//! `kill -9` at random points of provisioning and revocation, hundreds of
//! times, plus aborts injected inside the provisioner just before and just
//! after access changes. After every restart, and at the end: no accepted
//! request is lost, no access outlives its end by more than a second of a
//! server being up, no access is taken away while a grant still holds it,
//! and every request became active once and expired once.

use std::time::Duration;

use latch_chaos::{Faults, Journal};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::support::{late_revocations, now_ms, Deployment};

const ACCOUNTS: [&str; 2] = ["111111111111", "222222222222"];

fn trials() -> usize {
    std::env::var("LATCH_CHAOS_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

fn seed() -> u64 {
    let seed = std::env::var("LATCH_CHAOS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| u64::try_from(now_ms()).unwrap_or(0));
    eprintln!("LATCH_CHAOS_SEED={seed}");
    seed
}

async fn kill9_at_random_points_loses_nothing_and_revokes_on_time(engine: &str) {
    let Some(mut d) = Deployment::start(engine, 1).await else { return };
    let mut rng = StdRng::seed_from_u64(seed());
    let faults = Faults { crash_before_grant: 0.02, crash_after_grant: 0.02, crash_before_revoke: 0.02, crash_after_revoke: 0.02, ..Faults::default() };
    let mut accepted: Vec<String> = Vec::new();
    for trial in 0..trials() {
        faults.set(&d.journal).unwrap();
        for _ in 0..rng.gen_range(1..=3) {
            // Three role names for one person: grants overlap and are
            // reference-counted across the crashes.
            let name = format!("R{}", rng.gen_range(0..3));
            let accounts: &[&str] = if rng.gen_bool(0.3) { &ACCOUNTS } else { &ACCOUNTS[..1] };
            if let Some(id) = d.alice.ask(&name, accounts, rng.gen_range(1..=3)).await {
                accepted.push(id);
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1200))).await;
        d.crash_and_restart(0).await;
        // Nothing accepted is lost (the newest ones each time, all at the end).
        for id in accepted.iter().rev().take(6) {
            let got = d.admin.state(id).await;
            assert!(matches!(got, Some((200, _))), "trial {trial}: request {id} was lost after a crash: {got:?}");
        }
    }
    Faults::default().set(&d.journal).unwrap();
    let states = d.settle(&accepted, Duration::from_secs(90)).await;
    let journal = Journal::read(&d.journal).unwrap();
    let runs = d.runs_with_crashes(&journal);
    let (late, worst) = late_revocations(&journal, &runs, 1000);
    eprintln!(
        "{engine}: {} trials, {} requests, {} restarts, {} injected crashes, {} access episodes; worst revocation lag {worst} ms",
        trials(),
        accepted.len(),
        runs.len() - 1,
        journal.crashes().len(),
        journal.episodes().len()
    );
    let unfinished: Vec<_> = states.iter().filter(|(_, s)| s != "expired").collect();
    assert!(unfinished.is_empty(), "requests that did not end by expiring: {unfinished:?}");
    assert!(journal.live().is_empty(), "access left in place: {:?}", journal.live());
    assert!(late.is_empty(), "late revocations:\n{}", late.join("\n"));
    let early = journal.premature_revocations();
    assert!(early.is_empty(), "access taken away while a grant still held it: {early:?}");
    // Each request became active once and ended once, however often it was
    // retried; the journal's fresh grants match its fresh revocations.
    let active = d.audit_counts("request.active").await;
    let expired = d.audit_counts("request.expired").await;
    for id in &accepted {
        assert_eq!((active.get(id), expired.get(id)), (Some(&1), Some(&1)), "request {id}: active/expired audited other than once");
    }
    let fresh = |op: &str| journal.records.iter().filter(|r| r.op == op && r.fresh).count();
    assert_eq!(fresh("grant"), fresh("revoke"));
    assert_eq!(d.jobs_in("dead").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_at_random_points_loses_nothing_and_revokes_on_time() {
    kill9_at_random_points_loses_nothing_and_revokes_on_time("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill9_at_random_points_loses_nothing_and_revokes_on_time() {
    kill9_at_random_points_loses_nothing_and_revokes_on_time("postgres").await;
}
