//! The audit log in SQLite.

use async_trait::async_trait;
use shared::audit::{AuditAction, AuditEntry, AuditQuery, ObjectType};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{SqliteStore, code};
use crate::store::{Actor, AuditStore, NewAudit, StoreError, StoreResult};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record_audit(&self, actor: &Actor, entry: NewAudit) -> StoreResult<()> {
        write_audit(&mut *self.write.acquire().await?, actor, &entry).await
    }

    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<(Vec<AuditEntry>, u64)> {
        let filter = |builder: &mut QueryBuilder<'_, Sqlite>| push_audit_filter(builder, query);
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM audit_log");
        filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut page = QueryBuilder::<Sqlite>::new(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log"));
        filter(&mut page);
        page.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.per_page));
        page.push(" OFFSET ").push_bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
        let rows = page.build().fetch_all(&self.read).await?;
        let entries = rows.iter().map(audit_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((entries, u64::try_from(total).unwrap_or(0)))
    }

    async fn audit_chunk(
        &self,
        query: &AuditQuery,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut page = QueryBuilder::<Sqlite>::new(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log"));
        push_audit_filter(&mut page, query);
        if let Some(before_id) = before_id {
            page.push(" AND id < ").push_bind(before_id);
        }
        page.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = page.build().fetch_all(&self.read).await?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_entry(&self, id: i64) -> StoreResult<Option<AuditEntry>> {
        let row = sqlx::query(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(audit_from_row).transpose()
    }
}

/// Writes an audit entry on the connection of the change's transaction.
pub(super) async fn write_audit(conn: &mut SqliteConnection, actor: &Actor, audit: &NewAudit) -> StoreResult<()> {
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(serde_json::Value::to_string);
    sqlx::query(
        "INSERT INTO audit_log (at, actor, address, action, object_type, object_id, object_name, before, after) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(actor.at)
    .bind(&actor.username)
    .bind(&actor.address)
    .bind(audit.action.code())
    .bind(audit.object_type.code())
    .bind(&audit.object_id)
    .bind(&audit.object_name)
    .bind(json(&audit.before))
    .bind(json(&audit.after))
    .execute(conn)
    .await?;
    Ok(())
}

/// The audit log's WHERE clause for `query`'s filter.
pub(super) fn push_audit_filter(builder: &mut QueryBuilder<'_, Sqlite>, query: &AuditQuery) {
    builder.push(" WHERE 1 = 1");
    if let Some(actor) = &query.actor {
        builder.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(kind) = query.object_type {
        builder.push(" AND object_type = ").push_bind(kind.code());
    }
    if let Some(id) = &query.object_id {
        builder.push(" AND object_id = ").push_bind(id.clone());
    }
    if let Some(action) = query.action {
        builder.push(" AND action = ").push_bind(action.code());
    }
    if let Some(since) = query.since {
        builder.push(" AND at >= ").push_bind(since);
    }
    if let Some(until) = query.until {
        builder.push(" AND at < ").push_bind(until);
    }
}

pub(super) const AUDIT_COLUMNS: &str =
    "id, at, actor, address, action, object_type, object_id, object_name, before, after";

pub(super) fn audit_from_row(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let value = |column: &str| -> StoreResult<Option<serde_json::Value>> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("audit {column}: {e}"))))
            .transpose()
    };
    let (before, after) = (value("before")?, value("after")?);
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        address: row.try_get("address")?,
        action: code(row, "action", AuditAction::from_code)?,
        object_type: code(row, "object_type", ObjectType::from_code)?,
        object_id: row.try_get("object_id")?,
        object_name: row.try_get("object_name")?,
        summary: shared::audit::summarize(before.as_ref(), after.as_ref()),
        before,
        after,
    })
}
