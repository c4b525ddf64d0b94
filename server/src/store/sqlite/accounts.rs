//! Admin accounts and sessions in SQLite.

use async_trait::async_trait;
use serde_json::json;
use shared::access::Role;
use shared::api::UnixSeconds;
use shared::audit::{AuditAction, ObjectType};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::audit::write_audit;
use super::{SqliteStore, code, to_u64};
use crate::store::{AccountStore, Actor, AdminRecord, NewAudit, NewSession, StoreResult, UserUpdate};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn count_admins(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins").fetch_one(&self.read).await?;
        Ok(to_u64(n))
    }

    async fn set_admin_password(
        &self,
        username: &str,
        password_hash: &str,
        must_change: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM admins WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let audit = match existing {
            Some(id) => {
                sqlx::query("UPDATE admins SET password_hash = ?, must_change_password = ? WHERE id = ?")
                    .bind(password_hash)
                    .bind(must_change)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE admin_id = ?").bind(id).execute(&mut *tx).await?;
                NewAudit {
                    action: AuditAction::PasswordReset,
                    object_type: ObjectType::User,
                    object_id: username.to_owned(),
                    object_name: username.to_owned(),
                    before: None,
                    after: Some(json!({ "one_time_password": must_change, "sessions_ended": true })),
                }
            }
            None => {
                sqlx::query(
                    "INSERT INTO admins (username, password_hash, must_change_password, created_at) VALUES (?, ?, ?, ?)",
                )
                .bind(username)
                .bind(password_hash)
                .bind(must_change)
                .bind(actor.at)
                .execute(&mut *tx)
                .await?;
                NewAudit {
                    action: AuditAction::UserCreate,
                    object_type: ObjectType::User,
                    object_id: username.to_owned(),
                    object_name: username.to_owned(),
                    before: None,
                    after: Some(json!({ "role": Role::Administrator.code(), "disabled": false })),
                }
            }
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_admin(&self, username: &str) -> StoreResult<Option<AdminRecord>> {
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE username = ?"))
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| admin_from_row(&row)).transpose()
    }

    async fn list_admins(&self) -> StoreResult<Vec<AdminRecord>> {
        let rows = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins ORDER BY username COLLATE NOCASE"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(admin_from_row).collect()
    }

    async fn create_admin(&self, username: &str, password_hash: &str, role: Role, actor: &Actor) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO admins (username, password_hash, role, must_change_password, created_at) VALUES (?, ?, ?, 1, ?) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.code())
        .bind(actor.at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Ok(false);
        }
        let audit = NewAudit {
            action: AuditAction::UserCreate,
            object_type: ObjectType::User,
            object_id: username.to_owned(),
            object_name: username.to_owned(),
            before: None,
            after: Some(json!({ "role": role.code(), "disabled": false })),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_admin(
        &self,
        username: &str,
        role: Option<Role>,
        disabled: Option<bool>,
        actor: &Actor,
    ) -> StoreResult<UserUpdate> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE username = ?"))
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(admin_from_row).transpose()? else { return Ok(UserUpdate::NotFound) };
        let (new_role, new_disabled) = (role.unwrap_or(before.role), disabled.unwrap_or(before.disabled));
        let was_active_admin = before.role == Role::Administrator && !before.disabled;
        if was_active_admin && (new_role != Role::Administrator || new_disabled) {
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM admins WHERE role = 'administrator' AND disabled = 0 AND id <> ?",
            )
            .bind(before.id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(UserUpdate::LastAdministrator);
            }
        }
        sqlx::query("UPDATE admins SET role = ?, disabled = ? WHERE id = ?")
            .bind(new_role.code())
            .bind(new_disabled)
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        if new_disabled {
            sqlx::query("DELETE FROM sessions WHERE admin_id = ?").bind(before.id).execute(&mut *tx).await?;
        }
        let audit = NewAudit {
            action: AuditAction::UserUpdate,
            object_type: ObjectType::User,
            object_id: username.to_owned(),
            object_name: username.to_owned(),
            before: Some(json!({ "role": before.role.code(), "disabled": before.disabled })),
            after: Some(json!({ "role": new_role.code(), "disabled": new_disabled })),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(UserUpdate::Updated(AdminRecord { role: new_role, disabled: new_disabled, ..before }))
    }

    async fn change_password(
        &self,
        admin_id: i64,
        password_hash: &str,
        session: &NewSession,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE admins SET password_hash = ?, must_change_password = 0 WHERE id = ?")
            .bind(password_hash)
            .bind(admin_id)
            .execute(&mut *tx)
            .await?;
        // Every other session ends (a thief's too), and the current one continues under a new token.
        sqlx::query("DELETE FROM sessions WHERE admin_id = ?").bind(admin_id).execute(&mut *tx).await?;
        insert_session(&mut tx, session, admin_id).await?;
        let audit = NewAudit {
            action: AuditAction::PasswordChange,
            object_type: ObjectType::User,
            object_id: actor.username.clone(),
            object_name: actor.username.clone(),
            before: None,
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sign_in_addresses(&self, username: &str, since: UnixSeconds) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT address FROM audit_log WHERE object_type = 'user' AND object_id = ? AND action = 'sign_in' \
             AND at >= ? GROUP BY address ORDER BY MAX(at) DESC LIMIT 100",
        )
        .bind(username)
        .bind(since)
        .fetch_all(&self.read)
        .await?)
    }

    async fn create_session(&self, session: &NewSession, admin_id: i64) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(session.created_at).execute(&mut *tx).await?;
        insert_session(&mut tx, session, admin_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_admin(&self, token_hash: &str, now: UnixSeconds) -> StoreResult<Option<AdminRecord>> {
        let row = sqlx::query(
            "SELECT a.id, a.username, a.password_hash, a.disabled, a.role, a.must_change_password, a.created_at \
             FROM sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ? AND s.expires_at > ? \
             AND a.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| admin_from_row(&row)).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.write).await?;
        Ok(())
    }
}

pub(super) const ADMIN_COLUMNS: &str = "id, username, password_hash, disabled, role, must_change_password, created_at";

pub(super) fn admin_from_row(row: &SqliteRow) -> StoreResult<AdminRecord> {
    Ok(AdminRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get("disabled")?,
        role: code(row, "role", Role::from_code)?,
        must_change_password: row.try_get("must_change_password")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) async fn insert_session(
    conn: &mut SqliteConnection,
    session: &NewSession,
    admin_id: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO sessions (token_hash, admin_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(&session.token_hash)
        .bind(admin_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(conn)
        .await?;
    Ok(())
}
