//! Effective access over synced accounts, against moto: the management
//! account's sync brings the hierarchy and its SCPs (on the root, an OU and
//! the member account), the member account's brings its IAM users and its
//! bucket policies, and who-can over both follows them (the other services'
//! resource policies: `resource_policies`).

use std::sync::Arc;

use latch_aws::{AwsSettings, ClientFactory, RoleHop};
use latch_core::integration::{AwsIntegration, AwsMode};
use latch_core::inventory::Item;
use latch_core::store::Store;
use latch_core::{SystemClock, Timestamp};
use latch_iam::effective::{Capability, Filter, PolicyId};
use latch_iam::eval::{Context, Outcome, PolicyKind};
use latch_store::{connect, sqlite_url_in, StoreOptions};
use latch_testkit::aws::{AwsWorld, HOST_ACCOUNT};
use serde_json::json;

fn integration(org_id: &str, account_id: &str, organizations: bool) -> AwsIntegration {
    AwsIntegration { inventory: true, organizations, ..crate::integration(org_id, account_id, AwsMode::IamUsers) }
}

fn deny(action: &str, resource: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Fence", "Effect": "Deny", "Action": action, "Resource": resource}]}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scps_and_bucket_policies_shape_who_can() {
    use aws_sdk_organizations::types::PolicyType;

    let w = AwsWorld::build().await.unwrap();
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    let factory = ClientFactory::with_credentials(settings, &w.admin.id, &w.admin.secret);
    let mut host = factory.own();
    host.account_id = HOST_ACCOUNT.to_owned();
    let member = w.customer_account.clone();
    let customer = factory.assume(&[RoleHop { role_arn: format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"), external_id: None }]).await.unwrap();

    // The hierarchy: root → OU `workloads` → the member account, with SCPs
    // enabled and one SCP at each level besides FullAWSAccess.
    let orgs = &host.organizations;
    let root = orgs.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_owned();
    orgs.enable_policy_type().root_id(&root).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();
    orgs.enable_policy_type().root_id(&root).policy_type(PolicyType::ResourceControlPolicy).send().await.unwrap();
    let ou = orgs.create_organizational_unit().parent_id(&root).name("workloads").send().await.unwrap();
    let ou = ou.organizational_unit().unwrap().id().unwrap().to_owned();
    orgs.move_account().account_id(&member).source_parent_id(&root).destination_parent_id(&ou).send().await.unwrap();
    let attach = |name: &'static str, kind: PolicyType, content: String, target: String| {
        let orgs = orgs.clone();
        async move {
            let p = orgs.create_policy().name(name).description(name).r#type(kind).content(content).send().await.unwrap();
            let id = p.policy().unwrap().policy_summary().unwrap().id().unwrap().to_owned();
            orgs.attach_policy().policy_id(&id).target_id(target).send().await.unwrap();
            p.policy().unwrap().policy_summary().unwrap().arn().unwrap().to_owned()
        }
    };
    attach("NoUserCreation", PolicyType::ServiceControlPolicy, deny("iam:CreateUser", "*"), root.clone()).await;
    let no_data = attach("NoData", PolicyType::ServiceControlPolicy, deny("s3:GetObject", "arn:aws:s3:::data/*"), ou.clone()).await;
    attach("NoEc2", PolicyType::ServiceControlPolicy, deny("ec2:*", "*"), member.clone()).await;
    attach("NoDeletes", PolicyType::ResourceControlPolicy, json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"}]}).to_string(), ou.clone()).await;

    // The member account: alice may do anything in S3, bob nothing; bob is
    // named by the `docs` bucket's policy.
    let iam = &customer.iam;
    iam.create_user().user_name("alice").send().await.unwrap();
    iam.put_user_policy().user_name("alice").policy_name("s3").policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}).to_string()).send().await.unwrap();
    iam.create_user().user_name("bob").send().await.unwrap();
    customer.s3.create_bucket().bucket("docs").send().await.unwrap();
    customer.s3.create_bucket().bucket("no-policy").send().await.unwrap();
    let bob = format!("arn:aws:iam::{member}:user/bob");
    let bucket_policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "BobReads", "Effect": "Allow", "Principal": {"AWS": bob}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*"}]});
    customer.s3.put_bucket_policy().bucket("docs").policy(bucket_policy.to_string()).send().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap());
    let org = store.create_org("acme", "Acme", Timestamp(0)).await.unwrap();
    latch_aws::sync::sync_account(&host, &integration(&org.id, HOST_ACCOUNT, true), store.clone(), &SystemClock).await.unwrap();
    latch_aws::sync::sync_account(&customer, &integration(&org.id, &member, false), store.clone(), &SystemClock).await.unwrap();

    let kinds = |items: &[Item], kind: &str| items.iter().filter(|i| i.kind == kind).map(|i| i.id.clone()).collect::<Vec<_>>();
    let host_items = store.items(&org.id, HOST_ACCOUNT, None).await.unwrap();
    assert_eq!(kinds(&host_items, "org-root"), std::slice::from_ref(&root));
    assert_eq!(kinds(&host_items, "org-unit"), std::slice::from_ref(&ou));
    assert!(kinds(&host_items, "org-account").contains(&member));
    // moto takes RCPs: its RCPFullAWSAccess and ours.
    assert_eq!(kinds(&host_items, "org-policy").len(), 6, "{:?}", kinds(&host_items, "org-policy"));
    let member_items = store.items(&org.id, &member, None).await.unwrap();
    assert_eq!(kinds(&member_items, "resource-policy"), ["arn:aws:s3:::docs"], "only buckets with a policy");

    let mut items = host_items;
    items.extend(member_items);
    let inv = latch_aws::effective::inventory_from_items(&items).unwrap();
    let org_problems: Vec<String> = inv.problems().iter().map(ToString::to_string).filter(|p| p.contains("SCP") || p.contains("RCP") || p.contains("organizations")).collect();
    assert!(org_problems.is_empty(), "{org_problems:?}");
    let who = |action: &str, resource: &str| -> Vec<String> {
        inv.who_can(action, resource, &Context::default()).unwrap().into_iter().map(|f| f.principal).collect()
    };
    let alice = format!("arn:aws:iam::{member}:user/alice");
    let admin = format!("arn:aws:iam::{HOST_ACCOUNT}:user/admin");
    // The management account's administrator is not limited by SCPs.
    let other = who("s3:GetObject", "arn:aws:s3:::other/k");
    assert!(other.contains(&admin) && other.contains(&alice), "{other:?}");
    let data = who("s3:GetObject", "arn:aws:s3:::data/k");
    assert!(data.contains(&admin) && !data.contains(&alice), "the OU's SCP denies alice: {data:?}");
    // bob, with no policy of his own, through the bucket policy alone.
    let docs = inv.who_can("s3:GetObject", "arn:aws:s3:::docs/k", &Context::default()).unwrap();
    let found = docs.iter().find(|f| f.principal == bob).expect("bob through the bucket policy");
    assert!(found.statements.iter().any(|s| s.policy == PolicyId::Resource("arn:aws:s3:::docs".into()) && s.sid.as_deref() == Some("BobReads")));
    // The RCP on the OU denies deletes in the member account's buckets.
    assert!(!who("s3:DeleteObject", "arn:aws:s3:::docs/k").contains(&alice));

    // The deciding SCP, and where it is attached.
    let filter = Filter { action: Some("s3:GetObject".into()), resource: Some("arn:aws:s3:::data/k".into()), context: Context::default() };
    let caps = inv.what_can(&alice, &filter).unwrap();
    let Some(Capability::Decision(d)) = caps.first() else { panic!("{caps:?}") };
    assert_eq!(d.outcome, Outcome::ExplicitlyDenied);
    let s = &d.statements[0];
    assert_eq!((s.kind, &s.policy, s.attached_to.as_deref()), (PolicyKind::Scp, &PolicyId::Scp(no_data), Some(ou.as_str())));
}
