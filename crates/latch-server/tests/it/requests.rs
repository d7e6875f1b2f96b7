//! Access requests over the API: policy rules decide, approvals are checked
//! at decision time, self-approval only where a rule allows it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Client, TestApp};

const POLICY: &str = r#"
[[rule]]
name = "oncall-admin"
requesters = { groups = ["oncall"] }
resource = { kinds = ["role"], names = ["Admin*"] }
approval = { groups = ["leads"], required = 2 }
require_reason = true
max_duration = "4h"
break_glass = true

[[rule]]
name = "read-only"
requesters = "any"
resource = { kinds = ["role"], names = ["ReadOnly"] }
approval = "auto"
default_duration = "30m"

[[rule]]
name = "self-serve"
requesters = "any"
resource = { kinds = ["permission-set"] }
approval = { groups = ["leads"] }
allow_self_approval = true

[[rule]]
name = "billing-never"
requesters = "any"
resource = { names = ["Billing*"] }
approval = "deny"
"#;

struct Org {
    admin: Client,
    alice: Client,
    lead1: Client,
    lead2: Client,
    outsider: Client,
}

async fn org(app: &TestApp) -> Org {
    let admin = app.admin().await;
    let (status, body) = admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1);
    let alice = app.add_user(&admin, "alice@acme.io", "member").await;
    let lead1 = app.add_user(&admin, "lead1@acme.io", "approver").await;
    let lead2 = app.add_user(&admin, "lead2@acme.io", "approver").await;
    let outsider = app.add_user(&admin, "eve@acme.io", "approver").await;
    for (group, who) in [("oncall", "alice@acme.io"), ("leads", "lead1@acme.io"), ("leads", "lead2@acme.io"), ("leads", "alice@acme.io")] {
        admin.call(Method::POST, "/v1/groups", Some(json!({"name": group}))).await;
        let (s, b) = admin.call(Method::PUT, &format!("/v1/groups/{group}/members/{who}"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    Org { admin, alice, lead1, lead2, outsider }
}

async fn ask(c: &Client, body: Value) -> (StatusCode, Value) {
    c.call(Method::POST, "/v1/requests", Some(body)).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn two_of_a_group_approve_and_self_approval_is_refused(app: TestApp) {
    let o = org(&app).await;
    let no_reason = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"]})).await;
    assert_error(&no_reason, StatusCode::BAD_REQUEST, "invalid_request");
    let too_long = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"], "reason": "x", "duration_secs": 5 * 3600})).await;
    assert_error(&too_long, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, r) = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111", "222222222222"], "reason": "incident 42"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!((r["state"].as_str(), r["rule"].as_str(), r["targets"].as_array().unwrap().len()), (Some("pending"), Some("oncall-admin"), 2));
    let rid = id(&r);

    // Alice is in `leads` too, but cannot approve her own request.
    let own = o.alice.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_error(&own, StatusCode::FORBIDDEN, "forbidden");
    // Eve is an approver by role but not in `leads`: not eligible, and cannot even see it.
    let eve = o.outsider.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_error(&eve, StatusCode::NOT_FOUND, "not_found");

    let to_approve = o.lead1.call(Method::GET, "/v1/requests?to_approve=true", None).await.1;
    assert_eq!(to_approve.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![rid.clone()]);
    let (s, after1) = o.lead1.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_eq!((s, after1["state"].as_str()), (StatusCode::OK, Some("pending")), "{after1}");
    let twice = o.lead1.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_error(&twice, StatusCode::FORBIDDEN, "forbidden");
    let (s, after2) = o.lead2.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_eq!((s, after2["state"].as_str()), (StatusCode::OK, Some("approved")), "{after2}");
    assert_eq!(after2["decisions"].as_array().unwrap().len(), 2);
    let late = o.lead1.call(Method::POST, &format!("/v1/requests/{rid}/deny"), Some(json!({"reason": "no"}))).await;
    assert_error(&late, StatusCode::CONFLICT, "invalid_state");
}

async fn two_approvers_deciding_at_once_approve_it(app: TestApp) {
    let o = org(&app).await;
    for _ in 0..5 {
        let (_, r) = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"], "reason": "r"})).await;
        let path = format!("/v1/requests/{}/approve", id(&r));
        let (a, b) = tokio::join!(o.lead1.call(Method::POST, &path, Some(json!({}))), o.lead2.call(Method::POST, &path, Some(json!({}))));
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{} {}", a.1, b.1);
        let (_, now) = o.alice.call(Method::GET, &format!("/v1/requests/{}", id(&r)), None).await;
        // Approved, and perhaps already being granted by the workers.
        assert!(["approved", "provisioning", "active"].contains(&now["state"].as_str().unwrap()), "{now}");
        assert_eq!(now["decisions"].as_array().unwrap().len(), 2);
    }
}

async fn approvers_are_checked_when_they_decide(app: TestApp) {
    let o = org(&app).await;
    let (_, r) = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"], "reason": "r"})).await;
    // lead1 leaves `leads` after the request was made: no longer eligible.
    o.admin.call(Method::DELETE, "/v1/groups/leads/members/lead1@acme.io", None).await;
    let got = o.lead1.call(Method::POST, &format!("/v1/requests/{}/approve", id(&r)), Some(json!({}))).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
}

async fn break_glass_is_flagged_and_needs_a_reason(app: TestApp) {
    let o = org(&app).await;
    // Take Alice out of `leads` so only break-glass lets her approve.
    o.admin.call(Method::DELETE, "/v1/groups/leads/members/alice@acme.io", None).await;
    let (_, r) = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"], "reason": "prod down"})).await;
    let rid = id(&r);
    let silent = o.alice.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_error(&silent, StatusCode::FORBIDDEN, "forbidden");
    let (s, done) = o.alice.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({"reason": "pager says db is down"}))).await;
    assert_eq!((s, done["state"].as_str(), done["break_glass"].as_bool()), (StatusCode::OK, Some("approved"), Some(true)), "{done}");
    let audit = o.admin.call(Method::GET, "/v1/audit?limit=1000", None).await.1;
    assert!(audit["records"].as_array().unwrap().iter().any(|r| r["action"] == "request.break_glass" && r["target"] == rid.as_str()));
}

async fn rules_decide_auto_deny_self_and_no_match(app: TestApp) {
    let o = org(&app).await;
    let (s, auto) = ask(&o.outsider, json!({"kind": "role", "name": "ReadOnly", "accounts": ["111111111111"]})).await;
    assert_eq!((s, auto["state"].as_str(), auto["duration"].as_u64()), (StatusCode::CREATED, Some("approved"), Some(1800)), "{auto}");
    let billing = ask(&o.outsider, json!({"kind": "role", "name": "BillingAdmin", "accounts": ["111111111111"]})).await;
    assert_error(&billing, StatusCode::FORBIDDEN, "no_access");
    let nothing = ask(&o.outsider, json!({"kind": "group", "name": "wheel", "accounts": ["111111111111"]})).await;
    assert_error(&nothing, StatusCode::FORBIDDEN, "no_access");
    assert!(nothing.1["error"]["message"].as_str().unwrap().contains("no policy rule lets you request group `wheel` in account 111111111111"));
    // A rule with allow_self_approval lets an eligible requester approve their own.
    let (_, ps) = ask(&o.alice, json!({"kind": "permission-set", "name": "Dev", "accounts": ["111111111111"]})).await;
    let (s, own) = o.alice.call(Method::POST, &format!("/v1/requests/{}/approve", id(&ps)), Some(json!({}))).await;
    assert_eq!((s, own["state"].as_str()), (StatusCode::OK, Some("approved")), "{own}");
    // Bad input.
    let bad = ask(&o.alice, json!({"kind": "role", "name": "ReadOnly", "accounts": ["12345"]})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_request");
    let bad = ask(&o.alice, json!({"kind": "resource", "name": "arn:aws:s3:::b", "accounts": ["111111111111"]})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_request");
    let bad = ask(&o.alice, json!({"kind": "wizard", "name": "x", "accounts": ["111111111111"]})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_json");
}

async fn requesters_cancel_approvers_deny_others_see_nothing(app: TestApp) {
    let o = org(&app).await;
    let (_, r1) = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"], "reason": "r"})).await;
    let not_mine = o.lead1.call(Method::POST, &format!("/v1/requests/{}/cancel", id(&r1)), None).await;
    assert_error(&not_mine, StatusCode::FORBIDDEN, "forbidden");
    let (s, c) = o.alice.call(Method::POST, &format!("/v1/requests/{}/cancel", id(&r1)), None).await;
    assert_eq!((s, c["state"].as_str()), (StatusCode::OK, Some("cancelled")));
    let (_, r2) = ask(&o.alice, json!({"kind": "role", "name": "AdminAccess", "accounts": ["111111111111"], "reason": "r"})).await;
    let (s, d) = o.lead2.call(Method::POST, &format!("/v1/requests/{}/deny", id(&r2)), Some(json!({"reason": "use ReadOnly"}))).await;
    assert_eq!((s, d["state"].as_str()), (StatusCode::OK, Some("denied")), "{d}");
    let mine = o.alice.call(Method::GET, "/v1/requests?mine=true", None).await.1;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    assert_eq!(o.outsider.call(Method::GET, "/v1/requests", None).await.1, json!([]));
    assert_error(&o.outsider.call(Method::GET, &format!("/v1/requests/{}", id(&r2)), None).await, StatusCode::NOT_FOUND, "not_found");
    // Another org sees nothing either.
    let other = app.second_org("globex").await;
    assert_error(&other.call(Method::GET, &format!("/v1/requests/{}", id(&r2)), None).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(other.call(Method::GET, "/v1/requests", None).await.1, json!([]));
}

async fn policies_are_validated_versioned_and_audited(app: TestApp) {
    let admin = app.admin().await;
    let bad = admin.call(Method::PUT, "/v1/policy", Some(json!({"source": "[[rule]]\nname = \"x\"\nrequesters = \"any\"\napproval = \"maybe\"\n"}))).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(bad.1["error"]["message"].as_str().unwrap().contains("4:12: `maybe` is not an approval"), "{}", bad.1);
    assert_error(&admin.call(Method::GET, "/v1/policy", None).await, StatusCode::NOT_FOUND, "not_found");
    admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    let (_, v2) = admin.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await;
    assert_eq!(v2["version"], 2);
    let member = app.add_user(&admin, "m@acme.io", "member").await;
    assert_error(&member.call(Method::PUT, "/v1/policy", Some(json!({"source": POLICY}))).await, StatusCode::FORBIDDEN, "forbidden");
    let audit = admin.call(Method::GET, "/v1/audit?limit=1000", None).await.1;
    assert_eq!(audit["records"].as_array().unwrap().iter().filter(|r| r["action"] == "policy.applied").count(), 2);
}

/// A request created on this replica and then decided on another (here:
/// straight in the store, as another replica's move is) is read before an
/// approval here: the approval is refused as for any decided request, and
/// records nothing.
async fn a_request_decided_elsewhere_is_not_approved_here(app: TestApp) {
    use latch_core::access::lifecycle::State;
    use latch_core::access::request::{Changes, Decision};
    use latch_core::store::AccessStore;
    use latch_core::Clock as _;
    let o = org(&app).await;
    let (_, r) = ask(&o.alice, json!({"kind": "permission-set", "name": "Ops", "accounts": ["111111111111"]})).await;
    let rid = id(&r);
    let store = app.running.as_ref().unwrap().store.clone();
    let now = app.clock.now();
    let denial = Decision { approver_id: "usr_elsewhere".into(), approver_email: "lead2@acme.io".into(), decision: "deny".into(), reason: "no".into(), at: now };
    let org_id = r["org_id"].as_str().unwrap();
    assert!(store.transition(org_id, &rid, State::Pending, State::Denied, &Changes { decision: Some(denial), ..Changes::default() }, now).await.unwrap());
    let late = o.lead1.call(Method::POST, &format!("/v1/requests/{rid}/approve"), Some(json!({}))).await;
    assert_error(&late, StatusCode::CONFLICT, "invalid_state");
    let (_, now) = o.alice.call(Method::GET, &format!("/v1/requests/{rid}"), None).await;
    assert_eq!(now["state"], "denied");
    assert_eq!(now["decisions"].as_array().unwrap().iter().map(|d| d["decision"].as_str().unwrap()).collect::<Vec<_>>(), ["deny"]);
    // One created and still pending is approved from what it was created with.
    let (_, r) = ask(&o.alice, json!({"kind": "permission-set", "name": "Ops", "accounts": ["111111111111"]})).await;
    let (s, approved) = o.lead1.call(Method::POST, &format!("/v1/requests/{}/approve", id(&r)), Some(json!({}))).await;
    assert_eq!((s, approved["state"].as_str()), (StatusCode::OK, Some("approved")), "{approved}");
    assert_eq!(approved["decisions"][0]["approver_email"], "lead1@acme.io");
}

crate::both_engines!(
    a_request_decided_elsewhere_is_not_approved_here,
    two_of_a_group_approve_and_self_approval_is_refused,
    two_approvers_deciding_at_once_approve_it,
    approvers_are_checked_when_they_decide,
    break_glass_is_flagged_and_needs_a_reason,
    rules_decide_auto_deny_self_and_no_match,
    requesters_cancel_approvers_deny_others_see_nothing,
    policies_are_validated_versioned_and_audited,
);
