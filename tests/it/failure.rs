//! The database down at start, gone mid-run, or newer than the binary.

use std::time::Duration;

use latch_testkit::{free_port, PgCluster, ServerProcess};

use crate::support::{bin, text};

#[tokio::test]
async fn a_database_that_is_down_at_start_is_a_clear_error() {
    let port = free_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(bin())
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--database-url", &format!("postgres://latch:hunter2@127.0.0.1:{port}/latch")])
        .env("LATCH_LOG", "error")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out).await.unwrap().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("error: while opening the database at `postgres://latch:***@127.0.0.1:{port}/latch`")), "{err}");
    assert!(err.contains("could not connect to the postgres database"), "{err}");
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let mut server = tokio::task::spawn_blocking(|| ServerProcess::start("sqlite")).await.unwrap().unwrap();
    server.kill9().unwrap();
    {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&server.db_url).await.unwrap();
        sqlx::query("INSERT INTO latch_schema (version, name) VALUES (999, 'from the future')").execute(&mut conn).await.unwrap();
    }
    let out = tokio::process::Command::new(bin())
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&server.data_dir)
        .env("LATCH_LOG", "error")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the database schema is at version 999, newer than this binary's"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_mid_run_is_503_and_recovers() {
    let mut cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap().unwrap();
    let db = cluster.fresh_database().unwrap();
    let server = tokio::task::spawn_blocking(move || ServerProcess::start_on(Some(db))).await.unwrap().unwrap();
    let http = reqwest::Client::new();
    let get = |path: &'static str| http.get(format!("{}{path}", server.url)).send();
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    cluster.stop_server();
    for path in ["/readyz", "/v1/orgs/acme"] {
        let resp = get(path).await.unwrap();
        assert_eq!(resp.status().as_u16(), 503, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(!body.to_string().contains("Connection refused"), "internal detail leaked: {body}");
    }
    // The process is still serving what needs no database.
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    cluster.start_server().unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if get("/v1/orgs/acme").await.unwrap().status().as_u16() == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the server did not recover after the database came back");
}
