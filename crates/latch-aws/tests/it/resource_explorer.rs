//! Resource Explorer 2: the stand-in (`latch_testkit::resource_explorer_standin`,
//! as moto lacks the service) driven through the official SDK client, and the
//! inventory sync's resources stage reading it next to the tagging API.

use std::sync::Arc;

use aws_sdk_resourceexplorer2::config::Region;
use aws_sdk_resourceexplorer2::types::{IncludedProperty, IndexType, SearchFilter};
use latch_aws::{AwsSettings, ClientFactory, Clients};
use latch_core::integration::{AwsIntegration, AwsMode};
use latch_core::inventory::ChangeKind;
use latch_core::store::Store;
use latch_core::{SystemClock, Timestamp};
use latch_store::{connect, sqlite_url_in, StoreOptions};
use latch_testkit::aws::{unsigned_query, AwsWorld, HOST_ACCOUNT};
use latch_testkit::resource_explorer_standin::ResourceExplorerStandin;
use serde_json::json;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The official client, as the host account's administrator, at the stand-in.
pub(crate) fn explorer(w: &AwsWorld, standin: &ResourceExplorerStandin, region: &str) -> aws_sdk_resourceexplorer2::Client {
    let conf = w.config(&w.admin.id, &w.admin.secret, None);
    aws_sdk_resourceexplorer2::Client::from_conf(aws_sdk_resourceexplorer2::config::Builder::from(&conf).region(Region::new(region.to_owned())).endpoint_url(&standin.url).build())
}

/// A tagged SNS topic in moto, made with an unsigned query call.
fn topic(w: &AwsWorld, region: &str, name: &str, tag: (&str, &str)) -> String {
    unsigned_query(&w.endpoint, &w.admin.id, "sns", region, &[("Action", "CreateTopic"), ("Name", name), ("Tags.member.1.Key", tag.0), ("Tags.member.1.Value", tag.1)]).unwrap();
    format!("arn:aws:sns:{region}:{HOST_ACCOUNT}:{name}")
}

/// An index and a default view (with tags) in the region.
pub(crate) async fn turn_on(re: &aws_sdk_resourceexplorer2::Client) -> String {
    let index = re.create_index().send().await.unwrap();
    let view = re.create_view().view_name("everything").included_properties(IncludedProperty::builder().name("tags").build().unwrap()).send().await.unwrap();
    let view_arn = view.view().unwrap().view_arn().unwrap().to_owned();
    re.associate_default_view().view_arn(&view_arn).send().await.unwrap();
    index.arn().unwrap().to_owned()
}

fn status<E>(e: &aws_sdk_resourceexplorer2::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> u16 {
    e.raw_response().map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standin_answers_the_official_client_with_the_documented_errors_and_pages() {
    let w = AwsWorld::build().await.unwrap();
    let standin = ResourceExplorerStandin::start(&w.endpoint).await.unwrap();
    let re = explorer(&w, &standin, "us-east-1");

    // Off: no index, and a search has no default view to use (401).
    assert!(re.list_indexes().send().await.unwrap().indexes().is_empty());
    let off = re.search().query_string("").send().await.unwrap_err();
    assert!(off.as_service_error().unwrap().is_unauthorized_exception(), "{off:?}");
    assert_eq!(status(&off), 401);

    let index = re.create_index().send().await.unwrap();
    let index_arn = index.arn().unwrap().to_owned();
    assert!(index_arn.starts_with(&format!("arn:aws:resource-explorer-2:us-east-1:{HOST_ACCOUNT}:index/")), "{index_arn}");
    let twice = re.create_index().send().await.unwrap_err();
    assert!(twice.as_service_error().unwrap().is_conflict_exception());
    assert_eq!(status(&twice), 409);
    let no_view = re.search().query_string("").send().await.unwrap_err();
    assert!(no_view.as_service_error().unwrap().is_unauthorized_exception());

    let bad = re.create_view().view_name("bad").filters(SearchFilter::builder().filter_string("colour:red").build().unwrap()).send().await.unwrap_err();
    assert!(bad.as_service_error().unwrap().is_validation_exception());
    assert_eq!(status(&bad), 400);
    let view = re.create_view().view_name("all").included_properties(IncludedProperty::builder().name("tags").build().unwrap()).send().await.unwrap();
    let view_arn = view.view().unwrap().view_arn().unwrap().to_owned();
    re.associate_default_view().view_arn(&view_arn).send().await.unwrap();
    assert_eq!(re.get_default_view().send().await.unwrap().view_arn(), Some(view_arn.as_str()));
    let gone = re.search().query_string("").view_arn(format!("{view_arn}-gone")).send().await.unwrap_err();
    assert!(gone.as_service_error().unwrap().is_resource_not_found_exception());
    assert_eq!(status(&gone), 404);

    // What moto holds: 25 untagged roles (global) and a tagged topic.
    let iam = aws_sdk_iam::Client::new(&w.config(&w.admin.id, &w.admin.secret, None));
    for i in 0..25 {
        iam.create_role().role_name(format!("rex-app-{i:02}")).assume_role_policy_document(TRUST).send().await.unwrap();
    }
    let alerts = topic(&w, "us-east-1", "alerts", ("team", "data"));

    // Paged, 10 at a time, in ARN order.
    let (mut pages, mut roles, mut token) = (0, Vec::new(), None::<String>);
    loop {
        let page = re.search().query_string("resourcetype:iam:role rex-app").max_results(10).set_next_token(token.clone()).send().await.unwrap();
        pages += 1;
        assert_eq!(page.view_arn(), Some(view_arn.as_str()));
        assert_eq!((page.count().unwrap().total_resources(), page.count().unwrap().complete()), (Some(25), Some(true)));
        for r in page.resources() {
            assert_eq!((r.resource_type(), r.region(), r.service(), r.owning_account_id()), (Some("iam:role"), Some("global"), Some("iam"), Some(HOST_ACCOUNT)));
            assert!(r.properties().is_empty(), "Resource Explorer does not index IAM tags");
            roles.push(r.arn().unwrap().to_owned());
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("arn:aws:iam::{HOST_ACCOUNT}:role/rex-app-{i:02}")).collect();
    assert_eq!(roles, expected);

    // A page token belongs to its search.
    let first = re.search().query_string("rex-app").max_results(5).send().await.unwrap();
    let wrong = re.search().query_string("service:sns").next_token(first.next_token().unwrap()).send().await.unwrap_err();
    assert!(wrong.as_service_error().unwrap().is_validation_exception());

    // Filters and the tags property.
    let tagged = re.search().query_string("tag:team=data").send().await.unwrap();
    let [hit] = tagged.resources() else { panic!("{tagged:?}") };
    assert_eq!((hit.arn(), hit.resource_type(), hit.region()), (Some(alerts.as_str()), Some("sns:topic"), Some("us-east-1")));
    let tags = hit.properties().iter().find(|p| p.name() == Some("tags")).and_then(|p| p.data()).unwrap();
    let tags = tags.as_array().unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].as_object().unwrap().get("Key").unwrap().as_string(), Some("team"));
    assert!(re.search().query_string("service:sns -tag:team=data").send().await.unwrap().resources().is_empty());
    let unknown = re.search().query_string("colour:red").send().await.unwrap_err();
    assert!(unknown.as_service_error().unwrap().is_validation_exception());

    // An aggregator searches the regions with an index.
    let west = explorer(&w, &standin, "us-west-2");
    west.create_index().send().await.unwrap();
    let west_topic = topic(&w, "us-west-2", "west-alerts", ("team", "ops"));
    assert!(re.search().query_string("tag:team=ops").send().await.unwrap().resources().is_empty(), "a local index sees its region only");
    re.update_index_type().arn(&index_arn).r#type(IndexType::Aggregator).send().await.unwrap();
    let listed = re.list_indexes().send().await.unwrap();
    assert_eq!(listed.indexes().len(), 2);
    let aggregators = re.list_indexes().r#type(IndexType::Aggregator).send().await.unwrap();
    assert_eq!(aggregators.indexes().iter().map(|i| i.region().unwrap()).collect::<Vec<_>>(), ["us-east-1"]);
    let found = re.search().query_string("tag:team=ops").send().await.unwrap();
    assert_eq!(found.resources().iter().map(|r| (r.arn().unwrap(), r.region().unwrap())).collect::<Vec<_>>(), [(west_topic.as_str(), "us-west-2")]);

    // A missing permission (moto cannot evaluate it; the test says so).
    standin.refuse(HOST_ACCOUNT, "resource-explorer-2:Search");
    let denied = re.search().query_string("").send().await.unwrap_err();
    assert!(denied.as_service_error().unwrap().is_access_denied_exception());
    assert_eq!(status(&denied), 403);
}

fn integration(org_id: &str) -> AwsIntegration {
    AwsIntegration { inventory: true, ..crate::integration(org_id, HOST_ACCOUNT, AwsMode::IamUsers) }
}

fn clients(w: &AwsWorld, standin_url: &str) -> Clients {
    let settings = AwsSettings { endpoint_url: Some(w.endpoint.clone()), resource_explorer_endpoint_url: Some(standin_url.to_owned()), ..AwsSettings::default() };
    let mut c = ClientFactory::with_credentials(settings, &w.admin.id, &w.admin.secret).own();
    c.account_id = HOST_ACCOUNT.to_owned();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_only_resource_explorer_finds_are_synced_when_the_account_has_an_index() {
    let w = AwsWorld::build().await.unwrap();
    let standin = ResourceExplorerStandin::start(&w.endpoint).await.unwrap();
    let c = clients(&w, &standin.url);
    c.iam.create_role().role_name("rex-untagged").assume_role_policy_document(TRUST).send().await.unwrap();
    let role_arn = format!("arn:aws:iam::{HOST_ACCOUNT}:role/rex-untagged");
    let alerts = topic(&w, "us-east-1", "alerts", ("team", "data"));

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap());
    let org = store.create_org("acme", "Acme", Timestamp(0)).await.unwrap();
    let i = integration(&org.id);
    let resources = |store: Arc<dyn Store>, org: String| async move { store.items(&org, HOST_ACCOUNT, Some("resource")).await.unwrap() };

    // No index: the tagging API alone, and no error.
    let first = latch_aws::sync::sync_account(&c, &i, store.clone(), &SystemClock).await.unwrap();
    assert_eq!(first.status, "done");
    let items = resources(store.clone(), org.id.clone()).await;
    assert_eq!(items.iter().map(|i| (i.id.as_str(), i.data.clone())).collect::<Vec<_>>(), [(alerts.as_str(), json!({"tags": {"team": "data"}}))]);

    // An index: what only Resource Explorer finds appears; what both find is
    // written once, with the tagging API's tags and Resource Explorer's details.
    turn_on(&explorer(&w, &standin, "us-east-1")).await;
    let second = latch_aws::sync::sync_account(&c, &i, store.clone(), &SystemClock).await.unwrap();
    assert_eq!(second.status, "done");
    let items = resources(store.clone(), org.id.clone()).await;
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "each resource once");
    let role = items.iter().find(|i| i.id == role_arn).expect("the untagged role, through Resource Explorer");
    assert_eq!(role.data, json!({"tags": {}, "resource_type": "iam:role", "region": "global", "service": "iam", "owning_account": HOST_ACCOUNT}));
    let topic_item = items.iter().find(|i| i.id == alerts).unwrap();
    assert_eq!(topic_item.data, json!({"tags": {"team": "data"}, "resource_type": "sns:topic", "region": "us-east-1", "service": "sns", "owning_account": HOST_ACCOUNT}));
    let changes = store.changes(&org.id, HOST_ACCOUNT, second.version).await.unwrap();
    let of = |id: &str| changes.iter().find(|ch| ch.kind == "resource" && ch.id == id).map(|ch| ch.change);
    assert_eq!(of(&role_arn), Some(ChangeKind::Appeared));
    assert_eq!(of(&alerts), Some(ChangeKind::Changed));
    assert!(ids.contains(&format!("arn:aws:iam::{HOST_ACCOUNT}:user/latch").as_str()), "IAM users too");

    // The role may not search: the sync says which permission is missing.
    standin.refuse(HOST_ACCOUNT, "resource-explorer-2:Search");
    let err = latch_aws::sync::sync_account(&c, &i, store.clone(), &SystemClock).await.unwrap_err();
    assert!(err.to_string().contains("`resource-explorer-2:Search`"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_stopped_in_the_resource_explorer_phase_resumes_after_the_last_arn_written() {
    let w = AwsWorld::build().await.unwrap();
    let standin = ResourceExplorerStandin::start(&w.endpoint).await.unwrap();
    let c = clients(&w, &standin.url);
    for i in 0..4 {
        c.iam.create_role().role_name(format!("rex-{i}")).assume_role_policy_document(TRUST).send().await.unwrap();
    }
    turn_on(&explorer(&w, &standin, "us-east-1")).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(connect(&sqlite_url_in(dir.path()), &StoreOptions::default()).await.unwrap());
    let org = store.create_org("acme", "Acme", Timestamp(0)).await.unwrap();
    let i = integration(&org.id);

    // A sync that stopped once the tagging API's pages and the Resource
    // Explorer resources up to `rex-1` were written (the other stages done).
    let run = store.begin_sync(&org.id, HOST_ACCOUNT, Timestamp(0)).await.unwrap();
    let last = format!("arn:aws:iam::{HOST_ACCOUNT}:role/rex-1");
    let cursor = json!({"iam": {"done": true}, "credential-report": {"done": true}, "aliases": {"done": true}, "resources": {"marker": format!("re2:{last}"), "done": false}});
    store.save_cursor(&org.id, HOST_ACCOUNT, run.version, &cursor).await.unwrap();

    let done = latch_aws::sync::sync_account(&c, &i, store.clone(), &SystemClock).await.unwrap();
    assert_eq!((done.version, done.status.as_str()), (run.version, "done"));
    let ids: Vec<String> = store.items(&org.id, HOST_ACCOUNT, Some("resource")).await.unwrap().into_iter().map(|i| i.id).collect();
    let role = |n: u32| format!("arn:aws:iam::{HOST_ACCOUNT}:role/rex-{n}");
    assert!(ids.contains(&role(2)) && ids.contains(&role(3)), "{ids:?}");
    assert!(!ids.contains(&role(0)) && !ids.contains(&role(1)), "written before the stop, not again: {ids:?}");
}
