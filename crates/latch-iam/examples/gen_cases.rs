//! Prints generated batch cases (the differential test's generator), one per
//! line: `cargo run -p latch-iam --example gen_cases -- SEED COUNT`.

#[expect(
    clippy::indexing_slicing,
    reason = "the shared test-data generator indexes within bounds it checks itself"
)]
#[path = "../tests/it/gen.rs"]
mod gen;

fn main() {
    let mut args = std::env::args().skip(1);
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let count = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    for line in gen::cases(seed, count) {
        println!("{line}");
    }
}
