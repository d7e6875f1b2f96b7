//! Resource-based policies of SQS queues, SNS topics, KMS keys, Lambda
//! functions and Secrets Manager secrets, against moto: made in a member
//! account, synced through the integration role the catalog prints, and
//! followed by who-can next to the host account's principals.

use std::sync::Arc;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_sqs::types::QueueAttributeName;
use latch_aws::catalog::{Components, RoleContext};
use latch_aws::install::{InstallPlan, POLICY_NAME};
use latch_aws::{AwsSettings, ClientFactory, RoleHop};
use latch_core::integration::{AwsIntegration, AwsMode, FederationProtocol};
use latch_core::store::Store;
use latch_core::{SystemClock, Timestamp};
use latch_iam::effective::{Capability, Filter, Inventory};
use latch_iam::eval::{Context, Reason};
use latch_store::{connect, sqlite_url_in, StoreOptions};
use latch_testkit::aws::{AwsWorld, HOST_ACCOUNT};
use serde_json::{json, Value};

const EXTERNAL_ID: &str = "latch-ext-0c5e2a9f7b1d4c3a8e6f0b2d4c6a8e0f";
const REGION: &str = "us-east-1";

/// Every action the test asks about.
const ACTIONS: [&str; 5] = ["sqs:SendMessage", "sns:Publish", "kms:Decrypt", "lambda:InvokeFunction", "secretsmanager:GetSecretValue"];

fn allow(principals: Value, action: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Named", "Effect": "Allow", "Principal": {"AWS": principals}, "Action": action, "Resource": "*"}]}).to_string()
}

/// An empty zip archive: moto stores the code without running it.
const EMPTY_ZIP: [u8; 22] = [0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn who(inv: &Inventory, action: &str, resource: &str) -> Vec<String> {
    let mut found: Vec<String> = inv.who_can(action, resource, &Context::default()).unwrap().into_iter().map(|f| f.principal).collect();
    found.sort();
    found
}

fn outside(inv: &Inventory, action: &str, resource: &str) -> Vec<String> {
    inv.who_can_from_outside(action, resource, &Context::default()).unwrap().into_iter().map(|o| o.principal).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_topic_key_function_and_secret_policies_shape_who_can() {
    let w = AwsWorld::build().await.unwrap();
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), ..AwsSettings::default() };
    let admin = ClientFactory::with_credentials(settings.clone(), &w.admin.id, &w.admin.secret);
    let mut host = admin.own();
    host.account_id = HOST_ACCOUNT.to_owned();
    let member = w.customer_account.clone();
    let customer = admin.assume(&[RoleHop { role_arn: format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"), external_id: None }]).await.unwrap();

    // The host account: carol and dave may use all five services on their
    // own account's terms; only carol is named by the member's policies.
    let everything = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ACTIONS, "Resource": "*"}]}).to_string();
    for name in ["carol", "dave"] {
        host.iam.create_user().user_name(name).send().await.unwrap();
        host.iam.put_user_policy().user_name(name).policy_name("all").policy_document(&everything).send().await.unwrap();
    }
    let carol = format!("arn:aws:iam::{HOST_ACCOUNT}:user/carol");
    let dave = format!("arn:aws:iam::{HOST_ACCOUNT}:user/dave");
    let host_admin = format!("arn:aws:iam::{HOST_ACCOUNT}:user/admin");

    // The member account: alice may use all five, bob nothing of his own.
    let iam = &customer.iam;
    iam.create_user().user_name("alice").send().await.unwrap();
    iam.put_user_policy().user_name("alice").policy_name("all").policy_document(&everything).send().await.unwrap();
    iam.create_user().user_name("bob").send().await.unwrap();
    let alice = format!("arn:aws:iam::{member}:user/alice");
    let bob = format!("arn:aws:iam::{member}:user/bob");
    // A role of an account Latch does not inventory: reported as outside.
    let partner = "arn:aws:iam::777788889999:role/partner".to_owned();
    let named = json!([bob, carol, partner]);

    // A queue naming bob and carol, and one without a policy.
    let queue = customer.sqs.create_queue().queue_name("jobs").send().await.unwrap().queue_url().unwrap().to_owned();
    customer.sqs.set_queue_attributes().queue_url(&queue).attributes(QueueAttributeName::Policy, allow(named.clone(), "sqs:SendMessage")).send().await.unwrap();
    customer.sqs.create_queue().queue_name("quiet").send().await.unwrap();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{member}:jobs");

    // A topic naming bob and carol, and one with SNS's default policy.
    let topic_arn = customer.sns.create_topic().name("alerts").send().await.unwrap().topic_arn().unwrap().to_owned();
    customer.sns.set_topic_attributes().topic_arn(&topic_arn).attribute_name("Policy").attribute_value(allow(named.clone(), "sns:Publish")).send().await.unwrap();
    let plain_topic = customer.sns.create_topic().name("plain").send().await.unwrap().topic_arn().unwrap().to_owned();

    // A key whose policy names bob and the host account but not its own
    // account, and a key with KMS's default policy (the account, so IAM
    // policies count).
    let locked_policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": bob}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "HostAccount", "Effect": "Allow", "Principal": {"AWS": HOST_ACCOUNT}, "Action": "kms:Decrypt", "Resource": "*"},
    ]});
    let locked = customer.kms.create_key().policy(locked_policy.to_string()).send().await.unwrap().key_metadata().unwrap().arn().unwrap().to_owned();
    let open = customer.kms.create_key().send().await.unwrap().key_metadata().unwrap().arn().unwrap().to_owned();

    // A function whose policy allows the host account (moto writes a
    // principal other than an account root as a bare string, not under
    // `AWS`, so an account is what it can be given), and one without.
    iam.create_role().role_name("runner").assume_role_policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string()).send().await.unwrap();
    let runner = format!("arn:aws:iam::{member}:role/runner");
    let mut functions = Vec::new();
    for name in ["worker", "idle"] {
        let code = FunctionCode::builder().zip_file(Blob::new(EMPTY_ZIP.to_vec())).build();
        let f = customer.lambda.create_function().function_name(name).runtime(Runtime::Python312).role(&runner).handler("main.handler").code(code).send().await.unwrap();
        functions.push(f.function_arn().unwrap().to_owned());
    }
    let function_arn = functions[0].clone();
    customer.lambda.add_permission().function_name("worker").statement_id("HostAccount").action("lambda:InvokeFunction").principal(format!("arn:aws:iam::{HOST_ACCOUNT}:root")).send().await.unwrap();

    // A secret naming bob and carol, and one without a policy.
    let secret_arn = customer.secrets_manager.create_secret().name("db").secret_string("s3cr3t").send().await.unwrap().arn().unwrap().to_owned();
    customer.secrets_manager.put_resource_policy().secret_id(&secret_arn).resource_policy(allow(named.clone(), "secretsmanager:GetSecretValue")).send().await.unwrap();
    customer.secrets_manager.create_secret().name("plain").secret_string("x").send().await.unwrap();

    // The integration role, with the policy the catalog prints.
    let components = Components { mode: AwsMode::IamUsers, inventory: true, organizations: false, federation: FederationProtocol::Oidc };
    let ctx = RoleContext { partition: "aws", account_id: &member, role_name: "LatchIntegration", member_role_name: "OrganizationAccountAccessRole" };
    let plan = InstallPlan::new(&components, &ctx, &w.latch_arn, EXTERNAL_ID);
    iam.create_role().role_name("LatchIntegration").assume_role_policy_document(plan.trust.to_string()).send().await.unwrap();
    iam.put_role_policy().role_name("LatchIntegration").policy_name(POLICY_NAME).policy_document(plan.permissions.to_string()).send().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap());
    let org = store.create_org("acme", "Acme", Timestamp(0)).await.unwrap();
    let integration = |account: &str| AwsIntegration { inventory: true, external_id: EXTERNAL_ID.into(), ..crate::integration(&org.id, account, AwsMode::IamUsers) };
    // Synced with IAM enforcement off: under enforcement moto refuses every
    // Lambda `GET` (ListFunctions, GetPolicy) with `SignatureDoesNotMatch`,
    // whatever the client. The install test probes the other services'
    // actions under enforcement.
    let latch = ClientFactory::with_credentials(settings, &w.latch.id, &w.latch.secret);
    let through_role = latch.integration(&integration(&member)).await.unwrap();
    latch_aws::sync::sync_account(&through_role, &integration(&member), store.clone(), &SystemClock).await.unwrap();
    latch_aws::sync::sync_account(&host, &integration(HOST_ACCOUNT), store.clone(), &SystemClock).await.unwrap();

    // Only resources with a policy, each with its service and account.
    let member_items = store.items(&org.id, &member, None).await.unwrap();
    let mut policies: Vec<(String, String, String)> = member_items
        .iter()
        .filter(|i| i.kind == "resource-policy")
        .map(|i| (i.id.clone(), i.data["service"].as_str().unwrap().to_owned(), i.data["account"].as_str().unwrap().to_owned()))
        .collect();
    policies.sort();
    let mut want: Vec<(String, String, String)> = [
        (queue_arn.clone(), "sqs"),
        (topic_arn.clone(), "sns"),
        (plain_topic.clone(), "sns"),
        (locked.clone(), "kms"),
        (open.clone(), "kms"),
        (function_arn.clone(), "lambda"),
        (secret_arn.clone(), "secretsmanager"),
    ]
    .into_iter()
    .map(|(arn, service)| (arn, service.to_owned(), member.clone()))
    .collect();
    want.sort();
    assert_eq!(policies, want, "every topic and key has a policy; the quiet queue, the idle function and the plain secret none");

    let mut items = store.items(&org.id, HOST_ACCOUNT, None).await.unwrap();
    items.extend(member_items);
    let inv = latch_aws::effective::inventory_from_items(&items).unwrap();
    let policy_problems: Vec<String> = inv.problems().iter().map(ToString::to_string).filter(|p| p.contains("resource policy")).collect();
    assert!(policy_problems.is_empty(), "{policy_problems:?}");

    // Queue, topic and secret: alice on her own policy; bob, same account,
    // on the resource policy alone; carol from the host account on hers and
    // the resource policy naming her; dave and the host's administrator,
    // not named, not at all.
    let by_policy = sorted(vec![alice.clone(), bob.clone(), carol.clone()]);
    assert_eq!(who(&inv, "sqs:SendMessage", &queue_arn), by_policy);
    assert_eq!(who(&inv, "sns:Publish", &topic_arn), by_policy);
    assert_eq!(who(&inv, "secretsmanager:GetSecretValue", &secret_arn), by_policy);
    // The partner role is outside the inventory: who-can from outside
    // names it, and only it (bob and carol are the inventory's).
    for (action, arn) in [("sqs:SendMessage", &queue_arn), ("sns:Publish", &topic_arn), ("secretsmanager:GetSecretValue", &secret_arn)] {
        assert_eq!(outside(&inv, action, arn), std::slice::from_ref(&partner), "{action}");
    }
    assert!(outside(&inv, "kms:Decrypt", &locked).is_empty(), "the host account is in the inventory");
    // The function's policy allows the host account: its principals on
    // their own policies; bob has none.
    assert_eq!(who(&inv, "lambda:InvokeFunction", &function_arn), sorted(vec![alice.clone(), carol.clone(), dave.clone(), host_admin.clone()]));

    // The locked key: bob by the key policy, the host account's principals
    // by theirs; alice's IAM policy has no effect, as the key policy does
    // not allow her account.
    assert_eq!(who(&inv, "kms:Decrypt", &locked), sorted(vec![bob.clone(), carol.clone(), dave.clone(), host_admin.clone()]));
    let filter = Filter { action: Some("kms:Decrypt".into()), resource: Some(locked.clone()), context: Context::default() };
    let Some(Capability::Decision(d)) = inv.what_can(&alice, &filter).unwrap().into_iter().next() else { panic!("a decision") };
    assert_eq!(d.reason, Reason::KeyPolicyNoAllow);
    // The default key policy lets the account's IAM policies count.
    assert_eq!(who(&inv, "kms:Decrypt", &open), [alice]);
}
