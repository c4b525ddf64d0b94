//! The report aggregates, maintained inside the transaction of each change that moves them.
//!
//! Three tables hold them (migration 0007): `policy_devices`, one row per policy and device it targets with the
//! device's own eligibility (its support: the tenant switches apply when read) and what it last reported of the
//! policy (version and state); `policy_status_counts`, per policy its eligible and ineligible devices and, among the
//! eligible, those whose report of the *current* version is in each state, and its targeted devices by their last
//! check-in relative to the policy's last change; `policy_setting_counts`, per policy and setting the counted results
//! by state. A policy's state on a device is derived (`shared::report::targeted_state`), never stored, so a new
//! version of a policy moves no device row: it only zeroes the counts of the current version. Targeting is resolved with
//! `shared::preview::Memberships`, the code the preview and the check-in use, but only over what the change can
//! move: the devices of a report batch or an onboarding, the policies a group change reaches, one edited policy.
//! [`refresh`] rewrites the rows of such a scope and moves the counts by the difference; [`apply_reports`] does the
//! same for a batch of reports, [`record_check_ins`] for a batch of check-ins.

use std::collections::{BTreeSet, HashMap, HashSet};

use shared::groups::GroupKind;
use shared::preview::{Memberships, Snapshot, SnapshotDevice, SnapshotGroup};
use shared::report::{PolicyState, SettingResult, SettingState, SettingTally};
use shared::tenant::TenantSwitches;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::code;
use super::rows::{DEVICE_COLUMNS, POLICY_COLUMNS, device_from_row, policy_from_row};
use crate::store::{StoreError, StoreResult};

/// Rows per multi-row statement (SQLite allows 32,766 bound values).
pub(super) const CHUNK: usize = 400;

/// What a change can move.
#[derive(Debug, Clone)]
pub(super) enum Scope {
    /// These policies on every device (a policy created or given new assignments, a group that reaches it changed).
    Policies(Vec<String>),
    /// These devices under every policy (onboarded, deleted, added to or removed from a group).
    Devices(Vec<String>),
    /// Everything (the tables are built for the first time).
    All,
}

impl Scope {
    /// The pairs of the scope, as a filter for [`select_where`] (none: every pair).
    fn pairs(&self) -> Option<(&'static str, &[String])> {
        match self {
            Self::Policies(ids) => Some(("policy_id", ids)),
            Self::Devices(ids) => Some(("device_id", ids)),
            Self::All => None,
        }
    }
}

/// A policy on one device it targets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    name_key: String,
    eligible: bool,
    /// The version the device last reported, and the policy's state in that report.
    reported: Option<(u64, PolicyState)>,
    /// The hash of that report's setting results ([`results_hash`]), when known.
    reported_hash: Option<i64>,
}

/// (policy id, device id).
type Key = (String, String);

/// The columns of `policy_status_counts`, in [`Contribution`] order.
pub(super) const COUNT_COLUMNS: [&str; 8] =
    ["eligible", "ineligible", "succeeded", "error", "conflict", "not_applicable", "never", "since_change"];

/// What one pair adds to its policy's counts (see [`COUNT_COLUMNS`]).
type Contribution = [i64; 8];

impl Pair {
    /// Its part of the counts while the policy is at `current_version`, and whether its report's setting results count
    /// in the per setting status.
    fn contribution(&self, current_version: u64) -> (Contribution, bool) {
        let mut counts = [0; 8];
        if !self.eligible {
            counts[1] = 1;
            return (counts, false);
        }
        counts[0] = 1;
        match self.reported {
            Some((version, state)) if version == current_version => {
                let slot = match state {
                    PolicyState::Succeeded => Some(2),
                    PolicyState::Error => Some(3),
                    PolicyState::Conflict => Some(4),
                    PolicyState::NotApplicable => Some(5),
                    PolicyState::Pending => None,
                };
                if let Some(slot) = slot {
                    counts[slot] = 1;
                }
                (counts, state != PolicyState::NotApplicable)
            }
            _ => (counts, false),
        }
    }
}

/// A device's part of the check-in counts of a policy last changed at `changed_at`
/// (`shared::report::checked_in_since_change`).
fn check_in_class(last_check_in: Option<i64>, changed_at: i64) -> Contribution {
    let mut counts = [0; 8];
    match shared::report::checked_in_since_change(last_check_in, changed_at) {
        None => counts[6] = 1,
        Some(true) => counts[7] = 1,
        Some(false) => {}
    }
    counts
}

/// A policy's devices by their last check-in, from its `policy_status_counts` row.
pub(super) fn check_in_counts(row: &Contribution) -> shared::api::CheckInCounts {
    let n = |i: usize| u64::try_from(row[i]).unwrap_or(0);
    shared::api::CheckInCounts {
        never: n(6),
        since_change: n(7),
        before_change: (n(0) + n(1)).saturating_sub(n(6) + n(7)),
    }
}

/// A policy's counts as the admin center shows them, from its `policy_status_counts` row, with both tenant switches on
/// (`switched_on`) or not (then no device can receive a policy: every one is Not applicable).
pub(super) fn status_counts(row: &Contribution, switched_on: bool) -> shared::report::StatusCounts {
    let n = |i: usize| u64::try_from(row[i]).unwrap_or(0);
    if !switched_on {
        return shared::report::StatusCounts { not_applicable: n(0) + n(1), ..Default::default() };
    }
    let reported = n(2) + n(3) + n(4) + n(5);
    shared::report::StatusCounts {
        succeeded: n(2),
        error: n(3),
        conflict: n(4),
        not_applicable: n(1) + n(5),
        pending: n(0).saturating_sub(reported),
    }
}

/// Count changes, applied at the end of the transaction.
#[derive(Debug, Default)]
struct Deltas {
    status: HashMap<String, Contribution>,
    settings: HashMap<Key, SettingTally>,
    /// Policies whose setting tallies start again from nothing (no report of theirs counts any more).
    reset: HashSet<String>,
}

impl Deltas {
    /// Moves `policy_id`'s counts from a pair's `old` contribution to its `new` one (either may be absent: a pair that
    /// starts or ends), and tells how its results move in the tallies: +1 they start counting, -1 they stop, 0 neither.
    fn pair(&mut self, policy_id: &str, old: Option<(Contribution, bool)>, new: Option<(Contribution, bool)>) -> i64 {
        let (old_counts, old_counted) = old.unwrap_or(([0; 8], false));
        let (new_counts, new_counted) = new.unwrap_or(([0; 8], false));
        if old_counts != new_counts {
            let entry = self.status.entry(policy_id.to_owned()).or_default();
            for i in 0..8 {
                entry[i] += new_counts[i] - old_counts[i];
            }
        }
        i64::from(new_counted) - i64::from(old_counted)
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
        let status: Vec<(String, Contribution)> =
            self.status.into_iter().filter(|(_, d)| d.iter().any(|n| *n != 0)).collect();
        for chunk in status.chunks(CHUNK) {
            let mut upsert = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO policy_status_counts (policy_id, {}) ",
                COUNT_COLUMNS.join(", ")
            ));
            upsert.push_values(chunk, |mut values, (policy_id, delta)| {
                values.push_bind(policy_id);
                for n in delta {
                    values.push_bind(*n);
                }
            });
            let sums: Vec<String> = COUNT_COLUMNS.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
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
fn results_of(settings: &str) -> StoreResult<Vec<(String, SettingState)>> {
    let results: Vec<SettingResult> = serde_json::from_str(settings)
        .map_err(|e| StoreError::Corrupt(format!("stored report does not parse: {e}")))?;
    Ok(results.into_iter().map(|r| (r.setting_id, r.state)).collect())
}

/// The switches targeting is resolved with here: both on, so that a pair's eligibility is the device's own support.
/// The tenant's switches apply when the aggregates are read (`shared::eligibility::eligibility`), so turning one off
/// or on rewrites nothing.
const SUPPORT_ONLY: TenantSwitches =
    TenantSwitches { security_settings_management: true, enforce_security_configuration: true };

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

/// The rows of `head`, every one or (`Some((column, ids))`) those whose `column` is one of `ids`, each through `each`.
async fn select_where(
    conn: &mut SqliteConnection,
    head: &str,
    filter: Option<(&str, &[String])>,
    mut each: impl FnMut(&sqlx::sqlite::SqliteRow) -> StoreResult<()>,
) -> StoreResult<()> {
    match filter {
        Some((column, ids)) => select_in(conn, head, column, ids, each).await,
        None => {
            for row in sqlx::query(head).fetch_all(&mut *conn).await? {
                each(&row)?;
            }
            Ok(())
        }
    }
}

/// The rows [`select_where`] selects, each parsed with `parse`.
async fn select_parsed<T>(
    conn: &mut SqliteConnection,
    head: &str,
    filter: Option<(&str, &[String])>,
    parse: fn(&sqlx::sqlite::SqliteRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut parsed = Vec::new();
    select_where(conn, head, filter, |row| {
        parsed.push(parse(row)?);
        Ok(())
    })
    .await?;
    Ok(parsed)
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

/// Refreshes the policies a change of group `group_id` can move ([`policies_reaching`]), after the change.
pub(super) async fn refresh_reaching(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<()> {
    let reaching = policies_reaching(conn, group_id).await?;
    refresh(conn, &Scope::Policies(reaching)).await
}

/// Rewrites the rows of `scope` from the current devices, groups, policies and reports, and moves the
/// counts by the difference.
pub(super) async fn refresh(conn: &mut SqliteConnection, scope: &Scope) -> StoreResult<()> {
    if matches!(scope, Scope::Policies(ids) | Scope::Devices(ids) if ids.is_empty()) {
        return Ok(());
    }
    if let Scope::Policies(_) | Scope::All = scope {
        targeting_changed(conn).await?;
    }
    let only_policies = if let Scope::Policies(ids) = scope { Some(("id", ids.as_slice())) } else { None };
    let policy_rows =
        select_parsed(conn, &format!("SELECT {POLICY_COLUMNS} FROM policies"), only_policies, policy_from_row).await?;
    let only_devices = if let Scope::Devices(ids) = scope { Some(("id", ids.as_slice())) } else { None };
    let devices =
        select_parsed(conn, &format!("SELECT {DEVICE_COLUMNS} FROM devices"), only_devices, device_from_row).await?;
    let groups = groups(conn, if let Scope::Devices(ids) = scope { Some(ids) } else { None }).await?;
    let snapshot = Snapshot {
        generation: 0,
        taken_at: 0,
        switches: SUPPORT_ONLY,
        devices: devices
            .iter()
            .map(|d| SnapshotDevice { id: d.id.clone(), facts: d.facts.clone(), support: d.support })
            .collect(),
        groups,
        policies: Vec::new(),
    };
    let memberships = Memberships::of(&snapshot);
    let targeting = Resolved {
        policies: policy_rows.iter().map(|p| (p.id.clone(), (p.version, p.updated_at))).collect(),
        check_ins: devices.iter().map(|d| (d.id.clone(), d.last_check_in)).collect(),
        name_keys: devices.iter().map(|d| d.facts.hostname.as_str().to_lowercase()).collect(),
        memberships,
        devices: &devices,
    };
    match scope {
        Scope::Devices(_) => rewrite(conn, &targeting, &policy_rows, scope).await,
        // A policy at a time: what is held in memory is one policy's rows, whatever the fleet.
        Scope::Policies(_) | Scope::All => {
            for policy in &policy_rows {
                let one = Scope::Policies(vec![policy.id.clone()]);
                rewrite(conn, &targeting, std::slice::from_ref(policy), &one).await?;
            }
            Ok(())
        }
    }
}

/// The targeting of a refresh, resolved once for all its policies.
struct Resolved<'a> {
    policies: Policies,
    check_ins: CheckIns,
    name_keys: Vec<String>,
    memberships: Memberships,
    devices: &'a [crate::store::DeviceRecord],
}

/// Rewrites the rows of `scope` for `policies` (all the scope's policies) and moves the counts by the difference.
async fn rewrite(
    conn: &mut SqliteConnection,
    targeting: &Resolved<'_>,
    policies: &[shared::policy::Policy],
    scope: &Scope,
) -> StoreResult<()> {
    // What was reported, for the pairs of the scope.
    let mut reported: HashMap<Key, ((u64, PolicyState), Option<i64>)> = HashMap::new();
    let mut take_report = |row: &sqlx::sqlite::SqliteRow| -> StoreResult<()> {
        let version: i64 = row.try_get("version")?;
        reported.insert(
            (row.try_get("policy_id")?, row.try_get("device_id")?),
            (
                (u64::try_from(version).unwrap_or(0), code(row, "state", PolicyState::from_code)?),
                row.try_get("results_hash")?,
            ),
        );
        Ok(())
    };
    const REPORTS: &str = "SELECT policy_id, device_id, version, state, results_hash FROM device_policy_reports";
    select_where(conn, REPORTS, scope.pairs(), &mut take_report).await?;

    // What the rows should be.
    let mut desired: HashMap<Key, Pair> = HashMap::new();
    for policy in policies {
        for i in targeting.memberships.assigned(&policy.draft) {
            let key = (policy.id.clone(), targeting.devices[i].id.clone());
            let (reported, reported_hash) = reported.get(&key).copied().unzip();
            let pair = Pair {
                name_key: targeting.name_keys[i].clone(),
                eligible: targeting.memberships.is_eligible(i),
                reported,
                reported_hash: reported_hash.flatten(),
            };
            desired.insert(key, pair);
        }
    }

    // What they are.
    let mut existing: HashMap<Key, Pair> = HashMap::new();
    select_where(conn, PAIRS, scope.pairs(), |row| {
        let (key, pair) = pair_from_row(row)?;
        existing.insert(key, pair);
        Ok(())
    })
    .await?;
    write_difference(conn, existing, desired, &targeting.policies, &targeting.check_ins, scope).await
}

const PAIRS: &str = "SELECT policy_id, device_id, name_key, eligible, reported_version, reported_state, reported_hash \
    FROM policy_devices";

fn pair_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<(Key, Pair)> {
    let version: Option<i64> = row.try_get("reported_version")?;
    let state: Option<String> = row.try_get("reported_state")?;
    let reported = match (version, state) {
        (Some(version), Some(state)) => Some((
            u64::try_from(version).unwrap_or(0),
            PolicyState::from_code(&state).ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
        )),
        _ => None,
    };
    Ok((
        (row.try_get("policy_id")?, row.try_get("device_id")?),
        Pair {
            name_key: row.try_get("name_key")?,
            eligible: row.try_get("eligible")?,
            reported,
            reported_hash: row.try_get("reported_hash")?,
        },
    ))
}

/// Per policy id, its current version and when it last changed.
type Policies = HashMap<String, (u64, i64)>;
/// Per device id, its last check-in as stored.
type CheckIns = HashMap<String, Option<i64>>;

/// Writes the rows that differ and moves the counts by the difference (pairs of a policy not in `policies` are
/// going with their policy and move nothing).
async fn write_difference(
    conn: &mut SqliteConnection,
    existing: HashMap<Key, Pair>,
    desired: HashMap<Key, Pair>,
    policies: &Policies,
    check_ins: &CheckIns,
    scope: &Scope,
) -> StoreResult<()> {
    let mut deltas = Deltas::default();
    let contribution = |key: &Key, pair: &Pair| {
        policies.get(&key.0).map(|(version, changed_at)| {
            let (mut counts, counted) = pair.contribution(*version);
            let class = check_in_class(check_ins.get(&key.1).copied().flatten(), *changed_at);
            counts.iter_mut().zip(class).for_each(|(n, c)| *n += c);
            (counts, counted)
        })
    };
    // A policy refreshed as a whole with no counted pair left starts its tallies again, without reading a report.
    if let Scope::Policies(_) | Scope::All = scope {
        let policies: BTreeSet<&String> = existing.keys().chain(desired.keys()).map(|(p, _)| p).collect();
        let still_counted: BTreeSet<&String> = desired
            .iter()
            .filter(|(key, pair)| contribution(key, pair).is_some_and(|(_, counted)| counted))
            .map(|((p, _), _)| p)
            .collect();
        deltas.reset = policies.difference(&still_counted).map(|p| (*p).clone()).collect();
    }
    let mut removed: Vec<&Key> = Vec::new();
    let mut flipped: Vec<(&Key, i64)> = Vec::new();
    let mut written: Vec<(&Key, &Pair)> = Vec::new();
    for (key, old) in &existing {
        let new = desired.get(key);
        if new == Some(old) {
            continue;
        }
        let sign = deltas.pair(&key.0, contribution(key, old), new.and_then(|new| contribution(key, new)));
        if sign != 0 {
            flipped.push((key, sign));
        }
        match new {
            None => removed.push(key),
            Some(new) => written.push((key, new)),
        }
    }
    for (key, new) in &desired {
        if !existing.contains_key(key) {
            let sign = deltas.pair(&key.0, None, contribution(key, new));
            if sign != 0 {
                flipped.push((key, sign));
            }
            written.push((key, new));
        }
    }
    // The setting results of the pairs that start or stop counting.
    let flipped: Vec<(&Key, i64)> = flipped.into_iter().filter(|((p, _), _)| !deltas.reset.contains(p)).collect();
    let keys: Vec<&Key> = flipped.iter().map(|(key, _)| *key).collect();
    let results = stored_results(conn, &keys).await?;
    for (key, sign) in &flipped {
        if let Some(results) = results.get(*key) {
            deltas.results(&key.0, results, *sign);
        }
    }
    removed.sort_unstable_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    for chunk in removed.chunks(CHUNK) {
        let mut delete =
            QueryBuilder::<Sqlite>::new("DELETE FROM policy_devices WHERE (device_id, policy_id) IN (VALUES ");
        push_keys(&mut delete, chunk.iter().copied());
        delete.build().execute(&mut *conn).await?;
    }
    write_pairs(conn, written).await?;
    deltas.write(conn).await
}

/// Closes a `… WHERE (device_id, policy_id) IN (VALUES ` list with these pairs (device first, as the tables are
/// keyed).
fn push_keys<'k>(builder: &mut QueryBuilder<'_, Sqlite>, keys: impl IntoIterator<Item = &'k Key>) {
    let mut list = builder.separated(", ");
    for (policy_id, device_id) in keys {
        list.push("(")
            .push_bind_unseparated(device_id.clone())
            .push_unseparated(", ")
            .push_bind_unseparated(policy_id.clone())
            .push_unseparated(")");
    }
    builder.push(")");
}

/// The setting results of the stored reports of these pairs.
async fn stored_results(
    conn: &mut SqliteConnection,
    keys: &[&Key],
) -> StoreResult<HashMap<Key, Vec<(String, SettingState)>>> {
    let mut results = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT policy_id, device_id, settings FROM report_results WHERE (device_id, policy_id) IN (VALUES ",
        );
        push_keys(&mut select, chunk.iter().copied());
        for row in select.build().fetch_all(&mut *conn).await? {
            let settings: String = row.try_get("settings")?;
            results.insert((row.try_get("policy_id")?, row.try_get("device_id")?), results_of(&settings)?);
        }
    }
    Ok(results)
}

/// Upserts pairs, in the table's key order (device, then policy): the writes walk its pages once instead of hopping.
async fn write_pairs(conn: &mut SqliteConnection, mut pairs: Vec<(&Key, &Pair)>) -> StoreResult<()> {
    pairs.sort_unstable_by(|a, b| (&a.0.1, &a.0.0).cmp(&(&b.0.1, &b.0.0)));
    for chunk in pairs.chunks(CHUNK) {
        let mut upsert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO policy_devices (device_id, policy_id, name_key, eligible, reported_version, reported_state, \
             reported_hash) ",
        );
        upsert.push_values(chunk, |mut values, ((policy_id, device_id), pair)| {
            values
                .push_bind(device_id)
                .push_bind(policy_id)
                .push_bind(&pair.name_key)
                .push_bind(pair.eligible)
                .push_bind(pair.reported.map(|(version, _)| i64::try_from(version).unwrap_or(i64::MAX)))
                .push_bind(pair.reported.map(|(_, state)| state.code()))
                .push_bind(pair.reported_hash);
        });
        upsert.push(
            " ON CONFLICT (device_id, policy_id) DO UPDATE SET name_key = excluded.name_key, \
             eligible = excluded.eligible, reported_version = excluded.reported_version, \
             reported_state = excluded.reported_state, reported_hash = excluded.reported_hash",
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
    /// [`results_hash`] of `settings`.
    pub hash: i64,
}

/// The hash the aggregates tell repeated setting results by: the first 8 bytes of the SHA-256 of their JSON.
pub(super) fn results_hash(settings: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(settings.as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
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
    select_in(conn, PAIRS, "device_id", &devices, |row| {
        let (key, pair) = pair_from_row(row)?;
        pairs.insert(key, pair);
        Ok(())
    })
    .await?;
    // The results of a counted pair that a report with other results replaces leave the tallies: those are read
    // back (a report repeating its results, known by their hash, reads nothing).
    let mut wanted: BTreeSet<Key> = BTreeSet::new();
    for (device_id, report) in reports {
        let key = (report.policy_id.clone(), (*device_id).to_owned());
        let Some(current) = versions.get(&report.policy_id) else { continue };
        if let Some(pair) = pairs.get(&key)
            && pair.contribution(*current).1
            && pair.reported_hash != Some(report.hash)
        {
            wanted.insert(key);
        }
    }
    let wanted: Vec<&Key> = wanted.iter().collect();
    let mut stored = stored_results(conn, &wanted).await?;
    let mut deltas = Deltas::default();
    let mut changed: BTreeSet<Key> = BTreeSet::new();
    for (device_id, report) in reports {
        let key = (report.policy_id.clone(), (*device_id).to_owned());
        let Some(current) = versions.get(&report.policy_id) else { continue };
        let Some(pair) = pairs.get_mut(&key) else { continue };
        if pair.reported.is_some_and(|(version, _)| version > report.version) {
            continue; // An older report arriving late is not written.
        }
        let old = pair.contribution(*current);
        let new_pair =
            Pair { reported: Some((report.version, report.state)), reported_hash: Some(report.hash), ..pair.clone() };
        let new = new_pair.contribution(*current);
        let same_results = pair.reported_hash == Some(report.hash);
        deltas.pair(&report.policy_id, Some(old), Some(new));
        if old.1 && !(new.1 && same_results) {
            let old_results = stored.get(&key).ok_or_else(|| {
                StoreError::Corrupt(format!("the counted report of {} on {} is missing", key.0, key.1))
            })?;
            deltas.results(&report.policy_id, old_results, -1);
        }
        if new.1 && !(old.1 && same_results) {
            deltas.results(&report.policy_id, &report.results, 1);
        }
        // A later report of the same pair in this batch replaces this one.
        stored.insert(key.clone(), report.results.clone());
        if new_pair != *pair {
            *pair = new_pair;
            changed.insert(key);
        }
    }
    let written: Vec<(&Key, &Pair)> = changed.iter().filter_map(|key| pairs.get_key_value(key)).collect();
    write_pairs(conn, written).await?;
    deltas.write(conn).await
}

/// Takes devices about to be deleted out of the aggregates (their rows would go by cascade, but not their counts).
pub(super) async fn forget_devices(conn: &mut SqliteConnection, ids: &[String]) -> StoreResult<()> {
    let mut existing: HashMap<Key, Pair> = HashMap::new();
    select_in(conn, PAIRS, "device_id", ids, |row| {
        let (key, pair) = pair_from_row(row)?;
        existing.insert(key, pair);
        Ok(())
    })
    .await?;
    let policies: Policies = sqlx::query_as::<_, (String, i64, i64)>("SELECT id, version, updated_at FROM policies")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id, version, updated_at)| (id, (u64::try_from(version).unwrap_or(0), updated_at)))
        .collect();
    let mut check_ins = CheckIns::new();
    select_in(conn, "SELECT id, last_check_in FROM devices", "id", ids, |row| {
        check_ins.insert(row.try_get("id")?, row.try_get("last_check_in")?);
        Ok(())
    })
    .await?;
    write_difference(conn, existing, HashMap::new(), &policies, &check_ins, &Scope::Devices(ids.to_vec())).await
}

/// A policy saved as a new version: no device has reported that version yet, so none of its devices counts as
/// reported any more and no result counts in its per setting status. Call it in the transaction that writes the
/// version, before any [`refresh`] of the policy; it moves no device row.
pub(super) async fn new_version(conn: &mut SqliteConnection, policy_id: &str) -> StoreResult<()> {
    targeting_changed(conn).await?;
    // The check-ins since the change: none but those of the change's own second (a scan of the policy's rows).
    sqlx::query(
        "UPDATE policy_status_counts SET succeeded = 0, error = 0, conflict = 0, not_applicable = 0, \
         since_change = (SELECT COUNT(*) FROM policy_devices s JOIN devices d ON d.id = s.device_id \
           JOIN policies p ON p.id = s.policy_id WHERE s.policy_id = ?1 AND d.last_check_in >= p.updated_at) \
         WHERE policy_id = ?1",
    )
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM policy_setting_counts WHERE policy_id = ?").bind(policy_id).execute(&mut *conn).await?;
    Ok(())
}

/// Moves the check-in counts by a batch of check-ins about to be written (device id, time), before they are: a
/// device moves from never or before a policy's change to since it, for each policy changed between its stored last
/// check-in and this one. Only devices whose stored check-in is older than some policy's last change are looked at,
/// so in a steady fleet this reads one row per device and nothing more.
pub(super) async fn record_check_ins(conn: &mut SqliteConnection, batch: &[(&str, i64)]) -> StoreResult<()> {
    let ids: Vec<String> = batch.iter().map(|(id, _)| (*id).to_owned()).collect();
    let mut stored = CheckIns::new();
    select_in(conn, "SELECT id, last_check_in FROM devices", "id", &ids, |row| {
        stored.insert(row.try_get("id")?, row.try_get("last_check_in")?);
        Ok(())
    })
    .await?;
    let latest_change: Option<i64> =
        sqlx::query_scalar("SELECT MAX(updated_at) FROM policies").fetch_one(&mut *conn).await?;
    let Some(latest_change) = latest_change else { return Ok(()) };
    // (stored, new) per device whose class under some policy can move.
    let mut moving: HashMap<String, (Option<i64>, i64)> = HashMap::new();
    for (id, at) in batch {
        let Some(old) = stored.get(*id).copied() else { continue };
        let new = old.map_or(*at, |old| old.max(*at));
        if old.is_none_or(|old| old <= latest_change && old < new) {
            let entry = moving.entry((*id).to_owned()).or_insert((old, new));
            entry.1 = entry.1.max(new);
        }
    }
    if moving.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = moving.keys().cloned().collect();
    let mut deltas = Deltas::default();
    select_in(
        conn,
        "SELECT s.device_id, s.policy_id, p.updated_at FROM policy_devices s JOIN policies p ON p.id = s.policy_id",
        "s.device_id",
        &ids,
        |row| {
            let (device_id, policy_id): (String, String) = (row.try_get("device_id")?, row.try_get("policy_id")?);
            let changed_at: i64 = row.try_get("updated_at")?;
            if let Some((old, new)) = moving.get(&device_id) {
                let (old, new) = (check_in_class(*old, changed_at), check_in_class(Some(*new), changed_at));
                deltas.pair(&policy_id, Some((old, false)), Some((new, false)));
            }
            Ok(())
        },
    )
    .await?;
    deltas.write(conn).await
}

/// Records that what decides a policy's devices changed (see [`TargetingCache`]).
pub(super) async fn targeting_changed(conn: &mut SqliteConnection) -> StoreResult<()> {
    sqlx::query("UPDATE targeting_generation SET generation = generation + 1 WHERE id = 1").execute(&mut *conn).await?;
    Ok(())
}

/// What decides a new device's policies, but its own facts: every policy, every group's rule and
/// nesting (a new device is in no static group yet).
#[derive(Debug)]
struct Targeting {
    policies: Vec<shared::policy::Policy>,
    groups: Vec<SnapshotGroup>,
}

/// The writer's copy of [`Targeting`], kept while `targeting_generation` has not moved: every transaction that
/// changes policies or the groups they reach moves it ([`refresh`] of policies, [`new_version`], a
/// policy's deletion), and only onboardings, which change none of them, fill it — from inside their own transaction,
/// so what they cache is what was committed at the generation they read.
#[derive(Debug, Default)]
pub(super) struct TargetingCache(std::sync::Mutex<Option<(i64, std::sync::Arc<Targeting>)>>);

impl TargetingCache {
    async fn get(&self, conn: &mut SqliteConnection) -> StoreResult<std::sync::Arc<Targeting>> {
        let generation: i64 = sqlx::query_scalar("SELECT generation FROM targeting_generation WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        if let Some((cached, targeting)) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
            && *cached == generation
        {
            return Ok(std::sync::Arc::clone(targeting));
        }
        let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies")).fetch_all(&mut *conn).await?;
        let targeting = std::sync::Arc::new(Targeting {
            policies: rows.iter().map(policy_from_row).collect::<StoreResult<Vec<_>>>()?,
            groups: groups(conn, Some(&[])).await?,
        });
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((generation, std::sync::Arc::clone(&targeting)));
        Ok(targeting)
    }
}

/// Adds a device onboarded for the first time: it has no report and no static membership yet, so only its own facts
/// and the cached [`Targeting`] decide its rows.
pub(super) async fn add_new_device(
    conn: &mut SqliteConnection,
    cache: &TargetingCache,
    device: SnapshotDevice,
) -> StoreResult<()> {
    let targeting = cache.get(conn).await?;
    let name_key = device.facts.hostname.as_str().to_lowercase();
    let device_id = device.id.clone();
    let snapshot = Snapshot {
        generation: 0,
        taken_at: 0,
        switches: SUPPORT_ONLY,
        devices: vec![device],
        groups: targeting.groups.clone(),
        policies: Vec::new(),
    };
    let memberships = Memberships::of(&snapshot);
    let eligible = memberships.is_eligible(0);
    let desired: HashMap<Key, Pair> = targeting
        .policies
        .iter()
        .filter(|policy| !memberships.assigned(&policy.draft).is_empty())
        .map(|policy| {
            let pair = Pair { name_key: name_key.clone(), eligible, reported: None, reported_hash: None };
            ((policy.id.clone(), device_id.clone()), pair)
        })
        .collect();
    let policies: Policies = targeting.policies.iter().map(|p| (p.id.clone(), (p.version, p.updated_at))).collect();
    let check_ins = CheckIns::from([(device_id.clone(), None)]);
    write_difference(conn, HashMap::new(), desired, &policies, &check_ins, &Scope::Devices(vec![device_id])).await
}
