//! Integration calls that never return: each is abandoned after
//! `access.provision_timeout_secs` and retried (calls are idempotent), the
//! other grants and revocations go on meanwhile, and in the end every
//! request was active once and expired once with nothing left in place.

use std::time::Duration;

use latch_chaos::{Faults, Journal};

use crate::support::Deployment;

async fn hung_integration_calls_are_abandoned_and_retried(engine: &str) {
    let Some(d) = Deployment::start_with(engine, 1, &[("LATCH_ACCESS__PROVISION_TIMEOUT_SECS", "1")]).await else { return };
    Faults { hang: 0.2, ..Faults::default() }.set(&d.journal).unwrap();
    let mut accepted = Vec::new();
    for i in 0..24_u64 {
        let id = d.alice.ask(&format!("R{}", i % 5), &["111111111111"], 1 + i % 3).await.expect("the server is up");
        accepted.push(id);
    }
    let states = d.settle(&accepted, Duration::from_secs(120)).await;
    let journal = Journal::read(&d.journal).unwrap();
    let hangs = journal.faults("hang").len();
    eprintln!("{engine}: {hangs} calls hung and were abandoned");
    assert!(hangs > 0, "no call hung: the test proved nothing");
    let unfinished: Vec<_> = states.iter().filter(|(_, s)| s != "expired").collect();
    if !unfinished.is_empty() {
        let log = d.servers[0].log_text();
        eprintln!("server log (last 6000 bytes):\n{}", &log[log.len().saturating_sub(6000)..]);
        eprintln!("jobs running: {:?}\njobs queued: {:?}", d.jobs_in("running").await, d.jobs_in("queued").await);
    }
    assert!(unfinished.is_empty(), "requests that did not end by expiring: {unfinished:?}");
    assert!(journal.live().is_empty(), "access left in place: {:?}", journal.live());
    let early = journal.premature_revocations();
    assert!(early.is_empty(), "access taken away while a grant still held it: {early:?}");
    let active = d.audit_counts("request.active").await;
    let expired = d.audit_counts("request.expired").await;
    for id in &accepted {
        assert_eq!((active.get(id), expired.get(id)), (Some(&1), Some(&1)), "request {id}");
    }
    assert_eq!(d.jobs_in("dead").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hung_integration_calls_are_abandoned_and_retried() {
    hung_integration_calls_are_abandoned_and_retried("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hung_integration_calls_are_abandoned_and_retried() {
    hung_integration_calls_are_abandoned_and_retried("postgres").await;
}
