//! Groups in SQLite.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::json;
use shared::audit::{AuditAction, ObjectType};
use shared::groups::GroupKind;
use sqlx::{Row, SqliteConnection};

use super::aggregates::{self, Scope};
use super::audit::write_audit;
use super::{SqliteStore, code};
use crate::store::{Actor, GroupRecord, GroupStore, NestOutcome, NewAudit, StoreResult};

#[async_trait]
impl GroupStore for SqliteStore {
    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>> {
        let mut tx = self.read.begin().await?;
        let rows = sqlx::query("SELECT id, name, description, kind, rule FROM groups ORDER BY name COLLATE NOCASE, id")
            .fetch_all(&mut *tx)
            .await?;
        let members: Vec<(String, String)> =
            sqlx::query_as("SELECT group_id, device_id FROM group_members").fetch_all(&mut *tx).await?;
        let nesting: Vec<(String, String)> =
            sqlx::query_as("SELECT parent_id, child_id FROM group_nesting ORDER BY child_id")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let mut groups = rows
            .iter()
            .map(|row| {
                Ok(GroupRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    kind: code(row, "kind", GroupKind::from_code)?,
                    rule: row.try_get("rule")?,
                    members: BTreeSet::new(),
                    children: Vec::new(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let index: std::collections::HashMap<String, usize> =
            groups.iter().enumerate().map(|(i, group)| (group.id.clone(), i)).collect();
        for (group_id, device_id) in members {
            if let Some(&i) = index.get(&group_id) {
                groups[i].members.insert(device_id);
            }
        }
        for (parent_id, child_id) in nesting {
            if let Some(&i) = index.get(&parent_id) {
                groups[i].children.push(child_id);
            }
        }
        Ok(groups)
    }

    async fn create_group(&self, group: &GroupRecord, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let now = actor.at;
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "INSERT INTO groups (id, name, description, kind, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&group.id)
        .bind(&group.name)
        .bind(&group.description)
        .bind(group.kind.code())
        .bind(&group.rule)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        let after = group_snapshot(&mut tx, &group.id).await?.map(|(_, value)| value);
        // A policy may name a group before it exists (the store does not hold it to the API's validation).
        aggregates::refresh_reaching(&mut tx, &group.id).await?;
        let audit = NewAudit {
            action: AuditAction::GroupCreate,
            object_type: ObjectType::Group,
            object_id: group.id.clone(),
            object_name: group.name.clone(),
            before: None,
            after,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_group(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        rule: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Option<bool>> {
        let _bump = self.bump_on_drop();
        let now = actor.at;
        let mut tx = self.write.begin().await?;
        let Some((_, before)) = group_snapshot(&mut tx, id).await? else { return Ok(None) };
        if let Some(name) = name {
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM groups WHERE name = ? AND id <> ?")
                .bind(name)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Ok(Some(false));
            }
        }
        sqlx::query(
            "UPDATE groups SET name = COALESCE(?, name), description = COALESCE(?, description), \
             rule = COALESCE(?, rule), updated_at = ? WHERE id = ?",
        )
        .bind(name)
        .bind(description)
        .bind(rule)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let (name, after) = group_snapshot(&mut tx, id).await?.unwrap_or_default();
        if rule.is_some() {
            aggregates::refresh_reaching(&mut tx, id).await?;
        }
        let audit = NewAudit {
            action: AuditAction::GroupUpdate,
            object_type: ObjectType::Group,
            object_id: id.to_owned(),
            object_name: name,
            before: Some(before),
            after: Some(after),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    async fn delete_group(&self, id: &str, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let Some((name, before)) = group_snapshot(&mut tx, id).await? else { return Ok(false) };
        let reaching = aggregates::policies_reaching(&mut tx, id).await?;
        sqlx::query("DELETE FROM groups WHERE id = ?").bind(id).execute(&mut *tx).await?;
        aggregates::refresh(&mut tx, &Scope::Policies(reaching)).await?;
        let audit = NewAudit {
            action: AuditAction::GroupDelete,
            object_type: ObjectType::Group,
            object_id: id.to_owned(),
            object_name: name,
            before: Some(before),
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<Vec<String>> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let mut unknown = Vec::new();
        for device_id in device_ids {
            let known: Option<String> = sqlx::query_scalar("SELECT id FROM devices WHERE id = ?")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                unknown.push(device_id.clone());
            }
        }
        if !unknown.is_empty() {
            return Ok(unknown);
        }
        for device_id in device_ids {
            sqlx::query("INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(id).execute(&mut *tx).await?;
        membership_audit(&mut tx, actor, id, None, Some(json!({ "added_devices": device_ids }))).await?;
        aggregates::refresh(&mut tx, &Scope::Devices(device_ids.to_vec())).await?;
        tx.commit().await?;
        Ok(Vec::new())
    }

    async fn remove_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<()> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        for device_id in device_ids {
            sqlx::query("DELETE FROM group_members WHERE group_id = ? AND device_id = ?")
                .bind(id)
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(id).execute(&mut *tx).await?;
        membership_audit(&mut tx, actor, id, Some(json!({ "removed_devices": device_ids })), None).await?;
        aggregates::refresh(&mut tx, &Scope::Devices(device_ids.to_vec())).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn nest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<NestOutcome> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let n_known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE id IN (?, ?)")
            .bind(parent)
            .bind(child)
            .fetch_one(&mut *tx)
            .await?;
        if n_known != if parent == child { 1 } else { 2 } {
            return Ok(NestOutcome::UnknownGroup);
        }
        let edges: Vec<(String, String)> =
            sqlx::query_as("SELECT parent_id, child_id FROM group_nesting").fetch_all(&mut *tx).await?;
        let children_of = |id: &str| edges.iter().filter(|(p, _)| p == id).map(|(_, c)| c.clone()).collect();
        if let Some(chain) = shared::groups::nesting_cycle(parent, child, children_of) {
            return Ok(NestOutcome::Cycle(chain));
        }
        sqlx::query("INSERT INTO group_nesting (parent_id, child_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(parent)
            .bind(child)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(parent).execute(&mut *tx).await?;
        nesting_audit(&mut tx, actor, parent, child, true).await?;
        aggregates::refresh_reaching(&mut tx, parent).await?;
        tx.commit().await?;
        Ok(NestOutcome::Nested)
    }

    async fn unnest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<bool> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let result = sqlx::query("DELETE FROM group_nesting WHERE parent_id = ? AND child_id = ?")
            .bind(parent)
            .bind(child)
            .execute(&mut *tx)
            .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(parent).execute(&mut *tx).await?;
        nesting_audit(&mut tx, actor, parent, child, false).await?;
        aggregates::refresh_reaching(&mut tx, parent).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// A group's name and its audited values (name, description, kind, rule).
pub(super) async fn group_snapshot(
    conn: &mut SqliteConnection,
    id: &str,
) -> StoreResult<Option<(String, serde_json::Value)>> {
    let row: Option<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT name, description, kind, rule FROM groups WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(name, description, kind, rule)| {
        let value = json!({ "name": name, "description": description, "kind": kind, "rule": rule });
        (name, value)
    }))
}

pub(super) async fn membership_audit(
    conn: &mut SqliteConnection,
    actor: &Actor,
    group_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> StoreResult<()> {
    let name: String = sqlx::query_scalar("SELECT name FROM groups WHERE id = ?")
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_default();
    let audit = NewAudit {
        action: AuditAction::GroupMembers,
        object_type: ObjectType::Group,
        object_id: group_id.to_owned(),
        object_name: name,
        before,
        after,
    };
    write_audit(conn, actor, &audit).await
}

pub(super) async fn nesting_audit(
    conn: &mut SqliteConnection,
    actor: &Actor,
    parent: &str,
    child: &str,
    nested: bool,
) -> StoreResult<()> {
    let name = |id: &str| sqlx::query_scalar::<_, String>("SELECT name FROM groups WHERE id = ?").bind(id.to_owned());
    let parent_name = name(parent).fetch_optional(&mut *conn).await?.unwrap_or_default();
    let child_name = name(child).fetch_optional(&mut *conn).await?.unwrap_or_default();
    let value = json!({ "nested_group": child, "nested_group_name": child_name });
    let audit = NewAudit {
        action: AuditAction::GroupNesting,
        object_type: ObjectType::Group,
        object_id: parent.to_owned(),
        object_name: parent_name,
        before: (!nested).then(|| value.clone()),
        after: nested.then_some(value),
    };
    write_audit(conn, actor, &audit).await
}
