//! Users and groups, always scoped by org.

use async_trait::async_trait;
use latch_core::id::new_id;
use latch_core::model::{Group, GroupSource, Role, User};
use latch_core::store::{NewUser, PeopleStore, StoreError, StoreResult, UserSecrets};
use latch_core::Timestamp;
use sqlx::Row;

use crate::connect::SqlStore;
use crate::error::MapErr;
use crate::rows::{self, GROUP_COLS, USER_COLS};

fn affected_one(n: u64) -> StoreResult<()> {
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

#[async_trait]
impl PeopleStore for SqlStore {
    async fn create_user(&self, org_id: &str, user: &NewUser, now: Timestamp) -> StoreResult<User> {
        let id = new_id("usr");
        sqlx::query(
            "INSERT INTO users (id, org_id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(user.password_hash.clone())
        .bind(now.millis())
        .execute(&self.write)
        .await
        .db()?;
        Ok(User {
            id,
            org_id: org_id.to_owned(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            has_password: user.password_hash.is_some(),
            totp_enabled: false,
            created_at: now,
        })
    }

    async fn user_by_id(&self, org_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.id = $2"))
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&self.read)
            .await
            .db()?
            .as_ref()
            .map(rows::user)
            .transpose()
    }

    async fn user_secrets_by_email(&self, org_id: &str, email: &str) -> StoreResult<Option<UserSecrets>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.email = $2"))
            .bind(org_id)
            .bind(email)
            .fetch_optional(&self.read)
            .await
            .db()?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(UserSecrets {
            user: rows::user(&row)?,
            password_hash: row.try_get("password_hash").db()?,
            totp_secret: row.try_get("totp_secret").db()?,
        }))
    }

    async fn list_users(&self, org_id: &str) -> StoreResult<Vec<User>> {
        sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 ORDER BY u.email"))
            .bind(org_id)
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn delete_user(&self, org_id: &str, user_id: &str) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM users WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(user_id)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        self.org_changed(org_id);
        affected_one(n)
    }

    async fn set_role(&self, org_id: &str, user_id: &str, role: Role) -> StoreResult<()> {
        let n = sqlx::query("UPDATE users SET role = $3 WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(user_id)
            .bind(role.as_str())
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        self.org_changed(org_id);
        affected_one(n)
    }

    async fn set_password(&self, org_id: &str, user_id: &str, password_hash: &str) -> StoreResult<()> {
        let n = sqlx::query("UPDATE users SET password_hash = $3 WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(user_id)
            .bind(password_hash)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        affected_one(n)
    }

    async fn set_totp(&self, org_id: &str, user_id: &str, secret: Option<&str>) -> StoreResult<()> {
        let n = sqlx::query("UPDATE users SET totp_secret = $3, totp_last_step = NULL WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(user_id)
            .bind(secret.map(str::to_owned))
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        affected_one(n)
    }

    async fn use_totp_step(&self, org_id: &str, user_id: &str, step: i64) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE users SET totp_last_step = $3 WHERE org_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(step)
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        Ok(n == 1)
    }

    async fn create_group(&self, org_id: &str, name: &str, source: GroupSource, now: Timestamp) -> StoreResult<Group> {
        let id = new_id("grp");
        sqlx::query("INSERT INTO groups_ (id, org_id, name, source, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(org_id)
            .bind(name)
            .bind(source.as_str())
            .bind(now.millis())
            .execute(&self.write)
            .await
            .db()?;
        Ok(Group { id, org_id: org_id.to_owned(), name: name.to_owned(), source, created_at: now })
    }

    async fn list_groups(&self, org_id: &str) -> StoreResult<Vec<Group>> {
        sqlx::query(&format!("SELECT {GROUP_COLS} FROM groups_ g WHERE g.org_id = $1 ORDER BY g.name"))
            .bind(org_id)
            .fetch_all(&self.read)
            .await
            .db()?
            .iter()
            .map(rows::group)
            .collect()
    }

    async fn group_by_name(&self, org_id: &str, name: &str) -> StoreResult<Option<Group>> {
        sqlx::query(&format!("SELECT {GROUP_COLS} FROM groups_ g WHERE g.org_id = $1 AND g.name = $2"))
            .bind(org_id)
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .db()?
            .as_ref()
            .map(rows::group)
            .transpose()
    }

    async fn delete_group(&self, org_id: &str, group_id: &str) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM groups_ WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(group_id)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        self.org_changed(org_id);
        affected_one(n)
    }

    async fn add_member(&self, org_id: &str, group_id: &str, user_id: &str) -> StoreResult<()> {
        // INVARIANT: both the group and the user must be in `org_id`; the
        // INSERT … SELECT finds nothing to insert otherwise.
        let n = sqlx::query(
            "INSERT INTO group_members (org_id, group_id, user_id)
             SELECT g.org_id, g.id, u.id FROM groups_ g JOIN users u ON u.org_id = g.org_id
             WHERE g.org_id = $1 AND g.id = $2 AND u.id = $3
             ON CONFLICT (group_id, user_id) DO NOTHING",
        )
        .bind(org_id)
        .bind(group_id)
        .bind(user_id)
        .execute(&self.write)
        .await
        .db()?
        .rows_affected();
        if n == 0 {
            // Either already a member (fine) or one side is not in this org.
            let exists = sqlx::query("SELECT 1 AS one FROM group_members WHERE org_id = $1 AND group_id = $2 AND user_id = $3")
                .bind(org_id)
                .bind(group_id)
                .bind(user_id)
                .fetch_optional(&self.read)
                .await
                .db()?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        self.org_changed(org_id);
        Ok(())
    }

    async fn remove_member(&self, org_id: &str, group_id: &str, user_id: &str) -> StoreResult<()> {
        let n = sqlx::query("DELETE FROM group_members WHERE org_id = $1 AND group_id = $2 AND user_id = $3")
            .bind(org_id)
            .bind(group_id)
            .bind(user_id)
            .execute(&self.write)
            .await
            .db()?
            .rows_affected();
        self.org_changed(org_id);
        affected_one(n)
    }

    async fn group_members(&self, org_id: &str, group_id: &str) -> StoreResult<Vec<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u JOIN group_members m ON m.user_id = u.id
             WHERE m.org_id = $1 AND m.group_id = $2 ORDER BY u.email"
        ))
        .bind(org_id)
        .bind(group_id)
        .fetch_all(&self.read)
        .await
        .db()?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn user_groups(&self, org_id: &str, user_id: &str) -> StoreResult<Vec<Group>> {
        sqlx::query(&format!(
            "SELECT {GROUP_COLS} FROM groups_ g JOIN group_members m ON m.group_id = g.id
             WHERE m.org_id = $1 AND m.user_id = $2 ORDER BY g.name"
        ))
        .bind(org_id)
        .bind(user_id)
        .fetch_all(&self.read)
        .await
        .db()?
        .iter()
        .map(rows::group)
        .collect()
    }

    async fn sync_idp_groups(&self, org_id: &str, user_id: &str, names: &[String], now: Timestamp) -> StoreResult<()> {
        let mut tx = self.write.begin().await.db()?;
        sqlx::query(
            "DELETE FROM group_members WHERE org_id = $1 AND user_id = $2
             AND group_id IN (SELECT id FROM groups_ WHERE org_id = $1 AND source = 'idp')",
        )
        .bind(org_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .db()?;
        for name in names {
            sqlx::query(
                "INSERT INTO groups_ (id, org_id, name, source, created_at) VALUES ($1, $2, $3, 'idp', $4)
                 ON CONFLICT (org_id, name) DO NOTHING",
            )
            .bind(new_id("grp"))
            .bind(org_id)
            .bind(name)
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .db()?;
            // A local group of the same name is not taken over by the IdP.
            sqlx::query(
                "INSERT INTO group_members (org_id, group_id, user_id)
                 SELECT org_id, id, $3 FROM groups_ WHERE org_id = $1 AND name = $2 AND source = 'idp'
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind(org_id)
            .bind(name)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .db()?;
        }
        tx.commit().await.db()?;
        self.org_changed(org_id);
        Ok(())
    }
}
