//! The test kit's parts start, answer and stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test code fails loudly by design")]

use latch_testkit::{Moto, PgCluster};

#[test]
fn moto_starts_resets_and_switches_enforcement() {
    let moto = Moto::start().unwrap();
    moto.reset().unwrap();
    moto.enforce_iam(false).unwrap();
    let out = std::process::Command::new("curl").args(["-sS", "-f"]).arg(format!("{}/moto-api/data.json", moto.endpoint)).output().unwrap();
    assert!(out.status.success());
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(state.is_object());
}

#[test]
fn a_postgres_cluster_stops_and_starts_again() {
    let mut pg = PgCluster::start().unwrap();
    let db = pg.fresh_database().unwrap();
    assert_eq!(latch_testkit::pg::psql(&db, "SELECT 1").unwrap().trim(), "1");
    pg.stop_server();
    assert!(latch_testkit::pg::psql(&db, "SELECT 1").is_err());
    pg.start_server().unwrap();
    assert_eq!(latch_testkit::pg::psql(&db, "SELECT 2").unwrap().trim(), "2");
}
