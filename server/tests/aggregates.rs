//! The maintained report aggregates (a policy's state per device, the counts per policy and per setting) always
//! equal a recomputation from scratch, whatever sequence of reports and targeting changes came before: onboarding
//! and onboarding again with other facts, deletion, static and dynamic groups, membership, nesting, policies saved
//! and deleted, the tenant switches — and so does the preview's snapshot kept by deltas. Run against the real SQLite
//! store.

use server::store::{
    Actor, DeviceStore, GroupRecord, GroupStore, NewDevice, NewOnboardingToken, PolicyStore, ReportPosition,
    ReportStore, SqliteStore, TenantStore,
};
use std::collections::BTreeMap;

use proptest::prelude::*;
use shared::api::{PolicyDeviceRow, SettingDeviceRow};
use shared::catalog::{ConfiguredSetting, Profile, SettingValue};
use shared::device::{DeviceFacts, DirectoryDeviceId, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use shared::groups::GroupKind;
use shared::policy::{AssignmentTarget, Assignments, Policy, PolicyDraft};
use shared::preview::Memberships;
use shared::query::{ReportQuery, SettingQuery};
use shared::report::{
    DeviceReport, PolicyResult, PolicyState, SettingResult, SettingState, StatusCounts, setting_counts,
    setting_counts_from, targeted_state,
};
use shared::tenant::TenantSwitches;

const SETTINGS: [&str; 3] = [
    "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
    "device_vendor_msft_policy_config_defender_allowarchivescanning",
    "device_vendor_msft_policy_config_defender_allowbehaviormonitoring",
];
const RULES: [&str; 3] = ["os == \"windows_11\"", "name startswith \"A\"", "os == \"windows_server_2022\""];
const TOKEN: &str = "aggregates-test-token";

#[derive(Debug, Clone)]
enum Op {
    Onboard { device: u8, kind: u8 },
    Delete { device: u8 },
    CreateGroup { group: u8, rule: Option<u8> },
    SetRule { group: u8, rule: u8 },
    DeleteGroup { group: u8 },
    Members { group: u8, device: u8, add: bool },
    Nest { parent: u8, child: u8, nest: bool },
    SavePolicy { policy: u8, include: Vec<u8>, exclude: Vec<u8>, n_settings: u8 },
    DeletePolicy { policy: u8 },
    Report { device: u8, policy: u8, older: bool, states: Vec<u8> },
    Switches { on: bool },
    CheckIn { device: u8, sync: bool },
}

fn op() -> impl Strategy<Value = Op> {
    // Few devices, groups and policies, so that sequences keep meeting the same ones.
    let device = 0..4_u8;
    let group = 0..3_u8;
    // 3 is All devices.
    let target = 0..4_u8;
    prop_oneof![
        3 => (device.clone(), 0..4_u8).prop_map(|(device, kind)| Op::Onboard { device, kind }),
        1 => device.clone().prop_map(|device| Op::Delete { device }),
        2 => (group.clone(), proptest::option::of(0..3_u8)).prop_map(|(group, rule)| Op::CreateGroup { group, rule }),
        1 => (group.clone(), 0..3_u8).prop_map(|(group, rule)| Op::SetRule { group, rule }),
        1 => group.clone().prop_map(|group| Op::DeleteGroup { group }),
        5 => (group.clone(), device.clone(), any::<bool>()).prop_map(|(group, device, add)| Op::Members { group, device, add }),
        2 => (group.clone(), group.clone(), any::<bool>()).prop_map(|(parent, child, nest)| Op::Nest { parent, child, nest }),
        3 => (0..2_u8, proptest::collection::vec(target.clone(), 0..3), proptest::collection::vec(target, 0..2), 0..4_u8)
            .prop_map(|(policy, include, exclude, n_settings)| Op::SavePolicy { policy, include, exclude, n_settings }),
        1 => (0..2_u8).prop_map(|policy| Op::DeletePolicy { policy }),
        6 => (device, 0..2_u8, any::<bool>(), proptest::collection::vec(0..4_u8, 0..4))
            .prop_map(|(device, policy, older, states)| Op::Report { device, policy, older, states }),
        1 => any::<bool>().prop_map(|on| Op::Switches { on }),
        4 => (0..4_u8, any::<bool>()).prop_map(|(device, sync)| Op::CheckIn { device, sync }),
    ]
}

fn sha(text: &str) -> String {
    server::credentials::sha256_hex(text)
}

fn facts(device: u8, kind: u8) -> DeviceFacts {
    let (os, edition) = match kind {
        0 => (OsProduct::Windows11, Edition::Enterprise),
        1 => (OsProduct::Windows10, Edition::Pro),
        2 => (OsProduct::WindowsServer2022, Edition::Standard),
        _ => (OsProduct::Windows11, Edition::Home),
    };
    let name = format!("{}host-{device}", if kind.is_multiple_of(2) { "a" } else { "B" });
    DeviceFacts {
        hostname: Hostname::try_from(name).expect("a valid host name"),
        os,
        edition,
        os_build: OsBuild::try_from("10.0.22631.4460".to_owned()).expect("a valid build"),
        required_update_installed: true,
        downlevel_agent_installed: false,
        join_type: JoinType::DirectoryJoined,
        directory_device_id: None,
        managed_by: if kind == 3 { ManagedBy::Intune } else { ManagedBy::Mde },
    }
}

/// A registration id of its own for each onboarding (step `n`).
fn guid(n: i64) -> DirectoryDeviceId {
    DirectoryDeviceId::try_from(format!("00000000-0000-4000-8000-{n:012}")).expect("a valid id")
}

fn group_id(g: u8) -> String {
    if g == 3 { shared::groups::ALL_DEVICES.to_owned() } else { format!("group-{g}") }
}

async fn apply(store: &SqliteStore, op: &Op, now: i64) -> anyhow::Result<()> {
    let actor = Actor { username: "admin".into(), address: "127.0.0.1".into(), at: now };
    let device_id = |d: u8| format!("device-{d}");
    match op {
        Op::Onboard { device, kind } => {
            let facts = facts(*device, *kind);
            let existing = store.get_device(&device_id(*device)).await?;
            store
                .onboard_device(NewDevice {
                    token_hash: sha(TOKEN),
                    address: "127.0.0.1".into(),
                    id: device_id(*device),
                    secret_hash: sha(&device_id(*device)),
                    support: shared::eligibility::device_support(&facts),
                    facts,
                    new_directory_device_id: guid(now),
                    previous_secret_hash: existing.map(|_| sha(&device_id(*device))),
                    now,
                })
                .await?;
        }
        Op::Delete { device } => {
            store.delete_device(&device_id(*device), &actor).await?;
        }
        Op::CreateGroup { group, rule } => {
            let record = GroupRecord {
                id: group_id(*group),
                name: format!("Group {group}"),
                description: String::new(),
                kind: if rule.is_some() { GroupKind::Dynamic } else { GroupKind::Static },
                rule: rule.map(|r| RULES[r as usize].to_owned()),
                members: Default::default(),
                children: Vec::new(),
            };
            store.create_group(&record, &actor).await?;
        }
        Op::SetRule { group, rule } => {
            let dynamic =
                store.list_groups().await?.iter().any(|g| g.id == group_id(*group) && g.kind == GroupKind::Dynamic);
            if dynamic {
                store.update_group(&group_id(*group), None, None, Some(RULES[*rule as usize]), &actor).await?;
            }
        }
        Op::DeleteGroup { group } => {
            store.delete_group(&group_id(*group), &actor).await?;
        }
        Op::Members { group, device, add } => {
            let is_static =
                store.list_groups().await?.iter().any(|g| g.id == group_id(*group) && g.kind == GroupKind::Static);
            let known = store.get_device(&device_id(*device)).await?.is_some();
            if is_static && known {
                let ids = [device_id(*device)];
                if *add {
                    store.add_group_members(&group_id(*group), &ids, &actor).await?;
                } else {
                    store.remove_group_members(&group_id(*group), &ids, &actor).await?;
                }
            }
        }
        Op::Nest { parent, child, nest } => {
            if *nest {
                store.nest_group(&group_id(*parent), &group_id(*child), &actor).await?;
            } else {
                store.unnest_group(&group_id(*parent), &group_id(*child), &actor).await?;
            }
        }
        Op::SavePolicy { policy, include, exclude, n_settings } => {
            let target = |ids: &Vec<u8>| {
                let mut ids: Vec<String> = ids.iter().map(|g| group_id(*g)).collect();
                ids.sort();
                ids.dedup();
                ids.into_iter().map(AssignmentTarget::group).collect::<Vec<_>>()
            };
            let draft = PolicyDraft {
                profile: Profile::Antivirus,
                name: format!("Policy {policy}"),
                description: String::new(),
                settings: SETTINGS[..*n_settings as usize % 4]
                    .iter()
                    .map(|id| ConfiguredSetting::new(*id, SettingValue::Choice("1".into())))
                    .collect(),
                assignments: Assignments { include: target(include), exclude: target(exclude) },
            };
            let id = format!("policy-{policy}");
            match store.get_policy(&id).await? {
                Some(current) => {
                    store.update_policy(&id, current.version, &draft, &actor).await?;
                }
                None => {
                    let created = Policy::first_version(id, draft, "admin", now);
                    store.create_policy(&created, shared::audit::AuditAction::PolicyCreate, &actor).await?;
                }
            }
        }
        Op::DeletePolicy { policy } => {
            store.delete_policy(&format!("policy-{policy}"), &actor).await?;
        }
        Op::Report { device, policy, older, states } => {
            let Some(current) = store.get_policy(&format!("policy-{policy}")).await? else { return Ok(()) };
            if store.get_device(&device_id(*device)).await?.is_none() {
                return Ok(());
            }
            let version = if *older { current.version.saturating_sub(1).max(1) } else { current.version };
            // A report of the current version has one result per configured setting (the device API refuses others);
            // one of an older version has whatever it had.
            let ids: Vec<String> = if version < current.version {
                SETTINGS.iter().take(states.len()).map(|id| (*id).to_owned()).collect()
            } else {
                current.draft.settings.iter().map(|s| s.id.clone()).collect()
            };
            let settings = ids
                .into_iter()
                .enumerate()
                .map(|(k, setting_id)| {
                    let state = [
                        SettingState::Succeeded,
                        SettingState::Error,
                        SettingState::Conflict,
                        SettingState::NotApplicable,
                    ][states.get(k).copied().unwrap_or(0) as usize % 4];
                    let failed = state == SettingState::Error;
                    SettingResult {
                        setting_id,
                        state,
                        code: if failed { "0x87D1FDE8".into() } else { String::new() },
                        detail: if state == SettingState::Succeeded { String::new() } else { format!("why {k}") },
                    }
                })
                .collect();
            let report = DeviceReport {
                policies_hash: "hash".into(),
                policies: vec![PolicyResult { policy_id: current.id, version, settings }],
                preferences: BTreeMap::new(),
            };
            store.record_report(&device_id(*device), &report, now).await?;
        }
        Op::CheckIn { device, sync } => {
            if store.get_device(&device_id(*device)).await?.is_some() {
                store.record_check_in(&device_id(*device), now, *sync).await?;
            }
        }
        Op::Switches { on } => {
            let switches = TenantSwitches { security_settings_management: *on, enforce_security_configuration: true };
            store.update_tenant(Some(switches), None, &actor).await?;
        }
    }
    Ok(())
}

/// Per setting a policy configures, per device listed in the setting's devices: its state, code and detail.
type SettingDevices = BTreeMap<String, BTreeMap<String, (SettingState, String, String)>>;

/// Per policy: the state on every targeted device, the counts, the per setting status, the check-in counts and each
/// setting's devices.
type Figures = BTreeMap<
    String,
    (
        BTreeMap<String, PolicyState>,
        StatusCounts,
        Vec<shared::report::SettingCounts>,
        shared::api::CheckInCounts,
        SettingDevices,
    ),
>;

async fn recomputed(store: &SqliteStore) -> anyhow::Result<Figures> {
    let switches = store.tenant().await?.switches;
    let devices = store.all_devices().await?;
    let groups = store.list_groups().await?;
    let memberships = Memberships::of(&server::effective::snapshot_of(&devices, &groups, switches, Vec::new()));
    let mut figures = Figures::new();
    for policy in store.list_policies().await? {
        let reports = store.policy_reports(&policy.id).await?;
        let mut states = BTreeMap::new();
        let mut current = Vec::new();
        let mut listed: SettingDevices =
            policy.draft.settings.iter().map(|s| (s.id.clone(), BTreeMap::new())).collect();
        for i in memberships.assigned(&policy.draft) {
            let eligible = memberships.is_eligible(i);
            let report = reports.get(&devices[i].id);
            let state = targeted_state(policy.version, eligible, report.map(|r| (r.version, r.state)));
            if let Some(report) =
                report.filter(|r| eligible && r.version == policy.version && state != PolicyState::NotApplicable)
            {
                current.push(report.settings.as_slice());
                for result in &report.settings {
                    if let Some(devices_of) = listed.get_mut(&result.setting_id) {
                        devices_of
                            .insert(devices[i].id.clone(), (result.state, result.code.clone(), result.detail.clone()));
                    }
                }
            }
            states.insert(devices[i].id.clone(), state);
        }
        let counts = states.values().copied().collect();
        let settings = setting_counts(&policy, current);
        let mut check_in = shared::api::CheckInCounts::default();
        for i in memberships.assigned(&policy.draft) {
            match shared::report::checked_in_since_change(devices[i].last_check_in, policy.updated_at) {
                None => check_in.never += 1,
                Some(true) => check_in.since_change += 1,
                Some(false) => check_in.before_change += 1,
            }
        }
        figures.insert(policy.id.clone(), (states, counts, settings, check_in, listed));
    }
    Ok(figures)
}

async fn maintained(store: &SqliteStore) -> anyhow::Result<Figures> {
    let mut counts = store.status_counts().await?;
    let mut figures = Figures::new();
    for policy in store.list_policies().await? {
        let query = ReportQuery::default();
        let rows: Vec<PolicyDeviceRow> =
            store.policy_devices(&policy.id, &query, ReportPosition::Offset(0), 1_000).await?;
        let states = rows.into_iter().map(|row| (row.device_id, row.state)).collect();
        let settings = setting_counts_from(&policy, &store.setting_tallies(&policy.id).await?);
        let counts = counts.remove(&policy.id).unwrap_or_default();
        let (one, check_in) = store.policy_counts(&policy.id).await?;
        anyhow::ensure!(one == counts, "{}: one policy's counts {one:?} differ from the list's {counts:?}", policy.id);
        let mut listed = SettingDevices::new();
        for setting in &policy.draft.settings {
            let query = SettingQuery::default();
            let rows = store.setting_devices(&policy.id, &setting.id, &query, ReportPosition::Offset(0), 1_000).await?;
            for state in SettingState::ALL {
                let query = SettingQuery { state: Some(*state), ..SettingQuery::default() };
                let n = store.count_setting_devices(&policy.id, &setting.id, &query).await?;
                let tally = settings.iter().find(|c| c.setting_id == setting.id).map_or(0, |c| c.count(*state));
                anyhow::ensure!(
                    n == tally,
                    "{} {}: {n} {state:?} devices listed, {tally} counted",
                    policy.id,
                    setting.id
                );
            }
            listed.insert(
                setting.id.clone(),
                rows.into_iter().map(|row| (row.device_id, (row.state, row.code, row.detail))).collect(),
            );
        }
        figures.insert(policy.id.clone(), (states, counts, settings, check_in, listed));
    }
    Ok(figures)
}

/// A fresh store in `dir` with the tenant switched on and the test's onboarding token.
async fn tenant(dir: &std::path::Path) -> anyhow::Result<SqliteStore> {
    let store = SqliteStore::open(dir).await?;
    let actor = Actor::system(1_000);
    store
        .update_tenant(
            Some(TenantSwitches { security_settings_management: true, enforce_security_configuration: true }),
            None,
            &actor,
        )
        .await?;
    store
        .create_onboarding_token(
            &NewOnboardingToken {
                id: "token".into(),
                name: "Test".into(),
                token_hash: sha(TOKEN),
                ends_with: "oken".into(),
                expires_at: None,
                max_uses: None,
            },
            &actor,
        )
        .await?;
    Ok(store)
}

async fn run(ops: Vec<Op>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = tenant(dir.path()).await?;
    // The preview's snapshot, kept up to date by deltas as the admin center keeps it.
    let mut held = server::effective::snapshot(&store).await?;
    for (step, op) in ops.iter().enumerate() {
        apply(&store, op, 1_000 + step as i64).await?;
        let (expected, found) = (recomputed(&store).await?, maintained(&store).await?);
        anyhow::ensure!(
            expected == found,
            "after step {step} ({op:?}) of {ops:?}:\nexpected {expected:#?}\nfound {found:#?}"
        );
        let update = server::effective::snapshot_update(&store, held.generation).await?;
        anyhow::ensure!(update.full.is_none(), "after step {step}: a whole snapshot instead of changes");
        held.apply(update);
        let whole = server::effective::snapshot(&store).await?;
        held.taken_at = whole.taken_at;
        anyhow::ensure!(
            held == whole,
            "after step {step} ({op:?}): the snapshot by deltas {held:#?} is not {whole:#?}"
        );
    }
    pages_follow_the_shared_order(&store).await
}

/// Every sort and direction of a policy's devices: the store's order is `ReportQuery::select`'s, and reading it in
/// chunks (each after the last row of the one before, as the CSV export does) or by pages gives every row once.
async fn pages_follow_the_shared_order(store: &SqliteStore) -> anyhow::Result<()> {
    use shared::query::{ReportSort, SettingSort, SortDir};
    for policy in store.list_policies().await? {
        for sort in [ReportSort::Device, ReportSort::Status, ReportSort::Reported, ReportSort::CheckIn] {
            for dir in [SortDir::Asc, SortDir::Desc] {
                let query = ReportQuery { sort, dir, per_page: 2, ..ReportQuery::default() };
                let all = store.policy_devices(&policy.id, &query, ReportPosition::Offset(0), 1_000).await?;
                anyhow::ensure!(
                    query.select(all.clone()) == all,
                    "{sort:?} {dir:?}: not in the shared order: {all:#?}"
                );
                let mut chunked: Vec<PolicyDeviceRow> = Vec::new();
                loop {
                    let position = chunked.last().map_or(ReportPosition::Offset(0), ReportPosition::After);
                    let chunk = store.policy_devices(&policy.id, &query, position, 2).await?;
                    let done = chunk.len() < 2;
                    chunked.extend(chunk);
                    if done {
                        break;
                    }
                }
                anyhow::ensure!(chunked == all, "{sort:?} {dir:?}: chunks differ: {chunked:#?} vs {all:#?}");
                let mut paged = Vec::new();
                for page in 1..=all.len().div_ceil(2) as u32 {
                    let query = ReportQuery { page, ..query.clone() };
                    paged.extend(
                        store.policy_devices(&policy.id, &query, ReportPosition::Offset(query.offset()), 2).await?,
                    );
                }
                anyhow::ensure!(paged == all, "{sort:?} {dir:?}: pages differ");
            }
        }
        for setting in &policy.draft.settings {
            for sort in [SettingSort::Device, SettingSort::Status] {
                for dir in [SortDir::Asc, SortDir::Desc] {
                    let query = SettingQuery { sort, dir, per_page: 2, ..SettingQuery::default() };
                    let all = store
                        .setting_devices(&policy.id, &setting.id, &query, ReportPosition::Offset(0), 1_000)
                        .await?;
                    anyhow::ensure!(query.select(all.clone()) == all, "{sort:?} {dir:?}: not in the shared order");
                    let mut chunked: Vec<SettingDeviceRow> = Vec::new();
                    loop {
                        let position = chunked.last().map_or(ReportPosition::Offset(0), ReportPosition::After);
                        let chunk = store.setting_devices(&policy.id, &setting.id, &query, position, 2).await?;
                        let done = chunk.len() < 2;
                        chunked.extend(chunk);
                        if done {
                            break;
                        }
                    }
                    anyhow::ensure!(chunked == all, "{sort:?} {dir:?}: a setting's chunks differ");
                }
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_database_from_before_the_aggregates_gets_them_built_when_it_is_upgraded() -> anyhow::Result<()> {
    use sqlx::{Connection, Executor};
    let dir = tempfile::tempdir()?;
    let expected = {
        let store = tenant(dir.path()).await?;
        let ops = [
            Op::Onboard { device: 0, kind: 0 },
            Op::Onboard { device: 1, kind: 1 },
            Op::Onboard { device: 2, kind: 3 },
            Op::CreateGroup { group: 0, rule: None },
            Op::Members { group: 0, device: 1, add: true },
            Op::SavePolicy { policy: 0, include: vec![3], exclude: vec![0], n_settings: 2 },
            Op::SavePolicy { policy: 1, include: vec![0], exclude: Vec::new(), n_settings: 3 },
            Op::Report { device: 0, policy: 0, older: false, states: vec![0, 1] },
            Op::Report { device: 1, policy: 1, older: false, states: vec![0, 0, 2] },
        ];
        for (step, op) in ops.iter().enumerate() {
            apply(&store, op, 1_000 + step as i64).await?;
        }
        recomputed(&store).await?
    };
    assert!(expected.values().any(|(states, ..)| states.values().any(|s| *s == PolicyState::Error)));
    // The database as the version before the aggregates left it.
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.path().join("rampart.sqlite3").display())).await?;
    conn.execute(
        "DROP TABLE policy_devices; DROP TABLE policy_status_counts; DROP TABLE policy_setting_counts; \
         DROP TABLE targeting_generation; DROP TABLE setting_exceptions; \
         CREATE TABLE old_reports (device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE, \
           policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE, version INTEGER NOT NULL, \
           state TEXT NOT NULL, settings TEXT NOT NULL, reported_at INTEGER NOT NULL, \
           PRIMARY KEY (device_id, policy_id)) WITHOUT ROWID; \
         INSERT INTO old_reports SELECT r.device_id, r.policy_id, r.version, r.state, x.settings, r.reported_at \
           FROM device_policy_reports r JOIN report_results x USING (device_id, policy_id); \
         DROP TABLE report_results; DROP TABLE device_policy_reports; \
         ALTER TABLE old_reports RENAME TO device_policy_reports; \
         CREATE INDEX device_policy_reports_by_policy ON device_policy_reports (policy_id, state); \
         DELETE FROM schema_migrations WHERE version IN (7, 8);",
    )
    .await?;
    conn.close().await?;
    let store = SqliteStore::open(dir.path()).await?;
    assert_eq!(maintained(&store).await?, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn maintained_aggregates_equal_a_recomputation_after_any_changes(
        kinds in proptest::collection::vec(0..4_u8, 3),
        rules in proptest::collection::vec(proptest::option::of(0..3_u8), 3),
        targets in proptest::collection::vec(0..4_u8, 2),
        more in proptest::collection::vec(op(), 1..48),
    ) {
        // A tenant to start from (three of the four devices onboarded, every group made, both policies assigned), then
        // anything.
        let mut ops: Vec<Op> = kinds.iter().enumerate().map(|(device, kind)| Op::Onboard { device: device as u8, kind: *kind }).collect();
        ops.extend(rules.iter().enumerate().map(|(group, rule)| Op::CreateGroup { group: group as u8, rule: *rule }));
        ops.extend(targets.iter().enumerate().map(|(policy, target)| Op::SavePolicy {
            policy: policy as u8,
            include: vec![*target],
            exclude: Vec::new(),
            n_settings: 3,
        }));
        ops.extend(more);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let outcome = runtime.block_on(run(ops));
        prop_assert!(outcome.is_ok(), "{:?}", outcome.err());
    }
}
