//! Inventory sync against moto: a sync killed mid-way resumes its version
//! from the saved cursor and ends with every item once; a second sync diffs.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt as _};
use latch_aws::{AwsSettings, ClientFactory};
use latch_core::integration::{AwsIntegration, AwsMode};
use latch_core::store::Store;
use latch_core::{SystemClock, Timestamp};
use latch_store::{connect, sqlite_url_in, StoreOptions};
use latch_testkit::aws::{AwsWorld, HOST_ACCOUNT};

const USERS: usize = 1200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_way_resumes_and_counts_each_item_once() {
    let w = AwsWorld::build().await.unwrap();
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    let factory = ClientFactory::with_credentials(settings, &w.admin.id, &w.admin.secret);
    let mut clients = factory.own();
    clients.account_id = HOST_ACCOUNT.to_owned();
    let iam = &clients.iam;
    stream::iter(0..USERS)
        .for_each_concurrent(8, |i| async move {
            iam.create_user().user_name(format!("user-{i:04}")).send().await.unwrap();
        })
        .await;

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap());
    let org = store.create_org("acme", "Acme", Timestamp(0)).await.unwrap();
    let i = crate::integration(&org.id, HOST_ACCOUNT, AwsMode::IamUsers);

    // Run until a stage has saved progress (a finished stage, or a page
    // marker where the API pages), then kill it.
    let task = {
        let (clients, i, store) = (clients.clone(), i.clone(), store.clone());
        tokio::spawn(async move { latch_aws::sync::sync_account(&clients, &i, store, &SystemClock).await })
    };
    let mut killed = false;
    for _ in 0..2000 {
        let run = store.last_sync(&org.id, HOST_ACCOUNT).await.unwrap();
        let progressed = |c: &serde_json::Value| {
            c.as_object().is_some_and(|o| o.values().any(|st| st["done"] == true || st["marker"].is_string()))
        };
        if run.is_some_and(|r| r.status == "running" && progressed(&r.cursor)) {
            task.abort();
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(killed, "the sync finished before it could be killed; seed more users");
    let _ = task.await;
    let interrupted = store.last_sync(&org.id, HOST_ACCOUNT).await.unwrap().unwrap();
    assert_eq!((interrupted.version, interrupted.status.as_str()), (1, "running"));

    // Restarted: the same version resumes and finishes.
    let done = latch_aws::sync::sync_account(&clients, &i, store.clone(), &SystemClock).await.unwrap();
    assert_eq!((done.version, done.status.as_str()), (1, "done"));
    let users = store.items(&org.id, HOST_ACCOUNT, Some("iam-user")).await.unwrap();
    assert_eq!(users.len(), USERS + 2, "every user once (plus the estate's admin and latch)");
    assert_eq!(done.appeared, done.items, "each item appeared once in version 1");

    // The next sync sees one user gone and one new.
    iam.delete_user().user_name("user-0000").send().await.unwrap();
    iam.create_user().user_name("user-new").send().await.unwrap();
    let next = latch_aws::sync::sync_account(&clients, &i, store.clone(), &SystemClock).await.unwrap();
    assert_eq!(next.version, 2);
    let changes = store.changes(&org.id, HOST_ACCOUNT, 2).await.unwrap();
    let users: Vec<(String, String)> = changes.iter().filter(|c| c.kind == "iam-user").map(|c| (c.change.as_str().to_owned(), c.id.clone())).collect();
    assert!(users.contains(&("vanished".into(), format!("arn:aws:iam::{HOST_ACCOUNT}:user/user-0000"))), "{users:?}");
    assert!(users.contains(&("appeared".into(), format!("arn:aws:iam::{HOST_ACCOUNT}:user/user-new"))), "{users:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_through_a_throttling_storm_finishes_with_the_same_inventory() {
    let w = AwsWorld::build().await.unwrap();
    // Resource Explorer (the stand-in, with an index) is throttled too.
    let explorer = latch_testkit::resource_explorer_standin::ResourceExplorerStandin::start(&w.endpoint).await.unwrap();
    super::resource_explorer::turn_on(&super::resource_explorer::explorer(&w, &explorer, "us-east-1")).await;
    let direct = {
        let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), resource_explorer_endpoint_url: Some(explorer.url.clone()), ..AwsSettings::default() };
        let mut c = ClientFactory::with_credentials(settings, &w.admin.id, &w.admin.secret).own();
        c.account_id = HOST_ACCOUNT.to_owned();
        c
    };
    for i in 0..40 {
        direct.iam.create_user().user_name(format!("user-{i:02}")).send().await.unwrap();
        direct.iam.create_group().group_name(format!("group-{i:02}")).send().await.unwrap();
    }
    // Four requests in ten are refused with AWS's throttling error.
    let proxy = latch_testkit::faulty::FaultyProxy::start(&w.endpoint, 40, 7).await.unwrap();
    let explorer_proxy = latch_testkit::faulty::FaultyProxy::start(&explorer.url, 40, 7).await.unwrap();
    let stormy = {
        let settings = AwsSettings { endpoint_url: Some(proxy.endpoint.clone()), resource_explorer_endpoint_url: Some(explorer_proxy.endpoint.clone()), ..AwsSettings::default() };
        let mut c = ClientFactory::with_credentials(settings, &w.admin.id, &w.admin.secret).own();
        c.account_id = HOST_ACCOUNT.to_owned();
        c
    };
    let integration = |org_id: &str| AwsIntegration { inventory: true, organizations: true, ..crate::integration(org_id, HOST_ACCOUNT, AwsMode::IdentityCenter) };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap());
    let calm = store.create_org("calm", "Calm", Timestamp(0)).await.unwrap();
    let storm = store.create_org("storm", "Storm", Timestamp(0)).await.unwrap();
    let clean = latch_aws::sync::sync_account(&direct, &integration(&calm.id), store.clone(), &SystemClock).await.unwrap();
    let through = latch_aws::sync::sync_account(&stormy, &integration(&storm.id), store.clone(), &SystemClock).await.unwrap();
    let (throttled, _) = proxy.counts();
    assert!(throttled > 0, "the storm never happened");
    assert!(explorer_proxy.counts().0 > 0, "Resource Explorer was never throttled");
    assert_eq!(through.status, "done");
    let ids = |org: String| {
        let store = store.clone();
        async move { store.items(&org, HOST_ACCOUNT, None).await.unwrap().into_iter().map(|i| (i.kind, i.id)).collect::<Vec<_>>() }
    };
    // The credential report's generation time differs between the runs;
    // what exists must not.
    assert_eq!(ids(calm.id.clone()).await, ids(storm.id.clone()).await);
    assert_eq!(clean.items, through.items);
}
