//! First run: on an empty database, create the first org and its first admin,
//! and print a one-time enrollment link to stderr (once: the link's token is
//! stored hashed and never shown again).

use std::time::Duration;

use anyhow::Context as _;
use latch_core::audit::NewAuditEvent;
use latch_core::model::Role;
use latch_core::store::{NewUser, Store, StoreError};
use latch_core::token::{mint, TokenKind};
use latch_core::{validate, Clock};

use crate::config::Config;

pub(crate) async fn first_run(store: &dyn Store, clock: &dyn Clock, config: &Config) -> anyhow::Result<()> {
    if store.count_orgs().await? > 0 {
        return Ok(());
    }
    validate::slug(&config.init_org).context("while checking `--init-org`")?;
    let email = validate::email(&config.init_admin).context("while checking `--init-admin`")?;
    let now = clock.now();
    let org = match store.create_org(&config.init_org, &config.init_org, now).await {
        Ok(org) => org,
        // Another replica bootstrapped the same database first.
        Err(StoreError::Conflict) => return Ok(()),
        Err(e) => return Err(e).context("while creating the first org"),
    };
    let user = store
        .create_user(&org.id, &NewUser { email: email.clone(), name: String::new(), role: Role::Admin, password_hash: None }, now)
        .await?;
    let m = mint(TokenKind::Enrollment);
    let expires = now.plus(Duration::from_secs(config.auth.enrollment_secs));
    store.create_enrollment(&org.id, &user.id, &m.hash, expires).await?;
    store
        .append_audit(&org.id, &NewAuditEvent::new("system", "org.created", &org.id).with(serde_json::json!({"admin": email})), now)
        .await?;
    let token = m.secret.expose();
    eprintln!(
        "\nlatch: created org `{slug}` with first admin `{email}`.\n\
         latch: enroll the admin before {exp} (this is shown once):\n\n  \
         {url}/enroll?org={slug}&token={token}\n\n  \
         or: latch enroll {token} --org {slug} --server {url}\n",
        slug = org.slug,
        exp = expires.to_rfc3339(),
        url = config.public_url(),
    );
    Ok(())
}
