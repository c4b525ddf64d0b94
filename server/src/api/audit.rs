//! The audit log, read-only: filtered and paged, and as CSV. Entries are written by the store beside each change and
//! cannot be changed or deleted (the database refuses it).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use shared::audit::{AuditPage, AuditQuery};

use crate::AppState;
use crate::auth::AdminSession;
use crate::error::ApiError;
use crate::extract::QueryPairs;

/// One page of entries, newest first.
pub async fn audit_list(
    State(state): State<AppState>,
    _session: AdminSession,
    query: QueryPairs,
) -> Result<Json<AuditPage>, ApiError> {
    let query = AuditQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let (items, total) = state.store.audit_log(&query).await?;
    Ok(Json(AuditPage { items, total, page: query.page, per_page: query.per_page }))
}

/// The filtered entries as CSV (up to 100,000 of them, newest first; `page` and `per_page` are ignored).
pub async fn audit_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let mut query = AuditQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let mut rows = Vec::new();
    query.per_page = 500;
    for page in 1..=200 {
        query.page = page;
        let (items, _) = state.store.audit_log(&query).await?;
        let done = items.len() < 500;
        rows.extend(items);
        if done {
            break;
        }
    }
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(ToString::to_string).unwrap_or_default();
    let rows = rows.iter().map(|entry| {
        vec![
            entry.id.to_string(),
            entry.at.to_string(),
            entry.actor.clone(),
            entry.address.clone(),
            entry.action.label().to_owned(),
            entry.object_type.label().to_owned(),
            entry.object_id.clone(),
            entry.object_name.clone(),
            json(&entry.before),
            json(&entry.after),
        ]
    });
    let header =
        ["Id", "Time (Unix)", "Actor", "Address", "Action", "Object type", "Object id", "Object", "Before", "After"];
    Ok(super::reports::csv_response("audit-log", shared::report::csv(&header, rows)))
}
