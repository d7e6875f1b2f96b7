//! Prometheus metrics: request counts by route and status class, latency
//! histogram, and a build-info gauge. In-process counters are per replica,
//! which is what Prometheus expects (it sums across instances).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Series>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let s = m.entry(route.to_owned()).or_default();
            s.count += 1;
            s.sum += secs;
            for (i, le) in BUCKETS.iter().enumerate() {
                if secs <= *le {
                    if let Some(b) = s.buckets.get_mut(i) {
                        *b += 1;
                    }
                }
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP latch_build_info Latch version.\n# TYPE latch_build_info gauge");
        let _ = writeln!(out, "latch_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "# HELP latch_http_requests_total HTTP requests served.\n# TYPE latch_http_requests_total counter");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(out, "latch_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(out, "# HELP latch_http_request_duration_seconds Time to serve a request.\n# TYPE latch_http_request_duration_seconds histogram");
        if let Ok(m) = self.latency.lock() {
            for (route, s) in m.iter() {
                for (le, n) in BUCKETS.iter().zip(s.buckets.iter()) {
                    let _ = writeln!(out, "latch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {n}");
                }
                let _ = writeln!(out, "latch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", s.count);
                let _ = writeln!(out, "latch_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", s.sum);
                let _ = writeln!(out, "latch_http_request_duration_seconds_count{{route=\"{route}\"}} {}", s.count);
            }
        }
        out
    }
}

/// Middleware recording every request under its route template (never the
/// raw path, which would carry ids and blow up cardinality).
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    state.metrics.record(&method, &route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.record("GET", "/v1/me", 200, 0.002);
        m.record("GET", "/v1/me", 200, 0.3);
        let text = m.render();
        assert!(text.contains("latch_http_requests_total{method=\"GET\",route=\"/v1/me\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("latch_http_request_duration_seconds_bucket{route=\"/v1/me\",le=\"0.0025\"} 1"));
        assert!(text.contains("latch_http_request_duration_seconds_count{route=\"/v1/me\"} 2"));
    }
}
