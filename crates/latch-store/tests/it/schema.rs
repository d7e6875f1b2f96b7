//! What the migrations leave, checked in the database's own catalog.

use latch_store::{connect, StoreOptions};

/// On PostgreSQL the tables written on every request carry no foreign key
/// to `orgs` or `requests` (each check locked the parent row; see
/// `0015_hot_paths.postgres.sql`); the keys that cascade a deletion stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_tables_take_no_parent_row_locks_on_postgres() {
    let Some((url, _dir)) = crate::engines::url("postgres").await else { return };
    drop(connect(&url, &StoreOptions::default()).await.unwrap());
    let keys = |sql: &'static str| {
        let url = url.clone();
        async move { tokio::task::spawn_blocking(move || latch_testkit::pg::psql(&url, sql)).await.unwrap().unwrap() }
    };
    let hot = keys(
        "SELECT conrelid::regclass || ' -> ' || confrelid::regclass FROM pg_constraint
         WHERE contype = 'f' AND confrelid IN ('orgs'::regclass, 'requests'::regclass)
           AND conrelid IN ('requests'::regclass, 'request_targets'::regclass, 'request_decisions'::regclass, 'jobs'::regclass,
                            'grants'::regclass, 'entitlements'::regclass, 'audit_log'::regclass, 'notifications'::regclass,
                            'inventory_items'::regclass, 'inventory_changes'::regclass)",
    )
    .await;
    assert_eq!(hot.trim(), "", "foreign keys left on hot tables");
    let kept = keys("SELECT conrelid::regclass || ' -> ' || confrelid::regclass FROM pg_constraint WHERE contype = 'f' AND conrelid = 'notifications'::regclass").await;
    assert_eq!(kept.trim(), "notifications -> webhooks", "removing a webhook still removes its notifications");
}
