//! The audit chain as stored: concurrent appends never fork it, and
//! tampering with stored rows is detected.

use latch_core::audit::{verify, ChainBreak, NewAuditEvent};
use latch_core::store::{AuditStore, OrgStore};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);

async fn concurrent_appends_form_one_chain(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            let ev = NewAuditEvent::new("usr_1", "auth.sign_in", format!("t{i}")).with(serde_json::json!({"i": i}));
            s.append_audit(&org_id, &ev, T0).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let records = s.audit_page(&org.id, 0, 1000).await.unwrap();
    assert_eq!(records.len(), 40);
    let head = s.audit_head(&org.id).await.unwrap().unwrap();
    assert_eq!(verify(&records, Some((head.0, &head.1))), Ok(40));
    // Pages follow seq.
    let page = s.audit_page(&org.id, 10, 5).await.unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [11, 12, 13, 14, 15]);
}

async fn chains_are_per_org(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    s.append_audit(&a.id, &NewAuditEvent::new("x", "user.created", "1"), T0).await.unwrap();
    s.append_audit(&b.id, &NewAuditEvent::new("x", "user.created", "2"), T0).await.unwrap();
    // Sealing every org chains each org's events onto its own chain.
    assert_eq!(s.seal_audit(None).await.unwrap(), 2);
    let page = s.audit_page(&b.id, 0, 10).await.unwrap();
    assert_eq!(page.iter().map(|r| (r.seq, r.target.as_str())).collect::<Vec<_>>(), [(1, "2")]);
    assert!(page.iter().all(|r| r.org_id == b.id));
}

async fn a_tampered_detail_is_detected(s: SqlStore) {
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    for i in 0..3 {
        s.append_audit(&org.id, &NewAuditEvent::new("x", "token.created", format!("{i}")), T0).await.unwrap();
    }
    let mut records = s.audit_page(&org.id, 0, 10).await.unwrap();
    records[1].detail = r#"{"forged":true}"#.into();
    let head = s.audit_head(&org.id).await.unwrap().unwrap();
    assert_eq!(verify(&records, Some((head.0, &head.1))), Err(ChainBreak::Edited { seq: 2 }));
}

/// An event whose transaction commits after later events were chained (its
/// id is older than theirs) is chained by the next seal: none is skipped.
async fn a_late_commit_is_chained_next(engine: &str) {
    use sqlx::Connection as _;
    let Some((url, _dir)) = crate::engines::url(engine).await else { return };
    let s = latch_store::connect(&url, &latch_store::StoreOptions::default()).await.unwrap();
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    s.append_audit(&org.id, &NewAuditEvent::new("x", "first", "1"), T0).await.unwrap();
    s.append_audit(&org.id, &NewAuditEvent::new("x", "second", "2"), T0).await.unwrap();
    assert_eq!(s.seal_audit(Some(&org.id)).await.unwrap(), 2);
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO audit_pending (id, org_id, at, actor, action, target, detail) VALUES (-5, $1, $2, 'x', 'late', '0', 'null')")
        .bind(&org.id)
        .bind(T0.millis())
        .execute(&mut conn)
        .await
        .unwrap();
    s.append_audit(&org.id, &NewAuditEvent::new("x", "third", "3"), T0).await.unwrap();
    let records = s.audit_page(&org.id, 0, 10).await.unwrap();
    assert_eq!(records.iter().map(|r| (r.seq, r.action.as_str())).collect::<Vec<_>>(), [(1, "first"), (2, "second"), (3, "late"), (4, "third")]);
    let head = s.audit_head(&org.id).await.unwrap().unwrap();
    assert_eq!(verify(&records, Some((head.0, &head.1))), Ok(4));
    assert_eq!(s.seal_audit(None).await.unwrap(), 0, "nothing left waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_chained_next_on_sqlite() {
    a_late_commit_is_chained_next("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_chained_next_on_postgres() {
    a_late_commit_is_chained_next("postgres").await;
}

crate::conformance!(concurrent_appends_form_one_chain, chains_are_per_org, a_tampered_detail_is_detected);
