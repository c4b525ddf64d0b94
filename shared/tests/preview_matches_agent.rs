//! Preview equals reality: for random tenants — devices of every kind, static, dynamic and nested groups, overlapping
//! policies with includes and excludes, a random draft — the preview's prediction for every device is what the
//! agent reports after checking in. The "reality" side is built the way the server and the agent do it: the
//! check-in's per-device membership (`groups::is_member`) and applicable policies, then `report::device_report`. The
//! preview resolves groups for the whole fleet at once (bitsets) and aggregates. A second property checks the
//! incremental path (a setting edited with the reach reused equals a fresh preview) and the tenant-wide conflicts
//! against a naive reference: every eligible device resolved on its own.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::json;
use shared::catalog::{ConfiguredSetting, Profile, SettingValue};
use shared::conflict::applicable_policies;
use shared::device::DeviceFacts;
use shared::eligibility::{EligibilityCode, device_support, eligibility};
use shared::groups::{ALL_DEVICES, GroupDefinition, Membership, Rule, is_member};
use shared::policy::{AssignmentTarget, Assignments, Policy, PolicyDraft};
use shared::preview::{
    Memberships, Overlap, Reach, Snapshot, SnapshotDevice, SnapshotGroup, preview, preview_within, tenant_conflicts,
};
use shared::report::{SettingState, device_report};
use shared::tenant::TenantSwitches;

const REALTIME: &str = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring";
const CLOUD: &str = "device_vendor_msft_policy_config_defender_cloudblocklevel";
const PATHS: &str = "device_vendor_msft_policy_config_defender_excludedpaths";
const CPU: &str = "device_vendor_msft_policy_config_defender_avgcpuloadfactor";
const RULES: &[&str] = &[
    r#"managed_by == "mde""#,
    r#"os in ("windows_11")"#,
    r#"name startswith "SRV""#,
    r#"not name startswith "LAP-1""#,
];

fn facts(i: usize, kind: u8) -> DeviceFacts {
    let (os, edition, managed) = match kind % 4 {
        0 => ("windows_11", "enterprise", "mde"),
        1 => ("windows_10", "pro", "mde"),
        2 => ("windows_server_2022", "standard", "mde"),
        _ => ("windows_11", "enterprise", "intune"),
    };
    let prefix = if kind % 4 == 2 { "SRV" } else { "LAP" };
    DeviceFacts::parse(
        &json!({
            "hostname": format!("{prefix}-{i}"), "os": os, "edition": edition, "os_build": "10.0.22631.4460",
            "required_update_installed": kind % 5 != 4, "downlevel_agent_installed": false,
            "join_type": "workgroup", "directory_device_id": null, "managed_by": managed
        }),
        "facts",
    )
    .expect("valid facts")
}

/// A policy's settings from small choices: each of four settings absent or one of a few values.
fn settings(choices: [u8; 4]) -> Vec<ConfiguredSetting> {
    let mut out = Vec::new();
    if !choices[0].is_multiple_of(3) {
        out.push(ConfiguredSetting::new(
            REALTIME,
            SettingValue::Choice(if choices[0] % 3 == 1 { "1" } else { "0" }.into()),
        ));
    }
    if !choices[1].is_multiple_of(4) {
        out.push(ConfiguredSetting::new(
            CLOUD,
            SettingValue::Choice(["2", "4", "6"][usize::from(choices[1] % 4) - 1].into()),
        ));
    }
    if !choices[2].is_multiple_of(3) {
        let path = if choices[2] % 3 == 1 { r"C:\A" } else { r"D:\B" };
        out.push(ConfiguredSetting::new(PATHS, SettingValue::StringList(vec![path.into()])));
    }
    if !choices[3].is_multiple_of(3) {
        out.push(ConfiguredSetting::new(CPU, SettingValue::Integer(if choices[3] % 3 == 1 { 30 } else { 50 })));
    }
    out
}

/// (settings choices, included group indexes — past the groups means All devices —, excluded, updated_at)
type GeneratedPolicy = ([u8; 4], Vec<usize>, Vec<usize>, i64);

#[derive(Debug, Clone)]
struct Tenant {
    devices: Vec<u8>,
    /// (static members as device indexes, rule index or none, nested child group indexes)
    groups: Vec<(Vec<usize>, Option<usize>, Vec<usize>)>,
    policies: Vec<GeneratedPolicy>,
    draft: ([u8; 4], Vec<usize>, Vec<usize>),
    /// The draft's settings after an edit.
    edit: [u8; 4],
}

fn tenant() -> impl Strategy<Value = Tenant> {
    let group = (
        prop::collection::vec(0usize..12, 0..5),
        prop::option::of(0usize..RULES.len()),
        prop::collection::vec(0usize..5, 0..2),
    );
    let policy =
        (any::<[u8; 4]>(), prop::collection::vec(0usize..6, 0..3), prop::collection::vec(0usize..6, 0..2), 1i64..50);
    (
        prop::collection::vec(any::<u8>(), 1..12),
        prop::collection::vec(group, 0..5),
        prop::collection::vec(policy, 0..5),
        (any::<[u8; 4]>(), prop::collection::vec(0usize..8, 1..3), prop::collection::vec(0usize..6, 0..2)),
        any::<[u8; 4]>(),
    )
        .prop_map(|(devices, groups, policies, draft, edit)| Tenant { devices, groups, policies, draft, edit })
}

fn targets(indexes: &[usize], group_ids: &[String]) -> Vec<AssignmentTarget> {
    let mut seen = BTreeSet::new();
    indexes
        .iter()
        .map(|i| group_ids.get(*i).cloned().unwrap_or_else(|| ALL_DEVICES.to_owned()))
        .filter(|id| seen.insert(id.clone()))
        .map(AssignmentTarget::group)
        .collect()
}

/// The tenant as a snapshot, the draft, and the groups as the server's check-in reads them.
fn setup(t: &Tenant) -> (Snapshot, PolicyDraft, BTreeMap<String, GroupDefinition>) {
    let switches = TenantSwitches { security_settings_management: true, enforce_security_configuration: true };
    let devices: Vec<SnapshotDevice> = t
        .devices
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let facts = facts(i, *kind);
            SnapshotDevice { id: format!("d{i}"), support: device_support(&facts), facts }
        })
        .collect();
    let group_ids: Vec<String> = (0..t.groups.len()).map(|i| format!("g{i}")).collect();
    let groups: Vec<SnapshotGroup> = t
        .groups
        .iter()
        .enumerate()
        .map(|(i, (members, rule, children))| SnapshotGroup {
            id: group_ids[i].clone(),
            name: format!("Group {i}"),
            rule: rule.map(|r| RULES[r].to_owned()),
            members: members.iter().filter(|m| **m < devices.len()).map(|m| format!("d{m}")).collect(),
            // Only nest later groups in earlier ones: no loops, as the API guarantees.
            children: children
                .iter()
                .filter(|c| **c > i && **c < t.groups.len())
                .map(|c| group_ids[*c].clone())
                .collect(),
        })
        .collect();
    let draft_of = |name: &str, choices: [u8; 4], include: &[usize], exclude: &[usize]| PolicyDraft {
        profile: Profile::Antivirus,
        name: name.into(),
        description: String::new(),
        settings: settings(choices),
        assignments: Assignments { include: targets(include, &group_ids), exclude: targets(exclude, &group_ids) },
    };
    let policies: Vec<Policy> = t
        .policies
        .iter()
        .enumerate()
        .map(|(i, (choices, include, exclude, at))| {
            Policy::first_version(
                format!("p{i}"),
                draft_of(&format!("Policy {i}"), *choices, include, exclude),
                "admin",
                *at,
            )
        })
        .collect();
    let snapshot = Snapshot {
        generation: 0,
        taken_at: 100,
        switches,
        devices: devices.clone(),
        groups: groups.clone(),
        policies: policies.clone(),
    };
    let draft = draft_of("Draft", t.draft.0, &t.draft.1, &t.draft.2);
    let definitions: BTreeMap<String, GroupDefinition> = groups
        .iter()
        .map(|g| {
            let membership = match &g.rule {
                Some(text) => Membership::Dynamic(Rule::parse(text, "rule").expect("test rules parse")),
                None => Membership::Static(g.members.iter().cloned().collect()),
            };
            (g.id.clone(), GroupDefinition { membership, children: g.children.clone() })
        })
        .collect();
    (snapshot, draft, definitions)
}

proptest! {
    #![proptest_config(Config { cases: 300, failure_persistence: None, ..Config::default() })]

    #[test]
    fn the_preview_predicts_what_every_device_reports(t in tenant()) {
        let (snapshot, draft, definitions) = setup(&t);
        let (switches, devices, policies) = (snapshot.switches, &snapshot.devices, &snapshot.policies);
        let predicted = preview(&snapshot, &Memberships::of(&snapshot), &draft, None);

        // Reality: the draft saved as the newest policy; each device checks in (per-device membership) and reports.
        let saved = Policy::first_version("draft".into(), draft.clone(), "admin", 101);
        let mut all = policies.clone();
        all.push(saved);
        let mut applies = 0u64;
        let mut reported: BTreeMap<(String, Overlap), u64> = BTreeMap::new();
        for device in devices {
            if eligibility(device.support, switches) != EligibilityCode::Eligible {
                continue;
            }
            let applicable = applicable_policies(&all, |g| is_member(g, &definitions, &device.id, &device.facts));
            if !applicable.iter().any(|p| p.id == "draft") {
                continue;
            }
            applies += 1;
            let report = device_report("h", &applicable, device.facts.os);
            let mine = report.policies.iter().find(|p| p.policy_id == "draft").expect("the draft is reported");
            let resolution = shared::conflict::resolve(&applicable);
            for result in &mine.settings {
                let outcome = resolution.setting(&result.setting_id).expect("configured");
                if outcome.sources.len() < 2 {
                    continue;
                }
                let overlap = match result.state {
                    SettingState::Conflict => Overlap::Conflict,
                    _ if !outcome.contributions.is_empty() => Overlap::Merged,
                    _ => Overlap::Identical,
                };
                *reported.entry((result.setting_id.clone(), overlap)).or_default() += 1;
            }
        }
        prop_assert_eq!(predicted.n_applies, applies);
        let predicted_counts: BTreeMap<(String, Overlap), u64> =
            predicted.settings.iter().map(|s| ((s.setting_id.clone(), s.overlap), s.n_devices)).collect();
        prop_assert_eq!(predicted_counts, reported);
    }

    #[test]
    fn an_edit_previews_as_a_fresh_preview_and_tenant_conflicts_are_what_devices_resolve(t in tenant()) {
        let (snapshot, draft, definitions) = setup(&t);
        let memberships = Memberships::of(&snapshot);
        // One setting after another is edited: the reach (and each unchanged setting's result) is reused.
        let mut reach = Reach::of(&snapshot, &memberships, &draft, None);
        let first = preview_within(&snapshot, &mut reach, &draft);
        prop_assert_eq!(&first, &preview(&snapshot, &memberships, &draft, None));
        for setting in &first.settings {
            let devices: BTreeSet<usize> = reach.devices(setting).collect();
            prop_assert_eq!(devices.len() as u64, setting.n_devices, "every device of an overlap, once");
            for (id, _) in &setting.sample {
                prop_assert!(devices.iter().any(|d| &snapshot.devices[*d].id == id), "the sample is among them");
            }
        }
        let mut edited = draft.clone();
        for (at, choices) in t.edit.iter().enumerate() {
            let mut mixed = t.draft.0;
            mixed[at] = *choices;
            edited.settings = settings(mixed);
            prop_assert!(reach.fits(&edited, None));
            prop_assert_eq!(
                preview_within(&snapshot, &mut reach, &edited),
                preview(&snapshot, &memberships, &edited, None)
            );
        }

        // Then the assignments change: the reach is refitted, what each set of policies resolves to is kept.
        let mut moved = edited.clone();
        moved.assignments = Assignments {
            include: vec![AssignmentTarget::group(ALL_DEVICES)],
            exclude: snapshot.groups.first().map(|g| AssignmentTarget::group(&g.id)).into_iter().collect(),
        };
        reach.refit(&snapshot, &memberships, &moved, None);
        prop_assert!(reach.fits(&moved, None));
        prop_assert_eq!(preview_within(&snapshot, &mut reach, &moved), preview(&snapshot, &memberships, &moved, None));

        // Naive reference for the tenant's conflicts: each eligible device, its policies, the full resolution.
        let mut naive: BTreeMap<(String, Vec<String>), u64> = BTreeMap::new();
        for device in &snapshot.devices {
            if eligibility(device.support, snapshot.switches) != EligibilityCode::Eligible {
                continue;
            }
            let applicable =
                applicable_policies(&snapshot.policies, |g| is_member(g, &definitions, &device.id, &device.facts));
            for outcome in shared::conflict::resolve(&applicable).conflicts() {
                let ids = outcome.sources.iter().map(|s| s.policy_id.clone()).collect();
                *naive.entry((outcome.setting_id.clone(), ids)).or_default() += 1;
            }
        }
        let conflicts = tenant_conflicts(&snapshot, &memberships);
        for conflict in &conflicts {
            prop_assert_eq!(memberships.devices_in(&conflict.classes).count() as u64, conflict.n_devices);
        }
        let listed: BTreeMap<(String, Vec<String>), u64> = conflicts
            .into_iter()
            .map(|c| ((c.setting_id, c.policies.into_iter().map(|p| p.policy_id).collect()), c.n_devices))
            .collect();
        prop_assert_eq!(listed, naive);
    }
}
