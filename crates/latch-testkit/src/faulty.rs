//! A faulty proxy in front of the AWS API. It answers some requests with an
//! error (in the protocol the request used) instead of forwarding them:
//! - a share of them with AWS's throttling error, so tests can prove that
//!   Latch retries, finishes, and leaves nothing half-done in a throttling
//!   storm ([`FaultyProxy::start`]);
//! - every one after the first `n`, so tests can stop Latch's work after
//!   any AWS call, as a crash would, and prove that doing it again converges
//!   ([`FaultyProxy::cut_after`]).
//!
//! One request per connection: the proxy forwards the request bytes
//! unchanged (the SigV4 signature covers them, `Host` included), asks the
//! upstream to close after answering, and copies the answer back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct FaultyProxy {
    /// The endpoint to give the SDK instead of the upstream's.
    pub endpoint: String,
    throttled: Arc<AtomicU64>,
    forwarded: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultyProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:PORT`), throttling
    /// `percent`% of requests (a fixed pseudo-random sequence from `seed`).
    pub async fn start(upstream: &str, percent: u64, seed: u64) -> anyhow::Result<Self> {
        Self::run(upstream, move |n| (splitmix(seed.wrapping_add(n)) % 100 < percent).then_some(Refusal::Throttle)).await
    }

    /// Proxies the first `n` requests to `upstream` and refuses every later
    /// one with an error no retry gets past: the AWS side of a process that
    /// stopped after its `n`-th call.
    pub async fn cut_after(upstream: &str, n: u64) -> anyhow::Result<Self> {
        Self::run(upstream, move |i| (i >= n).then_some(Refusal::Cut)).await
    }

    async fn run(upstream: &str, refuse: impl Fn(u64) -> Option<Refusal> + Send + Sync + 'static) -> anyhow::Result<Self> {
        let refuse = Arc::new(refuse);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let (throttled, forwarded) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let counter = Arc::new(AtomicU64::new(0));
        let (t, f) = (throttled.clone(), forwarded.clone());
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (upstream, counter, t, f, refuse) = (upstream.clone(), counter.clone(), t.clone(), f.clone(), refuse.clone());
                tokio::spawn(async move {
                    // Numbered in the order connections arrive (one request each).
                    let refusal = refuse(counter.fetch_add(1, Ordering::SeqCst));
                    let _ = serve(conn, &upstream, refusal).await;
                    if refusal.is_some() { t.fetch_add(1, Ordering::SeqCst) } else { f.fetch_add(1, Ordering::SeqCst) };
                });
            }
        });
        Ok(Self { endpoint, throttled, forwarded, task })
    }

    /// (refused, forwarded) so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.throttled.load(Ordering::SeqCst), self.forwarded.load(Ordering::SeqCst))
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Reads one request (head + Content-Length body).
async fn read_request(conn: &mut TcpStream) -> anyhow::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = conn.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "client closed");
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "client closed mid-body");
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    Ok((head, buf))
}

/// How a request is refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// AWS's throttling error: retried by the SDK and by Latch.
    Throttle,
    /// A client error of no known kind: nothing retries it.
    Cut,
}

async fn serve(mut conn: TcpStream, upstream: &str, refusal: Option<Refusal>) -> anyhow::Result<()> {
    let (head, raw) = read_request(&mut conn).await?;
    if let Some(refusal) = refusal {
        let (code, json_code, message) = match refusal {
            Refusal::Throttle => ("Throttling", "ThrottlingException", "Rate exceeded"),
            Refusal::Cut => ("LatchTestCut", "LatchTestCut", "the test stopped the work here"),
        };
        // The JSON protocols (Identity Center, Organizations, tagging) name
        // the error in a header; the query protocols (IAM, STS) in XML;
        // restJson1 (Resource Explorer, Lambda) has no target header,
        // and answers throttling with 429; S3's REST-XML answers it with
        // 503 `SlowDown` in a bare `<Error>`.
        let lines: Vec<String> = head.lines().map(str::to_ascii_lowercase).collect();
        // A query-protocol call always posts a form; what is neither that,
        // nor JSON 1.1, nor S3 is restJson1 (Lambda's bodiless GETs too).
        let json = lines.iter().any(|l| l.starts_with("x-amz-target:"));
        let form = lines.iter().any(|l| l.starts_with("content-type:") && l.contains("x-www-form-urlencoded"));
        let s3 = !json && !form && lines.iter().any(|l| l.starts_with("x-amz-content-sha256:"));
        let rest_json = !json && !form && !s3;
        let (status, ctype, extra, body) = if json {
            ("400 Bad Request", "application/x-amz-json-1.1", format!("x-amzn-ErrorType: {json_code}\r\n"), format!(r#"{{"__type":"{json_code}","message":"{message}"}}"#))
        } else if rest_json {
            let status = match refusal {
                Refusal::Throttle => "429 Too Many Requests",
                Refusal::Cut => "400 Bad Request",
            };
            (status, "application/json", format!("x-amzn-ErrorType: {json_code}\r\n"), format!(r#"{{"Message":"{message}"}}"#))
        } else if s3 {
            let (status, code) = match refusal {
                Refusal::Throttle => ("503 Slow Down", "SlowDown"),
                Refusal::Cut => ("400 Bad Request", code),
            };
            (status, "application/xml", String::new(), format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>faulty</RequestId></Error>"))
        } else {
            ("400 Bad Request", "text/xml", String::new(), format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>faulty</RequestId></ErrorResponse>"))
        };
        let resp = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        conn.write_all(resp.as_bytes()).await?;
        return Ok(());
    }
    // Ask the upstream to close after answering, so its answer ends at EOF.
    let mut out = Vec::with_capacity(raw.len() + 20);
    let text_end = raw.windows(2).position(|w| w == b"\r\n").map_or(0, |p| p + 2);
    out.extend_from_slice(raw.get(..text_end).unwrap_or_default());
    out.extend_from_slice(b"Connection: close\r\n");
    for line in head.split("\r\n").skip(1) {
        if line.is_empty() || line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(raw.get(head.len()..).unwrap_or_default());
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&out).await?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await?;
    conn.write_all(&answer).await?;
    conn.shutdown().await?;
    Ok(())
}
