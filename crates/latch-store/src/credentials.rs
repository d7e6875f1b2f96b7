//! API tokens, sessions, CLI access/refresh tokens, device authorizations,
//! enrollments and sign-in failure counters. Only hashes are stored.

use async_trait::async_trait;
use latch_core::id::new_id;
use latch_core::model::{ApiToken, CredentialKind, Principal, Scope};
use latch_core::store::{
    CredentialStore, DeviceAuthorization, DeviceState, Enrollment, NewApiToken, NewDeviceAuthorization, NewSession,
    RefreshOutcome, StoreResult,
};
use latch_core::token::TokenHash;
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;
use crate::rows::{self, API_TOKEN_COLS, DEVICE_COLS};

#[async_trait]
impl CredentialStore for SqlStore {
    async fn create_api_token(&self, org_id: &str, t: &NewApiToken, now: Timestamp) -> StoreResult<ApiToken> {
        let id = new_id("tok");
        let scopes = Scope::join(&t.scopes);
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, user_id, name, scopes, hash, created_at, expires_at)
             SELECT $1, org_id, id, $3, $4, $5, $6, $7 FROM users WHERE org_id = $2 AND id = $8",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&t.name)
        .bind(&scopes)
        .bind(&t.hash.0)
        .bind(now.millis())
        .bind(t.expires_at.millis())
        .bind(&t.user_id)
        .execute(&self.write)
        .await
        .db()?;
        self.api_token(org_id, &id).await?.ok_or(latch_core::store::StoreError::NotFound)
    }

    async fn list_api_tokens(&self, org_id: &str, user_id: Option<&str>) -> StoreResult<Vec<ApiToken>> {
        sqlx::query(&format!(
            "SELECT {API_TOKEN_COLS} FROM api_tokens WHERE org_id = $1 AND ($2 IS NULL OR user_id = $2) ORDER BY created_at, id"
        ))
        .bind(org_id)
        .bind(user_id.map(str::to_owned))
        .fetch_all(&self.read)
        .await
        .db()?
        .iter()
        .map(rows::api_token)
        .collect()
    }

    async fn api_token(&self, org_id: &str, token_id: &str) -> StoreResult<Option<ApiToken>> {
        sqlx::query(&format!("SELECT {API_TOKEN_COLS} FROM api_tokens WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(token_id)
            .fetch_optional(&self.write)
            .await
            .db()?
            .as_ref()
            .map(rows::api_token)
            .transpose()
    }

    async fn revoke_api_token(&self, org_id: &str, token_id: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(org_id)
            .bind(token_id)
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        self.org_changed(org_id);
        Ok(())
    }

    async fn authenticate_api_token(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Principal>> {
        let sql = format!(
            "SELECT t.id AS cred_id, t.scopes, t.last_used_at, t.expires_at AS cred_expires_at, {}
             FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN orgs o ON o.id = t.org_id
             WHERE t.hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
            rows::principal_cols(self.engine)
        );
        self.resolve(CredentialKind::Api, hash, now, &sql, |row| {
            let scopes: String = row.try_get("scopes").db()?;
            let last_used: Option<i64> = row.try_get("last_used_at").db()?;
            rows::principal(row, CredentialKind::Api, row.try_get("cred_id").db()?, Some(Scope::split(&scopes)), last_used.map(Timestamp))
        })
        .await
    }

    async fn touch_api_token(&self, token_id: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(token_id)
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        self.remembered.touched(token_id, now);
        Ok(())
    }

    async fn create_session(&self, org_id: &str, s: &NewSession, now: Timestamp) -> StoreResult<String> {
        let id = new_id("ses");
        let n = sqlx::query(
            "INSERT INTO sessions (id, org_id, user_id, kind, secret_hash, created_at, expires_at)
             SELECT $1, org_id, id, $3, $4, $5, $6 FROM users WHERE org_id = $2 AND id = $7",
        )
        .bind(&id)
        .bind(org_id)
        .bind(s.kind.as_str())
        .bind(&s.secret_hash.0)
        .bind(now.millis())
        .bind(s.expires_at.millis())
        .bind(&s.user_id)
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        if n == 0 {
            return Err(latch_core::store::StoreError::NotFound);
        }
        Ok(id)
    }

    async fn authenticate_session(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Principal>> {
        let sql = format!(
            "SELECT s.id AS cred_id, s.expires_at AS cred_expires_at, {}
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = s.org_id
             WHERE s.secret_hash = $1 AND s.kind = 'web' AND s.revoked_at IS NULL AND s.expires_at > $2",
            rows::principal_cols(self.engine)
        );
        self.resolve(CredentialKind::Session, hash, now, &sql, |row| rows::principal(row, CredentialKind::Session, row.try_get("cred_id").db()?, None, None)).await
    }

    async fn revoke_session(&self, org_id: &str, session_id: &str, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.write.begin().await.db()?;
        sqlx::query("UPDATE sessions SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(org_id)
            .bind(session_id)
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("DELETE FROM access_tokens WHERE session_id IN (SELECT id FROM sessions WHERE org_id = $1 AND id = $2)")
            .bind(org_id)
            .bind(session_id)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        self.org_changed(org_id);
        Ok(())
    }

    async fn insert_access_token(&self, session_id: &str, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO access_tokens (hash, session_id, expires_at) VALUES ($1, $2, $3)")
            .bind(&hash.0)
            .bind(session_id)
            .bind(expires_at.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    async fn authenticate_access_token(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Principal>> {
        let sql = format!(
            "SELECT s.id AS cred_id, CASE WHEN a.expires_at < s.expires_at THEN a.expires_at ELSE s.expires_at END AS cred_expires_at, {}
             FROM access_tokens a JOIN sessions s ON s.id = a.session_id
             JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = s.org_id
             WHERE a.hash = $1 AND a.expires_at > $2 AND s.revoked_at IS NULL AND s.expires_at > $2",
            rows::principal_cols(self.engine)
        );
        self.resolve(CredentialKind::Access, hash, now, &sql, |row| rows::principal(row, CredentialKind::Access, row.try_get("cred_id").db()?, None, None)).await
    }

    async fn insert_refresh_token(&self, session_id: &str, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES ($1, $2, $3)")
            .bind(&hash.0)
            .bind(session_id)
            .bind(expires_at.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    async fn use_refresh_token(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<RefreshOutcome> {
        let mut tx = self.write.begin().await.db()?;
        // INVARIANT: the conditional UPDATE is the only way a refresh token is
        // spent, so of two concurrent uses exactly one sees a row.
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING session_id",
        )
        .bind(&hash.0)
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let outcome = if let Some(row) = spent {
            let session_id: String = row.try_get("session_id").db()?;
            let session = sqlx::query(
                "SELECT user_id, expires_at FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
            )
            .bind(&session_id)
            .bind(now.millis())
            .fetch_optional(&mut *tx)
            .await
            .db()?;
            match session {
                Some(s) => RefreshOutcome::Rotated {
                    session_id,
                    user_id: s.try_get("user_id").db()?,
                    session_expires_at: Timestamp(s.try_get("expires_at").db()?),
                },
                None => RefreshOutcome::Invalid,
            }
        } else {
            let used = sqlx::query("SELECT session_id FROM refresh_tokens WHERE hash = $1 AND used_at IS NOT NULL")
                .bind(&hash.0)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
            match used {
                Some(row) => {
                    let session_id: String = row.try_get("session_id").db()?;
                    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(&session_id)
                        .bind(now.millis())
                        .execute(&mut *tx)
                        .await
                        .db()?;
                    sqlx::query("DELETE FROM access_tokens WHERE session_id = $1")
                        .bind(&session_id)
                        .execute(&mut *tx)
                        .await
                        .db()?;
                    RefreshOutcome::Replayed { session_id }
                }
                None => RefreshOutcome::Invalid,
            }
        };
        tx.commit().await.db()?;
        if matches!(outcome, RefreshOutcome::Replayed { .. }) {
            // The session's org is not at hand: every org's entries go.
            self.org_changed("");
        }
        Ok(outcome)
    }

    async fn session_of_refresh_token(&self, hash: &TokenHash) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT s.id, s.org_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = $1",
        )
        .bind(&hash.0)
        .fetch_optional(&self.read)
        .await
        .db()?;
        row.map(|r| Ok((r.try_get("id").db()?, r.try_get("org_id").db()?))).transpose()
    }

    async fn create_device_authorization(
        &self,
        org_id: &str,
        d: &NewDeviceAuthorization,
        now: Timestamp,
    ) -> StoreResult<DeviceAuthorization> {
        let id = new_id("dev");
        sqlx::query(
            "INSERT INTO device_authorizations
             (id, org_id, device_code_hash, user_code, client_name, state, interval_secs, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&d.device_code_hash.0)
        .bind(&d.user_code)
        .bind(&d.client_name)
        .bind(d.interval_secs)
        .bind(now.millis())
        .bind(d.expires_at.millis())
        .execute(&self.write)
        .await
        .db()?;
        Ok(DeviceAuthorization {
            id,
            org_id: org_id.to_owned(),
            user_code: d.user_code.clone(),
            expires_at: d.expires_at,
            interval_secs: d.interval_secs,
            last_polled_at: None,
            state: DeviceState::Pending,
            user_id: None,
            client_name: d.client_name.clone(),
        })
    }

    async fn poll_device_authorization(
        &self,
        org_id: &str,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        // Read as of before this poll (the previous poll time decides
        // `slow_down`), then record this poll.
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLS} FROM device_authorizations WHERE org_id = $1 AND device_code_hash = $2"
        ))
        .bind(org_id)
        .bind(&hash.0)
        .fetch_optional(&self.write)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        let before = rows::device(&row)?;
        sqlx::query("UPDATE device_authorizations SET last_polled_at = $2 WHERE id = $1")
            .bind(&before.id)
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(Some(before))
    }

    async fn consume_device_authorization(&self, id: &str) -> StoreResult<bool> {
        let n = sqlx::query("UPDATE device_authorizations SET state = 'consumed' WHERE id = $1 AND state = 'approved'")
            .bind(id)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        Ok(n == 1)
    }

    async fn device_authorization_by_user_code(&self, org_id: &str, user_code: &str) -> StoreResult<Option<DeviceAuthorization>> {
        sqlx::query(&format!(
            "SELECT {DEVICE_COLS} FROM device_authorizations WHERE org_id = $1 AND user_code = $2 AND state = 'pending'
             ORDER BY created_at DESC"
        ))
        .bind(org_id)
        .bind(user_code)
        .fetch_optional(&self.read)
        .await
        .db()?
        .as_ref()
        .map(rows::device)
        .transpose()
    }

    async fn decide_device_authorization(&self, org_id: &str, id: &str, user_id: Option<&str>, now: Timestamp) -> StoreResult<bool> {
        let state = if user_id.is_some() { "approved" } else { "denied" };
        let n = sqlx::query(
            "UPDATE device_authorizations SET state = $3, user_id = $4, decided_at = $5
             WHERE org_id = $1 AND id = $2 AND state = 'pending' AND expires_at > $5",
        )
        .bind(org_id)
        .bind(id)
        .bind(state)
        .bind(user_id.map(str::to_owned))
        .bind(now.millis())
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        Ok(n == 1)
    }

    async fn create_enrollment(&self, org_id: &str, user_id: &str, hash: &TokenHash, expires_at: Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO enrollments (hash, org_id, user_id, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&hash.0)
            .bind(org_id)
            .bind(user_id)
            .bind(expires_at.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(())
    }

    async fn consume_enrollment(&self, org_id: &str, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<Enrollment>> {
        let row = sqlx::query(
            "UPDATE enrollments SET used_at = $3 WHERE org_id = $1 AND hash = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING user_id, expires_at",
        )
        .bind(org_id)
        .bind(&hash.0)
        .bind(now.millis())
        .fetch_optional(&self.write)
        .await
        .db()?;
        row.map(|r| Ok(Enrollment { user_id: r.try_get("user_id").db()?, expires_at: Timestamp(r.try_get("expires_at").db()?) }))
            .transpose()
    }

    async fn record_failure(&self, key: &str, now: Timestamp, window_start: Timestamp) -> StoreResult<i64> {
        let mut tx = self.write.begin().await.db()?;
        sqlx::query("DELETE FROM login_failures WHERE key = $1 AND at < $2")
            .bind(key)
            .bind(window_start.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key)
            .bind(window_start.millis())
            .fetch_one(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        row.try_get("n").db()
    }

    async fn failures_since(&self, key: &str, window_start: Timestamp) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key)
            .bind(window_start.millis())
            .fetch_one(&self.read)
            .await
            .db()?;
        row.try_get("n").db()
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&self.write).await.db()?;
        Ok(())
    }
}

impl SqlStore {
    /// The principal of credential `hash` of `kind`: remembered, or read by
    /// `sql` (`$1` the hash, `$2` now; its row names the credential's expiry
    /// `cred_expires_at`) with `principal` and remembered.
    async fn resolve(
        &self,
        kind: CredentialKind,
        hash: &TokenHash,
        now: Timestamp,
        sql: &str,
        principal: impl FnOnce(&sqlx::any::AnyRow) -> StoreResult<Principal>,
    ) -> StoreResult<Option<Principal>> {
        let lookup = match self.remembered.get(kind, &hash.0, now) {
            Ok(p) => return Ok(Some(p)),
            Err(lookup) => lookup,
        };
        let row = sqlx::query(sql).bind(&hash.0).bind(now.millis()).fetch_optional(&self.read).await.db()?;
        let Some(row) = row else { return Ok(None) };
        let p = principal(&row)?;
        let expires_at: i64 = row.try_get("cred_expires_at").db()?;
        self.remembered.keep(lookup, kind, &hash.0, &p, Timestamp(expires_at), now);
        Ok(Some(p))
    }

    /// The org's credentials, people, groups, policy or webhooks changed
    /// here: what this replica remembered of them is forgotten before the
    /// change is reported done (other replicas hear of it from the triggers).
    pub(crate) fn org_changed(&self, org_id: &str) {
        self.remembered.changed(org_id);
    }
}
