//! Retrying AWS calls that were throttled or failed in transit, with
//! exponential backoff and full jitter (on top of the SDK's own few tries).

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;

use crate::error::AwsError;

/// Tries a call this many times in all.
pub const ATTEMPTS: u32 = 8;
const BASE: Duration = Duration::from_millis(200);
const CAP: Duration = Duration::from_secs(20);

/// The wait before try `attempt` (1-based retries): uniformly random up to
/// `min(CAP, BASE * 2^attempt)`.
pub fn backoff(attempt: u32, unit: f64) -> Duration {
    let ceiling = BASE.saturating_mul(2u32.saturating_pow(attempt)).min(CAP);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// Runs `call` until it succeeds, fails for a reason retrying cannot fix,
/// or has been tried [`ATTEMPTS`] times.
pub async fn with_backoff<T, F, Fut>(mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt + 1 < ATTEMPTS => {
                attempt += 1;
                let unit: f64 = rand::thread_rng().gen();
                tokio::time::sleep(backoff(attempt, unit)).await;
            }
            other => return other,
        }
    }
}

/// Every item of a token-paged list, each page fetched with backoff:
/// `fetch` takes the page's token and returns its items and the next token.
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (items, next) = with_backoff(|| fetch(token.clone())).await?;
        out.extend(items);
        match next {
            Some(n) => token = Some(n),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::{backoff, with_backoff, ATTEMPTS};
    use crate::error::AwsError;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(3, 1.0), Duration::from_millis(1600));
        assert_eq!(backoff(30, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(3, 0.0), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_and_refusals_are_not() {
        let calls = AtomicU32::new(0);
        let ok = with_backoff(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 { Err(AwsError::Unavailable("Throttling".into())) } else { Ok(7) }
        })
        .await;
        assert_eq!(ok, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        let calls = AtomicU32::new(0);
        let denied: Result<(), _> = with_backoff(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(AwsError::AccessDenied { action: "iam:ListUsers".into() })
        })
        .await;
        assert!(denied.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = AtomicU32::new(0);
        let storm: Result<(), _> = with_backoff(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(AwsError::Unavailable("Throttling".into()))
        })
        .await;
        assert!(storm.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }
}
