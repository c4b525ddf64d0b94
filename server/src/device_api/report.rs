//! `POST /api/v1/device/report`: the authenticated device reports, per policy and per setting, what it applied and
//! its resulting local preferences. It can only report about itself, and only about policies that apply to it at
//! versions that exist, with one result per configured setting; a report of an older version never replaces a newer
//! one.

use axum::extract::State;
use axum::http::StatusCode;
use shared::Violation;
use shared::report::DeviceReport;

use crate::AppState;
use crate::device_api::AuthenticatedDevice;
use crate::error::ApiError;
use crate::extract::ApiJson;

/// The most policies one report may carry.
const MAX_POLICIES: usize = 1_000;

/// Stores the authenticated device's report.
pub async fn device_report(
    State(state): State<AppState>,
    device: AuthenticatedDevice,
    ApiJson(report): ApiJson<DeviceReport>,
) -> Result<StatusCode, ApiError> {
    if report.policies.len() > MAX_POLICIES {
        return Err(ApiError::invalid("policies", format!("must hold at most {MAX_POLICIES} policies")));
    }
    let bounds = report.bound_violations();
    if !bounds.is_empty() {
        return Err(ApiError::Invalid(bounds));
    }
    let world = state.world.get(&state).await?;
    let applicable = world.policies_for(&device.record);
    let mut violations = Vec::new();
    for (i, result) in report.policies.iter().enumerate() {
        match applicable.iter().find(|policy| policy.id == result.policy_id) {
            None => violations
                .push(Violation::new(format!("policies[{i}].policy_id"), "this policy does not apply to this device")),
            Some(policy) if result.version == 0 || result.version > policy.version => violations.push(Violation::new(
                format!("policies[{i}].version"),
                format!("the policy has versions 1 to {}", policy.version),
            )),
            // A result of the current version gives every configured setting exactly one result: the per setting
            // status counts them, and a setting's devices list them (a setting without a result would read as
            // Succeeded there).
            Some(policy) if result.version == policy.version => {
                let mut seen = std::collections::HashSet::new();
                for (j, setting) in result.settings.iter().enumerate() {
                    let path = format!("policies[{i}].settings[{j}].setting_id");
                    if !policy.draft.settings.iter().any(|s| s.id == setting.setting_id) {
                        violations.push(Violation::new(path, "the policy does not configure this setting"));
                    } else if !seen.insert(setting.setting_id.as_str()) {
                        violations.push(Violation::new(path, "this setting has a result already"));
                    }
                }
                for configured in policy.draft.settings.iter().filter(|s| !seen.contains(s.id.as_str())) {
                    violations.push(Violation::new(
                        format!("policies[{i}].settings"),
                        format!("has no result for {}, which the policy configures", configured.id),
                    ));
                }
            }
            Some(_) => {}
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    state.store.record_report(&device.device_id, &report, crate::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
