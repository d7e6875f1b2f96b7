//! Retrying AWS while new access propagates: bounded by one deadline for the
//! whole credential exchange, with exponential backoff and jitter, ending in
//! the error people know: `Timed out fetching AWS credentials. Try again...`.

use std::time::Duration;

use tokio::time::Instant;

/// Whether a failure is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It may go away by itself.
    Retry,
    /// It will not.
    Fail,
}

/// The retry budget of one credential exchange.
pub struct Retry {
    deadline: Instant,
    backoff: Duration,
    debug: bool,
    tries: u32,
}

impl Retry {
    /// A budget of `limit`; `debug` prints each failure.
    pub fn new(limit: Duration, debug: bool) -> Retry {
        Retry { deadline: Instant::now() + limit, backoff: Duration::from_millis(200), debug, tries: 0 }
    }

    /// After a failure: returns once it is time to try again, or the error
    /// when it is permanent or the time is up.
    pub async fn after(&mut self, verdict: Verdict, err: anyhow::Error) -> anyhow::Result<()> {
        self.tries += 1;
        if self.debug {
            eprintln!("debug: try {} failed: {err:#}", self.tries);
        }
        if verdict == Verdict::Fail {
            return Err(err);
        }
        let now = Instant::now();
        if now >= self.deadline {
            return Err(err.context("Timed out fetching AWS credentials. Try again..."));
        }
        // Full jitter from the process-unique part of the clock.
        let jitter = u64::from(std::process::id().wrapping_mul(2_654_435_761) ^ self.tries) % 100;
        let wait = (self.backoff + Duration::from_millis(jitter)).min(self.deadline - now);
        tokio::time::sleep(wait).await;
        self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
        Ok(())
    }
}
