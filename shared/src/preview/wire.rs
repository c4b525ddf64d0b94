//! The snapshot as it travels and is kept in the browser: compact, because a 100,000-device tenant must fit in
//! browser storage and load in well under a second. Devices are columns (ids, host names) plus an index into the
//! distinct kinds of device (operating system, edition, build, management, support…), which a fleet has few of;
//! static group members are device positions instead of repeated ids. Directory registrations are not part of it:
//! neither rules nor eligibility read them, and the browser keeps no more identity data than the preview needs. Reading it checks every index, so a damaged
//! or hand-made file is refused with the reason instead of previewing the wrong devices.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shared_derive::CompactDeserialize;

use super::{Snapshot, SnapshotDevice, SnapshotGroup};
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
    /// When the server took it.
    taken_at: UnixSeconds,
    /// The tenant switches.
    switches: TenantSwitches,
    devices: Devices,
    groups: Vec<Group>,
    /// Every policy at its current version.
    policies: Vec<Policy>,
}

impl From<&Snapshot> for Wire {
    fn from(snapshot: &Snapshot) -> Self {
        let n = snapshot.devices.len();
        let mut kinds: Vec<DeviceKind> = Vec::new();
        let mut known: HashMap<DeviceKind, u32> = HashMap::new();
        let mut devices = Devices {
            ids: Vec::with_capacity(n),
            hostnames: Vec::with_capacity(n),
            kinds: Vec::new(),
            kind: Vec::with_capacity(n),
        };
        let mut position: HashMap<&str, u32> = HashMap::with_capacity(n);
        for (i, device) in snapshot.devices.iter().enumerate() {
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
            position.insert(device.id.as_str(), i as u32);
        }
        devices.kinds = kinds;
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
            taken_at: snapshot.taken_at,
            switches: snapshot.switches,
            devices,
            groups,
            policies: snapshot.policies.clone(),
        }
    }
}

impl TryFrom<Wire> for Snapshot {
    type Error = String;

    fn try_from(wire: Wire) -> Result<Self, String> {
        let Devices { ids, hostnames, kinds, kind } = wire.devices;
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
        Ok(Snapshot { taken_at: wire.taken_at, switches: wire.switches, devices, groups, policies: wire.policies })
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
