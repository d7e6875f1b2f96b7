//! Tokens and sessions: hashed at rest, expiry, revocation, refresh rotation
//! and replay, device authorizations, enrollments, failure counters.

use std::time::Duration;

use latch_core::model::{CredentialKind, Role, Scope};
use latch_core::store::{
    CredentialStore, DeviceState, NewApiToken, NewDeviceAuthorization, NewSession, NewUser, OrgStore, PeopleStore,
    RefreshOutcome, SessionKind,
};
use latch_core::token::{mint, TokenHash, TokenKind};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);
const HOUR: Duration = Duration::from_secs(3600);

async fn org_and_user(s: &SqlStore, slug: &str) -> (String, String) {
    let org = s.create_org(slug, slug, T0).await.unwrap();
    let nu = NewUser { email: format!("u@{slug}.io"), name: "U".into(), role: Role::Admin, password_hash: None };
    let u = s.create_user(&org.id, &nu, T0).await.unwrap();
    (org.id, u.id)
}

async fn api_tokens_expire_and_revoke(s: SqlStore) {
    let (org, user) = org_and_user(&s, "acme").await;
    let (other_org, _) = org_and_user(&s, "other").await;
    let m = mint(TokenKind::Api);
    let nt = NewApiToken { user_id: user.clone(), name: "ci".into(), scopes: vec![Scope::Read], hash: m.hash.clone(), expires_at: T0.plus(HOUR) };
    let tok = s.create_api_token(&org, &nt, T0).await.unwrap();
    assert_eq!(tok.scopes, vec![Scope::Read]);
    let p = s.authenticate_api_token(&m.hash, T0).await.unwrap().unwrap();
    assert_eq!((p.user_id.as_str(), p.credential, p.scopes.clone()), (user.as_str(), CredentialKind::Api, Some(vec![Scope::Read])));
    assert_eq!(p.org_slug, "acme");
    assert_eq!(p.policy_version, None, "no policy yet");
    // The org's current policy version comes with the credential; another
    // org's policies are not counted.
    use latch_core::store::AccessStore;
    s.put_policy(&org, "# v1", "admin", T0).await.unwrap();
    s.put_policy(&org, "# v2", "admin", T0).await.unwrap();
    for _ in 0..3 {
        s.put_policy(&other_org, "# other", "admin", T0).await.unwrap();
    }
    assert_eq!(s.authenticate_api_token(&m.hash, T0).await.unwrap().unwrap().policy_version, Some(2));
    assert!(s.authenticate_api_token(&TokenHash::of("latch_pat_wrong"), T0).await.unwrap().is_none());
    assert!(s.authenticate_api_token(&m.hash, T0.plus(HOUR)).await.unwrap().is_none(), "expired");
    // Another org cannot see or revoke it.
    assert!(s.api_token(&other_org, &tok.id).await.unwrap().is_none());
    s.revoke_api_token(&other_org, &tok.id, T0).await.unwrap();
    assert!(s.authenticate_api_token(&m.hash, T0).await.unwrap().is_some());
    s.revoke_api_token(&org, &tok.id, T0).await.unwrap();
    assert!(s.authenticate_api_token(&m.hash, T0).await.unwrap().is_none());
    let listed = s.list_api_tokens(&org, Some(&user)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(T0));
}

async fn refresh_tokens_rotate_and_replay_revokes_the_family(s: SqlStore) {
    let (org, user) = org_and_user(&s, "acme").await;
    let first = mint(TokenKind::Refresh);
    let ses = NewSession { user_id: user.clone(), kind: SessionKind::Cli, secret_hash: first.hash.clone(), expires_at: T0.plus(HOUR * 24) };
    let sid = s.create_session(&org, &ses, T0).await.unwrap();
    s.insert_refresh_token(&sid, &first.hash, T0.plus(HOUR * 24)).await.unwrap();
    let access = mint(TokenKind::Access);
    s.insert_access_token(&sid, &access.hash, T0.plus(HOUR)).await.unwrap();
    assert!(s.authenticate_access_token(&access.hash, T0).await.unwrap().is_some());

    let out = s.use_refresh_token(&first.hash, T0).await.unwrap();
    assert!(matches!(out, RefreshOutcome::Rotated { ref session_id, .. } if *session_id == sid));
    let second = mint(TokenKind::Refresh);
    s.insert_refresh_token(&sid, &second.hash, T0.plus(HOUR * 24)).await.unwrap();

    // Replaying the spent token revokes the whole family, incl. the new one.
    assert_eq!(s.use_refresh_token(&first.hash, T0).await.unwrap(), RefreshOutcome::Replayed { session_id: sid.clone() });
    assert_eq!(s.use_refresh_token(&second.hash, T0).await.unwrap(), RefreshOutcome::Invalid);
    assert!(s.authenticate_access_token(&access.hash, T0).await.unwrap().is_none());
    assert_eq!(s.use_refresh_token(&TokenHash::of("nope"), T0).await.unwrap(), RefreshOutcome::Invalid);
}

async fn concurrent_refreshes_spend_once(s: SqlStore) {
    let (org, user) = org_and_user(&s, "acme").await;
    let rt = mint(TokenKind::Refresh);
    let ses = NewSession { user_id: user, kind: SessionKind::Cli, secret_hash: rt.hash.clone(), expires_at: T0.plus(HOUR) };
    let sid = s.create_session(&org, &ses, T0).await.unwrap();
    s.insert_refresh_token(&sid, &rt.hash, T0.plus(HOUR)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        let h = rt.hash.clone();
        tasks.push(tokio::spawn(async move { s.use_refresh_token(&h, T0).await.unwrap() }));
    }
    let mut rotated = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), RefreshOutcome::Rotated { .. }) {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
}

async fn web_sessions_end_on_revoke(s: SqlStore) {
    let (org, user) = org_and_user(&s, "acme").await;
    let cookie = mint(TokenKind::Session);
    let ses = NewSession { user_id: user, kind: SessionKind::Web, secret_hash: cookie.hash.clone(), expires_at: T0.plus(HOUR) };
    let sid = s.create_session(&org, &ses, T0).await.unwrap();
    let p = s.authenticate_session(&cookie.hash, T0).await.unwrap().unwrap();
    assert_eq!(p.credential, CredentialKind::Session);
    assert!(s.authenticate_session(&cookie.hash, T0.plus(HOUR)).await.unwrap().is_none());
    s.revoke_session(&org, &sid, T0).await.unwrap();
    assert!(s.authenticate_session(&cookie.hash, T0).await.unwrap().is_none());
}

async fn device_authorizations_are_decided_once_and_consumed_once(s: SqlStore) {
    let (org, user) = org_and_user(&s, "acme").await;
    let (other, _) = org_and_user(&s, "other").await;
    let dc = mint(TokenKind::DeviceCode);
    let nd = NewDeviceAuthorization { device_code_hash: dc.hash.clone(), user_code: "BCDF-GHJK".into(), expires_at: T0.plus(HOUR), interval_secs: 5, client_name: "laptop".into() };
    let d = s.create_device_authorization(&org, &nd, T0).await.unwrap();
    let polled = s.poll_device_authorization(&org, &dc.hash, T0).await.unwrap().unwrap();
    assert_eq!((polled.state, polled.last_polled_at), (DeviceState::Pending, None));
    let polled = s.poll_device_authorization(&org, &dc.hash, T0.plus(Duration::from_secs(1))).await.unwrap().unwrap();
    assert_eq!(polled.last_polled_at, Some(T0));
    assert!(s.poll_device_authorization(&other, &dc.hash, T0).await.unwrap().is_none(), "other org");
    assert!(s.device_authorization_by_user_code(&other, "BCDF-GHJK").await.unwrap().is_none());
    let found = s.device_authorization_by_user_code(&org, "BCDF-GHJK").await.unwrap().unwrap();
    assert_eq!(found.id, d.id);
    assert!(!s.decide_device_authorization(&org, &d.id, Some(&user), T0.plus(HOUR)).await.unwrap(), "expired");
    assert!(s.decide_device_authorization(&org, &d.id, Some(&user), T0).await.unwrap());
    assert!(!s.decide_device_authorization(&org, &d.id, None, T0).await.unwrap(), "decided once");
    assert!(s.consume_device_authorization(&d.id).await.unwrap());
    assert!(!s.consume_device_authorization(&d.id).await.unwrap(), "consumed once");
}

async fn enrollments_are_single_use(s: SqlStore) {
    let (org, user) = org_and_user(&s, "acme").await;
    let e = mint(TokenKind::Enrollment);
    s.create_enrollment(&org, &user, &e.hash, T0.plus(HOUR)).await.unwrap();
    assert!(s.consume_enrollment(&org, &e.hash, T0.plus(HOUR)).await.unwrap().is_none(), "expired");
    assert_eq!(s.consume_enrollment(&org, &e.hash, T0).await.unwrap().unwrap().user_id, user);
    assert!(s.consume_enrollment(&org, &e.hash, T0).await.unwrap().is_none(), "reused");
}

async fn failures_count_within_the_window(s: SqlStore) {
    let w = Duration::from_secs(900);
    for i in 1..=3 {
        let now = T0.plus(Duration::from_secs(i));
        assert_eq!(s.record_failure("acct:a", now, now.minus(w)).await.unwrap(), i as i64);
    }
    assert_eq!(s.failures_since("acct:a", T0).await.unwrap(), 3);
    assert_eq!(s.failures_since("acct:b", T0).await.unwrap(), 0);
    let later = T0.plus(w * 2);
    assert_eq!(s.record_failure("acct:a", later, later.minus(w)).await.unwrap(), 1);
    s.clear_failures("acct:a").await.unwrap();
    assert_eq!(s.failures_since("acct:a", T0).await.unwrap(), 0);
}

crate::conformance!(
    api_tokens_expire_and_revoke,
    refresh_tokens_rotate_and_replay_revokes_the_family,
    concurrent_refreshes_spend_once,
    web_sessions_end_on_revoke,
    device_authorizations_are_decided_once_and_consumed_once,
    enrollments_are_single_use,
    failures_count_within_the_window,
);

/// Until `check` holds of what `store` resolves `hash` to, within 5 s.
async fn eventually(store: &SqlStore, hash: &TokenHash, what: &str, check: impl Fn(Option<&latch_core::model::Principal>) -> bool) {
    for _ in 0..250 {
        if check(store.authenticate_api_token(hash, T0).await.unwrap().as_ref()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("another replica never saw {what}");
}

/// Credentials resolved on one replica follow changes made on another, or
/// straight in the database; a replica's own changes show at once. On
/// PostgreSQL answers are remembered (this is checked first: a change
/// nothing listens for is not seen), so this is the invalidation at work.
async fn credential_changes_reach_every_replica(engine: &str) {
    let Some((url, _keep)) = crate::engines::url(engine).await else { return };
    let opts = latch_store::StoreOptions::default();
    let (a, b) = (latch_store::connect(&url, &opts).await.unwrap(), latch_store::connect(&url, &opts).await.unwrap());
    let (org, user) = org_and_user(&a, "acme").await;
    let m = mint(TokenKind::Api);
    let nt = NewApiToken { user_id: user.clone(), name: "ci".into(), scopes: vec![Scope::Read], hash: m.hash.clone(), expires_at: T0.plus(HOUR) };
    let tok = a.create_api_token(&org, &nt, T0).await.unwrap();
    if engine == "postgres" {
        // Recording a use is not a change anyone is told of: once `b`
        // remembers the token, it keeps answering what it first read.
        let mut remembered = false;
        for i in 1..250 {
            b.authenticate_api_token(&m.hash, T0).await.unwrap().unwrap();
            latch_testkit::pg::psql(&url, &format!("UPDATE api_tokens SET last_used_at = {i} WHERE id = '{}'", tok.id)).unwrap();
            if b.authenticate_api_token(&m.hash, T0).await.unwrap().unwrap().last_used_at != Some(Timestamp(i)) {
                remembered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(remembered, "PostgreSQL replicas remember credentials");
    }
    assert_eq!(b.authenticate_api_token(&m.hash, T0).await.unwrap().unwrap().role, Role::Admin);
    a.set_role(&org, &user, Role::Member).await.unwrap();
    eventually(&b, &m.hash, "a new role", |p| p.is_some_and(|p| p.role == Role::Member)).await;
    let g = a.create_group(&org, "oncall", latch_core::model::GroupSource::Local, T0).await.unwrap();
    a.add_member(&org, &g.id, &user).await.unwrap();
    eventually(&b, &m.hash, "a new group", |p| p.is_some_and(|p| p.groups.as_deref() == Some(&["oncall".to_owned()][..]))).await;
    use latch_core::store::AccessStore;
    a.put_policy(&org, "# v1", "admin", T0).await.unwrap();
    eventually(&b, &m.hash, "a new policy", |p| p.is_some_and(|p| p.policy_version == Some(1))).await;
    if engine == "postgres" {
        // An operator's change straight in the database is heard too.
        latch_testkit::pg::psql(&url, &format!("UPDATE users SET role = 'approver' WHERE id = '{user}'")).unwrap();
        eventually(&b, &m.hash, "a role set in the database", |p| p.is_some_and(|p| p.role == Role::Approver)).await;
    }
    a.revoke_api_token(&org, &tok.id, T0).await.unwrap();
    eventually(&b, &m.hash, "a revocation", |p| p.is_none()).await;
    // A replica's own revocation shows at once.
    let m2 = mint(TokenKind::Api);
    let tok2 = b.create_api_token(&org, &NewApiToken { hash: m2.hash.clone(), ..nt }, T0).await.unwrap();
    assert!(b.authenticate_api_token(&m2.hash, T0).await.unwrap().is_some());
    assert!(b.authenticate_api_token(&m2.hash, T0).await.unwrap().is_some());
    b.revoke_api_token(&org, &tok2.id, T0).await.unwrap();
    assert!(b.authenticate_api_token(&m2.hash, T0).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_credential_changes_reach_every_replica() {
    credential_changes_reach_every_replica("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_credential_changes_reach_every_replica() {
    credential_changes_reach_every_replica("postgres").await;
}

/// Whether an org's webhooks want an event follows their changes, made on
/// this replica (at once) or on another (once heard).
async fn webhook_events_heard_follow_changes(engine: &str) {
    use latch_core::store::WebhookStore;
    let Some((url, _keep)) = crate::engines::url(engine).await else { return };
    let opts = latch_store::StoreOptions::default();
    let (a, b) = (latch_store::connect(&url, &opts).await.unwrap(), latch_store::connect(&url, &opts).await.unwrap());
    let (org, _) = org_and_user(&a, "acme").await;
    let (other, _) = org_and_user(&a, "other").await;
    let heard = |s: &SqlStore, org: &str, event: &'static str| {
        let (s, org) = (s.clone(), org.to_owned());
        async move { s.hears(&org, event, T0).await.unwrap() }
    };
    assert!(!heard(&b, &org, "request.active").await, "no webhooks");
    let only_active = a.create_webhook(&org, "https://h.example/1", "generic", "s", &["request.active".to_owned()], T0).await.unwrap();
    assert!(heard(&a, &org, "request.active").await, "at once on the replica that added it");
    assert!(!heard(&a, &org, "request.created").await);
    assert!(!heard(&a, &other, "request.active").await, "another org's webhooks");
    let mut seen = false;
    for _ in 0..250 {
        if heard(&b, &org, "request.active").await {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "another replica hears of a new webhook");
    let all = b.create_webhook(&org, "https://h.example/2", "slack", "s", &[], T0).await.unwrap();
    assert!(heard(&b, &org, "request.created").await, "none listed: every event");
    b.delete_webhook(&org, &all.id).await.unwrap();
    b.delete_webhook(&org, &only_active.id).await.unwrap();
    assert!(!heard(&b, &org, "request.active").await, "at once after removing them");
    let mut gone = false;
    for _ in 0..250 {
        if !heard(&a, &org, "request.active").await {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "another replica hears of removed webhooks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_webhook_events_heard_follow_changes() {
    webhook_events_heard_follow_changes("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_webhook_events_heard_follow_changes() {
    webhook_events_heard_follow_changes("postgres").await;
}
