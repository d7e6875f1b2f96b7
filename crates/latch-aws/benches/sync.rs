//! Inventory sync of a large account: 10,000 IAM users, 1,000 groups, 2,000
//! roles and 10,000 Identity Center users in moto. Target (issue 4): at most
//! 1.2x the time of the anchor, and peak RSS at most 150 MB.
//!
//! Anchor, in the same run: a bare SDK client issuing the same list calls
//! with the same concurrency (the IAM authorization-details stream, the
//! credential report, aliases, the Identity Center lists and the
//! Organizations accounts, tree and policies side by side) and dropping the
//! answers: what the AWS API alone costs. It runs before
//! and after Latch's sync; the ratio uses their mean.
//!
//!     cargo bench -p latch-aws --bench sync
//!     BENCH_SCALE=0.1 cargo bench -p latch-aws --bench sync    # a tenth
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "a benchmark fails loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt as _};
use aws_sdk_organizations::types::PolicyType;
use latch_aws::{AwsSettings, ClientFactory, Clients};
use latch_core::integration::{AwsIntegration, AwsMode, IntegrationStatus, UserLookup};
use latch_core::store::Store;
use latch_core::{SystemClock, Timestamp};
use latch_testkit::aws::AwsWorld;

const SEED_CONCURRENCY: usize = 16;

fn scaled(n: usize) -> usize {
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((n as f64) * scale).max(1.0) as usize
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    kb / 1024.0
}

async fn seed(c: &Clients, users: usize, groups: usize, roles: usize, ic_users: usize) -> String {
    let started = Instant::now();
    let iam = &c.iam;
    stream::iter(0..groups).for_each_concurrent(SEED_CONCURRENCY, |i| async move {
        iam.create_group().group_name(format!("group-{i}")).send().await.unwrap();
    }).await;
    stream::iter(0..users).for_each_concurrent(SEED_CONCURRENCY, |i| async move {
        let name = format!("user-{i}@example.com");
        iam.create_user().user_name(&name).tags(aws_sdk_iam::types::Tag::builder().key("Email").value(&name).build().unwrap()).send().await.unwrap();
        iam.add_user_to_group().group_name(format!("group-{}", i % groups)).user_name(&name).send().await.unwrap();
    }).await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    stream::iter(0..roles).for_each_concurrent(SEED_CONCURRENCY, |i| async move {
        iam.create_role().role_name(format!("role-{i}")).assume_role_policy_document(trust).send().await.unwrap();
    }).await;
    let instances = c.sso_admin.list_instances().send().await.unwrap();
    let store = instances.instances()[0].identity_store_id().unwrap().to_owned();
    let ids = &c.identity_store;
    let store_ref = store.as_str();
    stream::iter(0..ic_users).for_each_concurrent(SEED_CONCURRENCY, |i| async move {
        let name = aws_sdk_identitystore::types::Name::builder().given_name("P").family_name(format!("{i}")).build();
        ids.create_user().identity_store_id(store_ref).user_name(format!("person-{i}@example.com")).display_name(format!("Person {i}")).name(name).send().await.unwrap();
    }).await;
    eprintln!("seeded {users} users, {groups} groups, {roles} roles, {ic_users} Identity Center users in {:.1}s", started.elapsed().as_secs_f64());
    store
}

/// The same list calls as the sync, side by side, answers dropped.
async fn anchor(c: &Clients, store: &str) -> Duration {
    let started = Instant::now();
    let iam = async {
        let mut marker: Option<String> = None;
        loop {
            let page = c.iam.get_account_authorization_details().max_items(500).set_marker(marker.clone()).send().await.unwrap();
            if !page.is_truncated() {
                break;
            }
            marker = page.marker().map(str::to_owned);
        }
    };
    let report = async {
        while c.iam.generate_credential_report().send().await.unwrap().state().map(|s| s.as_str()) != Some("COMPLETE") {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        c.iam.get_credential_report().send().await.unwrap();
    };
    let aliases = async {
        c.iam.list_account_aliases().send().await.unwrap();
    };
    let ic = async {
        c.sso_admin.list_instances().send().await.unwrap();
        let mut token: Option<String> = None;
        loop {
            let page = c.identity_store.list_users().identity_store_id(store).set_next_token(token.clone()).send().await.unwrap();
            match page.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        c.identity_store.list_groups().identity_store_id(store).send().await.unwrap();
        let instances = c.sso_admin.list_instances().send().await.unwrap();
        c.sso_admin.list_permission_sets().instance_arn(instances.instances()[0].instance_arn().unwrap()).send().await.unwrap();
    };
    // The Organizations stages, call for call: accounts; the tree breadth
    // first (units, then accounts, of each parent); SCPs and RCPs, eight
    // policies at a time, each described and its targets listed.
    let org_accounts = async {
        let mut token: Option<String> = None;
        loop {
            let page = c.organizations.list_accounts().set_next_token(token.clone()).send().await.unwrap();
            match page.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
    };
    let org_tree = async {
        let roots = c.organizations.list_roots().send().await.unwrap();
        let mut queue: std::collections::VecDeque<String> = roots.roots().iter().filter_map(|r| r.id().map(str::to_owned)).collect();
        while let Some(parent) = queue.pop_front() {
            let mut token: Option<String> = None;
            loop {
                let units = c.organizations.list_organizational_units_for_parent().parent_id(&parent).set_next_token(token.take()).send().await.unwrap();
                queue.extend(units.organizational_units().iter().filter_map(|u| u.id().map(str::to_owned)));
                match units.next_token() {
                    Some(t) => token = Some(t.to_owned()),
                    None => break,
                }
            }
            loop {
                let accounts = c.organizations.list_accounts_for_parent().parent_id(&parent).set_next_token(token.take()).send().await.unwrap();
                match accounts.next_token() {
                    Some(t) => token = Some(t.to_owned()),
                    None => break,
                }
            }
        }
    };
    let org_policies = async {
        for kind in [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy] {
            let mut token: Option<String> = None;
            loop {
                let page = c.organizations.list_policies().filter(kind.clone()).set_next_token(token.take()).send().await.unwrap();
                let ids: Vec<String> = page.policies().iter().filter_map(|p| p.id().map(str::to_owned)).collect();
                stream::iter(ids)
                    .map(|id| async move {
                        c.organizations.describe_policy().policy_id(&id).send().await.unwrap();
                        c.organizations.list_targets_for_policy().policy_id(&id).send().await.unwrap();
                    })
                    .buffered(8)
                    .collect::<Vec<()>>()
                    .await;
                match page.next_token() {
                    Some(t) => token = Some(t.to_owned()),
                    None => break,
                }
            }
        }
    };
    type Branch<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;
    let timed = |name: &'static str, f| async move {
        f.await;
        if std::env::var_os("RUST_LOG").is_some() {
            eprintln!("anchor branch {name}: {} ms", started.elapsed().as_millis());
        }
    };
    tokio::join!(
        timed("iam", Box::pin(iam) as Branch<'_>),
        timed("credential-report", Box::pin(report)),
        timed("aliases", Box::pin(aliases)),
        timed("identity-center", Box::pin(ic)),
        timed("organizations", Box::pin(org_accounts)),
        timed("org-tree", Box::pin(org_tree)),
        timed("org-policies", Box::pin(org_policies)),
    );
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `RUST_LOG=latch_aws=debug` prints when each stage has fetched its last page.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    }
    let (users, groups, roles, ic_users) = (scaled(10_000), scaled(1_000), scaled(2_000), scaled(10_000));
    let w = AwsWorld::build().await.unwrap();
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    let factory = ClientFactory::with_credentials(settings, &w.admin.id, &w.admin.secret);
    let mut clients = factory.own();
    clients.account_id = latch_testkit::aws::HOST_ACCOUNT.to_owned();
    let store_id = seed(&clients, users, groups, roles, ic_users).await;

    let dir = tempfile::tempdir().unwrap();
    let url = latch_store::sqlite_url_in(dir.path());
    let store: Arc<dyn Store> = Arc::new(latch_store::connect(&url, &latch_store::StoreOptions::default()).await.unwrap());
    let org = store.create_org("bench", "Bench", Timestamp(0)).await.unwrap();
    let integration = AwsIntegration {
        org_id: org.id.clone(),
        account_id: latch_testkit::aws::HOST_ACCOUNT.into(),
        alias: None,
        mode: AwsMode::IdentityCenter,
        user_lookup: UserLookup::Email,
        inventory: false,
        organizations: true,
        role_name: "LatchIntegration".into(),
        external_id: "bench".into(),
        sso_start_url: None,
        federation: latch_core::integration::FederationProtocol::Oidc,
        status: IntegrationStatus::Installed,
        missing: vec![],
        verified_at: None,
        created_at: Timestamp(0),
    };

    let before = anchor(&clients, &store_id).await;
    let rss_before = peak_rss_mb();
    let started = Instant::now();
    let run = latch_aws::sync::sync_account(&clients, &integration, store.clone(), &SystemClock).await.unwrap();
    let latch = started.elapsed();
    let rss = peak_rss_mb();
    let after = anchor(&clients, &store_id).await;
    let anchor_mean = (before + after) / 2;
    println!("items synced:        {} (version {})", run.items, run.version);
    println!("anchor (bare calls): {:.2}s before, {:.2}s after", before.as_secs_f64(), after.as_secs_f64());
    println!("latch sync:          {:.2}s", latch.as_secs_f64());
    println!("sync/anchor:         {:.2}x (target <= 1.2x)", latch.as_secs_f64() / anchor_mean.as_secs_f64());
    println!("peak RSS:            {rss:.0} MB after the sync ({rss_before:.0} MB before it; target <= 150 MB)");
}
