//! Policy reports: the status summary of every policy, a policy's report (counts by status and check-in, the devices
//! it targets, per setting status), one device's per-setting view, and each table as CSV. Aggregation is
//! `shared::report`'s; this module only gathers the rows.

use std::future::Future;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use shared::api::{PolicyDeviceReport, PolicyDeviceRow, PolicyRef, PolicyReport, SettingDeviceRow, SettingReport};
use shared::policy::Policy;
use shared::query::{ReportQuery, SettingQuery};
use shared::report::{csv, setting_counts_from, settings_on_device};

use crate::AppState;
use crate::auth::AdminSession;
use crate::effective::policies_for;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::store::ReportPosition;

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

/// `GET /policies/{id}/report?q=&state=&sort=&dir=&page=&per_page=`: the counts of every targeted device, and one
/// page of those that match the filter, sorted.
pub async fn policies_report(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Json<PolicyReport>, ApiError> {
    let query = ReportQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let policy = policy(&state, &id).await?;
    let (counts, check_in) = state.store.policy_counts(&policy.id).await?;
    let devices_total = if query.search.is_empty() {
        query.state.map_or_else(|| counts.total(), |wanted| counts.get(wanted))
    } else {
        state.store.count_policy_devices(&policy.id, &query).await?
    };
    let devices =
        state.store.policy_devices(&policy.id, &query, ReportPosition::Offset(query.offset()), query.per_page).await?;
    let settings = setting_counts_from(&policy, &state.store.setting_tallies(&policy.id).await?);
    Ok(Json(PolicyReport {
        policy: policy_ref(&policy),
        updated_at: policy.updated_at,
        counts,
        check_in,
        devices,
        devices_total,
        page: query.page,
        per_page: query.per_page,
        settings,
    }))
}

pub(super) fn csv_response(file_name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition(file_name)),
        ],
        body,
    )
        .into_response()
}

fn disposition(file_name: &str) -> String {
    format!("attachment; filename=\"{}.csv\"", file_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"))
}

/// Rows per chunk of a streamed CSV.
const CSV_CHUNK: u32 = 2_000;

/// A CSV download streamed a chunk at a time, so that a table of any length costs the server one chunk of memory:
/// the header, then the rows of `chunk(cursor)`, each chunk giving the cursor of the next (none after the last).
fn csv_stream<C, F, Fut>(file_name: &str, header: &[&str], chunk: F) -> Response
where
    C: Send + 'static,
    F: Fn(Option<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(Vec<Vec<String>>, Option<C>), ApiError>> + Send + 'static,
{
    let header = csv(header, std::iter::empty::<Vec<String>>());
    let chunk = std::sync::Arc::new(chunk);
    // The state of the stream: the cursor of the next chunk (`Some(None)` first), or `None` when done.
    let chunks = futures_util::stream::unfold(Some(None::<C>), move |cursor| {
        let chunk = std::sync::Arc::clone(&chunk);
        async move {
            match chunk(cursor?).await {
                Ok((rows, _)) if rows.is_empty() => None,
                Ok((rows, next)) => Some((Ok::<_, std::io::Error>(csv(&[], rows)), next.map(Some))),
                Err(error) => {
                    // The status is sent already: the download ends short, and the log says why.
                    tracing::error!(?error, "CSV export failed");
                    Some((Err(std::io::Error::other("the export failed")), None))
                }
            }
        }
    });
    // Fused: the compression layer may poll once more after the end, which an unfused `unfold` does not allow.
    let body = futures_util::StreamExt::fuse(futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(header) }),
        chunks,
    ));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition(file_name)),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// A CSV of report rows streamed a chunk at a time: `read(last)` gives the rows after `last` (the first chunk for
/// `None`), `cells` one row's cells; a short chunk is the last.
fn csv_rows<R, F, Fut>(file_name: &str, header: &[&str], read: F, cells: fn(R) -> Vec<String>) -> Response
where
    R: Clone + Send + 'static,
    F: Fn(Option<R>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<R>, ApiError>> + Send + 'static,
{
    let read = std::sync::Arc::new(read);
    csv_stream(file_name, header, move |last: Option<R>| {
        let read = std::sync::Arc::clone(&read);
        async move {
            let rows = read(last).await?;
            let next = (rows.len() == CSV_CHUNK as usize).then(|| rows.last().cloned()).flatten();
            Ok((rows.into_iter().map(cells).collect(), next))
        }
    })
}

fn time(at: Option<i64>) -> String {
    at.map(|at| at.to_string()).unwrap_or_default()
}

/// `GET /policies/{id}/report/devices.csv`: the View report table, every device that matches the same filter as
/// the report's (`page` and `per_page` are ignored), in its order, streamed.
pub async fn policies_report_devices_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let query = ReportQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let policy = policy(&state, &id).await?;
    let header = [
        "Device",
        "Device id",
        "OS",
        "Status",
        "Reported version",
        "Last report (Unix time)",
        "Last check-in (Unix time)",
    ];
    let policy_id = policy.id.clone();
    let read = move |last: Option<PolicyDeviceRow>| {
        let (state, query, policy_id) = (state.clone(), query.clone(), policy_id.clone());
        async move {
            let position = last.as_ref().map_or(ReportPosition::Offset(0), ReportPosition::After);
            Ok(state.store.policy_devices(&policy_id, &query, position, CSV_CHUNK).await?)
        }
    };
    Ok(csv_rows(&format!("{}-devices", policy.draft.name), &header, read, |row| {
        vec![
            row.device_name,
            row.device_id,
            row.os,
            row.state.label().to_owned(),
            row.reported_version.map(|v| v.to_string()).unwrap_or_default(),
            time(row.reported_at),
            time(row.last_check_in),
        ]
    }))
}

/// `GET /policies/{id}/report/settings.csv`: the Per setting status table.
pub async fn policies_report_settings_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let policy = policy(&state, &id).await?;
    let settings = setting_counts_from(&policy, &state.store.setting_tallies(&policy.id).await?);
    let rows = settings.into_iter().map(|row| {
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
    Ok(csv_response(&format!("{}-settings", policy.draft.name), csv(&header, rows)))
}

/// The policy, and the counts of the setting it configures (404 when it configures no such setting).
async fn setting_of(
    state: &AppState,
    id: &str,
    setting_id: &str,
) -> Result<(Policy, shared::report::SettingCounts), ApiError> {
    let policy = policy(state, id).await?;
    let counts = setting_counts_from(&policy, &state.store.setting_tallies(&policy.id).await?)
        .into_iter()
        .find(|row| row.setting_id == setting_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!("The policy \"{}\" does not configure this setting.", policy.draft.name))
        })?;
    Ok((policy, counts))
}

/// `GET /policies/{id}/report/settings/{setting_id}?q=&state=&sort=&dir=&page=&per_page=`: one setting's counts and
/// one page of the devices that reported it for the policy's current version, with its state and error there.
pub async fn policies_report_setting(
    State(state): State<AppState>,
    _session: AdminSession,
    Path((id, setting_id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<Json<SettingReport>, ApiError> {
    let query = SettingQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let (policy, setting) = setting_of(&state, &id, &setting_id).await?;
    let devices_total = if query.search.is_empty() {
        query.state.map_or_else(|| setting.total(), |wanted| setting.count(wanted))
    } else {
        state.store.count_setting_devices(&policy.id, &setting_id, &query).await?
    };
    let devices = state
        .store
        .setting_devices(&policy.id, &setting_id, &query, ReportPosition::Offset(query.offset()), query.per_page)
        .await?;
    Ok(Json(SettingReport {
        policy: policy_ref(&policy),
        setting,
        devices,
        devices_total,
        page: query.page,
        per_page: query.per_page,
    }))
}

/// `GET /policies/{id}/report/settings/{setting_id}/devices.csv`: the setting's devices that match the same filter
/// as its page's (`page` and `per_page` are ignored), in its order, streamed.
pub async fn policies_report_setting_csv(
    State(state): State<AppState>,
    _session: AdminSession,
    Path((id, setting_id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let query = SettingQuery::parse(query.iter()).map_err(ApiError::Invalid)?;
    let (policy, setting) = setting_of(&state, &id, &setting_id).await?;
    let header = ["Device", "Device id", "OS", "Status", "Error code", "Detail", "Last report (Unix time)"];
    let policy_id = policy.id.clone();
    let read = move |last: Option<SettingDeviceRow>| {
        let (state, query, policy_id, setting_id) =
            (state.clone(), query.clone(), policy_id.clone(), setting_id.clone());
        async move {
            let position = last.as_ref().map_or(ReportPosition::Offset(0), ReportPosition::After);
            Ok(state.store.setting_devices(&policy_id, &setting_id, &query, position, CSV_CHUNK).await?)
        }
    };
    Ok(csv_rows(&format!("{}-{}", policy.draft.name, setting.name), &header, read, |row| {
        vec![
            row.device_name,
            row.device_id,
            row.os,
            row.state.label().to_owned(),
            row.code,
            row.detail,
            time(row.reported_at),
        ]
    }))
}

async fn build_device_report(state: &AppState, id: &str, device_id: &str) -> Result<PolicyDeviceReport, ApiError> {
    let policy = policy(state, id).await?;
    let device =
        state.store.get_device(device_id).await?.ok_or_else(|| ApiError::NotFound("No device has this id.".into()))?;
    let Some(row) = state.store.policy_device(&policy.id, &device.id).await? else {
        return Err(ApiError::NotFound(format!(
            "The policy \"{}\" is not assigned to this device.",
            policy.draft.name
        )));
    };
    let reports = state.store.device_reports(device_id).await?;
    let report = reports.iter().find(|r| r.policy_id == policy.id);
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
