//! The audit sealer: chains the audit events that changes recorded (in
//! their own transactions, unchained) onto their orgs' chains, soon after
//! they commit. Events recorded while a batch is being sealed form the
//! next batch. Every replica runs one; the store's head lock makes them
//! take turns per org.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// Longest wait between looks (events of other replicas, and any left by a
/// crash, are chained within this).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Shortest time between two seals that found work: under load, events
/// gather into batches this long instead of each seal taking a handful.
/// (Reading the chain seals first, so nobody waits for this.)
const GATHER: Duration = Duration::from_millis(50);

pub(super) async fn seal(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let sealed = match state.store.seal_audit(None).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "could not chain recorded audit events; will retry");
                0
            }
        };
        if *stop.borrow() {
            return;
        }
        if sealed > 0 {
            tokio::select! {
                () = tokio::time::sleep(GATHER) => {}
                _ = stop.changed() => {}
            }
            // Seal what gathered meanwhile (or make the last pass after a stop).
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            () = state.audit_written.notified() => {}
            // One more pass after the stop, so a clean stop leaves nothing waiting.
            _ = stop.changed() => {}
        }
    }
}
