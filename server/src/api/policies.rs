//! Antivirus and Firewall policies: list by type, create, read (with its ETag), update with optimistic concurrency
//! (`If-Match`), delete, duplicate, history and the diff of two versions. Every write is checked with
//! `shared::policy::validate_policy`, the same function the wizard runs as the admin types.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::Violation;
use shared::audit::AuditAction;
use shared::catalog::Profile;
use shared::groups::ALL_DEVICES;
use shared::policy::{Change, ImportReport, Policy, PolicyDraft, PolicySummary, PolicyVersion, diff, validate_policy};

use crate::AppState;
use crate::auth::AdminSession;
use crate::credentials::random_guid;
use crate::error::ApiError;
use crate::extract::{ApiJson, QueryPairs};
use crate::store::PolicyUpdate;

/// The ETag of a policy version.
fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

fn with_etag(status: StatusCode, policy: Policy) -> Response {
    (status, [(header::ETAG, etag(policy.version))], Json(policy)).into_response()
}

fn not_found() -> ApiError {
    ApiError::NotFound("No policy has this id.".into())
}

/// Group names by id, *All devices* included.
async fn group_names(state: &AppState) -> Result<BTreeMap<String, String>, ApiError> {
    let mut names: BTreeMap<String, String> =
        state.store.list_groups().await?.into_iter().map(|group| (group.id, group.name)).collect();
    names.insert(ALL_DEVICES.to_owned(), "All devices".to_owned());
    Ok(names)
}

async fn check(state: &AppState, draft: &PolicyDraft) -> Result<(), ApiError> {
    let groups = group_names(state).await?;
    let violations = validate_policy(draft, |id| groups.contains_key(id));
    if violations.is_empty() { Ok(()) } else { Err(ApiError::Invalid(violations)) }
}

fn name_taken(draft: &PolicyDraft) -> ApiError {
    ApiError::invalid("name", format!("a policy named \"{}\" already exists", draft.name.trim()))
}

async fn summaries(state: &AppState, query: &QueryPairs) -> Result<Vec<PolicySummary>, ApiError> {
    let mut wanted: Option<Profile> = None;
    let mut violations = Vec::new();
    for (key, value) in query.iter() {
        match (key, value) {
            ("type", "antivirus") => wanted = Some(Profile::Antivirus),
            ("type", "firewall") => wanted = Some(Profile::Firewall),
            ("type", other) => {
                violations.push(Violation::new("type", format!("must be antivirus or firewall, not {other:?}")))
            }
            (other, _) => violations.push(Violation::new(other, "is not a known parameter; the only one is type")),
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let names = group_names(state).await?;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let policies: Vec<Policy> = state
        .store
        .list_policies()
        .await?
        .into_iter()
        .filter(|policy| wanted.is_none_or(|profile| policy.draft.profile == profile))
        .collect();
    let mut statuses = state.store.status_counts().await?;
    Ok(policies
        .into_iter()
        .map(|policy| PolicySummary {
            included: policy.draft.assignments.included().map(name).collect(),
            excluded: policy.draft.assignments.excluded().map(name).collect(),
            n_settings: policy.draft.settings.len() as u64,
            status: statuses.remove(&policy.id).unwrap_or_default(),
            id: policy.id,
            profile: policy.draft.profile,
            name: policy.draft.name,
            description: policy.draft.description,
            version: policy.version,
            updated_at: policy.updated_at,
            updated_by: policy.updated_by,
        })
        .collect())
}

/// Policies with their status summary, optionally of one type: `?type=antivirus` or `?type=firewall`.
pub async fn policies_list(
    State(state): State<AppState>,
    _session: AdminSession,
    query: QueryPairs,
) -> Result<Json<Vec<PolicySummary>>, ApiError> {
    Ok(Json(summaries(&state, &query).await?))
}

/// The policy list with its status summary as CSV (`GET /policies/report.csv?type=…`).
pub async fn policies_list_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let rows = summaries(&state, &query).await?.into_iter().map(|p| {
        vec![
            p.name,
            p.profile.label().to_owned(),
            p.version.to_string(),
            p.included.join("; "),
            p.excluded.join("; "),
            p.status.succeeded.to_string(),
            p.status.error.to_string(),
            p.status.conflict.to_string(),
            p.status.not_applicable.to_string(),
            p.status.pending.to_string(),
            p.updated_at.to_string(),
            p.updated_by,
        ]
    });
    let header = [
        "Policy",
        "Profile",
        "Version",
        "Included groups",
        "Excluded groups",
        "Succeeded",
        "Error",
        "Conflict",
        "Not applicable",
        "Pending",
        "Changed (Unix time)",
        "Changed by",
    ];
    Ok(super::reports::csv_response("policies", shared::report::csv(&header, rows)))
}

/// Creates a policy as version 1.
pub async fn policies_create(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(mut draft): ApiJson<PolicyDraft>,
) -> Result<Response, ApiError> {
    draft.name = draft.name.trim().to_owned();
    check(&state, &draft).await?;
    let policy = Policy::first_version(random_guid().to_string(), draft, &session.admin.username, crate::now());
    if !state.store.create_policy(&policy, AuditAction::PolicyCreate, &session.actor()).await? {
        return Err(name_taken(&policy.draft));
    }
    tracing::info!(username = %session.admin.username, policy = %policy.id, "policy created");
    Ok(with_etag(StatusCode::CREATED, policy))
}

/// One policy; the `ETag` header carries its version for a later `If-Match`.
pub async fn policies_get(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let policy = state.store.get_policy(&id).await?.ok_or_else(not_found)?;
    Ok(with_etag(StatusCode::OK, policy))
}

/// The version the caller read, from `If-Match: "<version>"`.
fn expected_version(headers: &HeaderMap) -> Result<u64, ApiError> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired("Send If-Match with the ETag of the policy you edited."))?;
    value
        .to_str()
        .ok()
        .map(|text| text.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| ApiError::invalid("If-Match", "must be the policy's ETag, e.g. \"3\""))
}

/// Replaces the policy with the draft as the next version, if nobody changed it since the caller read it.
pub async fn policies_update(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut draft): ApiJson<PolicyDraft>,
) -> Result<Response, ApiError> {
    let expected = expected_version(&headers)?;
    draft.name = draft.name.trim().to_owned();
    check(&state, &draft).await?;
    match state.store.update_policy(&id, expected, &draft, &session.actor()).await? {
        PolicyUpdate::Updated(policy) => {
            tracing::info!(username = %session.admin.username, policy = %id, version = policy.version, "policy updated");
            Ok(with_etag(StatusCode::OK, policy))
        }
        PolicyUpdate::Stale { current } => Err(ApiError::PreconditionFailed(format!(
            "The policy changed since you opened it (it is now at version {current}, you edited version {expected}); \
             reload it and apply your changes again."
        ))),
        PolicyUpdate::NameTaken => Err(name_taken(&draft)),
        PolicyUpdate::NotFound => Err(not_found()),
    }
}

/// Deletes a policy and its history.
pub async fn policies_delete(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_policy(&id, &session.actor()).await? {
        tracing::info!(username = %session.admin.username, policy = %id, "policy deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

/// Copies a policy's settings under a new name; like the product it replaces, the copy has no assignments.
pub async fn policies_duplicate(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let original = state.store.get_policy(&id).await?.ok_or_else(not_found)?;
    let existing: Vec<String> =
        state.store.list_policies().await?.into_iter().map(|p| p.draft.name.to_lowercase()).collect();
    let base = format!("{} (copy)", original.draft.name);
    let name = (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{} (copy {n})", original.draft.name) })
        .find(|candidate| !existing.contains(&candidate.to_lowercase()))
        .unwrap_or(base);
    let now = crate::now();
    let mut draft = original.draft;
    draft.name = name;
    draft.assignments = Default::default();
    check(&state, &draft).await?;
    let copy = Policy::first_version(random_guid().to_string(), draft, &session.admin.username, now);
    if !state.store.create_policy(&copy, AuditAction::PolicyCreate, &session.actor()).await? {
        return Err(name_taken(&copy.draft));
    }
    Ok(with_etag(StatusCode::CREATED, copy))
}

/// Every version of a policy, oldest first.
pub async fn policies_versions(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<Vec<PolicyVersion>>, ApiError> {
    let versions = state.store.policy_versions(&id).await?;
    if versions.is_empty() {
        return Err(not_found());
    }
    Ok(Json(versions))
}

/// What changed between two versions: `?from=1&to=3`.
pub async fn policies_diff(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Json<Vec<Change>>, ApiError> {
    let mut from = None;
    let mut to = None;
    let mut violations = Vec::new();
    for (key, value) in query.iter() {
        let slot = match key {
            "from" => &mut from,
            "to" => &mut to,
            other => {
                violations.push(Violation::new(other, "is not a known parameter; known are from and to"));
                continue;
            }
        };
        match value.parse::<u64>() {
            Ok(n) if n >= 1 => *slot = Some(n),
            _ => violations.push(Violation::new(key, format!("must be a version number from 1, not {value:?}"))),
        }
    }
    for (name, slot) in [("from", from), ("to", to)] {
        if slot.is_none() && !violations.iter().any(|v| v.path == name) {
            violations.push(Violation::new(name, "is required"));
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let versions = state.store.policy_versions(&id).await?;
    if versions.is_empty() {
        return Err(not_found());
    }
    let find = |name: &str, wanted: Option<u64>| {
        versions
            .iter()
            .find(|v| Some(v.version) == wanted)
            .ok_or_else(|| ApiError::invalid(name, format!("this policy has versions 1 to {}", versions.len())))
    };
    let (old, new) = (find("from", from)?, find("to", to)?);
    Ok(Json(diff(&old.draft, &new.draft)))
}

/// Imports one exported policy file (Microsoft Graph settings-catalog JSON; UTF-8 with or without BOM, or UTF-16
/// with BOM) sent as the raw body. The policy is created without assignments; the report lists every setting that
/// could not be mapped. A file of another template is refused, naming it.
pub async fn policies_import(
    State(state): State<AppState>,
    session: AdminSession,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ImportReport>), ApiError> {
    let imported = shared::graph::import_policy(&body).map_err(ApiError::Invalid)?;
    let draft = PolicyDraft {
        profile: imported.profile,
        name: imported.name.trim().to_owned(),
        description: imported.description,
        settings: imported.settings,
        assignments: Default::default(),
    };
    check(&state, &draft).await?;
    let policy = Policy::first_version(random_guid().to_string(), draft, &session.admin.username, crate::now());
    if !state.store.create_policy(&policy, AuditAction::PolicyImport, &session.actor()).await? {
        return Err(name_taken(&policy.draft));
    }
    tracing::info!(username = %session.admin.username, policy = %policy.id, n_unmapped = imported.unmapped.len(), "policy imported");
    Ok((StatusCode::CREATED, Json(ImportReport { policy, unmapped: imported.unmapped })))
}

/// The policy as Microsoft Graph settings-catalog JSON, as a file download; importing it gives the same policy.
pub async fn policies_export(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let policy = state.store.get_policy(&id).await?.ok_or_else(not_found)?;
    let draft = &policy.draft;
    let json = shared::graph::export_policy(draft.profile, &draft.name, &draft.description, &draft.settings);
    let file_name: String =
        draft.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}.json\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"policy.json\""));
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(json)).into_response())
}
