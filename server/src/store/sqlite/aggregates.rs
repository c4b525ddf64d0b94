//! The report aggregates, maintained inside the transaction of each change that moves them.
//!
//! Three tables hold them (migration 0007): `policy_devices`, one row per policy and device it targets with the
//! policy's state there; `policy_status_counts`, per policy its devices by state; `policy_setting_counts`, per policy
//! and setting the counted reports by the setting's state. Targeting is resolved with `shared::preview::Memberships`,
//! the code the preview and the check-in use, but only over what the change can move: the devices of a report or an
//! onboarding, the policies a group change reaches, one edited policy. [`refresh`] rewrites the rows of such a scope
//! and moves the counts by the difference; [`apply_reports`] does the same for a batch of reports.

use std::collections::{BTreeSet, HashMap, HashSet};

use shared::groups::GroupKind;
use shared::preview::{Memberships, Snapshot, SnapshotDevice, SnapshotGroup};
use shared::report::{PolicyState, SettingResult, SettingState, SettingTally, targeted_state};
use shared::tenant::TenantSwitches;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{DEVICE_COLUMNS, POLICY_COLUMNS, code, device_from_row, policy_from_row};
use crate::store::{StoreError, StoreResult};

/// Rows per multi-row statement (SQLite allows 32,766 bound values).
const CHUNK: usize = 400;

/// What a change can move.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// These policies on every device (a policy saved or deleted, a group rule or nesting changed).
    Policies(Vec<String>),
    /// These devices under every policy (onboarded, deleted, added to or removed from a group).
    Devices(Vec<String>),
    /// Everything (the tenant switches changed, or the tables are built for the first time).
    All,
}

/// A policy's state on one device it targets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    name_key: String,
    state: PolicyState,
    eligible: bool,
    counted: bool,
}

/// (policy id, device id).
type Key = (String, String);

/// What a report of a policy's current version counts toward: the policy's state on the device, and whether its
/// setting results count in the per setting status.
fn pair_state(current_version: u64, eligible: bool, reported: Option<(u64, PolicyState)>) -> (PolicyState, bool) {
    let state = targeted_state(current_version, eligible, reported);
    let counted = eligible
        && reported.is_some_and(|(version, state)| version == current_version && state != PolicyState::NotApplicable);
    (state, counted)
}

/// Count changes, applied at the end of the transaction.
#[derive(Debug, Default)]
struct Deltas {
    status: HashMap<String, [i64; 5]>,
    settings: HashMap<Key, SettingTally>,
    /// Policies whose setting tallies start again from nothing (no report of theirs counts any more).
    reset: HashSet<String>,
}

impl Deltas {
    fn state(&mut self, policy_id: &str, state: PolicyState, delta: i64) {
        let slot = PolicyState::ALL.iter().position(|s| *s == state).unwrap_or(0);
        self.status.entry(policy_id.to_owned()).or_default()[slot] += delta;
    }

    fn results(&mut self, policy_id: &str, results: &[(String, SettingState)], delta: i64) {
        if self.reset.contains(policy_id) {
            return;
        }
        for (setting_id, state) in results {
            self.settings.entry((policy_id.to_owned(), setting_id.clone())).or_default().add(*state, delta);
        }
    }

    async fn write(self, conn: &mut SqliteConnection) -> StoreResult<()> {
        let status: Vec<(String, [i64; 5])> =
            self.status.into_iter().filter(|(_, d)| d.iter().any(|n| *n != 0)).collect();
        let columns: Vec<&str> = PolicyState::ALL.iter().map(|s| s.code()).collect();
        for chunk in status.chunks(CHUNK) {
            let mut upsert = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO policy_status_counts (policy_id, {}) ",
                columns.join(", ")
            ));
            upsert.push_values(chunk, |mut values, (policy_id, delta)| {
                values.push_bind(policy_id);
                for n in delta {
                    values.push_bind(*n);
                }
            });
            let sums: Vec<String> = columns.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
            upsert.push(format!(" ON CONFLICT (policy_id) DO UPDATE SET {}", sums.join(", ")));
            upsert.build().execute(&mut *conn).await?;
        }
        for policy_id in &self.reset {
            sqlx::query("DELETE FROM policy_setting_counts WHERE policy_id = ?")
                .bind(policy_id)
                .execute(&mut *conn)
                .await?;
        }
        let settings: Vec<(Key, SettingTally)> =
            self.settings.into_iter().filter(|((p, _), t)| !t.is_zero() && !self.reset.contains(p)).collect();
        for chunk in settings.chunks(CHUNK) {
            let mut upsert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO policy_setting_counts (policy_id, setting_id, succeeded, error, conflict, not_applicable) ",
            );
            upsert.push_values(chunk, |mut values, ((policy_id, setting_id), t)| {
                values
                    .push_bind(policy_id)
                    .push_bind(setting_id)
                    .push_bind(t.succeeded)
                    .push_bind(t.error)
                    .push_bind(t.conflict)
                    .push_bind(t.not_applicable);
            });
            upsert.push(
                " ON CONFLICT (policy_id, setting_id) DO UPDATE SET succeeded = succeeded + excluded.succeeded, \
                 error = error + excluded.error, conflict = conflict + excluded.conflict, \
                 not_applicable = not_applicable + excluded.not_applicable",
            );
            upsert.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// A report's setting results as the tallies need them, from their stored JSON.
pub(super) fn results_of(settings: &str) -> StoreResult<Vec<(String, SettingState)>> {
    let results: Vec<SettingResult> = serde_json::from_str(settings)
        .map_err(|e| StoreError::Corrupt(format!("stored report does not parse: {e}")))?;
    Ok(results.into_iter().map(|r| (r.setting_id, r.state)).collect())
}

async fn switches(conn: &mut SqliteConnection) -> StoreResult<TenantSwitches> {
    let (security_settings_management, enforce_security_configuration): (bool, bool) =
        sqlx::query_as("SELECT security_settings_management, enforce_security_configuration FROM tenant WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    Ok(TenantSwitches { security_settings_management, enforce_security_configuration })
}

/// `SELECT … WHERE column IN (ids)`, chunked, each row through `each`.
async fn select_in(
    conn: &mut SqliteConnection,
    head: &str,
    column: &str,
    ids: &[String],
    mut each: impl FnMut(&sqlx::sqlite::SqliteRow) -> StoreResult<()>,
) -> StoreResult<()> {
    for chunk in ids.chunks(CHUNK) {
        let mut select = QueryBuilder::<Sqlite>::new(format!("{head} WHERE {column} IN ("));
        let mut list = select.separated(", ");
        for id in chunk {
            list.push_bind(id);
        }
        select.push(")");
        for row in select.build().fetch_all(&mut *conn).await? {
            each(&row)?;
        }
    }
    Ok(())
}

/// The groups as targeting needs them; static members only of `devices` when given.
async fn groups(conn: &mut SqliteConnection, devices: Option<&[String]>) -> StoreResult<Vec<SnapshotGroup>> {
    let rows = sqlx::query("SELECT id, kind, rule FROM groups").fetch_all(&mut *conn).await?;
    let mut groups = Vec::with_capacity(rows.len());
    let mut index = HashMap::new();
    for row in &rows {
        let kind = code(row, "kind", GroupKind::from_code)?;
        let id: String = row.try_get("id")?;
        index.insert(id.clone(), groups.len());
        groups.push(SnapshotGroup {
            id,
            name: String::new(),
            rule: if kind == GroupKind::Dynamic { row.try_get("rule")? } else { None },
            members: Vec::new(),
            children: Vec::new(),
        });
    }
    let mut members: Vec<(String, String)> = Vec::new();
    match devices {
        Some(ids) => {
            select_in(conn, "SELECT group_id, device_id FROM group_members", "device_id", ids, |row| {
                members.push((row.try_get("group_id")?, row.try_get("device_id")?));
                Ok(())
            })
            .await?
        }
        None => members = sqlx::query_as("SELECT group_id, device_id FROM group_members").fetch_all(&mut *conn).await?,
    }
    for (group_id, device_id) in members {
        if let Some(&i) = index.get(&group_id) {
            groups[i].members.push(device_id);
        }
    }
    let nesting: Vec<(String, String)> =
        sqlx::query_as("SELECT parent_id, child_id FROM group_nesting ORDER BY child_id").fetch_all(&mut *conn).await?;
    for (parent_id, child_id) in nesting {
        if let Some(&i) = index.get(&parent_id) {
            groups[i].children.push(child_id);
        }
    }
    Ok(groups)
}

/// The policies whose targeting a change of group `group_id` can move: those that include or exclude it or a group it
/// is nested in (at any depth).
pub(super) async fn policies_reaching(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<Vec<String>> {
    let nesting: Vec<(String, String)> =
        sqlx::query_as("SELECT parent_id, child_id FROM group_nesting").fetch_all(&mut *conn).await?;
    // The group and every group above it.
    let mut above = BTreeSet::from([group_id.to_owned()]);
    let mut pending = vec![group_id.to_owned()];
    while let Some(child) = pending.pop() {
        for (parent, _) in nesting.iter().filter(|(_, c)| *c == child) {
            if above.insert(parent.clone()) {
                pending.push(parent.clone());
            }
        }
    }
    let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies")).fetch_all(&mut *conn).await?;
    let mut reaching = Vec::new();
    for row in &rows {
        let policy = policy_from_row(row)?;
        let assignments = &policy.draft.assignments;
        if assignments.included().chain(assignments.excluded()).any(|id| above.contains(id)) {
            reaching.push(policy.id);
        }
    }
    Ok(reaching)
}

/// Rewrites the rows of `scope` from the current devices, groups, policies, switches and reports, and moves the
/// counts by the difference.
pub(super) async fn refresh(conn: &mut SqliteConnection, scope: &Scope) -> StoreResult<()> {
    if matches!(scope, Scope::Policies(ids) | Scope::Devices(ids) if ids.is_empty()) {
        return Ok(());
    }
    let switches = switches(conn).await?;
    let policy_rows = match scope {
        Scope::Policies(ids) => {
            let mut rows = Vec::new();
            select_in(conn, &format!("SELECT {POLICY_COLUMNS} FROM policies"), "id", ids, |row| {
                rows.push(policy_from_row(row)?);
                Ok(())
            })
            .await?;
            rows
        }
        _ => {
            let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies")).fetch_all(&mut *conn).await?;
            rows.iter().map(policy_from_row).collect::<StoreResult<Vec<_>>>()?
        }
    };
    let devices = match scope {
        Scope::Devices(ids) => {
            let mut devices = Vec::new();
            select_in(conn, &format!("SELECT {DEVICE_COLUMNS} FROM devices"), "id", ids, |row| {
                devices.push(device_from_row(row)?);
                Ok(())
            })
            .await?;
            devices
        }
        _ => {
            let rows = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices")).fetch_all(&mut *conn).await?;
            rows.iter().map(device_from_row).collect::<StoreResult<Vec<_>>>()?
        }
    };
    let groups = groups(conn, if let Scope::Devices(ids) = scope { Some(ids) } else { None }).await?;
    let snapshot = Snapshot {
        taken_at: 0,
        switches,
        devices: devices
            .iter()
            .map(|d| SnapshotDevice { id: d.id.clone(), facts: d.facts.clone(), support: d.support })
            .collect(),
        groups,
        policies: Vec::new(),
    };
    let memberships = Memberships::of(&snapshot);

    // What was reported, for the pairs of the scope.
    let mut reported: HashMap<Key, (u64, PolicyState)> = HashMap::new();
    let mut take_report = |row: &sqlx::sqlite::SqliteRow| -> StoreResult<()> {
        let version: i64 = row.try_get("version")?;
        reported.insert(
            (row.try_get("policy_id")?, row.try_get("device_id")?),
            (u64::try_from(version).unwrap_or(0), code(row, "state", PolicyState::from_code)?),
        );
        Ok(())
    };
    const REPORTS: &str = "SELECT policy_id, device_id, version, state FROM device_policy_reports";
    match scope {
        Scope::Policies(ids) => select_in(conn, REPORTS, "policy_id", ids, &mut take_report).await?,
        Scope::Devices(ids) => select_in(conn, REPORTS, "device_id", ids, &mut take_report).await?,
        Scope::All => {
            for row in sqlx::query(REPORTS).fetch_all(&mut *conn).await? {
                take_report(&row)?;
            }
        }
    }

    // What the rows should be.
    let mut desired: HashMap<Key, Pair> = HashMap::new();
    let name_keys: Vec<String> = devices.iter().map(|d| d.facts.hostname.as_str().to_lowercase()).collect();
    for policy in &policy_rows {
        for i in memberships.assigned(&policy.draft) {
            let eligible = memberships.is_eligible(i);
            let key = (policy.id.clone(), devices[i].id.clone());
            let (state, counted) = pair_state(policy.version, eligible, reported.get(&key).copied());
            desired.insert(key, Pair { name_key: name_keys[i].clone(), state, eligible, counted });
        }
    }

    // What they are.
    let mut existing: HashMap<Key, Pair> = HashMap::new();
    let mut take_pair = |row: &sqlx::sqlite::SqliteRow| -> StoreResult<()> {
        existing.insert(
            (row.try_get("policy_id")?, row.try_get("device_id")?),
            Pair {
                name_key: row.try_get("name_key")?,
                state: code(row, "state", PolicyState::from_code)?,
                eligible: row.try_get("eligible")?,
                counted: row.try_get("counted")?,
            },
        );
        Ok(())
    };
    const PAIRS: &str = "SELECT policy_id, device_id, name_key, state, eligible, counted FROM policy_devices";
    match scope {
        Scope::Policies(ids) => select_in(conn, PAIRS, "policy_id", ids, &mut take_pair).await?,
        Scope::Devices(ids) => select_in(conn, PAIRS, "device_id", ids, &mut take_pair).await?,
        Scope::All => {
            for row in sqlx::query(PAIRS).fetch_all(&mut *conn).await? {
                take_pair(&row)?;
            }
        }
    }
    write_difference(conn, existing, desired, scope).await
}

/// Writes the rows that differ and moves the counts by the difference.
async fn write_difference(
    conn: &mut SqliteConnection,
    existing: HashMap<Key, Pair>,
    desired: HashMap<Key, Pair>,
    scope: &Scope,
) -> StoreResult<()> {
    let mut deltas = Deltas::default();
    // A policy refreshed as a whole with no counted pair left starts its tallies again, without reading a report.
    if let Scope::Policies(_) | Scope::All = scope {
        let policies: BTreeSet<&String> = existing.keys().chain(desired.keys()).map(|(p, _)| p).collect();
        let still_counted: BTreeSet<&String> = desired.iter().filter(|(_, p)| p.counted).map(|((p, _), _)| p).collect();
        deltas.reset = policies.difference(&still_counted).map(|p| (*p).clone()).collect();
    }
    let mut removed: Vec<&Key> = Vec::new();
    let mut flipped: Vec<(&Key, i64)> = Vec::new();
    for (key, old) in &existing {
        match desired.get(key) {
            None => {
                deltas.state(&key.0, old.state, -1);
                removed.push(key);
                if old.counted {
                    flipped.push((key, -1));
                }
            }
            Some(new) if new != old => {
                deltas.state(&key.0, old.state, -1);
                deltas.state(&key.0, new.state, 1);
                if old.counted != new.counted {
                    flipped.push((key, if new.counted { 1 } else { -1 }));
                }
            }
            Some(_) => {}
        }
    }
    let mut written: Vec<(&Key, &Pair)> = Vec::new();
    for (key, new) in &desired {
        match existing.get(key) {
            None => {
                deltas.state(&key.0, new.state, 1);
                if new.counted {
                    flipped.push((key, 1));
                }
                written.push((key, new));
            }
            Some(old) if old != new => written.push((key, new)),
            Some(_) => {}
        }
    }
    // The setting results of the pairs that start or stop counting.
    let flipped: Vec<(&Key, i64)> = flipped.into_iter().filter(|((p, _), _)| !deltas.reset.contains(p)).collect();
    for chunk in flipped.chunks(CHUNK) {
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT policy_id, device_id, settings FROM device_policy_reports WHERE (policy_id, device_id) IN (VALUES ",
        );
        let mut list = select.separated(", ");
        for ((policy_id, device_id), _) in chunk {
            list.push("(")
                .push_bind_unseparated(policy_id)
                .push_unseparated(", ")
                .push_bind_unseparated(device_id)
                .push_unseparated(")");
        }
        select.push(")");
        let signs: HashMap<&Key, i64> = chunk.iter().copied().collect();
        for row in select.build().fetch_all(&mut *conn).await? {
            let key: Key = (row.try_get("policy_id")?, row.try_get("device_id")?);
            let settings: String = row.try_get("settings")?;
            if let Some(sign) = signs.get(&key) {
                deltas.results(&key.0, &results_of(&settings)?, *sign);
            }
        }
    }
    removed.sort_unstable();
    for chunk in removed.chunks(CHUNK) {
        let mut delete =
            QueryBuilder::<Sqlite>::new("DELETE FROM policy_devices WHERE (policy_id, device_id) IN (VALUES ");
        let mut list = delete.separated(", ");
        for (policy_id, device_id) in chunk {
            list.push("(")
                .push_bind_unseparated(policy_id)
                .push_unseparated(", ")
                .push_bind_unseparated(device_id)
                .push_unseparated(")");
        }
        delete.push(")");
        delete.build().execute(&mut *conn).await?;
    }
    // In key order: the writes walk the table's pages once instead of hopping.
    written.sort_unstable_by(|a, b| a.0.cmp(b.0));
    write_pairs(conn, &written).await?;
    deltas.write(conn).await
}

async fn write_pairs(conn: &mut SqliteConnection, pairs: &[(&Key, &Pair)]) -> StoreResult<()> {
    for chunk in pairs.chunks(CHUNK) {
        let mut upsert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO policy_devices (policy_id, device_id, name_key, state, eligible, counted) ",
        );
        upsert.push_values(chunk, |mut values, ((policy_id, device_id), pair)| {
            values
                .push_bind(policy_id)
                .push_bind(device_id)
                .push_bind(&pair.name_key)
                .push_bind(pair.state.code())
                .push_bind(pair.eligible)
                .push_bind(pair.counted);
        });
        upsert.push(
            " ON CONFLICT (policy_id, device_id) DO UPDATE SET name_key = excluded.name_key, state = excluded.state, \
             eligible = excluded.eligible, counted = excluded.counted",
        );
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One policy's result in a report, as it is written.
#[derive(Debug)]
pub(super) struct ReportRow {
    pub policy_id: String,
    pub version: u64,
    pub state: PolicyState,
    /// `Vec<SettingResult>` as JSON.
    pub settings: String,
    /// The same results, by setting id.
    pub results: Vec<(String, SettingState)>,
}

/// Moves the aggregates by a batch of reports about to be written (`device id`, result, in the order they arrived),
/// before the reports themselves are. Reports of a policy the device is not targeted by change nothing here.
pub(super) async fn apply_reports(
    conn: &mut SqliteConnection,
    reports: &[(&str, &ReportRow)],
    versions: &HashMap<String, u64>,
) -> StoreResult<()> {
    let mut devices: Vec<String> = reports.iter().map(|(d, _)| (*d).to_owned()).collect();
    devices.sort_unstable();
    devices.dedup();
    let mut pairs: HashMap<Key, Pair> = HashMap::new();
    select_in(
        conn,
        "SELECT policy_id, device_id, name_key, state, eligible, counted FROM policy_devices",
        "device_id",
        &devices,
        |row| {
            pairs.insert(
                (row.try_get("policy_id")?, row.try_get("device_id")?),
                Pair {
                    name_key: row.try_get("name_key")?,
                    state: code(row, "state", PolicyState::from_code)?,
                    eligible: row.try_get("eligible")?,
                    counted: row.try_get("counted")?,
                },
            );
            Ok(())
        },
    )
    .await?;
    // The stored report of each pair that counts now: its results leave the tallies if a new report replaces it.
    let mut stored: HashMap<Key, (u64, String)> = HashMap::new();
    select_in(
        conn,
        "SELECT policy_id, device_id, version, settings FROM device_policy_reports",
        "device_id",
        &devices,
        |row| {
            let version: i64 = row.try_get("version")?;
            stored.insert(
                (row.try_get("policy_id")?, row.try_get("device_id")?),
                (u64::try_from(version).unwrap_or(0), row.try_get("settings")?),
            );
            Ok(())
        },
    )
    .await?;
    let mut deltas = Deltas::default();
    let mut changed: BTreeSet<Key> = BTreeSet::new();
    for (device_id, report) in reports {
        let key = (report.policy_id.clone(), (*device_id).to_owned());
        let old_report = stored.get(&key);
        if old_report.is_some_and(|(version, _)| *version > report.version) {
            continue; // An older report arriving late is not written.
        }
        let Some(current) = versions.get(&report.policy_id) else { continue };
        if let Some(pair) = pairs.get_mut(&key) {
            let (state, counted) = pair_state(*current, pair.eligible, Some((report.version, report.state)));
            let same_results = old_report.is_some_and(|(_, settings)| *settings == report.settings);
            if pair.counted
                && !(counted && same_results)
                && let Some((_, settings)) = old_report
            {
                deltas.results(&report.policy_id, &results_of(settings)?, -1);
            }
            if counted && !(pair.counted && same_results) {
                deltas.results(&report.policy_id, &report.results, 1);
            }
            if state != pair.state || counted != pair.counted {
                deltas.state(&report.policy_id, pair.state, -1);
                deltas.state(&report.policy_id, state, 1);
                pair.state = state;
                pair.counted = counted;
                changed.insert(key.clone());
            }
        }
        stored.insert(key, (report.version, report.settings.clone()));
    }
    let written: Vec<(&Key, &Pair)> = changed.iter().filter_map(|key| pairs.get_key_value(key)).collect();
    write_pairs(conn, &written).await?;
    deltas.write(conn).await
}

/// Takes devices about to be deleted out of the aggregates (their rows would go by cascade, but not their counts).
pub(super) async fn forget_devices(conn: &mut SqliteConnection, ids: &[String]) -> StoreResult<()> {
    let mut existing: HashMap<Key, Pair> = HashMap::new();
    select_in(
        conn,
        "SELECT policy_id, device_id, name_key, state, eligible, counted FROM policy_devices",
        "device_id",
        ids,
        |row| {
            existing.insert(
                (row.try_get("policy_id")?, row.try_get("device_id")?),
                Pair {
                    name_key: row.try_get("name_key")?,
                    state: code(row, "state", PolicyState::from_code)?,
                    eligible: row.try_get("eligible")?,
                    counted: row.try_get("counted")?,
                },
            );
            Ok(())
        },
    )
    .await?;
    write_difference(conn, existing, HashMap::new(), &Scope::Devices(ids.to_vec())).await
}

/// A policy saved as a new version with the same assignments: no device has reported that version yet, so each of its
/// rows becomes Pending (Not applicable where the device is not eligible), its counts are recounted from its rows (an
/// index walk), and its setting tallies start again — without resolving the fleet.
pub(super) async fn new_version(conn: &mut SqliteConnection, policy_id: &str) -> StoreResult<()> {
    let (pending, not_applicable) = (PolicyState::Pending.code(), PolicyState::NotApplicable.code());
    sqlx::query(&format!(
        "UPDATE policy_devices SET state = CASE WHEN eligible THEN '{pending}' ELSE '{not_applicable}' END, counted = 0 \
         WHERE policy_id = ? AND (counted OR state <> CASE WHEN eligible THEN '{pending}' ELSE '{not_applicable}' END)"
    ))
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM policy_devices WHERE policy_id = ? GROUP BY state")
            .bind(policy_id)
            .fetch_all(&mut *conn)
            .await?;
    let count = |state: PolicyState| counts.iter().find(|(code, _)| code == state.code()).map_or(0, |(_, n)| *n);
    let columns: Vec<&str> = PolicyState::ALL.iter().map(|s| s.code()).collect();
    let mut upsert =
        QueryBuilder::<Sqlite>::new(format!("INSERT INTO policy_status_counts (policy_id, {}) ", columns.join(", ")));
    upsert.push_values([policy_id], |mut values, policy_id| {
        values.push_bind(policy_id);
        for state in PolicyState::ALL {
            values.push_bind(count(*state));
        }
    });
    let set: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    upsert.push(format!(" ON CONFLICT (policy_id) DO UPDATE SET {}", set.join(", ")));
    upsert.build().execute(&mut *conn).await?;
    sqlx::query("DELETE FROM policy_setting_counts WHERE policy_id = ?").bind(policy_id).execute(&mut *conn).await?;
    Ok(())
}
