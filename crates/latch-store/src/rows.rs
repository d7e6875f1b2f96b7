//! Row decoding: one function per record type, so column lists and their
//! decoding live side by side.

use latch_core::audit::AuditRecord;
use latch_core::model::{ApiToken, CredentialKind, Group, GroupSource, Org, Principal, Role, Scope, User};
use latch_core::store::{DeviceAuthorization, DeviceState, StoreError};
use latch_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connect::Engine;
use crate::error::MapErr;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("unexpected {what} `{value}` in the database").into())
}

fn ts(row: &AnyRow, col: &str) -> Result<Timestamp, StoreError> {
    row.try_get::<i64, _>(col).db().map(Timestamp)
}

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(col).db()?.map(Timestamp))
}

fn role(row: &AnyRow, col: &str) -> Result<Role, StoreError> {
    let s: String = row.try_get(col).db()?;
    Role::parse(&s).ok_or_else(|| corrupt("role", &s))
}

/// Columns read by [`org`].
pub(crate) const ORG_COLS: &str = "id, slug, name, created_at";

pub(crate) fn org(row: &AnyRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: row.try_get("id").db()?,
        slug: row.try_get("slug").db()?,
        name: row.try_get("name").db()?,
        created_at: ts(row, "created_at")?,
    })
}

/// Columns read by [`user`], from table alias `u`.
pub(crate) const USER_COLS: &str =
    "u.id, u.org_id, u.email, u.name, u.role, u.password_hash, u.totp_secret, u.created_at";

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id").db()?,
        org_id: row.try_get("org_id").db()?,
        email: row.try_get("email").db()?,
        name: row.try_get("name").db()?,
        role: role(row, "role")?,
        has_password: row.try_get::<Option<String>, _>("password_hash").db()?.is_some(),
        totp_enabled: row.try_get::<Option<String>, _>("totp_secret").db()?.is_some(),
        created_at: ts(row, "created_at")?,
    })
}

/// Columns read by [`group`], from table alias `g`.
pub(crate) const GROUP_COLS: &str = "g.id, g.org_id, g.name, g.source, g.created_at";

pub(crate) fn group(row: &AnyRow) -> Result<Group, StoreError> {
    let source: String = row.try_get("source").db()?;
    Ok(Group {
        id: row.try_get("id").db()?,
        org_id: row.try_get("org_id").db()?,
        name: row.try_get("name").db()?,
        source: GroupSource::parse(&source).ok_or_else(|| corrupt("group source", &source))?,
        created_at: ts(row, "created_at")?,
    })
}

/// Columns read by [`api_token`].
pub(crate) const API_TOKEN_COLS: &str =
    "id, org_id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at";

pub(crate) fn api_token(row: &AnyRow) -> Result<ApiToken, StoreError> {
    let scopes: String = row.try_get("scopes").db()?;
    Ok(ApiToken {
        id: row.try_get("id").db()?,
        org_id: row.try_get("org_id").db()?,
        user_id: row.try_get("user_id").db()?,
        name: row.try_get("name").db()?,
        scopes: Scope::split(&scopes),
        created_at: ts(row, "created_at")?,
        expires_at: ts(row, "expires_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
        last_used_at: opt_ts(row, "last_used_at")?,
    })
}

/// Columns read by [`principal`]: `cred_id`, and user `u` and org `o`,
/// with the user's group names as a JSON array and the org's current
/// access policy version (read with the credential: most callers' next
/// question is what the access policy says of them).
pub(crate) fn principal_cols(engine: Engine) -> String {
    let names = match engine {
        Engine::Postgres => "COALESCE(json_agg(g.name), '[]')::TEXT",
        Engine::Sqlite => "json_group_array(g.name)",
    };
    format!(
        "u.id AS user_id, u.email, u.role, o.id AS org_id, o.slug,
         (SELECT {names} FROM groups_ g JOIN group_members m ON m.group_id = g.id WHERE m.org_id = u.org_id AND m.user_id = u.id) AS group_names,
         (SELECT MAX(p.version) FROM policies p WHERE p.org_id = o.id) AS policy_version"
    )
}

/// Group names from a JSON array of strings, sorted.
fn group_names(json: &str) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = serde_json::from_str(json).map_err(|_| corrupt("group list", json))?;
    names.sort();
    Ok(names)
}

pub(crate) fn principal(
    row: &AnyRow,
    credential: CredentialKind,
    credential_id: String,
    scopes: Option<Vec<Scope>>,
    last_used_at: Option<Timestamp>,
) -> Result<Principal, StoreError> {
    Ok(Principal {
        org_id: row.try_get("org_id").db()?,
        org_slug: row.try_get("slug").db()?,
        user_id: row.try_get("user_id").db()?,
        email: row.try_get("email").db()?,
        role: role(row, "role")?,
        credential,
        credential_id,
        scopes,
        last_used_at,
        groups: Some(group_names(&row.try_get::<String, _>("group_names").db()?)?),
        policy_version: row.try_get("policy_version").db()?,
    })
}

/// Columns read by [`device`].
pub(crate) const DEVICE_COLS: &str =
    "id, org_id, user_code, client_name, state, user_id, interval_secs, expires_at, last_polled_at";

pub(crate) fn device(row: &AnyRow) -> Result<DeviceAuthorization, StoreError> {
    let state: String = row.try_get("state").db()?;
    Ok(DeviceAuthorization {
        id: row.try_get("id").db()?,
        org_id: row.try_get("org_id").db()?,
        user_code: row.try_get("user_code").db()?,
        client_name: row.try_get("client_name").db()?,
        state: DeviceState::parse(&state).ok_or_else(|| corrupt("device state", &state))?,
        user_id: row.try_get("user_id").db()?,
        interval_secs: row.try_get("interval_secs").db()?,
        expires_at: ts(row, "expires_at")?,
        last_polled_at: opt_ts(row, "last_polled_at")?,
    })
}

/// Columns read by [`audit`].
pub(crate) const AUDIT_COLS: &str = "org_id, seq, at, actor, action, target, detail, prev_hash, hash";

pub(crate) fn audit(row: &AnyRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        org_id: row.try_get("org_id").db()?,
        seq: row.try_get("seq").db()?,
        at: ts(row, "at")?,
        actor: row.try_get("actor").db()?,
        action: row.try_get("action").db()?,
        target: row.try_get("target").db()?,
        detail: row.try_get("detail").db()?,
        prev_hash: row.try_get("prev_hash").db()?,
        hash: row.try_get("hash").db()?,
    })
}
