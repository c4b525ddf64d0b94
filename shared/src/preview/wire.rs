//! The snapshot as it travels and is kept in the browser: compact, because a 100,000-device tenant must fit in
//! browser storage and load in well under a second. Devices are columns (ids, host names) plus an index into the
//! distinct kinds of device (operating system, edition, build, management, support…), which a fleet has few of;
//! static group members are device positions instead of repeated ids. Directory registrations are not part of it:
//! neither rules nor eligibility read them, and the browser keeps no more identity data than the preview needs. Reading it checks every index, so a damaged
//! or hand-made file is refused with the reason instead of previewing the wrong devices.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shared_derive::CompactDeserialize;

use super::{Snapshot, SnapshotChanges, SnapshotDevice, SnapshotGroup};
use crate::api::UnixSeconds;
use crate::device::{DeviceFacts, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use crate::eligibility::EligibilityCode;
use crate::policy::Policy;
use crate::tenant::TenantSwitches;

/// Everything about a device that many devices share.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceKind {
    os: OsProduct,
    edition: Edition,
    os_build: OsBuild,
    required_update_installed: bool,
    downlevel_agent_installed: bool,
    join_type: JoinType,
    managed_by: ManagedBy,
    /// Support from the device's own facts, before the tenant switches.
    support: EligibilityCode,
}

/// The devices, by column.
#[derive(Debug, Clone, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Devices {
    /// Device ids.
    ids: Vec<String>,
    /// Host names, one per id.
    hostnames: Vec<Hostname>,
    /// The distinct kinds of device.
    kinds: Vec<DeviceKind>,
    /// Each device's kind (index into `kinds`), one per id.
    kind: Vec<u32>,
}

/// A group; its static members are device positions.
#[derive(Debug, Clone, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Group {
    id: String,
    name: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    members: Vec<u32>,
    #[serde(default)]
    children: Vec<String>,
}

/// What the conflict preview needs of the tenant, compact (`GET /api/v1/snapshot`, and the snapshot file).
#[derive(Debug, Clone, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Snapshot"))]
pub struct Wire {
    /// The generation of the tenant's data it shows (0 from a server before generations).
    #[serde(default)]
    generation: u64,
    /// When the server took it.
    taken_at: UnixSeconds,
    /// The tenant switches.
    switches: TenantSwitches,
    devices: Devices,
    groups: Vec<Group>,
    /// Every policy at its current version.
    policies: Vec<Policy>,
}

impl From<&[SnapshotDevice]> for Devices {
    fn from(list: &[SnapshotDevice]) -> Self {
        let n = list.len();
        let mut kinds: Vec<DeviceKind> = Vec::new();
        let mut known: HashMap<DeviceKind, u32> = HashMap::new();
        let mut devices = Devices {
            ids: Vec::with_capacity(n),
            hostnames: Vec::with_capacity(n),
            kinds: Vec::new(),
            kind: Vec::with_capacity(n),
        };
        for device in list {
            let facts = &device.facts;
            let kind = DeviceKind {
                os: facts.os,
                edition: facts.edition,
                os_build: facts.os_build.clone(),
                required_update_installed: facts.required_update_installed,
                downlevel_agent_installed: facts.downlevel_agent_installed,
                join_type: facts.join_type,
                managed_by: facts.managed_by,
                support: device.support,
            };
            let index = *known.entry(kind.clone()).or_insert_with(|| {
                kinds.push(kind);
                (kinds.len() - 1) as u32
            });
            devices.ids.push(device.id.clone());
            devices.hostnames.push(facts.hostname.clone());
            devices.kind.push(index);
        }
        devices.kinds = kinds;
        devices
    }
}

impl TryFrom<Devices> for Vec<SnapshotDevice> {
    type Error = String;

    fn try_from(wire: Devices) -> Result<Self, String> {
        let Devices { ids, hostnames, kinds, kind } = wire;
        let n = ids.len();
        if hostnames.len() != n || kind.len() != n {
            return Err(format!(
                "devices: {n} ids but {} host names and {} kinds; each device needs one of each",
                hostnames.len(),
                kind.len()
            ));
        }
        let mut devices = Vec::with_capacity(n);
        for (i, ((id, hostname), k)) in ids.into_iter().zip(hostnames).zip(kind).enumerate() {
            let shared = kinds.get(k as usize).ok_or_else(|| format!("devices.kind[{i}]: no kind {k}"))?;
            devices.push(SnapshotDevice {
                id,
                facts: DeviceFacts {
                    hostname,
                    os: shared.os,
                    edition: shared.edition,
                    os_build: shared.os_build.clone(),
                    required_update_installed: shared.required_update_installed,
                    downlevel_agent_installed: shared.downlevel_agent_installed,
                    join_type: shared.join_type,
                    directory_device_id: None,
                    managed_by: shared.managed_by,
                },
                support: shared.support,
            });
        }
        Ok(devices)
    }
}

impl From<&Snapshot> for Wire {
    fn from(snapshot: &Snapshot) -> Self {
        let position: HashMap<&str, u32> =
            snapshot.devices.iter().enumerate().map(|(i, device)| (device.id.as_str(), i as u32)).collect();
        let groups = snapshot
            .groups
            .iter()
            .map(|group| Group {
                id: group.id.clone(),
                name: group.name.clone(),
                rule: group.rule.clone(),
                // A member that is not among the devices (removed since) reaches nothing: it is left out.
                members: group.members.iter().filter_map(|m| position.get(m.as_str()).copied()).collect(),
                children: group.children.clone(),
            })
            .collect();
        Self {
            generation: snapshot.generation,
            taken_at: snapshot.taken_at,
            switches: snapshot.switches,
            devices: Devices::from(snapshot.devices.as_slice()),
            groups,
            policies: snapshot.policies.clone(),
        }
    }
}

impl TryFrom<Wire> for Snapshot {
    type Error = String;

    fn try_from(wire: Wire) -> Result<Self, String> {
        let devices: Vec<SnapshotDevice> = wire.devices.try_into()?;
        let n = devices.len();
        let mut groups = Vec::with_capacity(wire.groups.len());
        for group in wire.groups {
            let members = group
                .members
                .iter()
                .map(|m| {
                    devices
                        .get(*m as usize)
                        .map(|d| d.id.clone())
                        .ok_or_else(|| format!("groups: group {} has member {m}, but there are {n} devices", group.id))
                })
                .collect::<Result<Vec<String>, String>>()?;
            groups.push(SnapshotGroup {
                id: group.id,
                name: group.name,
                rule: group.rule,
                members,
                children: group.children,
            });
        }
        Ok(Snapshot {
            generation: wire.generation,
            taken_at: wire.taken_at,
            switches: wire.switches,
            devices,
            groups,
            policies: wire.policies,
        })
    }
}

/// What changed since a generation, compact: the devices by column as in the snapshot, groups with their members by
/// id (they may name devices the delta does not carry).
#[derive(Debug, Clone, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SnapshotChanges"))]
pub struct ChangesWire {
    generation: u64,
    taken_at: UnixSeconds,
    switches: TenantSwitches,
    devices: Devices,
    #[serde(default)]
    groups: Vec<SnapshotGroup>,
    #[serde(default)]
    policies: Vec<Policy>,
    #[serde(default)]
    removed_devices: Vec<String>,
    #[serde(default)]
    removed_groups: Vec<String>,
    #[serde(default)]
    removed_policies: Vec<String>,
}

impl Serialize for SnapshotChanges {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ChangesWire {
            generation: self.generation,
            taken_at: self.taken_at,
            switches: self.switches,
            devices: Devices::from(self.devices.as_slice()),
            groups: self.groups.clone(),
            policies: self.policies.clone(),
            removed_devices: self.removed_devices.clone(),
            removed_groups: self.removed_groups.clone(),
            removed_policies: self.removed_policies.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SnapshotChanges {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = ChangesWire::deserialize(deserializer)?;
        Ok(SnapshotChanges {
            generation: wire.generation,
            taken_at: wire.taken_at,
            switches: wire.switches,
            devices: wire.devices.try_into().map_err(serde::de::Error::custom)?,
            groups: wire.groups,
            policies: wire.policies,
            removed_devices: wire.removed_devices,
            removed_groups: wire.removed_groups,
            removed_policies: wire.removed_policies,
        })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SnapshotChanges {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SnapshotChanges".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ChangesWire::json_schema(generator)
    }
}

impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Snapshot::try_from(Wire::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Snapshot {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Snapshot".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Wire::json_schema(generator)
    }
}
