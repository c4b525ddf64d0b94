//! Which policies apply to one device: eligible (device support and both tenant switches), in an included group,
//! in no excluded group. The check-in and the admin center's effective view ask the same question here.

use shared::conflict::applicable_policies;
use shared::eligibility::{EligibilityCode, eligibility};
use shared::groups::is_member;
use shared::policy::Policy;

use crate::AppState;
use crate::error::ApiError;
use crate::store::DeviceRecord;

/// The policies that apply to `device`, at their current versions, by name.
pub async fn policies_for(state: &AppState, device: &DeviceRecord) -> Result<Vec<Policy>, ApiError> {
    let switches = state.store.tenant().await?.switches;
    if eligibility(device.support, switches) != EligibilityCode::Eligible {
        return Ok(Vec::new());
    }
    let policies = state.store.list_policies().await?;
    let groups = crate::api::groups::definitions(&state.store.list_groups().await?)?;
    Ok(applicable_policies(&policies, |group_id| is_member(group_id, &groups, &device.id, &device.facts))
        .into_iter()
        .cloned()
        .collect())
}
