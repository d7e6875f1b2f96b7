//! `scripts/demo --check`: the README's "Try it" walk-through, run
//! non-interactively against the real binary (login, request, approve,
//! assume, `aws sts get-caller-identity`, give the access back).

use crate::support::{bin, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_walk_through_works() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(600),
        tokio::process::Command::new(script).arg("--check").env("LATCH_BIN", bin()).kill_on_drop(true).output(),
    )
    .await
    .expect("the demo took longer than 10 minutes")
    .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("assumed-role/Deploy/alice@demo.example"), "{stderr}");
    assert!(stderr.contains("walk-through passed"), "{stderr}");
}
