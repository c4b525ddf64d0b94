//! The Devices list and device detail.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::Violation;
use shared::api::{
    DeviceDetail, DevicePage, DevicePolicyStatus, DeviceRef, DeviceStatus, DeviceSummary, DirectoryConflict,
    EffectiveConfiguration, PolicyRef,
};
use shared::eligibility::{Eligibility, eligibility};
use shared::query::DeviceQuery;
use shared::report::PolicyState;
use shared::tenant::TenantSwitches;

use crate::AppState;
use crate::auth::AdminSession;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::store::DeviceRecord;

fn summary(device: &DeviceRecord, switches: TenantSwitches) -> DeviceSummary {
    DeviceSummary {
        id: device.id.clone(),
        facts: device.facts.clone(),
        directory_device_id: device.directory_device_id.clone(),
        eligibility: Eligibility::explain(eligibility(device.support, switches), &device.facts),
        onboarded_at: device.onboarded_at,
        last_check_in: device.last_check_in,
    }
}

async fn switches(state: &AppState) -> Result<TenantSwitches, ApiError> {
    Ok(state.store.tenant().await?.switches)
}

/// One page of devices, filtered and sorted as the query string says.
pub async fn devices_list(
    State(state): State<AppState>,
    _session: AdminSession,
    query: QueryPairs,
) -> Result<Json<DevicePage>, ApiError> {
    let query = DeviceQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let switches = switches(&state).await?;
    let (devices, total) = state.store.list_devices(&query, switches).await?;
    Ok(Json(DevicePage {
        items: devices.iter().map(|device| summary(device, switches)).collect(),
        total,
        page: query.page,
        per_page: query.per_page,
    }))
}

/// Everything known about one device.
pub async fn devices_get(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<DeviceDetail>, ApiError> {
    let device =
        state.store.get_device(&id).await?.ok_or_else(|| ApiError::NotFound("No device has this id.".into()))?;
    let switches = switches(&state).await?;
    let directory_conflict = match &device.claimed_directory_device_id {
        Some(presented) => Some(DirectoryConflict {
            presented: presented.clone(),
            held_by: state
                .store
                .directory_holder(presented.as_str())
                .await?
                .map(|holder| DeviceRef { id: holder.id, hostname: holder.facts.hostname.as_str().to_owned() }),
        }),
        None => None,
    };
    Ok(Json(DeviceDetail {
        summary: summary(&device, switches),
        registration: device.registration,
        n_check_ins: device.n_check_ins,
        sync_requested: device.sync_requested,
        directory_conflict,
    }))
}

/// Deletes a device: its credentials stop working at once, its reports and memberships go; it can onboard again.
pub async fn devices_delete(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_device(&id, &session.actor()).await? {
        tracing::info!(username = %session.admin.username, device_id = %id, "device deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("No device has this id.".into()))
    }
}

/// Asks the device to check in at its next poll ("Policy sync").
pub async fn devices_sync(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.request_sync(&id, &session.actor()).await? {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::NotFound("No device has this id.".into()))
    }
}

/// The policies that apply to the device and, per setting, the value that takes effect and why.
pub async fn devices_effective(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<EffectiveConfiguration>, ApiError> {
    let device =
        state.store.get_device(&id).await?.ok_or_else(|| ApiError::NotFound("No device has this id.".into()))?;
    let policies = crate::effective::policies_for(&state, &device).await?;
    let refs: Vec<&shared::policy::Policy> = policies.iter().collect();
    let resolution = shared::conflict::resolve(&refs);
    let records = state.store.list_groups().await?;
    let definitions = crate::api::groups::definitions(&records)?;
    let describe = |id: &str| -> String {
        if id == shared::groups::ALL_DEVICES {
            return "All devices".to_owned();
        }
        records.iter().find(|g| g.id == id).map_or_else(|| id.to_owned(), |g| g.name.clone())
    };
    let through = policies
        .iter()
        .filter_map(|policy| {
            let path =
                policy.draft.assignments.included().find_map(|group| {
                    shared::groups::membership_path(group, &definitions, &device.id, &device.facts)
                })?;
            let last = path.len() - 1;
            let steps = path
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let name = describe(id);
                    let how = records
                        .iter()
                        .find(|g| &g.id == id)
                        .map(|g| if g.rule.is_some() { " (rule)" } else { " (member)" });
                    if i == last { format!("{name}{}", how.unwrap_or_default()) } else { name }
                })
                .collect();
            Some((policy.id.clone(), steps))
        })
        .collect();
    let policies = policies
        .iter()
        .map(|p| PolicyRef {
            id: p.id.clone(),
            name: p.draft.name.clone(),
            profile: p.draft.profile,
            version: p.version,
        })
        .collect();
    Ok(Json(EffectiveConfiguration { policies, through, resolution }))
}

/// Every policy that applies to the device with its reported state (Pending until the current version is reported),
/// and the device's reported local preferences.
pub async fn devices_status(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<DeviceStatus>, ApiError> {
    let device =
        state.store.get_device(&id).await?.ok_or_else(|| ApiError::NotFound("No device has this id.".into()))?;
    let policies = crate::effective::policies_for(&state, &device).await?;
    let reports = state.store.device_reports(&id).await?;
    let statuses = policies
        .iter()
        .map(|policy| {
            let report = reports.iter().find(|r| r.policy_id == policy.id);
            let current = report.filter(|r| r.version == policy.version);
            DevicePolicyStatus {
                policy: PolicyRef {
                    id: policy.id.clone(),
                    name: policy.draft.name.clone(),
                    profile: policy.draft.profile,
                    version: policy.version,
                },
                state: current.map_or(PolicyState::Pending, |r| r.state),
                reported_version: report.map(|r| r.version),
                settings: current.map(|r| r.settings.clone()).unwrap_or_default(),
                reported_at: report.map(|r| r.reported_at),
            }
        })
        .collect();
    let (preferences, preferences_reported_at) = match state.store.device_preferences(&id).await? {
        Some((preferences, at)) => (preferences, Some(at)),
        None => (Default::default(), None),
    };
    Ok(Json(DeviceStatus { policies: statuses, preferences, preferences_reported_at }))
}

/// `GET /snapshot`: what the conflict preview needs of the tenant — devices (facts and support), groups, policies,
/// switches — at a generation; `GET /snapshot?since=G`: only what changed after generation `G`
/// (`shared::preview::SnapshotUpdate`).
pub async fn snapshot_get(
    State(state): State<AppState>,
    _session: AdminSession,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let mut since = None;
    let mut violations = Vec::new();
    for (key, value) in query.iter() {
        match (key, value.parse::<u64>()) {
            ("since", Ok(g)) if since.is_none() => since = Some(g),
            ("since", Ok(_)) => violations.push(Violation::new("since", "is given twice")),
            ("since", Err(_)) => violations.push(Violation::new("since", "must be a generation (a whole number)")),
            _ => violations.push(Violation::new(key, "is not a known parameter; known is since")),
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    Ok(match since {
        None => Json(crate::effective::snapshot(state.store.as_ref()).await?).into_response(),
        Some(since) => Json(crate::effective::snapshot_update(state.store.as_ref(), since).await?).into_response(),
    })
}
