//! The snapshot kept up to date by deltas: the admin center fetches it once, then asks the server only for what
//! changed since the generation it holds (`GET /api/v1/snapshot?since=G`) and applies that here. Applying a delta
//! gives exactly the snapshot a full fetch at the delta's generation would: objects are replaced whole, removed ones
//! dropped, and the lists kept in the server's order (name without ASCII case, then id, as SQLite's `NOCASE` sorts).

use std::collections::HashSet;

use serde::Serialize;
use shared_derive::CompactDeserialize;

use super::{Snapshot, SnapshotDevice, SnapshotGroup};
use crate::api::UnixSeconds;
use crate::policy::Policy;
use crate::tenant::TenantSwitches;

/// What changed in the tenant after a generation: the objects changed or added, whole, and the ids of those removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotChanges {
    /// The generation the snapshot reaches once these are applied.
    pub generation: u64,
    /// When the server took them.
    pub taken_at: UnixSeconds,
    /// The tenant switches (always sent: two booleans).
    pub switches: TenantSwitches,
    /// Devices changed or added.
    pub devices: Vec<SnapshotDevice>,
    /// Groups changed or added.
    pub groups: Vec<SnapshotGroup>,
    /// Policies changed or added.
    pub policies: Vec<Policy>,
    /// Ids of devices removed.
    pub removed_devices: Vec<String>,
    /// Ids of groups removed.
    pub removed_groups: Vec<String>,
    /// Ids of policies removed.
    pub removed_policies: Vec<String>,
}

/// The answer to `GET /api/v1/snapshot?since=G`: the changes since `G`, or the whole snapshot when the server cannot
/// or should not send changes (a generation it does not know, or changes larger than the snapshot is worth).
#[derive(Debug, Clone, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SnapshotUpdate {
    /// The whole snapshot, replacing the one held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<Snapshot>,
    /// Or the changes to apply to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<SnapshotChanges>,
}

impl SnapshotUpdate {
    /// Whether it moves a snapshot held at generation `since`: a whole snapshot, or changes to another generation.
    pub fn moves(&self, since: u64) -> bool {
        self.full.is_some() || self.changes.as_ref().is_some_and(|changes| changes.generation != since)
    }
}

/// Replaces `list`'s items by the changed ones (matched by id), adds the new ones, drops the removed ones, and keeps
/// the server's order: the name compared without ASCII case, then the id.
fn upsert<T>(
    list: &mut Vec<T>,
    changed: Vec<T>,
    removed: &[String],
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
) {
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    let gone: HashSet<&str> = changed.iter().map(&id).chain(removed.iter().map(String::as_str)).collect();
    let mut kept: Vec<T> = std::mem::take(list).into_iter().filter(|item| !gone.contains(id(item))).collect();
    if changed.is_empty() {
        *list = kept;
        return;
    }
    kept.extend(changed);
    let mut keyed: Vec<(Vec<u8>, T)> =
        kept.into_iter().map(|item| (name(&item).bytes().map(|b| b.to_ascii_lowercase()).collect(), item)).collect();
    crate::sort::sort_by(&mut keyed, |a, b| a.0.cmp(&b.0).then_with(|| id(&a.1).cmp(id(&b.1))));
    *list = keyed.into_iter().map(|(_, item)| item).collect();
}

impl Snapshot {
    /// Applies an update from the server: the whole snapshot replaces this one; changes replace, add and remove
    /// objects. Whether it moved (see [`SnapshotUpdate::moves`]) is returned: then a kept copy is worth writing again.
    pub fn apply(&mut self, update: SnapshotUpdate) -> bool {
        let moved = update.moves(self.generation);
        if let Some(full) = update.full {
            *self = full;
            return true;
        }
        let Some(changes) = update.changes else { return false };
        self.generation = changes.generation;
        self.taken_at = changes.taken_at;
        self.switches = changes.switches;
        upsert(&mut self.devices, changes.devices, &changes.removed_devices, |d| &d.id, |d| d.facts.hostname.as_str());
        upsert(&mut self.groups, changes.groups, &changes.removed_groups, |g| &g.id, |g| &g.name);
        upsert(&mut self.policies, changes.policies, &changes.removed_policies, |p| &p.id, |p| &p.draft.name);
        moved
    }
}
