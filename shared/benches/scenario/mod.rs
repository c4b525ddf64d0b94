//! The benchmark scenario, shared by the native bench (`shared/benches/preview.rs`) and the wasm bench that runs in
//! headless Chromium (`preview-bench`, `cargo xtask bench-wasm`): the issue's tenant — 100,000 devices, 2,000
//! groups (dynamic and static, nested up to depth 3), 300 overlapping policies — and the measurements, timed with
//! the clock each side has.

use serde_json::json;
use shared::catalog::{ConfiguredSetting, Profile, SettingKind, SettingValue};
use shared::device::DeviceFacts;
use shared::eligibility::device_support;
use shared::groups::ALL_DEVICES;
use shared::policy::{AssignmentTarget, Assignments, Policy, PolicyDraft};
use shared::preview::{
    Memberships, Reach, Snapshot, SnapshotDevice, SnapshotGroup, preview, preview_within, tenant_conflicts,
};
use shared::tenant::TenantSwitches;

pub const N_DEVICES: usize = 100_000;
pub const N_GROUPS: usize = 2_000;
pub const N_POLICIES: usize = 300;

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

/// The catalog's top-level Antivirus settings with a choice of values (other than the three every policy sets).
fn choice_settings() -> Vec<(&'static str, Vec<&'static str>)> {
    Profile::Antivirus
        .settings()
        .filter(|d| d.parent.is_none() && !FIXED.contains(&d.id))
        .filter_map(|d| match d.kind {
            SettingKind::Choice { options } if options.len() >= 2 => {
                Some((d.id, options.iter().map(|o| o.value).collect()))
            }
            _ => None,
        })
        .collect()
}

const FIXED: [&str; 3] = [
    "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
    "device_vendor_msft_policy_config_defender_cloudblocklevel",
    "device_vendor_msft_policy_config_defender_excludedpaths",
];

/// Twelve more settings for policy `p`: a different mix per policy, values that disagree between policies.
fn more_choices(choices: &[(&'static str, Vec<&'static str>)], p: usize) -> Vec<ConfiguredSetting> {
    let mut picked: Vec<usize> = (0..12).map(|k| (p * 7 + k * 5) % choices.len()).collect();
    picked.sort_unstable();
    picked.dedup();
    picked
        .into_iter()
        .map(|i| {
            let (id, options) = &choices[i];
            ConfiguredSetting::new(*id, SettingValue::Choice(options[(p / 3 + i) % options.len()].into()))
        })
        .collect()
}

/// A new policy of twenty settings for All devices: the three every policy sets and seventeen more.
pub fn large_draft(snapshot: &Snapshot) -> PolicyDraft {
    let mut draft = snapshot.policies[0].draft.clone();
    draft.assignments.exclude.clear();
    draft.settings.truncate(3);
    draft.settings.extend(
        choice_settings()
            .into_iter()
            .take(17)
            .map(|(id, options)| ConfiguredSetting::new(id, SettingValue::Choice(options[0].into()))),
    );
    draft
}

/// The tenant.
pub fn tenant() -> Snapshot {
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
    let choices = choice_settings();
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
                ]
                .into_iter()
                .chain(more_choices(&choices, p))
                .collect(),
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
        generation: 1,
        taken_at: 10_000,
        switches: TenantSwitches { security_settings_management: true, enforce_security_configuration: true },
        devices,
        groups,
        policies,
    }
}

/// The full preview's target (DESIGN.md, issue 5).
const FULL: &str = "≤ 100 ms native, ≤ 250 ms wasm";

/// One measurement: best of `runs`, in milliseconds.
pub struct Figure {
    /// What was measured.
    pub what: &'static str,
    /// Best time, ms.
    pub ms: f64,
    /// Runs.
    pub runs: usize,
    /// Details.
    pub note: String,
    /// The target.
    pub target: Option<&'static str>,
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<58} {:>9.2} ms (best of {})", self.what, self.ms, self.runs)?;
        if let Some(target) = self.target {
            write!(f, " (target {target})")?;
        }
        if !self.note.is_empty() {
            write!(f, "; {}", self.note)?;
        }
        Ok(())
    }
}

fn best<T>(now: &dyn Fn() -> f64, runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let started = now();
        last = Some(f());
        best = best.min(now() - started);
    }
    (best, last.expect("ran"))
}

/// Loads the snapshot from its JSON (as the browser does from storage or the server), then previews: a new policy
/// for All devices (overlapping every existing policy somewhere), the same after one setting is edited, and the
/// tenant's conflicts. `now` is a clock in milliseconds.
pub fn run(now: &dyn Fn() -> f64, json: &str) -> Vec<Figure> {
    let mut figures = Vec::new();
    let mut figure =
        |what, (ms, note): (f64, String), runs, target| figures.push(Figure { what, ms, runs, note, target });
    let (read, snapshot) = best(now, 3, || serde_json::from_str::<Snapshot>(json).expect("reads"));
    figure("read the snapshot (JSON to Snapshot)", (read, format!("{:.2} MB", json.len() as f64 / 1e6)), 3, None);
    let (resolve, memberships) = best(now, 3, || Memberships::of(&snapshot));
    figure("resolve every group's members and policy's devices", (resolve, String::new()), 3, None);
    figure("snapshot loaded (read + resolve)", (read + resolve, String::new()), 3, Some("≤ 1 s"));
    let mut draft = snapshot.policies[0].draft.clone();
    draft.assignments.exclude.clear();
    draft.settings.truncate(3);
    let (full, result) = best(now, 3, || preview(&snapshot, &memberships, &draft, None));
    let note = format!("{} devices, {} overlapping settings", result.n_applies, result.settings.len());
    figure("full preview of a draft on All devices", (full, note), 3, Some(FULL));
    let (reach_ms, reach) = best(now, 3, || Reach::of(&snapshot, &memberships, &draft, None));
    let note = format!("{} distinct sets of policies", reach.n_policy_sets());
    figure("  of which: reach (devices grouped by their policies)", (reach_ms, note), 3, None);
    let mut edited = draft.clone();
    edited.settings[1].value = SettingValue::Choice("4".into());
    assert!(reach.fits(&edited, None));
    let mut again = f64::MAX;
    for _ in 0..3 {
        // Each run starts from the preview of the draft as it was; then one setting is edited.
        let mut reach = reach.clone();
        preview_within(&snapshot, &mut reach, &draft);
        let started = now();
        preview_within(&snapshot, &mut reach, &edited);
        again = again.min(now() - started);
    }
    figure("re-preview after editing one setting", (again, String::new()), 3, Some("≤ 16 ms"));
    let large = large_draft(&snapshot);
    let (full, result) = best(now, 3, || preview(&snapshot, &memberships, &large, None));
    let note = format!("{} overlapping settings", result.settings.len());
    figure("full preview of a 20-setting draft on All devices", (full, note), 3, Some(FULL));
    let mut edited = large.clone();
    edited.settings[10].value = match &large.settings[10].value {
        SettingValue::Choice(value) if value == "1" => SettingValue::Choice("0".into()),
        _ => SettingValue::Choice("1".into()),
    };
    let mut again = f64::MAX;
    for _ in 0..3 {
        let mut reach = Reach::of(&snapshot, &memberships, &large, None);
        preview_within(&snapshot, &mut reach, &large);
        let started = now();
        preview_within(&snapshot, &mut reach, &edited);
        again = again.min(now() - started);
    }
    figure("re-preview after editing one of its 20 settings", (again, String::new()), 3, Some("≤ 16 ms"));
    let mut reassigned = large.clone();
    reassigned.assignments.exclude.push(AssignmentTarget::group("g1501"));
    let mut again = f64::MAX;
    for _ in 0..3 {
        let mut reach = Reach::of(&snapshot, &memberships, &large, None);
        preview_within(&snapshot, &mut reach, &large);
        let started = now();
        reach.refit(&snapshot, &memberships, &reassigned, None);
        preview_within(&snapshot, &mut reach, &reassigned);
        again = again.min(now() - started);
    }
    let result = preview(&snapshot, &memberships, &reassigned, None);
    let note = format!("{} devices, {} overlapping settings", result.n_applies, result.settings.len());
    figure("re-preview of it after excluding a static group", (again, note), 3, Some("≤ 16 ms"));
    let (conflicts, list) = best(now, 3, || tenant_conflicts(&snapshot, &memberships));
    figure("tenant conflicts", (conflicts, format!("{} conflicts", list.len())), 3, None);
    figures
}
