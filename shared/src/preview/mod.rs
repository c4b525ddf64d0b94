//! The conflict preview: what a policy draft would do on the fleet *before* it is saved — how many devices it would
//! reach, and per setting where it would conflict with another policy, merge with one, or repeat one's value — from
//! a snapshot of the tenant, with the same membership and conflict rules the devices use. It runs in the browser
//! (wasm) on every edit; the server only hands out the snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::api::UnixSeconds;
use crate::catalog::{ConfiguredSetting, Merge, SettingValue, definition};
use crate::conflict::{DecidedBy, SettingOutcome, SettingStatus, resolve_one};
use crate::device::DeviceFacts;
use crate::eligibility::{EligibilityCode, eligibility};
use crate::groups::{ALL_DEVICES, Rule};
use crate::policy::{Policy, PolicyDraft, definition_name, describe_value};
use crate::tenant::TenantSwitches;

mod delta;
mod wire;

pub use delta::{SnapshotChanges, SnapshotUpdate};

/// What the preview needs of the tenant (`GET /api/v1/snapshot`). It travels and is kept in a compact form (see
/// `wire`): devices by column, static members by device position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The generation of the tenant's data it shows: `GET /api/v1/snapshot?since=` this gives what changed after.
    pub generation: u64,
    /// When the server took it.
    pub taken_at: UnixSeconds,
    /// The tenant switches.
    pub switches: TenantSwitches,
    /// Every device.
    pub devices: Vec<SnapshotDevice>,
    /// Every group.
    pub groups: Vec<SnapshotGroup>,
    /// Every policy at its current version.
    pub policies: Vec<Policy>,
}

/// A device as the preview needs it (the compact form leaves out its directory registration, which the preview does
/// not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDevice {
    /// Id.
    pub id: String,
    /// Facts (dynamic rules match them).
    pub facts: DeviceFacts,
    /// Support from its own facts, before the switches.
    pub support: EligibilityCode,
}

/// A group as the preview needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SnapshotGroup {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The rule of a dynamic group.
    #[serde(default)]
    pub rule: Option<String>,
    /// The own members of a static group.
    #[serde(default)]
    pub members: Vec<String>,
    /// Groups nested in it.
    #[serde(default)]
    pub children: Vec<String>,
}

string_enum! {
    /// How a setting of the draft meets another policy on a device.
    pub enum Overlap {
        Conflict = ("conflict", "Conflict"),
        Merged = ("merged", "Merged"),
        Identical = ("identical", "Identical"),
    }
}

/// Another policy that configures the same setting on some of the devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
pub struct Competitor {
    /// Its id.
    pub policy_id: String,
    /// Its name.
    pub policy_name: String,
    /// Its value, in words.
    pub value: String,
}

/// One setting of the draft that another policy also configures on at least one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
pub struct PreviewSetting {
    /// The setting.
    pub setting_id: String,
    /// Its display name.
    pub name: String,
    /// Conflict, merged list, or identical value.
    pub overlap: Overlap,
    /// The draft's value, in words.
    pub value: String,
    /// The other policies involved, with their values.
    pub others: Vec<Competitor>,
    /// Devices where this happens.
    pub n_devices: u64,
    /// A few of them (names), to open.
    pub sample: Vec<(String, String)>,
    /// Where it happens: indexes of the reach's device sets (all the devices: [`Reach::devices`]).
    pub sets: Vec<u32>,
    /// For a conflict: the value that would take effect and the rule that picks it; for a merge: the merged list.
    pub effective: String,
    /// For a conflict, the rule that decides.
    pub decided_by: Option<DecidedBy>,
}

/// The preview of a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
pub struct Preview {
    /// Devices in the draft's groups (included minus excluded).
    pub n_targeted: u64,
    /// Of those, the eligible ones: the policy would apply to them.
    pub n_applies: u64,
    /// Overlaps, conflicts first, then merges, then identical values.
    pub settings: Vec<PreviewSetting>,
}

/// A set of device indexes (positions in the snapshot's device list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Bits(Vec<u64>);

impl Bits {
    fn empty(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    fn full(n: usize) -> Self {
        let mut bits = Self(vec![u64::MAX; n.div_ceil(64)]);
        if !n.is_multiple_of(64)
            && let Some(last) = bits.0.last_mut()
        {
            *last = (1u64 << (n % 64)) - 1;
        }
        bits
    }
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn remove(&mut self, i: usize) {
        if let Some(word) = self.0.get_mut(i / 64) {
            *word &= !(1 << (i % 64));
        }
    }
    fn len(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }
    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|word| word & (1 << (i % 64)) != 0)
    }
    fn union_with(&mut self, other: &Self) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a |= b);
    }
    fn subtract(&mut self, other: &Self) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a &= !b);
    }
    fn intersect(&mut self, other: &Self) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a &= b);
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, word)| {
            let mut word = *word;
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    w * 64 + bit
                })
            })
        })
    }
}

/// A group's devices: a bitset when it has many, their sorted positions when it has few (most static groups), which
/// keeps the memberships of a large fleet small (wasm memory, once grown, stays grown).
#[derive(Debug, Clone)]
enum Members {
    Dense(Bits),
    Sparse(Vec<u32>),
}

impl Members {
    /// The cheaper form for `positions` among `n` devices.
    fn of(mut positions: Vec<u32>, n: usize) -> Self {
        if positions.len() * 32 < n {
            // Few: sorted with the one sort of the bundle (see `crate::sort`).
            crate::sort::sort_by(&mut positions, u32::cmp);
            positions.dedup();
            Self::Sparse(positions)
        } else {
            let mut bits = Bits::empty(n);
            positions.iter().for_each(|i| bits.insert(*i as usize));
            Self::Dense(bits)
        }
    }
    fn compact(bits: Bits, n: usize) -> Self {
        if bits.len() * 32 < n { Self::Sparse(bits.iter().map(|i| i as u32).collect()) } else { Self::Dense(bits) }
    }
    fn add_to(&self, bits: &mut Bits) {
        match self {
            Self::Dense(dense) => bits.union_with(dense),
            Self::Sparse(positions) => positions.iter().for_each(|i| bits.insert(*i as usize)),
        }
    }
    fn remove_from(&self, bits: &mut Bits) {
        match self {
            Self::Dense(dense) => bits.subtract(dense),
            Self::Sparse(positions) => positions.iter().for_each(|i| bits.remove(*i as usize)),
        }
    }
}

/// What every preview of one snapshot shares, computed once: each group's devices through nesting and rules, the
/// eligible devices, and the devices each saved policy applies to — all as bitsets over the snapshot's devices —
/// and the devices partitioned by the set of saved policies that apply to them (devices in one class resolve alike).
#[derive(Debug, Clone, Default)]
pub struct Memberships {
    n_devices: usize,
    groups: BTreeMap<String, Members>,
    eligible: Bits,
    /// Per saved policy (in snapshot order), the devices it applies to (eligible, targeted).
    policies: Vec<Bits>,
    /// The distinct sets of saved policies (snapshot indexes, ascending) that apply to devices, with their devices
    /// (ascending); the first class is the empty set when some devices get no policy.
    classes: Vec<PolicySet>,
    /// Each device's class (index into `classes`).
    class_of: Vec<u32>,
}

impl Memberships {
    /// Resolves `snapshot`: the same membership rules as `groups::resolve_members` (a dynamic rule is evaluated once
    /// per distinct rule text, nested groups are unioned once each), and `conflict::applies_to` per policy.
    pub fn of(snapshot: &Snapshot) -> Self {
        let n = snapshot.devices.len();
        let index: HashMap<&str, usize> =
            snapshot.devices.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
        let mut by_rule: BTreeMap<&str, Members> = BTreeMap::new();
        // Maps filled by inserting rather than collected: collecting sorts first, with a copy of the sort per map type
        // in the admin center's bundle.
        let mut own: BTreeMap<&str, Members> = BTreeMap::new();
        let mut children: BTreeMap<&str, &[String]> = BTreeMap::new();
        for group in &snapshot.groups {
            let members = match &group.rule {
                Some(text) => by_rule
                    .entry(text.as_str())
                    .or_insert_with(|| {
                        let mut bits = Bits::empty(n);
                        if let Ok(rule) = Rule::parse(text, "rule") {
                            for (i, device) in snapshot.devices.iter().enumerate() {
                                if rule.matches(&device.facts) {
                                    bits.insert(i);
                                }
                            }
                        }
                        Members::compact(bits, n)
                    })
                    .clone(),
                None => Members::of(
                    group.members.iter().filter_map(|m| index.get(m.as_str())).map(|i| *i as u32).collect(),
                    n,
                ),
            };
            own.insert(group.id.as_str(), members);
            children.insert(group.id.as_str(), group.children.as_slice());
        }
        let mut groups: BTreeMap<String, Members> = BTreeMap::new();
        for group in &snapshot.groups {
            resolve_nested(&group.id, &own, &children, &mut groups, &mut BTreeSet::new(), n);
        }
        let mut eligible = Bits::empty(n);
        for (i, device) in snapshot.devices.iter().enumerate() {
            if eligibility(device.support, snapshot.switches) == EligibilityCode::Eligible {
                eligible.insert(i);
            }
        }
        let mut memberships =
            Self { n_devices: n, groups, eligible, policies: Vec::new(), classes: Vec::new(), class_of: Vec::new() };
        memberships.policies = snapshot.policies.iter().map(|p| memberships.applies(&p.draft)).collect();
        let policies: Vec<(u32, &Bits)> = memberships.policies.iter().enumerate().map(|(i, b)| (i as u32, b)).collect();
        memberships.classes = by_policy_set(&Bits::full(n), &policies);
        let mut class_of = vec![0; n];
        for (class, (_, devices)) in memberships.classes.iter().enumerate() {
            devices.iter().for_each(|d| class_of[*d] = class as u32);
        }
        memberships.class_of = class_of;
        memberships
    }

    /// The devices a draft is assigned to: included minus excluded (exclusion wins), eligible or not.
    fn targeted(&self, draft: &PolicyDraft) -> Bits {
        let mut bits = Bits::empty(self.n_devices);
        for id in draft.assignments.included() {
            if id == ALL_DEVICES {
                bits = Bits::full(self.n_devices);
            } else if let Some(members) = self.groups.get(id) {
                members.add_to(&mut bits);
            }
        }
        for id in draft.assignments.excluded() {
            if id == ALL_DEVICES {
                bits = Bits::empty(self.n_devices);
            } else if let Some(members) = self.groups.get(id) {
                members.remove_from(&mut bits);
            }
        }
        bits
    }

    /// The devices (indexes into the snapshot's devices) a draft is assigned to, eligible or not.
    pub fn assigned(&self, draft: &PolicyDraft) -> Vec<usize> {
        self.targeted(draft).iter().collect()
    }

    /// Every device (index into the snapshot's devices) of these classes (see [`TenantConflict::classes`]).
    pub fn devices_in<'a>(&'a self, classes: &'a [u32]) -> impl Iterator<Item = usize> + 'a {
        classes.iter().filter_map(|c| self.classes.get(*c as usize)).flat_map(|(_, devices)| devices.iter().copied())
    }

    /// Whether the device at this index can receive policies.
    pub fn is_eligible(&self, device: usize) -> bool {
        self.eligible.contains(device)
    }

    /// The devices a draft applies to: targeted and eligible.
    fn applies(&self, draft: &PolicyDraft) -> Bits {
        let mut bits = self.targeted(draft);
        bits.intersect(&self.eligible);
        bits
    }
}

/// A group's devices through nesting, memoized in `done`; whether the group could be resolved. The API never stores a
/// nesting loop; were there one, a group met again on the current path adds nothing, so resolution still ends.
fn resolve_nested(
    id: &str,
    own: &BTreeMap<&str, Members>,
    children: &BTreeMap<&str, &[String]>,
    done: &mut BTreeMap<String, Members>,
    path: &mut BTreeSet<String>,
    n: usize,
) -> bool {
    if done.contains_key(id) {
        return true;
    }
    let Some(mine) = own.get(id) else { return false };
    if !path.insert(id.to_owned()) {
        return false;
    }
    let kids: Vec<&String> = children
        .get(id)
        .copied()
        .unwrap_or_default()
        .iter()
        .filter(|child| resolve_nested(child, own, children, done, path, n))
        .collect();
    path.remove(id);
    let members = if kids.is_empty() {
        mine.clone()
    } else {
        let mut bits = Bits::empty(n);
        mine.add_to(&mut bits);
        kids.iter().filter_map(|child| done.get(child.as_str())).for_each(|members| members.add_to(&mut bits));
        Members::compact(bits, n)
    };
    done.insert(id.to_owned(), members);
    true
}

/// Adds devices (indexes) to a sample of at most five (id, name) pairs.
fn add_sample(sample: &mut Vec<(String, String)>, snapshot: &Snapshot, devices: &[usize]) {
    for device in devices.iter().take(5usize.saturating_sub(sample.len())) {
        let device = &snapshot.devices[*device];
        sample.push((device.id.clone(), device.facts.hostname.to_string()));
    }
}

/// A set of policies (snapshot indexes, ascending) and the devices (indexes, ascending) it applies to.
type PolicySet = (Vec<u32>, Vec<usize>);

/// Devices grouped by the set of policies that apply to them (snapshot indexes, ascending), sets in ascending order:
/// devices with the same set resolve the same way, so each set is resolved once. The cost follows the memberships
/// (each policy's devices are walked once), not devices × policies.
fn by_policy_set(devices: &Bits, policies: &[(u32, &Bits)]) -> Vec<PolicySet> {
    let mut keys: Vec<Vec<u32>> = vec![Vec::new(); devices.0.len() * 64];
    for (index, bits) in policies {
        for (w, (a, b)) in bits.0.iter().zip(&devices.0).enumerate() {
            let mut word = a & b;
            while word != 0 {
                keys[w * 64 + word.trailing_zeros() as usize].push(*index);
                word &= word - 1;
            }
        }
    }
    let mut sets: HashMap<Vec<u32>, Vec<usize>> = HashMap::new();
    for device in devices.iter() {
        sets.entry(std::mem::take(&mut keys[device])).or_default().push(device);
    }
    let mut sets: Vec<PolicySet> = sets.into_iter().collect();
    crate::sort::sort_by(&mut sets, |a, b| a.0.cmp(&b.0));
    sets
}

/// Which snapshot policies configure `setting_id` (by snapshot index).
fn configuring(snapshot: &Snapshot, setting_id: &str) -> Vec<bool> {
    snapshot.policies.iter().map(|p| p.draft.settings.iter().any(|s| s.id == setting_id)).collect()
}

/// The part of a preview that depends only on the draft's assignments: the devices it reaches, grouped by the set
/// of other policies that apply to them. Editing settings keeps it; only a change of assignments recomputes it. It
/// also keeps each setting's last result, so that after an edit only the settings that changed are computed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    assignments: crate::policy::Assignments,
    editing: Option<String>,
    n_targeted: u64,
    n_applies: u64,
    /// (snapshot indexes of the other policies that apply, the devices with that set), sets not empty.
    sets: Vec<PolicySet>,
    /// The overlaps of each setting as last previewed, by the setting as configured then.
    settings: Vec<(ConfiguredSetting, Vec<PreviewSetting>)>,
    /// What each setting (as configured) resolves to per distinct set of policies: kept across [`Reach::refit`].
    resolved: Vec<(ConfiguredSetting, Resolved)>,
}

/// The union of two ascending lists of distinct devices (devices of different classes), ascending.
fn merge_sorted(a: Vec<usize>, b: Vec<usize>) -> Vec<usize> {
    if a.is_empty() {
        return b;
    }
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        merged.push(if x < y { a.next() } else { b.next() }.unwrap_or_default());
    }
    merged.extend(a);
    merged.extend(b);
    merged
}

impl Reach {
    /// Computes the reach of `draft`: its devices sorted into the classes of [`Memberships`] (one pass over them),
    /// each class's set of policies without the policy being edited, classes that become equal merged.
    pub fn of(snapshot: &Snapshot, memberships: &Memberships, draft: &PolicyDraft, editing: Option<&str>) -> Self {
        let id = editing.unwrap_or("draft");
        let edited = snapshot.policies.iter().position(|p| p.id == id).map(|i| i as u32);
        let targeted = memberships.targeted(draft);
        let mut applies = targeted.clone();
        applies.intersect(&memberships.eligible);
        let mut in_class: Vec<Vec<usize>> = vec![Vec::new(); memberships.classes.len()];
        for device in applies.iter() {
            in_class[memberships.class_of[device] as usize].push(device);
        }
        let mut sets: BTreeMap<Vec<u32>, Vec<usize>> = BTreeMap::new();
        for ((set, _), devices) in memberships.classes.iter().zip(in_class) {
            let set: Vec<u32> = set.iter().copied().filter(|p| Some(*p) != edited).collect();
            if devices.is_empty() || set.is_empty() {
                continue;
            }
            let into = sets.entry(set).or_default();
            *into = merge_sorted(std::mem::take(into), devices);
        }
        Self {
            assignments: draft.assignments.clone(),
            editing: editing.map(str::to_owned),
            n_targeted: targeted.len() as u64,
            n_applies: applies.len() as u64,
            sets: sets.into_iter().collect(),
            settings: Vec::new(),
            resolved: Vec::new(),
        }
    }

    /// Makes this reach fit `draft` again after its assignments (or the policy being edited) changed: its devices are
    /// grouped again, but what each distinct set of policies resolves to is kept when the same policy is edited, so
    /// the preview that follows only walks the new groups.
    pub fn refit(
        &mut self,
        snapshot: &Snapshot,
        memberships: &Memberships,
        draft: &PolicyDraft,
        editing: Option<&str>,
    ) {
        if self.fits(draft, editing) {
            return;
        }
        let resolved = if self.editing.as_deref() == editing { std::mem::take(&mut self.resolved) } else { Vec::new() };
        *self = Self::of(snapshot, memberships, draft, editing);
        self.resolved = resolved;
    }

    /// Every device (index into the snapshot's devices) where `setting` of a preview made with this reach happens.
    pub fn devices<'a>(&'a self, setting: &'a PreviewSetting) -> impl Iterator<Item = usize> + 'a {
        setting
            .sets
            .iter()
            .filter_map(|at| self.sets.get(*at as usize))
            .flat_map(|(_, devices)| devices.iter().copied())
    }

    /// Distinct sets of other policies among the devices reached.
    pub fn n_policy_sets(&self) -> usize {
        self.sets.len()
    }

    /// Whether this reach still holds for `draft` (same assignments, same policy being edited).
    pub fn fits(&self, draft: &PolicyDraft, editing: Option<&str>) -> bool {
        self.assignments == draft.assignments && self.editing.as_deref() == editing
    }
}

/// The preview of `draft` (a new policy, or the policy `editing` as it would become) on `snapshot`.
pub fn preview(snapshot: &Snapshot, memberships: &Memberships, draft: &PolicyDraft, editing: Option<&str>) -> Preview {
    preview_within(snapshot, &mut Reach::of(snapshot, memberships, draft, editing), draft)
}

/// The preview of `draft` with a [`Reach`] computed before (see [`Reach::fits`] and [`Reach::refit`]): what an edit
/// costs. Settings configured as at the last call are taken from the reach; the others are computed, each distinct set
/// of policies resolved at most once per setting value for as long as the reach is refitted.
pub fn preview_within(snapshot: &Snapshot, reach: &mut Reach, draft: &PolicyDraft) -> Preview {
    let id = reach.editing.clone().unwrap_or_else(|| "draft".to_owned());
    // The draft would be the most recently modified policy once saved.
    let newest = snapshot.policies.iter().map(|p| p.updated_at).max().unwrap_or(0).max(snapshot.taken_at) + 1;
    let candidate = Policy::first_version(id, draft.clone(), "", newest);
    let mut kept = std::mem::take(&mut reach.settings);
    let mut resolved = std::mem::take(&mut reach.resolved);
    for configured in &draft.settings {
        let overlaps = match kept.iter().position(|(setting, _)| setting == configured) {
            Some(at) => kept.swap_remove(at).1,
            None => {
                let at = resolved.iter().position(|(setting, _)| setting == configured).unwrap_or_else(|| {
                    resolved.push((configured.clone(), HashMap::new()));
                    resolved.len() - 1
                });
                setting_overlaps(snapshot, &reach.sets, &candidate, configured, &mut resolved[at].1)
            }
        };
        reach.settings.push((configured.clone(), overlaps));
    }
    // Resolutions are kept for the settings as the draft has them now (and so for an undo of the last edit).
    resolved.retain(|(setting, _)| draft.settings.contains(setting));
    reach.resolved = resolved;
    let mut found: BTreeMap<(&str, Overlap), &PreviewSetting> = BTreeMap::new();
    for overlap in reach.settings.iter().flat_map(|(_, overlaps)| overlaps) {
        found.entry((overlap.setting_id.as_str(), overlap.overlap)).or_insert(overlap);
    }
    let mut settings: Vec<PreviewSetting> = found.into_values().cloned().collect();
    crate::sort::sort_by_key(&mut settings, |s| (s.overlap, std::cmp::Reverse(s.n_devices)));
    Preview { n_targeted: reach.n_targeted, n_applies: reach.n_applies, settings }
}

/// What a setting of the draft resolves to with one distinct set of other policies configuring it (the policies,
/// snapshot indexes, are the key): how it meets them, the value that takes effect and the rule that picks it.
type Resolved = HashMap<Vec<u32>, Option<(Overlap, String, Option<DecidedBy>)>>;

/// How one setting of the draft meets the other policies on the devices it reaches: each set of policies is cut
/// down to those configuring this setting, and each distinct cut is resolved once (with the devices' own rules).
fn setting_overlaps(
    snapshot: &Snapshot,
    sets: &[PolicySet],
    candidate: &Policy,
    configured: &ConfiguredSetting,
    resolved: &mut Resolved,
) -> Vec<PreviewSetting> {
    let configures = configuring(snapshot, &configured.id);
    let mut found: BTreeMap<Overlap, PreviewSetting> = BTreeMap::new();
    let mut competitors: BTreeMap<Overlap, HashSet<u32>> = BTreeMap::new();
    let mut cut: Vec<u32> = Vec::new();
    for (at, (set, devices)) in sets.iter().enumerate() {
        cut.clear();
        cut.extend(set.iter().copied().filter(|p| configures[*p as usize]));
        if cut.is_empty() {
            continue;
        }
        if !resolved.contains_key(cut.as_slice()) {
            let mut policies: Vec<&Policy> = cut.iter().map(|p| &snapshot.policies[*p as usize]).collect();
            policies.push(candidate);
            let outcome = resolve_one(&configured.id, &policies).map(|outcome| {
                let overlap = if outcome.status == SettingStatus::Conflict {
                    Overlap::Conflict
                } else if !outcome.contributions.is_empty() {
                    Overlap::Merged
                } else {
                    Overlap::Identical
                };
                (overlap, describe_value(&configured.id, &outcome.effective), outcome.decided_by)
            });
            resolved.insert(cut.clone(), outcome);
        }
        let Some(Some((overlap, effective, decided_by))) = resolved.get(cut.as_slice()) else { continue };
        let entry = found.entry(*overlap).or_insert_with(|| PreviewSetting {
            setting_id: configured.id.clone(),
            name: definition_name(&configured.id),
            overlap: *overlap,
            value: describe_value(&configured.id, &configured.value),
            others: Vec::new(),
            n_devices: 0,
            sample: Vec::new(),
            sets: Vec::new(),
            effective: effective.clone(),
            decided_by: *decided_by,
        });
        entry.n_devices += devices.len() as u64;
        entry.sets.push(at as u32);
        add_sample(&mut entry.sample, snapshot, devices);
        // The competitors are the cut's policies, each listed once.
        let seen = competitors.entry(*overlap).or_default();
        for p in cut.iter().filter(|p| seen.insert(**p)) {
            let policy = &snapshot.policies[*p as usize];
            let value = policy.draft.settings.iter().find(|s| s.id == configured.id).map(|s| &s.value);
            entry.others.push(Competitor {
                policy_id: policy.id.clone(),
                policy_name: policy.draft.name.clone(),
                value: value.map(|v| describe_value(&configured.id, v)).unwrap_or_default(),
            });
        }
    }
    let mut overlaps: Vec<PreviewSetting> = found.into_values().collect();
    for overlap in &mut overlaps {
        crate::sort::sort_by(&mut overlap.sample, |a, b| a.1.cmp(&b.1));
        crate::sort::sort_by(&mut overlap.others, |a, b| {
            a.policy_name.cmp(&b.policy_name).then_with(|| a.policy_id.cmp(&b.policy_id))
        });
    }
    overlaps
}

/// A conflict in the tenant as it is: one setting that several policies give different values on the same devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
pub struct TenantConflict {
    /// The setting.
    pub setting_id: String,
    /// Its display name.
    pub name: String,
    /// The competing policies and their values.
    pub policies: Vec<Competitor>,
    /// Devices where they meet.
    pub n_devices: u64,
    /// A few of them (id, name).
    pub sample: Vec<(String, String)>,
    /// Where they meet: indexes of the classes of devices (all the devices: [`Memberships::devices_in`]).
    pub classes: Vec<u32>,
    /// The value that takes effect there.
    pub effective: String,
    /// The rule that picks it.
    pub decided_by: Option<DecidedBy>,
}

/// Every current conflict of the tenant (setting × competing policies × devices), most devices first: what devices
/// report as Conflict, computed from the snapshot with the devices' own rules.
pub fn tenant_conflicts(snapshot: &Snapshot, memberships: &Memberships) -> Vec<TenantConflict> {
    // Policies apply only to eligible devices: every class with policies is of eligible devices.
    let sets: Vec<(usize, &PolicySet)> =
        memberships.classes.iter().enumerate().filter(|(_, (set, _))| set.len() >= 2).collect();
    // Only settings that at least two policies configure can conflict; each is resolved per distinct set of the
    // policies configuring it.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for policy in &snapshot.policies {
        let mut ids: BTreeSet<&str> = BTreeSet::new();
        ids.extend(policy.draft.settings.iter().map(|s| s.id.as_str()));
        ids.into_iter().for_each(|id| *counts.entry(id).or_default() += 1);
    }
    let mut conflicts: Vec<TenantConflict> = Vec::new();
    let mut cut: Vec<u32> = Vec::new();
    for setting_id in counts.into_iter().filter(|(_, n)| *n >= 2).map(|(id, _)| id) {
        let value_of =
            |p: u32| snapshot.policies[p as usize].draft.settings.iter().find(|s| s.id == setting_id).map(|s| &s.value);
        // Lists that merge never conflict (conflict rule 2): such a setting needs no resolving at all.
        if definition(setting_id).is_some_and(|d| d.merge == Merge::Union)
            && (0..snapshot.policies.len() as u32)
                .filter_map(value_of)
                .all(|value| matches!(value, SettingValue::StringList(_)))
        {
            continue;
        }
        let configures = configuring(snapshot, setting_id);
        // Per distinct cut (the conflict's set of policies), its conflict, or `None` when the cut agrees.
        let mut here: HashMap<Vec<u32>, Option<TenantConflict>> = HashMap::new();
        for (class, (set, devices)) in sets.iter().copied() {
            cut.clear();
            cut.extend(set.iter().copied().filter(|p| configures[*p as usize]));
            if cut.len() < 2 {
                continue;
            }
            if !here.contains_key(cut.as_slice()) {
                // Equal values never conflict (conflict rule 1): only a cut with different values is resolved.
                let first = value_of(cut[0]);
                let conflict = if cut.iter().all(|p| value_of(*p) == first) {
                    None
                } else {
                    let applicable: Vec<&Policy> = cut.iter().map(|p| &snapshot.policies[*p as usize]).collect();
                    resolve_one(setting_id, &applicable)
                        .filter(|o| o.status == SettingStatus::Conflict)
                        .map(|o| conflict_of(&o))
                };
                here.insert(cut.clone(), conflict);
            }
            let Some(Some(entry)) = here.get_mut(cut.as_slice()) else { continue };
            entry.n_devices += devices.len() as u64;
            entry.classes.push(class as u32);
            add_sample(&mut entry.sample, snapshot, devices);
        }
        conflicts.extend(here.into_values().flatten());
    }
    conflicts.iter_mut().for_each(|c| crate::sort::sort_by(&mut c.sample, |a, b| a.1.cmp(&b.1)));
    let ids = |c: &TenantConflict| c.policies.iter().map(|p| p.policy_id.clone()).collect::<Vec<_>>();
    crate::sort::sort_by(&mut conflicts, |a, b| {
        b.n_devices
            .cmp(&a.n_devices)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.setting_id.cmp(&b.setting_id))
            .then_with(|| ids(a).cmp(&ids(b)))
    });
    conflicts
}

/// A tenant conflict (no devices yet) from the outcome of a set of policies.
fn conflict_of(outcome: &SettingOutcome) -> TenantConflict {
    TenantConflict {
        setting_id: outcome.setting_id.clone(),
        name: definition_name(&outcome.setting_id),
        policies: outcome
            .sources
            .iter()
            .map(|source| Competitor {
                policy_id: source.policy_id.clone(),
                policy_name: source.policy_name.clone(),
                value: describe_value(&outcome.setting_id, &source.value),
            })
            .collect(),
        n_devices: 0,
        sample: Vec::new(),
        classes: Vec::new(),
        effective: describe_value(&outcome.setting_id, &outcome.effective),
        decided_by: outcome.decided_by,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{ConfiguredSetting, Profile, SettingValue};
    use crate::policy::{AssignmentTarget, Assignments};

    const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
    const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
    const PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";

    fn device(id: &str, managed_by: &str) -> SnapshotDevice {
        let facts = DeviceFacts::parse(
            &json!({
                "hostname": id.to_uppercase(), "os": "windows_11", "edition": "enterprise", "os_build": "10.0.22631.4460",
                "required_update_installed": true, "downlevel_agent_installed": false, "join_type": "workgroup",
                "directory_device_id": null, "managed_by": managed_by
            }),
            "facts",
        )
        .expect("valid facts");
        let support = crate::eligibility::device_support(&facts);
        SnapshotDevice { id: id.to_owned(), facts, support }
    }

    fn draft(name: &str, cloud: &str, path: &str, include: &str) -> PolicyDraft {
        PolicyDraft {
            profile: Profile::Antivirus,
            name: name.into(),
            description: String::new(),
            settings: vec![
                ConfiguredSetting::new(REALTIME, SettingValue::Choice("1".into())),
                ConfiguredSetting::new(CLOUD, SettingValue::Choice(cloud.into())),
                ConfiguredSetting::new(PATHS, SettingValue::StringList(vec![path.into()])),
            ],
            assignments: Assignments { include: vec![AssignmentTarget::group(include)], exclude: Vec::new() },
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            generation: 1,
            taken_at: 100,
            switches: TenantSwitches { security_settings_management: true, enforce_security_configuration: true },
            devices: vec![device("d1", "mde"), device("d2", "mde"), device("d3", "intune")],
            groups: vec![SnapshotGroup {
                id: "pilot".into(),
                name: "Pilot".into(),
                rule: None,
                members: vec!["d1".into()],
                children: Vec::new(),
            }],
            policies: vec![Policy::first_version(
                "a".into(),
                draft("Baseline", "4", r"C:\A", ALL_DEVICES),
                "admin",
                50,
            )],
        }
    }

    #[test]
    fn the_snapshot_travels_compact_and_comes_back_the_same_or_is_refused_with_the_reason() {
        let mut snapshot = snapshot();
        snapshot.groups[0].members.push("removed-device".into());
        let text = serde_json::to_string(&snapshot).expect("serializes");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["devices"]["kinds"].as_array().map(Vec::len), Some(2), "two kinds among three devices");
        assert_eq!(value["groups"][0]["members"], json!([0]), "members by position; the removed device is left out");
        let back: Snapshot = serde_json::from_str(&text).expect("reads back");
        snapshot.groups[0].members.pop();
        assert_eq!(back, snapshot);

        let mut damaged = value.clone();
        damaged["groups"][0]["members"] = json!([7]);
        let error = serde_json::from_value::<Snapshot>(damaged).expect_err("refused");
        assert!(error.to_string().contains("group pilot has member 7, but there are 3 devices"), "{error}");
        let mut damaged = value;
        damaged["devices"]["kind"] = json!([0, 1]);
        let error = serde_json::from_value::<Snapshot>(damaged).expect_err("refused");
        assert!(error.to_string().contains("3 ids but 3 host names and 2 kinds"), "{error}");
    }

    #[test]
    fn a_draft_shows_its_conflict_its_merge_and_its_identical_value_before_it_is_saved() {
        let snapshot = snapshot();
        let memberships = Memberships::of(&snapshot);
        let preview = preview(&snapshot, &memberships, &draft("Strict", "6", r"D:\B", ALL_DEVICES), None);
        assert_eq!((preview.n_targeted, preview.n_applies), (3, 2), "the Intune-managed device is not eligible");
        let kinds: Vec<(&str, Overlap, u64)> =
            preview.settings.iter().map(|s| (s.setting_id.as_str(), s.overlap, s.n_devices)).collect();
        assert_eq!(
            kinds,
            [(CLOUD, Overlap::Conflict, 2), (PATHS, Overlap::Merged, 2), (REALTIME, Overlap::Identical, 2)]
        );
        let conflict = &preview.settings[0];
        assert_eq!((conflict.effective.as_str(), conflict.decided_by), ("Zero tolerance", Some(DecidedBy::MostSecure)));
        assert_eq!(
            conflict.others,
            [Competitor { policy_id: "a".into(), policy_name: "Baseline".into(), value: "High plus".into() }]
        );
        assert_eq!(preview.settings[1].effective, r"C:\A; D:\B");
        assert_eq!(conflict.sample.iter().map(|(_, name)| name.as_str()).collect::<Vec<_>>(), ["D1", "D2"]);
    }

    #[test]
    fn the_tenant_conflicts_list_every_setting_policies_disagree_on_with_the_devices() {
        let mut snapshot = snapshot();
        snapshot.policies.push(Policy::first_version("b".into(), draft("Strict", "6", r"D:\B", "pilot"), "admin", 60));
        let conflicts = tenant_conflicts(&snapshot, &Memberships::of(&snapshot));
        assert_eq!(conflicts.len(), 1, "the cloud level; merged paths and equal real-time monitoring are no conflict");
        let cloud = &conflicts[0];
        assert_eq!(
            (cloud.setting_id.as_str(), cloud.n_devices, cloud.effective.as_str()),
            (CLOUD, 1, "Zero tolerance")
        );
        let names: Vec<&str> = cloud.policies.iter().map(|p| p.policy_name.as_str()).collect();
        assert_eq!(names, ["Baseline", "Strict"]);
        assert_eq!(cloud.sample, [("d1".to_owned(), "D1".to_owned())]);
    }

    #[test]
    fn a_reach_is_reused_across_setting_edits_and_refused_after_an_assignment_change() {
        let snapshot = snapshot();
        let memberships = Memberships::of(&snapshot);
        let first = draft("Strict", "6", r"D:\B", ALL_DEVICES);
        let mut reach = Reach::of(&snapshot, &memberships, &first, None);
        let edited = draft("Strict", "2", r"E:\C", ALL_DEVICES);
        assert!(reach.fits(&edited, None) && !reach.fits(&edited, Some("a")));
        assert_eq!(preview_within(&snapshot, &mut reach, &edited), preview(&snapshot, &memberships, &edited, None));
        assert!(!reach.fits(&draft("Strict", "6", r"D:\B", "pilot"), None));
    }

    #[test]
    fn a_narrower_draft_and_the_policy_being_edited_are_previewed_as_they_would_be() {
        let snapshot = snapshot();
        let memberships = Memberships::of(&snapshot);
        let pilot = preview(&snapshot, &memberships, &draft("Strict", "6", r"D:\B", "pilot"), None);
        assert_eq!((pilot.n_targeted, pilot.settings[0].n_devices), (1, 1));
        // Editing Baseline itself: it does not compete with its own saved version.
        let editing = preview(&snapshot, &memberships, &draft("Baseline", "6", r"C:\A", ALL_DEVICES), Some("a"));
        assert_eq!(editing.n_applies, 2);
        assert!(editing.settings.is_empty());
    }
}
