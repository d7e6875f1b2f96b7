//! Decisions per second on one core for generated cases, through latch-iam
//! and through the iam-simulate oracle in the same run, with p99 latency.
//!
//! Run: `cargo bench -p latch-iam --bench decisions` (the oracle needs
//! `npm ci --prefix tools/iam-oracle`; without it only latch-iam is measured).
//! `LATCH_IAM_BENCH_CASES` sets the number of cases (default 5000),
//! `LATCH_IAM_BENCH_ROUNDS` the rounds of the throughput loop (default 20).
//! `LATCH_IAM_BENCH_ONLY_DECIDE=1` runs only that loop (for A/B runs of two
//! builds and for callgrind, where the rest would drown it).

#[expect(
    clippy::indexing_slicing,
    reason = "the shared test-data generator indexes within bounds it checks itself"
)]
#[path = "../tests/it/gen.rs"]
mod gen;

use latch_iam::{decide, evaluate, simulate_jsonl, Case};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let n = env_or("LATCH_IAM_BENCH_CASES", 5000);
    let lines = gen::cases(0x1a7c_41a3, n);
    let cases: Vec<Case> = lines.iter().filter_map(|l| Case::parse(l).ok()).collect();
    println!("cases: {} generated, {} valid", lines.len(), cases.len());

    // Compiled path: policies compiled once (as the design has it),
    // then every case decided in turn, `rounds` times. Only `decide` is in
    // the timed loop; no clock is read per decision here, so the figure is
    // not inflated by the cost of reading the clock.
    let rounds: usize = env_or("LATCH_IAM_BENCH_ROUNDS", 20);
    let mut allowed = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        for c in &cases {
            let o = decide(std::hint::black_box(&c.input()));
            allowed += usize::from(o == latch_iam::Outcome::Allowed);
        }
    }
    let total = start.elapsed();
    let decisions = cases.len() * rounds;
    let per_sec = decisions as f64 / total.as_secs_f64();
    if env_or("LATCH_IAM_BENCH_ONLY_DECIDE", 0) != 0 {
        println!(
            "latch-iam decide (compiled): {per_sec:.0} decisions/s single thread, {:.0} ns per decision ({allowed} allowed)",
            total.as_nanos() as f64 / decisions.max(1) as f64
        );
        return;
    }

    // Latency per decision: the same loop again, timing each decision.
    let mut samples = Vec::with_capacity(cases.len() * 5);
    for _ in 0..5 {
        for c in &cases {
            let t = Instant::now();
            std::hint::black_box(decide(std::hint::black_box(&c.input())));
            samples.push(t.elapsed());
        }
    }
    samples.sort_unstable();
    let pct = |p: f64| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples.get(i).copied().unwrap_or_default()
    };
    println!(
        "latch-iam decide (compiled): {per_sec:.0} decisions/s single thread; p50 {:?}, p99 {:?}, max {:?} ({allowed} allowed)",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );

    // Hot cache: each case decided `rounds` times in a row (a service
    // answering repeated requests against the same policies).
    let start = Instant::now();
    for c in &cases {
        for _ in 0..rounds {
            std::hint::black_box(decide(std::hint::black_box(&c.input())));
        }
    }
    let hot_per_sec = decisions as f64 / start.elapsed().as_secs_f64();
    println!("latch-iam decide, same case repeated (hot cache): {hot_per_sec:.0} decisions/s");

    // With explanation (statements that decided).
    let start = Instant::now();
    for c in &cases {
        std::hint::black_box(evaluate(&c.input()));
    }
    let explain_per_sec = cases.len() as f64 / start.elapsed().as_secs_f64();
    println!("latch-iam evaluate (with deciding statements): {explain_per_sec:.0} decisions/s");

    // Validated path: parse, validate, compile and decide every line.
    let input = lines.join("\n") + "\n";
    let start = Instant::now();
    let mut sink = Vec::with_capacity(input.len());
    let stats = simulate_jsonl(input.as_bytes(), &mut sink);
    let batch = start.elapsed();
    let batch_per_sec = lines.len() as f64 / batch.as_secs_f64();
    println!("latch-iam simulate_jsonl (parse + validate + compile + decide): {batch_per_sec:.0} cases/s ({stats:?})");

    match oracle(&input) {
        Some(oracle_per_sec) => {
            println!("iam-simulate (runSimulation, validated path): {oracle_per_sec:.0} cases/s");
            println!(
                "ratio to the oracle: compiled {:.0}x (all cases in turn), {:.0}x (same case repeated); validated batch {:.0}x",
                per_sec / oracle_per_sec,
                hot_per_sec / oracle_per_sec,
                batch_per_sec / oracle_per_sec
            );
        }
        None => println!("iam-simulate: not installed (run `npm ci --prefix tools/iam-oracle`)"),
    }
}

/// A number from the environment, or `default`.
fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs the oracle; returns its own evaluation-loop throughput.
fn oracle(input: &str) -> Option<f64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/iam-oracle");
    if !dir
        .join("node_modules/@cloud-copilot/iam-simulate")
        .exists()
    {
        return None;
    }
    let mut child = Command::new("node")
        .arg("run.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let data = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(data.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).ok()?;
    report.get("perSecond")?.as_f64()
}
