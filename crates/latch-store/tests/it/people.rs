//! Orgs, users and groups: uniqueness, org scoping, IdP group sync.

use latch_core::model::{GroupSource, Role};
use latch_core::store::{NewUser, OrgStore, PeopleStore, StoreError};
use latch_core::Timestamp;
use latch_store::SqlStore;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser { email: email.into(), name: email.into(), role, password_hash: None }
}

async fn orgs_have_unique_slugs(s: SqlStore) {
    assert_eq!(s.count_orgs().await.unwrap(), 0);
    let org = s.create_org("acme", "Acme", T0).await.unwrap();
    assert!(matches!(s.create_org("acme", "Other", T0).await, Err(StoreError::Conflict)));
    assert_eq!(s.org_by_slug("acme").await.unwrap().unwrap(), org);
    assert!(s.org_by_slug("nope").await.unwrap().is_none());
    assert_eq!(s.count_orgs().await.unwrap(), 1);
}

async fn users_are_unique_per_org_and_scoped(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    let alice_a = s.create_user(&a.id, &new_user("alice@x.io", Role::Admin), T0).await.unwrap();
    // The same email in another org is another user.
    let alice_b = s.create_user(&b.id, &new_user("alice@x.io", Role::Member), T0).await.unwrap();
    assert_ne!(alice_a.id, alice_b.id);
    assert!(matches!(s.create_user(&a.id, &new_user("alice@x.io", Role::Member), T0).await, Err(StoreError::Conflict)));
    // Org B cannot see, change or delete org A's user.
    assert!(s.user_by_id(&b.id, &alice_a.id).await.unwrap().is_none());
    assert!(matches!(s.set_role(&b.id, &alice_a.id, Role::Member).await, Err(StoreError::NotFound)));
    assert!(matches!(s.delete_user(&b.id, &alice_a.id).await, Err(StoreError::NotFound)));
    assert_eq!(s.list_users(&a.id).await.unwrap(), vec![alice_a.clone()]);
    s.set_role(&a.id, &alice_a.id, Role::Approver).await.unwrap();
    assert_eq!(s.user_by_id(&a.id, &alice_a.id).await.unwrap().unwrap().role, Role::Approver);
    s.set_password(&a.id, &alice_a.id, "$argon2id$fake").await.unwrap();
    let secrets = s.user_secrets_by_email(&a.id, "alice@x.io").await.unwrap().unwrap();
    assert_eq!(secrets.password_hash.as_deref(), Some("$argon2id$fake"));
    assert!(secrets.user.has_password);
    s.set_totp(&a.id, &alice_a.id, Some("JBSWY3DPEHPK3PXP")).await.unwrap();
    assert!(s.user_by_id(&a.id, &alice_a.id).await.unwrap().unwrap().totp_enabled);
    assert!(s.use_totp_step(&a.id, &alice_a.id, 100).await.unwrap());
    assert!(!s.use_totp_step(&a.id, &alice_a.id, 100).await.unwrap(), "a step works once");
    assert!(!s.use_totp_step(&a.id, &alice_a.id, 99).await.unwrap(), "nor an earlier one");
    assert!(!s.use_totp_step(&b.id, &alice_a.id, 101).await.unwrap(), "nor from another org");
    assert!(s.use_totp_step(&a.id, &alice_a.id, 101).await.unwrap());
    s.delete_user(&a.id, &alice_a.id).await.unwrap();
    assert!(s.user_by_id(&a.id, &alice_a.id).await.unwrap().is_none());
}

async fn groups_and_members_stay_in_their_org(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let b = s.create_org("org-b", "B", T0).await.unwrap();
    let ua = s.create_user(&a.id, &new_user("u@a.io", Role::Member), T0).await.unwrap();
    let ub = s.create_user(&b.id, &new_user("u@b.io", Role::Member), T0).await.unwrap();
    let ga = s.create_group(&a.id, "ops", GroupSource::Local, T0).await.unwrap();
    assert!(matches!(s.create_group(&a.id, "ops", GroupSource::Local, T0).await, Err(StoreError::Conflict)));
    s.add_member(&a.id, &ga.id, &ua.id).await.unwrap();
    s.add_member(&a.id, &ga.id, &ua.id).await.unwrap();
    // A user of org B cannot be put in org A's group, from either side.
    assert!(matches!(s.add_member(&a.id, &ga.id, &ub.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.add_member(&b.id, &ga.id, &ub.id).await, Err(StoreError::NotFound)));
    assert_eq!(s.group_members(&a.id, &ga.id).await.unwrap(), vec![ua.clone()]);
    assert!(s.group_members(&b.id, &ga.id).await.unwrap().is_empty());
    assert_eq!(s.user_groups(&a.id, &ua.id).await.unwrap(), vec![ga.clone()]);
    s.remove_member(&a.id, &ga.id, &ua.id).await.unwrap();
    assert!(s.group_members(&a.id, &ga.id).await.unwrap().is_empty());
    assert!(matches!(s.delete_group(&b.id, &ga.id).await, Err(StoreError::NotFound)));
    s.delete_group(&a.id, &ga.id).await.unwrap();
    assert!(s.list_groups(&a.id).await.unwrap().is_empty());
}

async fn idp_groups_follow_the_claim(s: SqlStore) {
    let a = s.create_org("org-a", "A", T0).await.unwrap();
    let u = s.create_user(&a.id, &new_user("u@a.io", Role::Member), T0).await.unwrap();
    let local = s.create_group(&a.id, "local-team", GroupSource::Local, T0).await.unwrap();
    s.add_member(&a.id, &local.id, &u.id).await.unwrap();
    s.sync_idp_groups(&a.id, &u.id, &["eng".into(), "oncall".into()], T0).await.unwrap();
    let names = |gs: Vec<latch_core::model::Group>| gs.into_iter().map(|g| g.name).collect::<Vec<_>>();
    assert_eq!(names(s.user_groups(&a.id, &u.id).await.unwrap()), ["eng", "local-team", "oncall"]);
    s.sync_idp_groups(&a.id, &u.id, &["eng".into()], T0).await.unwrap();
    assert_eq!(names(s.user_groups(&a.id, &u.id).await.unwrap()), ["eng", "local-team"]);
    // A local group with the claimed name is not joined through the IdP.
    s.sync_idp_groups(&a.id, &u.id, &["local-team".into()], T0).await.unwrap();
    assert_eq!(names(s.user_groups(&a.id, &u.id).await.unwrap()), ["local-team"]);
}

crate::conformance!(
    orgs_have_unique_slugs,
    users_are_unique_per_org_and_scoped,
    groups_and_members_stay_in_their_org,
    idp_groups_follow_the_claim,
);

mod sso_conformance {
    use latch_core::model::{Role, SsoConfig};
    use latch_core::store::{OrgStore, SsoState, SsoStore};
    use latch_core::token::TokenHash;
    use latch_core::{Secret, Timestamp};
    use latch_store::SqlStore;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    async fn sso_settings_and_states(s: SqlStore) {
        let a = s.create_org("org-a", "A", T0).await.unwrap();
        let b = s.create_org("org-b", "B", T0).await.unwrap();
        assert!(s.sso(&a.id).await.unwrap().is_none());
        let mut c = SsoConfig {
            issuer: "https://idp.example".into(),
            client_id: "latch".into(),
            client_secret: Secret::new("s3cret"),
            groups_claim: "groups".into(),
            auto_create: true,
            default_role: Role::Member,
        };
        s.set_sso(&a.id, &c, T0).await.unwrap();
        c.client_id = "latch-2".into();
        s.set_sso(&a.id, &c, T0).await.unwrap();
        assert_eq!(s.sso(&a.id).await.unwrap().unwrap(), c);
        assert!(s.sso(&b.id).await.unwrap().is_none());
        let st = SsoState { org_id: a.id.clone(), nonce: "n".into(), pkce_verifier: "v".into(), next: "/".into(), expires_at: Timestamp(T0.0 + 600_000) };
        let h = TokenHash::of("state-1");
        s.create_sso_state(&h, &st).await.unwrap();
        assert!(s.take_sso_state(&h, Timestamp(T0.0 + 600_000)).await.unwrap().is_none(), "expired");
        s.create_sso_state(&TokenHash::of("state-2"), &st).await.unwrap();
        assert_eq!(s.take_sso_state(&TokenHash::of("state-2"), T0).await.unwrap(), Some(st));
        assert!(s.take_sso_state(&TokenHash::of("state-2"), T0).await.unwrap().is_none(), "taken once");
        s.delete_sso(&a.id).await.unwrap();
        assert!(s.sso(&a.id).await.unwrap().is_none());
    }

    crate::conformance!(sso_settings_and_states);
}
