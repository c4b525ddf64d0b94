//! Policies and their versions in SQLite.

use async_trait::async_trait;
use serde_json::json;
use shared::api::UnixSeconds;
use shared::audit::{AuditAction, ObjectType};
use shared::policy::{Policy, PolicyDraft, PolicyVersion};
use sqlx::{Row, Sqlite};

use super::aggregates::{self, Scope};
use super::audit::write_audit;
use super::rows::{POLICY_COLUMNS, from_json, policy_from_row, to_json};
use super::{SqliteStore, to_i64};
use crate::store::{Actor, NewAudit, PolicyStore, PolicyUpdate, StoreError, StoreResult};

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn list_policies(&self) -> StoreResult<Vec<Policy>> {
        let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies ORDER BY name COLLATE NOCASE, id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn get_policy(&self, id: &str) -> StoreResult<Option<Policy>> {
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn create_policy(&self, policy: &Policy, action: AuditAction, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let document = to_json(&policy.draft)?;
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO policies (id, profile, name, version, document, created_at, updated_at, updated_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&policy.id)
        .bind(policy.draft.profile.code())
        .bind(policy.draft.name.trim())
        .bind(to_i64(policy.version))
        .bind(&document)
        .bind(policy.created_at)
        .bind(policy.updated_at)
        .bind(&policy.updated_by)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        insert_version(&mut tx, &policy.id, policy.version, &document, policy.updated_at, &policy.updated_by).await?;
        aggregates::refresh(&mut tx, &Scope::Policies(vec![policy.id.clone()])).await?;
        let audit = NewAudit {
            action,
            object_type: ObjectType::Policy,
            object_id: policy.id.clone(),
            object_name: policy.draft.name.trim().to_owned(),
            before: None,
            after: Some(policy_snapshot(&document, policy.version)?),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_policy(
        &self,
        id: &str,
        expected_version: u64,
        draft: &PolicyDraft,
        actor: &Actor,
    ) -> StoreResult<PolicyUpdate> {
        let _bump = self.bump_on_drop();
        let (now, by) = (actor.at, actor.username.as_str());
        let document = to_json(draft)?;
        let mut tx = self.write.begin().await?;
        let current: Option<(i64, String)> = sqlx::query_as("SELECT version, document FROM policies WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((current, old_document)) = current else { return Ok(PolicyUpdate::NotFound) };
        let current = u64::try_from(current).unwrap_or(0);
        if current != expected_version {
            return Ok(PolicyUpdate::Stale { current });
        }
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM policies WHERE name = ? AND id <> ?")
            .bind(draft.name.trim())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(PolicyUpdate::NameTaken);
        }
        let next = current + 1;
        sqlx::query(
            "UPDATE policies SET profile = ?, name = ?, version = ?, document = ?, updated_at = ?, updated_by = ? \
             WHERE id = ?",
        )
        .bind(draft.profile.code())
        .bind(draft.name.trim())
        .bind(to_i64(next))
        .bind(&document)
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_version(&mut tx, id, next, &document, now, by).await?;
        aggregates::new_version(&mut tx, id).await?;
        if from_json(&old_document)?.assignments != draft.assignments {
            aggregates::refresh(&mut tx, &Scope::Policies(vec![id.to_owned()])).await?;
        }
        let audit = NewAudit {
            action: AuditAction::PolicyUpdate,
            object_type: ObjectType::Policy,
            object_id: id.to_owned(),
            object_name: draft.name.trim().to_owned(),
            before: Some(policy_snapshot(&old_document, current)?),
            after: Some(policy_snapshot(&document, next)?),
        };
        write_audit(&mut tx, actor, &audit).await?;
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let policy = policy_from_row(&row)?;
        tx.commit().await?;
        Ok(PolicyUpdate::Updated(policy))
    }

    async fn delete_policy(&self, id: &str, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let old: Option<(String, i64, String)> =
            sqlx::query_as("DELETE FROM policies WHERE id = ? RETURNING name, version, document")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((name, version, document)) = old else { return Ok(false) };
        aggregates::targeting_changed(&mut tx).await?;
        let audit = NewAudit {
            action: AuditAction::PolicyDelete,
            object_type: ObjectType::Policy,
            object_id: id.to_owned(),
            object_name: name,
            before: Some(policy_snapshot(&document, version)?),
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn policy_versions(&self, id: &str) -> StoreResult<Vec<PolicyVersion>> {
        let rows = sqlx::query(
            "SELECT version, document, created_at, created_by FROM policy_versions WHERE policy_id = ? ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let version: i64 = row.try_get("version")?;
                let document: String = row.try_get("document")?;
                Ok(PolicyVersion {
                    version: u64::try_from(version).unwrap_or(0),
                    draft: from_json(&document)?,
                    created_at: row.try_get("created_at")?,
                    created_by: row.try_get("created_by")?,
                })
            })
            .collect()
    }
}

/// A policy version's audited values: its version and its whole draft.
pub(super) fn policy_snapshot(document: &str, version: impl Into<i128>) -> StoreResult<serde_json::Value> {
    let draft: serde_json::Value = serde_json::from_str(document)
        .map_err(|e| StoreError::Corrupt(format!("stored policy does not parse: {e}")))?;
    Ok(json!({ "version": i64::try_from(version.into()).unwrap_or(i64::MAX), "policy": draft }))
}

pub(super) async fn insert_version(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    id: &str,
    version: u64,
    document: &str,
    now: UnixSeconds,
    actor: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO policy_versions (policy_id, version, document, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(to_i64(version))
    .bind(document)
    .bind(now)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
