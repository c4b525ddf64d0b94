//! Policy reports: the status summary of every policy, a policy's report (counts by status and check-in, the devices
//! it targets, per setting status), one device's per-setting view, and each table as CSV. Aggregation is
//! `shared::report`'s; this module only gathers the rows.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use shared::api::{CheckInCounts, PolicyDeviceReport, PolicyDeviceRow, PolicyRef, PolicyReport};
use shared::policy::Policy;
use shared::query::ReportQuery;
use shared::report::{StatusCounts, csv, setting_counts, settings_on_device, targeted_state};

use crate::AppState;
use crate::auth::AdminSession;
use crate::effective::{Fleet, policies_for};
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::store::{DeviceRecord, StoredPolicyReport};

fn policy_ref(policy: &Policy) -> PolicyRef {
    PolicyRef {
        id: policy.id.clone(),
        name: policy.draft.name.clone(),
        profile: policy.draft.profile,
        version: policy.version,
    }
}

async fn policy(state: &AppState, id: &str) -> Result<Policy, ApiError> {
    state.store.get_policy(id).await?.ok_or_else(|| ApiError::NotFound("No policy has this id.".into()))
}

fn row(policy: &Policy, device: &DeviceRecord, eligible: bool, report: Option<&StoredPolicyReport>) -> PolicyDeviceRow {
    PolicyDeviceRow {
        device_id: device.id.clone(),
        device_name: device.facts.hostname.to_string(),
        os: format!("{} {}", device.facts.os.label(), device.facts.edition.label()),
        state: targeted_state(policy.version, eligible, report.map(|r| (r.version, r.state))),
        reported_version: report.map(|r| r.version),
        reported_at: report.map(|r| r.reported_at),
        last_check_in: device.last_check_in,
    }
}

/// Every policy's status summary, by policy id: the devices it targets, by its state on them.
pub async fn status_summaries(
    state: &AppState,
    policies: &[Policy],
) -> Result<BTreeMap<String, StatusCounts>, ApiError> {
    let fleet = Fleet::load(state).await?;
    let reported = state.store.report_states().await?;
    let mut key = (String::new(), String::new());
    Ok(policies
        .iter()
        .map(|policy| {
            let counts = fleet
                .targeted(policy)
                .map(|(device, eligible)| {
                    key.0.clone_from(&policy.id);
                    key.1.clone_from(&device.id);
                    targeted_state(policy.version, eligible, reported.get(&key).copied())
                })
                .collect();
            (policy.id.clone(), counts)
        })
        .collect())
}

/// The report of policy `id` with every targeted device that matches `query`, in its order (not yet paged).
async fn build_report(state: &AppState, id: &str, query: &ReportQuery) -> Result<PolicyReport, ApiError> {
    let policy = policy(state, id).await?;
    let fleet = Fleet::load(state).await?;
    let reports = state.store.policy_reports(id).await?;
    let mut check_in = CheckInCounts::default();
    let devices: Vec<PolicyDeviceRow> = fleet
        .targeted(&policy)
        .map(|(device, eligible)| {
            match device.last_check_in {
                None => check_in.never += 1,
                Some(at) if at >= policy.updated_at => check_in.since_change += 1,
                Some(_) => check_in.before_change += 1,
            }
            row(&policy, device, eligible, reports.get(&device.id))
        })
        .collect();
    let counts = devices.iter().map(|row| row.state).collect();
    let current = devices
        .iter()
        .filter(|row| {
            row.reported_version == Some(policy.version) && row.state != shared::report::PolicyState::NotApplicable
        })
        .filter_map(|row| reports.get(&row.device_id))
        .map(|report| report.settings.as_slice());
    let settings = setting_counts(&policy, current);
    let devices = query.select(devices);
    Ok(PolicyReport {
        policy: policy_ref(&policy),
        updated_at: policy.updated_at,
        counts,
        check_in,
        devices_total: devices.len() as u64,
        devices,
        page: query.page,
        per_page: query.per_page,
        settings,
    })
}

/// `GET /policies/{id}/report?q=&state=&sort=&dir=&page=&per_page=`: the counts of every targeted device, and one
/// page of those that match the filter, sorted.
pub async fn policies_report(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Json<PolicyReport>, ApiError> {
    let query = ReportQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let report = build_report(&state, &id, &query).await?;
    let (devices, devices_total) = query.page_of(report.devices);
    Ok(Json(PolicyReport { devices, devices_total, ..report }))
}

pub(super) fn csv_response(file_name: &str, body: String) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}.csv\"",
        file_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
    );
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

fn time(at: Option<i64>) -> String {
    at.map(|at| at.to_string()).unwrap_or_default()
}

/// `GET /policies/{id}/report/devices.csv`: the View report table, every device that matches the same filter as
/// the report's (`page` and `per_page` are ignored), in its order.
pub async fn policies_report_devices_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let query = ReportQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let report = build_report(&state, &id, &query).await?;
    let rows = report.devices.into_iter().map(|row| {
        vec![
            row.device_name,
            row.device_id,
            row.os,
            row.state.label().to_owned(),
            row.reported_version.map(|v| v.to_string()).unwrap_or_default(),
            time(row.reported_at),
            time(row.last_check_in),
        ]
    });
    let header = [
        "Device",
        "Device id",
        "OS",
        "Status",
        "Reported version",
        "Last report (Unix time)",
        "Last check-in (Unix time)",
    ];
    Ok(csv_response(&format!("{}-devices", report.policy.name), csv(&header, rows)))
}

/// `GET /policies/{id}/report/settings.csv`: the Per setting status table.
pub async fn policies_report_settings_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = build_report(&state, &id, &ReportQuery::default()).await?;
    let rows = report.settings.into_iter().map(|row| {
        vec![
            row.name,
            row.setting_id,
            row.value,
            row.succeeded.to_string(),
            row.error.to_string(),
            row.conflict.to_string(),
            row.not_applicable.to_string(),
        ]
    });
    let header = ["Setting", "Setting id", "Value", "Succeeded", "Error", "Conflict", "Not applicable"];
    Ok(csv_response(&format!("{}-settings", report.policy.name), csv(&header, rows)))
}

async fn build_device_report(state: &AppState, id: &str, device_id: &str) -> Result<PolicyDeviceReport, ApiError> {
    let policy = policy(state, id).await?;
    let device =
        state.store.get_device(device_id).await?.ok_or_else(|| ApiError::NotFound("No device has this id.".into()))?;
    let fleet = Fleet::load(state).await?;
    let Some((_, eligible)) = fleet.targeted(&policy).find(|(targeted, _)| targeted.id == device.id) else {
        return Err(ApiError::NotFound(format!(
            "The policy \"{}\" is not assigned to this device.",
            policy.draft.name
        )));
    };
    let reports = state.store.device_reports(device_id).await?;
    let report = reports.iter().find(|r| r.policy_id == policy.id);
    let row = row(&policy, &device, eligible, report);
    let applicable = policies_for(state, &device).await?;
    let mut refs: Vec<&Policy> = applicable.iter().collect();
    if !refs.iter().any(|p| p.id == policy.id) {
        refs.push(&policy);
    }
    let current = report.filter(|r| r.version == policy.version).map(|r| r.settings.as_slice());
    let settings = settings_on_device(&policy, &refs, current);
    Ok(PolicyDeviceReport { policy: policy_ref(&policy), device: row, settings })
}

/// `GET /policies/{id}/report/devices/{device_id}`: one device's per-setting status, with the other policies that
/// manage each setting there.
pub async fn policies_report_device(
    State(state): State<AppState>,
    _session: AdminSession,
    Path((id, device_id)): Path<(String, String)>,
) -> Result<Json<PolicyDeviceReport>, ApiError> {
    Ok(Json(build_device_report(&state, &id, &device_id).await?))
}

/// `GET /policies/{id}/report/devices/{device_id}/settings.csv`.
pub async fn policies_report_device_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    Path((id, device_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let report = build_device_report(&state, &id, &device_id).await?;
    let rows = report.settings.into_iter().map(|row| {
        let others: Vec<String> =
            row.others.iter().map(|other| format!("{}: {}", other.policy_name, other.value)).collect();
        vec![
            row.name,
            row.setting_id,
            row.value,
            row.state.map_or("Pending", |s| s.label()).to_owned(),
            row.code,
            row.detail,
            row.effective,
            others.join("; "),
        ]
    });
    let header =
        ["Setting", "Setting id", "Value", "Status", "Error code", "Detail", "Effective value", "Other policies"];
    Ok(csv_response(&format!("{}-{}", report.policy.name, report.device.device_name), csv(&header, rows)))
}
