//! Grants end to end through the workers, with a recording provisioner:
//! active on approval, taken back on time, reference-counted across
//! overlapping requests, revoked and relinquished early, failures cleaned up,
//! undecided requests expired.

use std::time::Duration;

use latch_core::access::provision::ProvisionError;
use latch_core::Clock as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestApp};

const POLICY: &str = r#"
[[rule]]
name = "read-only"
requesters = "any"
resource = { kinds = ["role"], names = ["ReadOnly"] }
approval = "auto"
default_duration = "30m"
max_duration = "2h"

[[rule]]
name = "admin"
requesters = "any"
resource = { kinds = ["role"], names = ["Admin"] }
approval = { groups = ["leads"] }
"#;

/// The entitlement the tests ask for, as the provisioner keys it.
const ENTITLEMENT: &str = "aws/111111111111/role/ReadOnly/";

async fn setup(app: &TestApp) -> (Client, Client) {
    let admin = app.admin().await;
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    admin.call(Method::POST, "/v1/groups", Some(json!({"name": "leads"}))).await;
    admin.call(Method::PUT, "/v1/groups/leads/members/admin@acme.io", None).await;
    let alice = app.add_user(&admin, "alice@acme.io", "member").await;
    (admin, alice)
}

async fn ask(c: &Client, name: &str, accounts: &[&str], extra: Value) -> Value {
    let mut body = json!({"kind": "role", "name": name, "accounts": accounts});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, r) = c.call(Method::POST, "/v1/requests", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn access_is_granted_then_taken_back_on_time(app: TestApp) {
    let (_, alice) = setup(&app).await;
    let r = ask(&alice, "ReadOnly", &["111111111111", "222222222222"], json!({})).await;
    let active = app.wait_for_state(&alice, &id(&r), "active").await;
    assert!(active["expires_at"].is_string());
    assert_eq!(app.provisioner.live().len(), 2, "one grant per account");
    app.advance(Duration::from_secs(29 * 60));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.provisioner.live().len(), 2, "not before its time");
    app.advance(Duration::from_secs(60));
    app.wait_for_state(&alice, &id(&r), "expired").await;
    assert!(app.provisioner.live().is_empty());
    assert_eq!(app.provisioner.counts(), (2, 2));
}

async fn overlapping_grants_are_reference_counted(app: TestApp) {
    let (_, alice) = setup(&app).await;
    let first = ask(&alice, "ReadOnly", &["111111111111"], json!({"duration_secs": 1800})).await;
    app.wait_for_state(&alice, &id(&first), "active").await;
    app.advance(Duration::from_secs(600));
    let second = ask(&alice, "ReadOnly", &["111111111111"], json!({"duration_secs": 3600})).await;
    app.wait_for_state(&alice, &id(&second), "active").await;
    assert_eq!(app.provisioner.counts(), (1, 0), "the same access is granted once");
    // ...but asserted again, so the integration's own time bound (a policy
    // condition in AWS) reaches the second grant's end, not the first's.
    let bound = app.provisioner.bound("alice@acme.io", ENTITLEMENT).unwrap();
    assert!(bound >= app.clock.now().plus(Duration::from_secs(3590)), "the bound stayed at the first grant's end");
    // The first ends: the second still holds the access.
    app.advance(Duration::from_secs(1300));
    app.wait_for_state(&alice, &id(&first), "expired").await;
    assert_eq!(app.provisioner.live().len(), 1, "a peer removed access while another grant held it");
    // The last holder ends: now it goes.
    let (s, _) = alice.call(Method::POST, &format!("/v1/requests/{}/relinquish", id(&second)), None).await;
    assert_eq!(s, StatusCode::OK);
    app.wait_for_state(&alice, &id(&second), "relinquished").await;
    assert!(app.provisioner.live().is_empty());
    assert_eq!(app.provisioner.counts(), (1, 1));
}

async fn access_reached_through_several_targets_is_counted_once(app: TestApp) {
    let (_, alice) = setup(&app).await;
    app.provisioner.share_accounts(&["111111111111", "222222222222"]);
    let first = ask(&alice, "ReadOnly", &["111111111111"], json!({"duration_secs": 1800})).await;
    app.wait_for_state(&alice, &id(&first), "active").await;
    let second = ask(&alice, "ReadOnly", &["222222222222"], json!({"duration_secs": 3600})).await;
    app.wait_for_state(&alice, &id(&second), "active").await;
    assert_eq!(app.provisioner.counts(), (1, 0), "one piece of access, granted once");
    // The integration's routing changes while both hold it: each grant is
    // released under the key it was held with, not one computed anew.
    app.provisioner.share_accounts(&[]);
    app.advance(Duration::from_secs(1810));
    app.wait_for_state(&alice, &id(&first), "expired").await;
    assert_eq!(app.provisioner.live().len(), 1, "removed while the other request held it");
    let (s, _) = alice.call(Method::POST, &format!("/v1/requests/{}/relinquish", id(&second)), None).await;
    assert_eq!(s, StatusCode::OK);
    app.wait_for_state(&alice, &id(&second), "relinquished").await;
    assert!(app.provisioner.live().is_empty());
    assert_eq!(app.provisioner.counts(), (1, 1));
}

async fn extensions_move_the_end_within_the_rule(app: TestApp) {
    let (_, alice) = setup(&app).await;
    let r = ask(&alice, "ReadOnly", &["111111111111"], json!({})).await;
    let rid = id(&r);
    let active = app.wait_for_state(&alice, &rid, "active").await;
    let too_long = alice.call(Method::POST, &format!("/v1/requests/{rid}/extend"), Some(json!({"by_secs": 2 * 3600}))).await;
    assert_error(&too_long, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, longer) = alice.call(Method::POST, &format!("/v1/requests/{rid}/extend"), Some(json!({"by_secs": 3600}))).await;
    assert_eq!(s, StatusCode::OK, "{longer}");
    assert_ne!(longer["expires_at"], active["expires_at"]);
    assert_eq!(longer["duration"], 1800 + 3600);
    // The integration's own bound follows the extension.
    let mut moved = false;
    for _ in 0..200 {
        app.kick();
        if app.provisioner.bound("alice@acme.io", ENTITLEMENT).is_some_and(|b| b >= app.clock.now().plus(Duration::from_secs(5390))) {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(moved, "the time bound in the integration did not follow the extension");
    // The original end passes: still active.
    app.advance(Duration::from_secs(31 * 60));
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.kick();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alice.call(Method::GET, &format!("/v1/requests/{rid}"), None).await.1["state"], "active");
    assert_eq!(app.provisioner.live().len(), 1);
    // The new end passes: gone.
    app.advance(Duration::from_secs(60 * 60));
    app.wait_for_state(&alice, &rid, "expired").await;
    assert!(app.provisioner.live().is_empty());
}

async fn approvers_revoke_early(app: TestApp) {
    let (admin, alice) = setup(&app).await;
    let r = ask(&alice, "Admin", &["111111111111"], json!({})).await;
    assert_eq!(r["state"], "pending");
    admin.call(Method::POST, &format!("/v1/requests/{}/approve", id(&r)), Some(json!({}))).await;
    app.wait_for_state(&alice, &id(&r), "active").await;
    let not_hers = alice.call(Method::POST, &format!("/v1/requests/{}/revoke", id(&r)), Some(json!({"reason": "x"}))).await;
    assert_error(&not_hers, StatusCode::FORBIDDEN, "forbidden");
    let (s, ending) = admin.call(Method::POST, &format!("/v1/requests/{}/revoke", id(&r)), Some(json!({"reason": "incident over"}))).await;
    assert_eq!((s, ending["state"].as_str()), (StatusCode::OK, Some("expiring")), "{ending}");
    app.wait_for_state(&alice, &id(&r), "revoked").await;
    assert!(app.provisioner.live().is_empty());
    let again = admin.call(Method::POST, &format!("/v1/requests/{}/revoke", id(&r)), Some(json!({"reason": "x"}))).await;
    assert_error(&again, StatusCode::CONFLICT, "invalid_state");
}

async fn failures_leave_nothing_half_granted(app: TestApp) {
    let (_, alice) = setup(&app).await;
    // Transient errors are retried (with backoff) until the grant goes through.
    app.provisioner.fail_grants(vec![ProvisionError::Retryable("throttled".into()), ProvisionError::Retryable("throttled".into())]);
    let r = ask(&alice, "ReadOnly", &["111111111111"], json!({})).await;
    let mut state = Value::Null;
    for _ in 0..40 {
        app.advance(Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = alice.call(Method::GET, &format!("/v1/requests/{}", id(&r)), None).await.1;
        if state["state"] == "active" {
            break;
        }
    }
    assert_eq!(state["state"], "active", "{state}");
    // A permanent error on one account takes back what the request got in
    // the others, and fails it.
    app.provisioner.fail_account("666666666666", ProvisionError::Permanent("no such role".into()));
    let r2 = ask(&alice, "ReadOnly", &["555555555555", "666666666666"], json!({})).await;
    app.wait_for_state(&alice, &id(&r2), "failed").await;
    let live = app.provisioner.live();
    assert_eq!(live.len(), 1, "only the first request's access remains: {live:?}");
    assert!(live[0].1.contains("111111111111"));
    let (grants, revokes) = app.provisioner.counts();
    assert_eq!((grants, revokes), (2, 1), "555 was granted, then taken back");
}

/// A grant that keeps failing gives up after its attempts: the job is dead
/// (listed for admins, audited) and the request fails instead of staying
/// `provisioning` forever.
async fn a_provision_that_keeps_failing_dies_and_fails_its_request(app: TestApp) {
    let (admin, alice) = setup(&app).await;
    app.provisioner.fail_grants(vec![ProvisionError::Retryable("throttled".into()); 12]);
    let r = ask(&alice, "ReadOnly", &["111111111111"], json!({})).await;
    let mut state = Value::Null;
    for _ in 0..40 {
        app.advance(Duration::from_secs(301));
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = alice.call(Method::GET, &format!("/v1/requests/{}", id(&r)), None).await.1;
        if state["state"] == "failed" {
            break;
        }
    }
    assert_eq!(state["state"], "failed", "{state}");
    assert!(state["failure"].as_str().unwrap().contains("throttled"), "{state}");
    assert!(app.provisioner.live().is_empty());
    let (s, dead) = admin.call(Method::GET, "/v1/jobs/dead", None).await;
    assert_eq!(s, StatusCode::OK, "{dead}");
    assert_eq!(dead["jobs"][0]["kind"], "provision", "{dead}");
    assert_eq!(dead["jobs"][0]["subject"], id(&r).as_str());
    assert_error(&alice.call(Method::GET, "/v1/jobs/dead", None).await, StatusCode::FORBIDDEN, "forbidden");
}

async fn undecided_requests_expire(app: TestApp) {
    let (admin, alice) = setup(&app).await;
    let (_, token) = admin.token(&["read"]).await;
    let watcher = Client::with_bearer(&app.url, &token);
    let r = ask(&alice, "Admin", &["111111111111"], json!({})).await;
    app.advance(Duration::from_secs(24 * 3600 + 1));
    app.wait_for_state(&watcher, &id(&r), "expired").await;
    assert!(app.provisioner.live().is_empty());
}

async fn finished_jobs_are_forgotten_after_their_keeping(app: TestApp) {
    use latch_core::jobs::NewJob;
    use latch_core::store::JobStore;
    let (_, alice) = setup(&app).await;
    let r = ask(&alice, "ReadOnly", &["111111111111"], json!({})).await;
    app.wait_for_state(&alice, &id(&r), "active").await;
    let store = app.running.as_ref().unwrap().store.clone();
    let key = format!("provision:{}", id(&r));
    // The provision job's key is known while the job is kept…
    let again = |at| NewJob { org_id: r["org_id"].as_str().unwrap().to_owned(), kind: "provision".into(), subject: id(&r), idempotency_key: key.clone(), run_at: at, max_attempts: 1, leased: None };
    assert!(!store.enqueue(&again(app.clock.now()), app.clock.now()).await.unwrap());
    // …and forgotten once finished for longer than `access.done_jobs_kept_days` (30).
    // (Sessions end long before: the store is asked, not the API.)
    app.advance(Duration::from_secs(31 * 24 * 3600));
    let far = app.clock.now().plus(Duration::from_secs(365 * 24 * 3600));
    for _ in 0..100 {
        if store.enqueue(&again(far), app.clock.now()).await.unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the finished provision job was never forgotten");
}

crate::both_engines!(
    finished_jobs_are_forgotten_after_their_keeping,
    access_is_granted_then_taken_back_on_time,
    overlapping_grants_are_reference_counted,
    access_reached_through_several_targets_is_counted_once,
    extensions_move_the_end_within_the_rule,
    approvers_revoke_early,
    failures_leave_nothing_half_granted,
    a_provision_that_keeps_failing_dies_and_fails_its_request,
    undecided_requests_expire,
);

mod watching {
    use futures_util::StreamExt as _;
    use reqwest::Method;
    use serde_json::{json, Value};

    use crate::support::TestApp;

    /// Reads NDJSON lines from a watch stream until `want` state (or the end).
    async fn until(stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin), buf: &mut String, want: &str, app: &TestApp) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            while let Some(nl) = buf.find('\n') {
                let line: String = buf.drain(..=nl).collect();
                let v: Value = serde_json::from_str(&line).unwrap();
                if let Some(s) = v["request"]["state"].as_str() {
                    seen.push(s.to_owned());
                    if s == want {
                        return seen;
                    }
                }
            }
            app.kick();
            match tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await.expect("watch went quiet") {
                Some(chunk) => buf.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap()),
                None => return seen,
            }
        }
    }

    async fn a_watch_follows_the_request_and_resumes_after_a_drop(app: TestApp) {
        let (admin, alice) = super::setup(&app).await;
        let r = super::ask(&alice, "Admin", &["111111111111"], json!({})).await;
        let rid = super::id(&r);
        let open = || alice.request(Method::GET, &format!("/v1/requests/{rid}/watch")).send();
        let resp = open().await.unwrap();
        assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
        let mut stream = resp.bytes_stream();
        let mut buf = String::new();
        assert_eq!(until(&mut stream, &mut buf, "pending", &app).await, ["pending"]);
        // The connection drops; the request moves on meanwhile.
        drop(stream);
        admin.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
        // Reconnecting shows where it is now, then follows it to the end.
        let mut stream = open().await.unwrap().bytes_stream();
        let mut buf = String::new();
        let seen = until(&mut stream, &mut buf, "active", &app).await;
        assert_eq!(seen.last().map(String::as_str), Some("active"), "{seen:?}");
        assert_ne!(seen.first().map(String::as_str), Some("pending"), "{seen:?}");
        alice.call(Method::POST, &format!("/v1/requests/{rid}/relinquish"), None).await;
        let seen = until(&mut stream, &mut buf, "relinquished", &app).await;
        assert_eq!(seen.last().map(String::as_str), Some("relinquished"));
        // A final state ends the stream.
        assert!(tokio::time::timeout(std::time::Duration::from_secs(5), stream.next()).await.unwrap().is_none());
        // Nothing was requested twice.
        let mine = alice.call(Method::GET, "/v1/requests?mine=true", None).await.1;
        assert_eq!(mine.as_array().unwrap().len(), 1);
    }

    async fn a_watch_until_a_state_ends_there(app: TestApp) {
        let (admin, alice) = super::setup(&app).await;
        let r = super::ask(&alice, "Admin", &["111111111111"], json!({})).await;
        let rid = super::id(&r);
        // Not a state: refused up front, saying which are.
        let got = alice.call(Method::GET, &format!("/v1/requests/{rid}/watch?until=granted"), None).await;
        crate::support::assert_error(&got, reqwest::StatusCode::BAD_REQUEST, "invalid_request");
        assert!(got.1["error"]["message"].as_str().unwrap().contains("active"), "{}", got.1);
        // Already that far along: one line, then the end.
        let resp = alice.request(Method::GET, &format!("/v1/requests/{rid}/watch?until=pending")).send().await.unwrap();
        let text = tokio::time::timeout(std::time::Duration::from_secs(5), resp.text()).await.expect("the stream did not end").unwrap();
        let states: Vec<Value> = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["request"]["state"].clone()).collect();
        assert_eq!(states, [json!("pending")]);
        // Followed until active, then the end, though active is not final.
        let mut stream = alice.request(Method::GET, &format!("/v1/requests/{rid}/watch?until=active")).send().await.unwrap().bytes_stream();
        let mut buf = String::new();
        assert_eq!(until(&mut stream, &mut buf, "pending", &app).await, ["pending"]);
        admin.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
        let seen = until(&mut stream, &mut buf, "active", &app).await;
        assert_eq!(seen.last().map(String::as_str), Some("active"), "{seen:?}");
        assert!(tokio::time::timeout(std::time::Duration::from_secs(5), stream.next()).await.expect("the stream did not end").is_none());
        // A request already past it (and ended) gives its state and ends.
        alice.call(Method::POST, &format!("/v1/requests/{rid}/relinquish"), None).await;
        app.wait_for_state(&alice, &rid, "relinquished").await;
        let text = alice.request(Method::GET, &format!("/v1/requests/{rid}/watch?until=approved")).send().await.unwrap().text().await.unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("\"relinquished\""), "{text}");
    }

    /// While this replica provisions a request, a watch starts from how it
    /// last moved it, without reading it: a change made meanwhile elsewhere
    /// (here straight through the store, as another replica would) follows
    /// at the next look. Who may see it is checked as for a read.
    async fn a_watch_of_a_request_provisioned_here_starts_from_what_this_replica_knows(app: TestApp) {
        use latch_core::access::lifecycle::State;
        use latch_core::access::request::Changes;
        use latch_core::store::AccessStore;
        use latch_core::Clock as _;
        let (admin, alice) = super::setup(&app).await;
        let bob = app.add_user(&admin, "bob@acme.io", "member").await;
        let r = super::ask(&alice, "Admin", &["111111111111"], json!({})).await;
        let rid = super::id(&r);
        app.provisioner.hold_grants();
        admin.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
        app.wait_for_state(&alice, &rid, "provisioning").await;
        // Not alice's, not an approver's: hidden, as for a read.
        let (status, _) = bob.call(Method::GET, &format!("/v1/requests/{rid}/watch"), None).await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
        // Revoked elsewhere while the grant is under way.
        let store = app.running.as_ref().unwrap().store.clone();
        let org_id = r["org_id"].as_str().unwrap();
        assert!(store.transition(org_id, &rid, State::Provisioning, State::Expiring, &Changes::default(), app.clock.now()).await.unwrap());
        let mut stream = alice.request(Method::GET, &format!("/v1/requests/{rid}/watch")).send().await.unwrap().bytes_stream();
        let mut buf = String::new();
        let seen = until(&mut stream, &mut buf, "expiring", &app).await;
        assert_eq!(seen, ["provisioning", "expiring"], "the first line is what this replica knew, and the change follows");
        app.provisioner.release_grants();
    }

    crate::both_engines!(
        a_watch_follows_the_request_and_resumes_after_a_drop,
        a_watch_until_a_state_ends_there,
        a_watch_of_a_request_provisioned_here_starts_from_what_this_replica_knows
    );
}
