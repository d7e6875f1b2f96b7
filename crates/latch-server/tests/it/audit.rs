//! The audit chain over the API: security events are recorded, and edits or
//! deletions in the database are detected.

use latch_core::audit::{verify, AuditRecord, ChainBreak};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Client, TestApp};

async fn chain(admin: &Client) -> (Vec<AuditRecord>, (i64, String)) {
    let (status, page) = admin.call(Method::GET, "/v1/audit?limit=1000", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let records: Vec<AuditRecord> = serde_json::from_value(page["records"].clone()).unwrap();
    let head = (page["head"]["seq"].as_i64().unwrap(), page["head"]["hash"].as_str().unwrap().to_owned());
    (records, head)
}

async fn security_events_are_chained_and_tampering_is_detected(app: TestApp) {
    let admin = app.admin().await;
    admin.call(Method::POST, "/v1/users", Some(json!({"email": "bob@acme.io"}))).await;
    admin.call(Method::PATCH, "/v1/users/bob@acme.io", Some(json!({"role": "approver"}))).await;
    let (id, _) = admin.token(&["read"]).await;
    admin.call(Method::DELETE, &format!("/v1/tokens/{id}"), None).await;
    app.anon().call(Method::POST, "/v1/orgs/acme/login", Some(json!({"email": "admin@acme.io", "password": "wrong password!"}))).await;

    let (records, head) = chain(&admin).await;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    for want in ["org.created", "user.enrolled", "user.created", "user.role_changed", "token.created", "token.revoked", "auth.sign_in_failed"] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    assert_eq!(verify(&records, Some((head.0, &head.1))), Ok(records.len()));

    // Edit a row in the database: detected at that row.
    let mut conn = app.sql().await;
    sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3").execute(&mut conn).await.unwrap();
    let (records, head) = chain(&admin).await;
    assert_eq!(verify(&records, Some((head.0, &head.1))), Err(ChainBreak::Edited { seq: 3 }));

    // Delete a row instead: detected after the gap.
    sqlx::query("UPDATE audit_log SET actor = (SELECT actor FROM audit_log WHERE seq = 2) WHERE seq = 3").execute(&mut conn).await.ok();
    sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(&mut conn).await.unwrap();
    let (records, head) = chain(&admin).await;
    assert_eq!(verify(&records, Some((head.0, &head.1))), Err(ChainBreak::Broken { seq: 4 }));
}

crate::both_engines!(security_events_are_chained_and_tampering_is_detected);
