//! The audit log, read-only: filtered and paged as summaries, one entry in full, and the whole log as streamed CSV.
//! Entries are written by the store beside each change and cannot be changed or deleted (the database refuses it).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use shared::access::Permission;
use shared::audit::{AuditAction, AuditEntry, AuditPage, AuditQuery, HIDDEN_ACCOUNT};

use crate::AppState;
use crate::auth::AdminSession;
use crate::error::ApiError;
use crate::extract::QueryPairs;

/// Entries the CSV export reads from the store at a time.
const CSV_CHUNK: u32 = 500;

/// What `session` may see of an entry: the account of a failed sign-in only with the permission to manage users.
fn shown_to(session: &AdminSession) -> impl Fn(AuditEntry) -> AuditEntry + Copy + use<> {
    let sees_accounts = session.admin.role.allows(Permission::ManageUsers);
    move |mut entry| {
        if entry.action == AuditAction::SignInFailed && !sees_accounts {
            entry.actor = HIDDEN_ACCOUNT.to_owned();
            entry.object_id = HIDDEN_ACCOUNT.to_owned();
            entry.object_name = HIDDEN_ACCOUNT.to_owned();
        }
        entry
    }
}

/// One page of entries, newest first, each with its summary (the values before and after are on the entry's page).
pub async fn audit_list(
    State(state): State<AppState>,
    session: AdminSession,
    query: QueryPairs,
) -> Result<Json<AuditPage>, ApiError> {
    let query = AuditQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let (items, total) = state.store.audit_log(&query).await?;
    let shown = shown_to(&session);
    let items = items.into_iter().map(|entry| AuditEntry { before: None, after: None, ..shown(entry) }).collect();
    Ok(Json(AuditPage { items, total, page: query.page, per_page: query.per_page }))
}

/// One entry in full.
pub async fn audit_get(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<AuditEntry>, ApiError> {
    let not_found = || ApiError::NotFound("There is no audit entry with this id.".to_owned());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let entry = state.store.audit_entry(id).await?.ok_or_else(not_found)?;
    Ok(Json(shown_to(&session)(entry)))
}

const HEADER: [&str; 11] = [
    "Id",
    "Time (Unix)",
    "Actor",
    "Address",
    "Action",
    "Object type",
    "Object id",
    "Object",
    "Summary",
    "Before",
    "After",
];

fn csv_rows(entries: &[AuditEntry]) -> String {
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(ToString::to_string).unwrap_or_default();
    let rows = entries.iter().map(|entry| {
        vec![
            entry.id.to_string(),
            entry.at.to_string(),
            entry.actor.clone(),
            entry.address.clone(),
            entry.action.label().to_owned(),
            entry.object_type.label().to_owned(),
            entry.object_id.clone(),
            entry.object_name.clone(),
            entry.summary.clone(),
            json(&entry.before),
            json(&entry.after),
        ]
    });
    // Rows only (no header line): the header is written once, first.
    shared::report::csv(&[], rows)
}

/// The filtered entries as CSV, newest first (`page` and `per_page` are ignored), streamed a chunk at a time so that
/// a log of any length costs the server one chunk of memory.
pub async fn audit_csv(
    State(state): State<AppState>,
    session: AdminSession,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let query = AuditQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let header = shared::report::csv(&HEADER, std::iter::empty::<Vec<String>>());
    let shown = shown_to(&session);
    // The state of the stream: the id to continue below, or `None` when done.
    let chunks = futures_util::stream::unfold(Some(None::<i64>), move |cursor| {
        let (state, query) = (state.clone(), query.clone());
        async move {
            let before_id = cursor?;
            match state.store.audit_chunk(&query, before_id, CSV_CHUNK).await {
                Ok(entries) if entries.is_empty() => None,
                Ok(entries) => {
                    let next = (entries.len() == CSV_CHUNK as usize).then(|| entries.last().map(|e| e.id));
                    let entries: Vec<AuditEntry> = entries.into_iter().map(shown).collect();
                    Some((Ok::<_, std::io::Error>(csv_rows(&entries)), next.flatten().map(Some)))
                }
                Err(error) => {
                    // The status is sent already: the export ends short, and the log says why.
                    tracing::error!(%error, "audit export failed");
                    Some((Err(std::io::Error::other("the audit export failed")), None))
                }
            }
        }
    });
    // Fused: the compression layer may poll once more after the end, which an unfused `unfold` does not allow.
    let body = futures_util::StreamExt::fuse(futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(header) }),
        chunks,
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit-log.csv\""),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
