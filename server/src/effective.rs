//! Which policies apply to one device: eligible (device support and both tenant switches), in an included group,
//! in no excluded group. The check-in and the admin center's effective view ask the same question here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use shared::conflict::applicable_policies;
use shared::eligibility::{EligibilityCode, eligibility};
use shared::groups::{GroupDefinition, is_member};
use shared::policy::Policy;
use shared::preview::{Snapshot, SnapshotChanges, SnapshotDevice, SnapshotGroup, SnapshotUpdate};

use crate::AppState;
use crate::error::ApiError;
use crate::store::{DeviceRecord, Store, StoreResult};

/// What decides which policies a device gets: the tenant switches, every policy, every group's definition. Loaded
/// once per store generation and shared by every check-in until an admin changes one of them.
#[derive(Debug)]
pub struct World {
    switches: shared::tenant::TenantSwitches,
    policies: Vec<Policy>,
    groups: BTreeMap<String, GroupDefinition>,
    /// Serialized check-in answers by policy-set hash: every device with the same set gets the same bytes.
    answers: Mutex<std::collections::HashMap<String, axum::body::Bytes>>,
}

impl World {
    /// The policies that apply to `device`, at their current versions, by name.
    pub fn policies_for<'a>(&'a self, device: &DeviceRecord) -> Vec<&'a Policy> {
        if eligibility(device.support, self.switches) != EligibilityCode::Eligible {
            return Vec::new();
        }
        applicable_policies(&self.policies, |group_id| is_member(group_id, &self.groups, &device.id, &device.facts))
    }

    /// The serialized answer for the policy set `hash`, made by `make` the first time it is asked for.
    pub fn answer(
        &self,
        hash: &str,
        make: impl FnOnce() -> serde_json::Result<Vec<u8>>,
    ) -> serde_json::Result<axum::body::Bytes> {
        if let Some(bytes) = self.answers.lock().unwrap_or_else(PoisonError::into_inner).get(hash) {
            return Ok(bytes.clone());
        }
        let bytes = axum::body::Bytes::from(make()?);
        self.answers.lock().unwrap_or_else(PoisonError::into_inner).insert(hash.to_owned(), bytes.clone());
        Ok(bytes)
    }
}

/// The current [`World`], cached behind the store's generation.
#[derive(Debug, Default)]
pub struct WorldCache {
    slot: Mutex<Option<(u64, Arc<World>)>>,
}

impl WorldCache {
    /// The world as of now: the cached one while the store's generation has not moved, else freshly loaded.
    pub async fn get(&self, state: &AppState) -> Result<Arc<World>, ApiError> {
        let generation = state.store.generation();
        if let Some((cached, world)) = self.slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
            && *cached == generation
        {
            return Ok(Arc::clone(world));
        }
        // Read the generation before loading: a change committed meanwhile moves it, and the next call reloads.
        let world = Arc::new(World {
            switches: state.store.tenant().await?.switches,
            policies: state.store.list_policies().await?,
            groups: crate::api::groups::definitions(&state.store.list_groups().await?)?,
            answers: Mutex::default(),
        });
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((generation, Arc::clone(&world)));
        Ok(world)
    }
}

/// The policies that apply to `device`, at their current versions, by name.
pub async fn policies_for(state: &AppState, device: &DeviceRecord) -> Result<Vec<Policy>, ApiError> {
    let world = state.world.get(state).await?;
    Ok(world.policies_for(device).into_iter().cloned().collect())
}

/// The preview's view of the tenant (`shared::preview::Snapshot`) from stored records: what the browser previews
/// with, and what policy reports resolve targeting with.
pub fn snapshot_of(
    devices: &[DeviceRecord],
    groups: &[crate::store::GroupRecord],
    switches: shared::tenant::TenantSwitches,
    policies: Vec<Policy>,
) -> Snapshot {
    Snapshot {
        generation: 0,
        taken_at: crate::now(),
        switches,
        devices: devices.iter().map(snapshot_device).collect(),
        groups: groups.iter().map(snapshot_group).collect(),
        policies,
    }
}

fn snapshot_device(d: &DeviceRecord) -> SnapshotDevice {
    SnapshotDevice { id: d.id.clone(), facts: d.facts.clone(), support: d.support }
}

fn snapshot_group(g: &crate::store::GroupRecord) -> SnapshotGroup {
    SnapshotGroup {
        id: g.id.clone(),
        name: g.name.clone(),
        rule: g.rule.clone(),
        members: g.members.iter().cloned().collect(),
        children: g.children.clone(),
    }
}

/// The most objects a delta carries; beyond that the whole snapshot is sent (a wave of onboarding, say).
pub const DELTA_LIMIT: usize = 2_000;

/// The whole snapshot at its generation. The generation is read first: what changes while the rest is read is sent
/// again by the next delta, and applying an object twice changes nothing.
pub async fn snapshot(store: &dyn Store) -> StoreResult<Snapshot> {
    let (generation, _) = store.snapshot_changes(None, 0).await?;
    let switches = store.tenant().await?.switches;
    let devices = store.all_devices().await?;
    let groups = store.list_groups().await?;
    let policies = store.list_policies().await?;
    Ok(Snapshot { generation, ..snapshot_of(&devices, &groups, switches, policies) })
}

/// What a browser holding the snapshot at generation `since` needs: the changes after it, or the whole snapshot when
/// `since` is not one the store has reached or more than [`DELTA_LIMIT`] objects changed.
pub async fn snapshot_update(store: &dyn Store, since: u64) -> StoreResult<SnapshotUpdate> {
    let (generation, changed) = store.snapshot_changes(Some(since), DELTA_LIMIT).await?;
    let Some(changed) = changed.filter(|_| since <= generation) else {
        return Ok(SnapshotUpdate { full: Some(snapshot(store).await?), changes: None });
    };
    let mut changes = SnapshotChanges {
        generation,
        taken_at: crate::now(),
        switches: store.tenant().await?.switches,
        ..SnapshotChanges::default()
    };
    for id in changed.devices {
        match store.get_device(&id).await? {
            Some(device) => changes.devices.push(snapshot_device(&device)),
            None => changes.removed_devices.push(id),
        }
    }
    if !changed.groups.is_empty() {
        let groups = store.list_groups().await?;
        for id in changed.groups {
            match groups.iter().find(|g| g.id == id) {
                Some(group) => changes.groups.push(snapshot_group(group)),
                None => changes.removed_groups.push(id),
            }
        }
    }
    if !changed.policies.is_empty() {
        let mut policies = store.list_policies().await?;
        for id in changed.policies {
            match policies.iter().position(|p| p.id == id) {
                Some(i) => changes.policies.push(policies.swap_remove(i)),
                None => changes.removed_policies.push(id),
            }
        }
    }
    Ok(SnapshotUpdate { full: None, changes: Some(changes) })
}
