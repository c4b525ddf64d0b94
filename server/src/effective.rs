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

/// The whole fleet as policy reports need it: every device, its eligibility, and the members of every group, resolved
/// once with `shared::groups` so that each policy's targeted devices follow from set lookups.
pub struct Fleet {
    /// Every device, by name.
    pub devices: Vec<DeviceRecord>,
    switches: shared::tenant::TenantSwitches,
    members: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Fleet {
    /// Loads devices, groups and the tenant switches.
    pub async fn load(state: &AppState) -> Result<Self, ApiError> {
        let switches = state.store.tenant().await?.switches;
        let devices = state.store.all_devices().await?;
        let groups = crate::api::groups::definitions(&state.store.list_groups().await?)?;
        let facts: Vec<(&str, &shared::device::DeviceFacts)> =
            devices.iter().map(|device| (device.id.as_str(), &device.facts)).collect();
        let members = groups
            .keys()
            .map(|id| (id.clone(), shared::groups::resolve_members(id, &groups, facts.iter().copied())))
            .collect();
        Ok(Self { devices, switches, members })
    }

    /// The devices `policy` is assigned to (included minus excluded groups, through nesting and rules), eligible or
    /// not.
    pub fn targeted<'a>(&'a self, policy: &'a Policy) -> impl Iterator<Item = &'a DeviceRecord> + 'a {
        self.devices.iter().filter(move |device| {
            shared::conflict::applies_to(policy, |group| {
                group == shared::groups::ALL_DEVICES || self.members.get(group).is_some_and(|m| m.contains(&device.id))
            })
        })
    }

    /// Whether the device can receive policies now.
    pub fn eligible(&self, device: &DeviceRecord) -> bool {
        eligibility(device.support, self.switches) == EligibilityCode::Eligible
    }
}
