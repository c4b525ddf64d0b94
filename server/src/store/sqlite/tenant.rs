//! The tenant and its onboarding tokens in SQLite.

use async_trait::async_trait;
use serde_json::json;
use shared::api::UnixSeconds;
use shared::audit::{AuditAction, ObjectType};
use shared::tenant::{Licences, TenantSwitches};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::audit::write_audit;
use super::{SqliteStore, to_i64, to_u64};
use crate::store::{
    Actor, NewAudit, NewOnboardingToken, OnboardingTokenRecord, StoreResult, TenantCounts, TenantRecord, TenantStore,
};

#[async_trait]
impl TenantStore for SqliteStore {
    async fn tenant(&self) -> StoreResult<TenantRecord> {
        let row = sqlx::query(
            "SELECT security_settings_management, enforce_security_configuration, licence_defender_for_endpoint, \
             licence_directory_premium_p1 FROM tenant WHERE id = 1",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(TenantRecord {
            switches: TenantSwitches {
                security_settings_management: row.try_get("security_settings_management")?,
                enforce_security_configuration: row.try_get("enforce_security_configuration")?,
            },
            licences: Licences {
                defender_for_endpoint: row.try_get("licence_defender_for_endpoint")?,
                directory_premium_p1: row.try_get("licence_directory_premium_p1")?,
            },
        })
    }

    async fn update_tenant(
        &self,
        switches: Option<TenantSwitches>,
        licences: Option<Licences>,
        actor: &Actor,
    ) -> StoreResult<()> {
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let before = tenant_snapshot(&mut tx).await?;
        if let Some(switches) = switches {
            sqlx::query(
                "UPDATE tenant SET security_settings_management = ?, enforce_security_configuration = ? WHERE id = 1",
            )
            .bind(switches.security_settings_management)
            .bind(switches.enforce_security_configuration)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(licences) = licences {
            sqlx::query(
                "UPDATE tenant SET licence_defender_for_endpoint = ?, licence_directory_premium_p1 = ? WHERE id = 1",
            )
            .bind(licences.defender_for_endpoint)
            .bind(licences.directory_premium_p1)
            .execute(&mut *tx)
            .await?;
        }
        let after = tenant_snapshot(&mut tx).await?;
        let audit = NewAudit {
            action: AuditAction::TenantUpdate,
            object_type: ObjectType::Tenant,
            object_id: "tenant".to_owned(),
            object_name: "Tenant".to_owned(),
            before: Some(before),
            after: Some(after),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_onboarding_token(
        &self,
        token: &NewOnboardingToken,
        actor: &Actor,
    ) -> StoreResult<OnboardingTokenRecord> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO onboarding_tokens (id, name, token_hash, ends_with, created_at, created_by, expires_at, max_uses) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(&token.ends_with)
        .bind(actor.at)
        .bind(&actor.username)
        .bind(token.expires_at)
        .bind(token.max_uses.map(to_i64))
        .execute(&mut *tx)
        .await?;
        let record = OnboardingTokenRecord {
            id: token.id.clone(),
            name: token.name.clone(),
            ends_with: token.ends_with.clone(),
            created_at: actor.at,
            created_by: actor.username.clone(),
            expires_at: token.expires_at,
            max_uses: token.max_uses,
            uses: 0,
            revoked_at: None,
        };
        write_audit(&mut tx, actor, &token_audit(AuditAction::TokenCreate, &record, None)).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_onboarding_tokens(&self) -> StoreResult<Vec<OnboardingTokenRecord>> {
        let rows =
            sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM onboarding_tokens ORDER BY created_at DESC, rowid DESC"))
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_onboarding_token(&self, id: &str, actor: &Actor) -> StoreResult<Option<OnboardingTokenRecord>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM onboarding_tokens WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(token_from_row).transpose()? else { return Ok(None) };
        if before.revoked_at.is_some() {
            return Ok(Some(before));
        }
        sqlx::query("UPDATE onboarding_tokens SET revoked_at = ? WHERE id = ?")
            .bind(actor.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = OnboardingTokenRecord { revoked_at: Some(actor.at), ..before.clone() };
        let audit = token_audit(AuditAction::TokenRevoke, &after, Some(token_snapshot(&before)));
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    async fn onboarding_token_usable(&self, token_hash: &str, now: UnixSeconds) -> StoreResult<bool> {
        let usable: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM onboarding_tokens WHERE token_hash = ? AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        Ok(usable.is_some())
    }

    async fn tenant_counts(&self, reporting_since: UnixSeconds) -> StoreResult<TenantCounts> {
        self.flush().await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM admins WHERE disabled = 0) AS n_admins, \
             (SELECT COUNT(*) FROM devices) AS n_devices, \
             (SELECT COUNT(*) FROM devices WHERE last_check_in >= ?) AS n_reporting",
        )
        .bind(reporting_since)
        .fetch_one(&self.read)
        .await?;
        Ok(TenantCounts {
            n_admins: to_u64(row.try_get("n_admins")?),
            n_devices: to_u64(row.try_get("n_devices")?),
            n_devices_reporting: to_u64(row.try_get("n_reporting")?),
        })
    }
}

/// The tenant's single onboarding token of before named tokens becomes one of them (hashed), so that devices
/// deployed with it keep onboarding; on a fresh database, where nobody has seen it, it is dropped.
pub(super) async fn carry_over_onboarding_token(conn: &mut SqliteConnection) -> StoreResult<()> {
    let token: String =
        sqlx::query_scalar("SELECT onboarding_token FROM tenant WHERE id = 1").fetch_one(&mut *conn).await?;
    let n_admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins").fetch_one(&mut *conn).await?;
    if !token.is_empty() && n_admins > 0 {
        sqlx::query(
            "INSERT INTO onboarding_tokens (id, name, token_hash, ends_with, created_at, created_by) \
             VALUES (?, 'Onboarding token of the earlier version', ?, ?, ?, 'rampart')",
        )
        .bind(crate::credentials::random_guid().as_str())
        .bind(crate::credentials::sha256_hex(&token))
        .bind(crate::credentials::last_four(&token))
        .bind(crate::now())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE tenant SET onboarding_token = '' WHERE id = 1").execute(&mut *conn).await?;
    Ok(())
}

pub(super) const TOKEN_COLUMNS: &str =
    "id, name, ends_with, created_at, created_by, expires_at, max_uses, uses, revoked_at";

pub(super) fn token_from_row(row: &SqliteRow) -> StoreResult<OnboardingTokenRecord> {
    let max_uses: Option<i64> = row.try_get("max_uses")?;
    Ok(OnboardingTokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        ends_with: row.try_get("ends_with")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        expires_at: row.try_get("expires_at")?,
        max_uses: max_uses.map(to_u64),
        uses: to_u64(row.try_get("uses")?),
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn token_audit(
    action: AuditAction,
    token: &OnboardingTokenRecord,
    before: Option<serde_json::Value>,
) -> NewAudit {
    NewAudit {
        action,
        object_type: ObjectType::Tenant,
        object_id: token.id.clone(),
        object_name: format!("Onboarding token \u{201c}{}\u{201d}", token.name),
        before,
        after: Some(token_snapshot(token)),
    }
}

pub(super) fn token_snapshot(token: &OnboardingTokenRecord) -> serde_json::Value {
    json!({
        "name": token.name,
        "ends_with": token.ends_with,
        "expires_at": token.expires_at,
        "max_uses": token.max_uses,
        "uses": token.uses,
        "revoked_at": token.revoked_at,
    })
}

pub(super) async fn tenant_snapshot(conn: &mut SqliteConnection) -> StoreResult<serde_json::Value> {
    let (ssm, enforce, mde, p1): (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT security_settings_management, enforce_security_configuration, licence_defender_for_endpoint, \
         licence_directory_premium_p1 FROM tenant WHERE id = 1",
    )
    .fetch_one(conn)
    .await?;
    Ok(json!({
        "security_settings_management": ssm,
        "enforce_security_configuration": enforce,
        "licence_defender_for_endpoint": mde,
        "licence_directory_premium_p1": p1,
    }))
}
