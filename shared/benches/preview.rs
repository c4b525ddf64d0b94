//! Benchmark (release, prints figures): the conflict preview at the issue's scale — 100,000 devices, 2,000 groups
//! (dynamic and static, nested up to depth 3), 300 overlapping policies. Measures resolving the memberships, a full
//! preview of a draft, and the tenant's conflicts. Run with `cargo bench -p shared --bench preview`.
//! Targets (DESIGN.md, issue 5): full preview ≤ 100 ms, re-preview after one edit ≤ 16 ms.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::catalog::{ConfiguredSetting, Profile, SettingValue};
use shared::device::DeviceFacts;
use shared::eligibility::device_support;
use shared::groups::ALL_DEVICES;
use shared::policy::{AssignmentTarget, Assignments, Policy, PolicyDraft};
use shared::preview::{
    Memberships, Reach, Snapshot, SnapshotDevice, SnapshotGroup, preview, preview_within, tenant_conflicts,
};
use shared::tenant::TenantSwitches;

const N_DEVICES: usize = 100_000;
const N_GROUPS: usize = 2_000;
const N_POLICIES: usize = 300;

fn facts(i: usize) -> DeviceFacts {
    let (os, prefix, managed) = match i % 10 {
        0 => ("windows_server_2022", "SRV", "mde"),
        1 => ("windows_10", "LAP", "intune"),
        2..=5 => ("windows_11", "LAP", "mde"),
        _ => ("windows_10", "WKS", "mde"),
    };
    DeviceFacts::parse(
        &json!({
            "hostname": format!("{prefix}-{i:06}"), "os": os, "edition": if prefix == "SRV" { "standard" } else { "enterprise" },
            "os_build": "10.0.22631.4460", "required_update_installed": true, "downlevel_agent_installed": false,
            "join_type": "workgroup", "directory_device_id": null, "managed_by": managed
        }),
        "facts",
    )
    .expect("valid facts")
}

/// A device id as the server makes them (a GUID).
fn device_id(i: usize) -> String {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h >> 32, (h >> 16) & 0xffff, h & 0xfff, (h >> 20) & 0xfff, i)
}

fn tenant() -> Snapshot {
    let devices: Vec<SnapshotDevice> = (0..N_DEVICES)
        .map(|i| {
            let facts = facts(i);
            SnapshotDevice { id: device_id(i), support: device_support(&facts), facts }
        })
        .collect();
    let rules = [
        r#"os in ("windows_11")"#,
        r#"name startswith "SRV""#,
        r#"managed_by == "mde""#,
        r#"name startswith "WKS-01""#,
    ];
    // Four levels: groups 0–9 hold 10–109, which hold 110–1109, which hold the rest (depth 3).
    let groups = (0..N_GROUPS)
        .map(|g| {
            let children: Vec<String> = match g {
                0..=9 => (10 + g * 10..20 + g * 10).map(|c| format!("g{c}")).collect(),
                10..=109 => (110 + (g - 10) * 10..120 + (g - 10) * 10).map(|c| format!("g{c}")).collect(),
                110..=1109 => [1110 + (g - 110) % 890].iter().map(|c| format!("g{c}")).collect(),
                _ => Vec::new(),
            };
            let dynamic = g % 5 == 0;
            SnapshotGroup {
                id: format!("g{g}"),
                name: format!("Group {g}"),
                rule: dynamic.then(|| rules[g % rules.len()].to_owned()),
                members: if dynamic {
                    Vec::new()
                } else {
                    (0..50).map(|k| device_id((g * 50 + k * 37) % N_DEVICES)).collect()
                },
                children,
            }
        })
        .collect();
    let values = ["2", "4", "6"];
    let policies = (0..N_POLICIES)
        .map(|p| {
            let include = if p % 30 == 0 { ALL_DEVICES.to_owned() } else { format!("g{}", (p * 7) % N_GROUPS) };
            let draft = PolicyDraft {
                profile: Profile::Antivirus,
                name: format!("Policy {p}"),
                description: String::new(),
                settings: vec![
                    ConfiguredSetting::new(
                        "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
                        SettingValue::Choice("1".into()),
                    ),
                    ConfiguredSetting::new(
                        "device_vendor_msft_policy_config_defender_cloudblocklevel",
                        SettingValue::Choice(values[p % 3].into()),
                    ),
                    ConfiguredSetting::new(
                        "device_vendor_msft_policy_config_defender_excludedpaths",
                        SettingValue::StringList(vec![format!(r"C:\P{p}")]),
                    ),
                ],
                assignments: Assignments {
                    include: vec![AssignmentTarget::group(include)],
                    exclude: if p % 4 == 0 {
                        vec![AssignmentTarget::group(format!("g{}", (p * 13) % N_GROUPS))]
                    } else {
                        Vec::new()
                    },
                },
            };
            Policy::first_version(format!("p{p}"), draft, "bench", 1_000 + p as i64)
        })
        .collect();
    Snapshot {
        taken_at: 10_000,
        switches: TenantSwitches { security_settings_management: true, enforce_security_configuration: true },
        devices,
        groups,
        policies,
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(f());
        best = best.min(started.elapsed());
    }
    (best, last.expect("ran"))
}

fn main() {
    let started = Instant::now();
    let snapshot = tenant();
    println!(
        "tenant: {N_DEVICES} devices, {N_GROUPS} groups (depth 3), {N_POLICIES} policies, built in {:.2?}",
        started.elapsed()
    );
    let (write, text) = time(3, || serde_json::to_string(&snapshot).expect("serializes"));
    let (read, back) = time(3, || serde_json::from_str::<Snapshot>(&text).expect("reads"));
    assert_eq!(back, snapshot);
    println!(
        "snapshot (compact JSON, as sent and stored): {:.2} MB; written in {write:.2?}, read in {read:.2?}",
        text.len() as f64 / 1e6
    );
    let (resolve, memberships) = time(1, || Memberships::of(&snapshot));
    println!("resolve every group's members: {resolve:.2?}");
    // A new policy for All devices, overlapping every existing policy somewhere.
    let mut draft = snapshot.policies[0].draft.clone();
    draft.assignments.exclude.clear();
    let (full, result) = time(3, || preview(&snapshot, &memberships, &draft, None));
    println!(
        "full preview of a draft on All devices: {full:.2?} (best of 3; {} devices, {} overlapping settings) — target 100 ms",
        result.n_applies,
        result.settings.len()
    );
    let mut edited = draft.clone();
    edited.settings[1].value = SettingValue::Choice("4".into());
    let (reach_time, reach) = time(3, || Reach::of(&snapshot, &memberships, &draft, None));
    println!(
        "reach of the draft (devices grouped by applicable policies): {reach_time:.2?} (best of 3; {} distinct sets)",
        reach.n_policy_sets()
    );
    assert!(reach.fits(&edited, None));
    let again = (0..3)
        .map(|_| {
            // Each run starts from the preview of the draft as it was, then one setting is edited.
            let mut reach = reach.clone();
            preview_within(&snapshot, &mut reach, &draft);
            let started = Instant::now();
            preview_within(&snapshot, &mut reach, &edited);
            started.elapsed()
        })
        .min()
        .expect("ran");
    println!("re-preview after editing one setting (reach reused): {again:.2?} (best of 3) — target 16 ms");
    let (conflicts, list) = time(1, || tenant_conflicts(&snapshot, &memberships));
    println!("tenant conflicts: {conflicts:.2?} ({} setting × policy-set conflicts)", list.len());
}
