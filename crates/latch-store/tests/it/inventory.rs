//! Inventory snapshots: versions, diffs, repeated pages after a crash,
//! resuming a running sync, org scoping.

use latch_core::inventory::{ChangeKind, Item};
use latch_core::store::{InventoryStore, OrgStore};
use latch_core::Timestamp;
use latch_store::SqlStore;
use serde_json::json;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const ACCT: &str = "111111111111";

fn user(name: &str, tag: &str) -> Item {
    Item { kind: "iam-user".into(), id: format!("arn:aws:iam::{ACCT}:user/{name}"), data: json!({"name": name, "tags": {"team": tag}}) }
}

async fn syncs_version_the_inventory_and_diff_it(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let other = s.create_org("globex", "Globex", T0).await.unwrap();
    let v1 = s.begin_sync(&org.id, ACCT, T0).await.unwrap();
    assert_eq!((v1.version, v1.status.as_str()), (1, "running"));
    s.put_items(&org.id, ACCT, 1, &[user("alice", "a"), user("bob", "b")]).await.unwrap();
    s.save_cursor(&org.id, ACCT, 1, &json!({"stage": "iam", "marker": "m1"})).await.unwrap();
    // A crash: the running sync is resumed with its cursor, not restarted.
    let resumed = s.begin_sync(&org.id, ACCT, T0).await.unwrap();
    assert_eq!(resumed.version, 1);
    assert_eq!(resumed.cursor["marker"], "m1");
    // The page after the cursor was written, and is written again on resume.
    s.put_items(&org.id, ACCT, 1, &[user("carol", "c")]).await.unwrap();
    s.put_items(&org.id, ACCT, 1, &[user("carol", "c"), user("carol", "c")]).await.unwrap();
    // The same id under another kind is another item.
    let cred = Item { kind: "credential".into(), id: format!("arn:aws:iam::{ACCT}:user/carol"), data: json!({"mfa_active": "false"}) };
    s.put_items(&org.id, ACCT, 1, &[cred]).await.unwrap();
    let done = s.finish_sync(&org.id, ACCT, 1, T0).await.unwrap();
    assert_eq!((done.status.as_str(), done.items, done.appeared, done.changed, done.vanished), ("done", 4, 4, 0, 0));

    // Version 2: bob changed, carol vanished, dave appeared, alice the same.
    let v2 = s.begin_sync(&org.id, ACCT, T0).await.unwrap();
    assert_eq!(v2.version, 2);
    s.put_items(&org.id, ACCT, 2, &[user("alice", "a"), user("bob", "B"), user("dave", "d")]).await.unwrap();
    let done = s.finish_sync(&org.id, ACCT, 2, T0).await.unwrap();
    assert_eq!((done.items, done.appeared, done.changed, done.vanished), (3, 1, 1, 2));
    let changes: Vec<(ChangeKind, String)> = s.changes(&org.id, ACCT, 2).await.unwrap().into_iter().map(|c| (c.change, c.id)).collect();
    assert_eq!(changes, vec![
        (ChangeKind::Appeared, format!("arn:aws:iam::{ACCT}:user/dave")),
        (ChangeKind::Changed, format!("arn:aws:iam::{ACCT}:user/bob")),
        (ChangeKind::Vanished, format!("arn:aws:iam::{ACCT}:user/carol")),
        (ChangeKind::Vanished, format!("arn:aws:iam::{ACCT}:user/carol")),
    ]);
    let items = s.items(&org.id, ACCT, Some("iam-user")).await.unwrap();
    assert_eq!(items.iter().map(|i| i.data["name"].as_str().unwrap()).collect::<Vec<_>>(), ["alice", "bob", "dave"]);
    assert_eq!(items[1].data["tags"]["team"], "B");
    assert!(s.items(&org.id, ACCT, Some("iam-role")).await.unwrap().is_empty());

    // A failed sync leaves the snapshot as it was; the next one is a new version.
    let v3 = s.begin_sync(&org.id, ACCT, T0).await.unwrap();
    s.fail_sync(&org.id, ACCT, v3.version, "throttled", T0).await.unwrap();
    assert_eq!(s.last_sync(&org.id, ACCT).await.unwrap().unwrap().error.as_deref(), Some("throttled"));
    assert_eq!(s.begin_sync(&org.id, ACCT, T0).await.unwrap().version, 4);
    assert_eq!(s.items(&org.id, ACCT, None).await.unwrap().len(), 3);

    // Another org sees nothing of it.
    assert!(s.items(&other.id, ACCT, None).await.unwrap().is_empty());
    assert!(s.last_sync(&other.id, ACCT).await.unwrap().is_none());
    assert!(s.changes(&other.id, ACCT, 2).await.unwrap().is_empty());
}

/// Items by how their id ends: a role by `/NAME` whatever its path, exactly
/// (`_` and `%` are not wildcards, case counts), in its org only.
async fn items_are_found_by_how_their_id_ends(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let other = s.create_org("globex", "Globex", T0).await.unwrap();
    let role = |path: &str, name: &str| Item { kind: "iam-role".into(), id: format!("arn:aws:iam::{ACCT}:role/{path}{name}"), data: json!({"name": name}) };
    let v = s.begin_sync(&org.id, ACCT, T0).await.unwrap().version;
    let items = [role("", "Deploy"), role("team/ci/", "Deploy_1"), role("", "DeployX1"), role("", "deploy_1"), role("", "Admin"), user("Deploy_1", "a")];
    s.put_items(&org.id, ACCT, v, &items).await.unwrap();
    s.finish_sync(&org.id, ACCT, v, T0).await.unwrap();
    let ids = |found: Vec<Item>| found.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(s.items_ending(&org.id, ACCT, "iam-role", "/Deploy_1").await.unwrap()), [format!("arn:aws:iam::{ACCT}:role/team/ci/Deploy_1")]);
    assert_eq!(ids(s.items_ending(&org.id, ACCT, "iam-role", "/Deploy").await.unwrap()), [format!("arn:aws:iam::{ACCT}:role/Deploy")]);
    assert!(s.items_ending(&org.id, ACCT, "iam-role", "/Deploy%").await.unwrap().is_empty());
    assert!(s.items_ending(&other.id, ACCT, "iam-role", "/Deploy").await.unwrap().is_empty());
    let arn = format!("arn:aws:iam::{ACCT}:role/Admin");
    assert_eq!(ids(s.items_ending(&org.id, ACCT, "iam-role", &arn).await.unwrap()), [arn]);
}

crate::conformance!(syncs_version_the_inventory_and_diff_it, items_are_found_by_how_their_id_ends);
