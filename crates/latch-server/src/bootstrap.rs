//! First run: on an empty database, create the first org and its first admin,
//! with a one-time enrollment token that is shown once (it is stored hashed).
//! The same path creates further orgs for an operator.

use std::time::Duration;

use anyhow::Context as _;
use latch_core::audit::NewAuditEvent;
use latch_core::model::Role;
use latch_core::store::{NewUser, Store, StoreError};
use latch_core::token::{mint, TokenKind};
use latch_core::{validate, Clock, Timestamp};

use crate::config::Config;

/// An org just created, with its admin's one-time enrollment token.
#[derive(Debug, Clone)]
pub struct FirstRun {
    /// The org's slug.
    pub org: String,
    /// The admin's email.
    pub admin: String,
    /// The one-time enrollment token.
    pub token: String,
    /// When the token stops working.
    pub expires_at: Timestamp,
}

impl FirstRun {
    /// What an operator is shown, once.
    pub fn banner(&self, public_url: &str) -> String {
        format!(
            "\nlatch: created org `{slug}` with first admin `{email}`.\n\
             latch: enroll the admin before {exp} (this is shown once):\n\n  \
             {public_url}/enroll?org={slug}&token={token}\n\n  \
             or: latch enroll {token} --org {slug} --server {public_url}\n",
            slug = self.org,
            email = self.admin,
            exp = self.expires_at.to_rfc3339(),
            token = self.token,
        )
    }
}

/// Creates the first org when the database has none.
pub(crate) async fn first_run(store: &dyn Store, clock: &dyn Clock, config: &Config) -> anyhow::Result<Option<FirstRun>> {
    if store.count_orgs().await? > 0 {
        return Ok(None);
    }
    match create_org_with_admin(store, clock, config, &config.init_org, &config.init_admin).await {
        Ok(f) => Ok(Some(f)),
        // Another replica bootstrapped the same database first.
        Err(e) if e.downcast_ref::<StoreError>().is_some_and(|s| matches!(s, StoreError::Conflict)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates an org, its admin and the admin's enrollment token.
pub(crate) async fn create_org_with_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &Config,
    slug: &str,
    admin: &str,
) -> anyhow::Result<FirstRun> {
    validate::slug(slug).context("while checking the org slug")?;
    let email = validate::email(admin).context("while checking the admin email")?;
    let now = clock.now();
    let org = store.create_org(slug, slug, now).await.map_err(anyhow::Error::from)?;
    let user = store
        .create_user(&org.id, &NewUser { email: email.clone(), name: String::new(), role: Role::Admin, password_hash: None }, now)
        .await?;
    let m = mint(TokenKind::Enrollment);
    let expires_at = now.plus(Duration::from_secs(config.auth.enrollment_secs));
    store.create_enrollment(&org.id, &user.id, &m.hash, expires_at).await?;
    store
        .append_audit(&org.id, &NewAuditEvent::new("system", "org.created", &org.id).with(serde_json::json!({"admin": email})), now)
        .await?;
    Ok(FirstRun { org: org.slug, admin: email, token: m.secret.expose().to_owned(), expires_at })
}
