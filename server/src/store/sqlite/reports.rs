//! Reports in SQLite: the group commit's writes, and the report views read from the aggregates.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use shared::api::UnixSeconds;
use shared::api::{CheckInCounts, PolicyDeviceRow, SettingDeviceRow};
use shared::device::{Edition, OsProduct};
use shared::query::{ReportQuery, ReportSort, SettingQuery, SortDir};
use shared::report::{DeviceReport, PolicyState, SettingTally, StatusCounts};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::aggregates::{self, ReportRow};
use super::{SqliteStore, code, to_i64, to_u64};
use crate::store::{ReportPosition, ReportStore, StoreError, StoreResult, StoredPolicyReport};

/// One device's report, ready to write: a row per policy, the preferences JSON.
#[derive(Debug)]
pub(super) struct PendingReport {
    device_id: String,
    policies: Vec<ReportRow>,
    preferences: String,
    now: UnixSeconds,
}

impl SqliteStore {
    pub(super) async fn write_reports(&self, batch: &[PendingReport]) -> StoreResult<()> {
        // Multi-row statements: the writer connection runs one statement per chunk instead of one per row.
        const ROWS: usize = 400;
        let mut tx = self.write.begin().await?;
        // A device deleted (or a policy deleted) after its report was checked: that report is moot, and must not
        // fail the others of the batch on a foreign key.
        let mut devices: Vec<&str> = batch.iter().map(|row| row.device_id.as_str()).collect();
        devices.sort_unstable();
        devices.dedup();
        let mut existing_devices = std::collections::HashSet::new();
        for chunk in devices.chunks(ROWS) {
            let mut select = QueryBuilder::<Sqlite>::new("SELECT id FROM devices WHERE id IN (");
            let mut list = select.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            select.push(")");
            existing_devices.extend(select.build_query_scalar::<String>().fetch_all(&mut *tx).await?);
        }
        let versions: HashMap<String, u64> = sqlx::query_as::<_, (String, i64)>("SELECT id, version FROM policies")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id, version)| (id, to_u64(version)))
            .collect();
        let batch: Vec<&PendingReport> = batch.iter().filter(|row| existing_devices.contains(&row.device_id)).collect();
        let results: Vec<(&PendingReport, &ReportRow)> = batch
            .iter()
            .flat_map(|row| row.policies.iter().map(move |policy| (*row, policy)))
            .filter(|(_, policy)| versions.contains_key(&policy.policy_id))
            .collect();
        let by_device: Vec<(&str, &ReportRow)> =
            results.iter().map(|(row, policy)| (row.device_id.as_str(), *policy)).collect();
        aggregates::apply_reports(&mut tx, &by_device, &versions).await?;
        for chunk in results.chunks(ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO device_policy_reports (device_id, policy_id, version, state, reported_at, results_hash) ",
            );
            insert.push_values(chunk, |mut values, (row, policy)| {
                values
                    .push_bind(&row.device_id)
                    .push_bind(&policy.policy_id)
                    .push_bind(to_i64(policy.version))
                    .push_bind(policy.state.code())
                    .push_bind(row.now)
                    .push_bind(policy.hash);
            });
            insert.push(
                " ON CONFLICT (device_id, policy_id) DO UPDATE SET version = excluded.version, state = excluded.state, \
                 reported_at = excluded.reported_at, results_hash = excluded.results_hash \
                 WHERE excluded.version >= device_policy_reports.version",
            );
            insert.build().execute(&mut *tx).await?;
            // The results only where they (or their version) changed: a repeated report writes nothing here.
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO report_results (device_id, policy_id, version, settings) ");
            insert.push_values(chunk, |mut values, (row, policy)| {
                values
                    .push_bind(&row.device_id)
                    .push_bind(&policy.policy_id)
                    .push_bind(to_i64(policy.version))
                    .push_bind(&policy.settings);
            });
            insert.push(
                " ON CONFLICT (device_id, policy_id) DO UPDATE SET version = excluded.version, settings = excluded.settings \
                 WHERE excluded.version >= report_results.version \
                 AND (excluded.version <> report_results.version OR excluded.settings IS NOT report_results.settings)",
            );
            insert.build().execute(&mut *tx).await?;
        }
        for chunk in batch.chunks(ROWS) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO device_preferences (device_id, preferences, reported_at) ");
            insert.push_values(chunk, |mut values, row| {
                values.push_bind(&row.device_id).push_bind(&row.preferences).push_bind(row.now);
            });
            insert.push(
                " ON CONFLICT (device_id) DO UPDATE SET preferences = excluded.preferences, \
                 reported_at = excluded.reported_at",
            );
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
    /// The devices a policy targets that match `query`'s filter (and are `device`, when given), in its order: at most
    /// `limit` from `position`.
    pub(super) async fn report_rows(
        &self,
        policy_id: &str,
        query: &ReportQuery,
        position: ReportPosition<'_>,
        limit: u32,
        device: Option<&str>,
    ) -> StoreResult<Vec<PolicyDeviceRow>> {
        self.flush().await?;

        let (dir, after) = match query.dir {
            SortDir::Asc => ("ASC", ">"),
            SortDir::Desc => ("DESC", "<"),
        };
        // The sort key (NULL times first, as -1), then the name, then the id: a total order, so that a chunk can
        // continue after the last row of the one before.
        let key = match query.sort {
            ReportSort::Device => None,
            ReportSort::Status => Some(STATE),
            ReportSort::Reported => Some("COALESCE(r.reported_at, -1)"),
            ReportSort::CheckIn => Some("COALESCE(d.last_check_in, -1)"),
        };
        let order = match key {
            Some(key) => format!(" ORDER BY {key} {dir}, s.name_key {dir}, s.device_id {dir}"),
            None => format!(" ORDER BY s.name_key {dir}, s.device_id {dir}"),
        };
        // The page is chosen on the policy's own rows (an index walk when sorted by name), joined only to what the
        // sort needs; the page's rows alone are then joined to their devices and reports.
        let sort_join = match query.sort {
            ReportSort::Device | ReportSort::Status => "",
            ReportSort::Reported => {
                " LEFT JOIN device_policy_reports r ON r.device_id = s.device_id AND r.policy_id = s.policy_id"
            }
            ReportSort::CheckIn => " JOIN devices d ON d.id = s.device_id",
        };
        let mut select = QueryBuilder::<Sqlite>::new(format!(
            "SELECT s.device_id, d.hostname, d.os, d.edition, s.state, r.version, r.reported_at, d.last_check_in \
             FROM (SELECT s.policy_id, s.device_id, s.name_key, {STATE} AS state FROM policy_devices s \
             JOIN policies p ON p.id = s.policy_id JOIN tenant t ON t.id = 1{sort_join}"
        ));
        push_report_filter(&mut select, policy_id, query);
        if let Some(device_id) = device {
            select.push(" AND s.device_id = ").push_bind(device_id.to_owned());
        }
        if let ReportPosition::After(last) = position {
            let name_key = last.device_name.to_lowercase();
            select.push(format!(
                " AND ({}s.name_key, s.device_id) {after} (",
                key.map_or(String::new(), |k| format!("{k}, "))
            ));
            match query.sort {
                ReportSort::Device => {}
                ReportSort::Status => {
                    select.push_bind(last.state.code()).push(", ");
                }
                ReportSort::Reported => {
                    select.push_bind(last.reported_at.unwrap_or(-1)).push(", ");
                }
                ReportSort::CheckIn => {
                    select.push_bind(last.last_check_in.unwrap_or(-1)).push(", ");
                }
            }
            select.push_bind(name_key).push(", ").push_bind(last.device_id.clone()).push(")");
        }
        select.push(&order).push(" LIMIT ").push_bind(i64::from(limit));
        if let ReportPosition::Offset(offset) = position {
            select.push(" OFFSET ").push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        }
        select.push(
            ") s JOIN devices d ON d.id = s.device_id \
             LEFT JOIN device_policy_reports r ON r.device_id = s.device_id AND r.policy_id = s.policy_id",
        );
        // Outside, the derived state is a column of the page.
        select.push(order.replace(STATE, "s.state"));
        let rows = select.build().fetch_all(&self.read).await?;
        rows.iter().map(policy_device_from_row).collect()
    }
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn record_report(&self, device_id: &str, report: &DeviceReport, now: UnixSeconds) -> StoreResult<()> {
        let mut policies = Vec::with_capacity(report.policies.len());
        for result in &report.policies {
            let settings = serde_json::to_string(&result.settings)
                .map_err(|e| StoreError::Corrupt(format!("report does not serialize: {e}")))?;
            policies.push(ReportRow {
                policy_id: result.policy_id.clone(),
                version: result.version,
                state: result.state(),
                hash: aggregates::results_hash(&settings),
                settings,
                results: result.settings.iter().map(|r| (r.setting_id.clone(), r.state)).collect(),
            });
        }
        let preferences = serde_json::to_string(&report.preferences)
            .map_err(|e| StoreError::Corrupt(format!("preferences do not serialize: {e}")))?;
        let row = PendingReport { device_id: device_id.to_owned(), policies, preferences, now };
        // Only the caller that writes the batch clones the store, for the batch's own task.
        let write = |batch: Vec<PendingReport>| {
            let store = self.clone();
            async move { store.write_reports(&batch).await }
        };
        self.reports.submit(row, write).await
    }

    async fn device_reports(&self, device_id: &str) -> StoreResult<Vec<StoredPolicyReport>> {
        let rows = sqlx::query(
            "SELECT r.policy_id, r.version, r.state, x.settings, r.reported_at FROM device_policy_reports r \
             JOIN report_results x ON x.device_id = r.device_id AND x.policy_id = r.policy_id \
             WHERE r.device_id = ? ORDER BY r.policy_id",
        )
        .bind(device_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(report_from_row).collect()
    }

    async fn policy_reports(&self, policy_id: &str) -> StoreResult<BTreeMap<String, StoredPolicyReport>> {
        let rows = sqlx::query(
            "SELECT r.device_id, r.policy_id, r.version, r.state, x.settings, r.reported_at FROM device_policy_reports r \
             JOIN report_results x ON x.device_id = r.device_id AND x.policy_id = r.policy_id WHERE r.policy_id = ?",
        )
        .bind(policy_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("device_id")?, report_from_row(row)?))).collect()
    }

    async fn status_counts(&self) -> StoreResult<BTreeMap<String, StatusCounts>> {
        let rows = sqlx::query(&counts_select("")).fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let (counts, switched_on) = counts_from_row(row)?;
                Ok((row.try_get("policy_id")?, aggregates::status_counts(&counts, switched_on)))
            })
            .collect()
    }

    async fn setting_tallies(&self, policy_id: &str) -> StoreResult<BTreeMap<String, SettingTally>> {
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT c.setting_id, c.succeeded, c.error, c.conflict, c.not_applicable FROM policy_setting_counts c \
             JOIN tenant t ON t.id = 1 \
             WHERE c.policy_id = ? AND t.security_settings_management AND t.enforce_security_configuration",
        )
        .bind(policy_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, succeeded, error, conflict, not_applicable)| {
                (id, SettingTally { succeeded, error, conflict, not_applicable })
            })
            .collect())
    }

    async fn policy_devices(
        &self,
        policy_id: &str,
        query: &ReportQuery,
        position: ReportPosition<'_>,
        limit: u32,
    ) -> StoreResult<Vec<PolicyDeviceRow>> {
        self.report_rows(policy_id, query, position, limit, None).await
    }

    async fn count_policy_devices(&self, policy_id: &str, query: &ReportQuery) -> StoreResult<u64> {
        let mut count = QueryBuilder::<Sqlite>::new(
            "SELECT COUNT(*) FROM policy_devices s JOIN policies p ON p.id = s.policy_id JOIN tenant t ON t.id = 1",
        );
        push_report_filter(&mut count, policy_id, query);
        let n: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        Ok(to_u64(n))
    }

    async fn setting_devices(
        &self,
        policy_id: &str,
        setting_id: &str,
        query: &SettingQuery,
        position: ReportPosition<'_, SettingDeviceRow>,
        limit: u32,
    ) -> StoreResult<Vec<SettingDeviceRow>> {
        self.setting_rows(policy_id, setting_id, query, position, limit).await
    }

    async fn count_setting_devices(&self, policy_id: &str, setting_id: &str, query: &SettingQuery) -> StoreResult<u64> {
        self.count_setting_rows(policy_id, setting_id, query).await
    }

    async fn policy_device(&self, policy_id: &str, device_id: &str) -> StoreResult<Option<PolicyDeviceRow>> {
        let rows =
            self.report_rows(policy_id, &ReportQuery::default(), ReportPosition::Offset(0), 1, Some(device_id)).await?;
        Ok(rows.into_iter().next())
    }

    async fn policy_counts(&self, policy_id: &str) -> StoreResult<(StatusCounts, CheckInCounts)> {
        self.flush().await?;
        let row =
            sqlx::query(&counts_select(" WHERE c.policy_id = ?")).bind(policy_id).fetch_optional(&self.read).await?;
        let (counts, switched_on) = row.as_ref().map(counts_from_row).transpose()?.unwrap_or(([0; 8], true));
        Ok((aggregates::status_counts(&counts, switched_on), aggregates::check_in_counts(&counts)))
    }

    async fn device_preferences(
        &self,
        device_id: &str,
    ) -> StoreResult<Option<(BTreeMap<String, String>, UnixSeconds)>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT preferences, reported_at FROM device_preferences WHERE device_id = ?")
                .bind(device_id)
                .fetch_optional(&self.read)
                .await?;
        row.map(|(json, at)| {
            serde_json::from_str(&json)
                .map(|preferences| (preferences, at))
                .map_err(|e| StoreError::Corrupt(format!("stored preferences do not parse: {e}")))
        })
        .transpose()
    }
}

pub(super) fn report_from_row(row: &SqliteRow) -> StoreResult<StoredPolicyReport> {
    let version: i64 = row.try_get("version")?;
    let settings: String = row.try_get("settings")?;
    Ok(StoredPolicyReport {
        policy_id: row.try_get("policy_id")?,
        version: u64::try_from(version).unwrap_or(0),
        state: code(row, "state", PolicyState::from_code)?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(format!("stored report does not parse: {e}")))?,
        reported_at: row.try_get("reported_at")?,
    })
}

/// A policy's state on a device, derived from its row in `policy_devices` (s), the policy (p) and the tenant (t) as
/// `shared::report::targeted_state` does: Not applicable where the device is not eligible (its own support, and both
/// tenant switches), what it reported of the current version, else Pending.
pub(super) const STATE: &str = "(CASE WHEN NOT (s.eligible AND t.security_settings_management \
    AND t.enforce_security_configuration) THEN 'not_applicable' \
    WHEN s.reported_version = p.version THEN s.reported_state ELSE 'pending' END)";

/// The `policy_status_counts` rows, with whether both tenant switches are on, and `filter` (a WHERE clause on c).
pub(super) fn counts_select(filter: &str) -> String {
    format!(
        "SELECT c.policy_id, {}, t.security_settings_management AND t.enforce_security_configuration AS switched_on \
         FROM policy_status_counts c JOIN tenant t ON t.id = 1{filter}",
        aggregates::COUNT_COLUMNS.map(|c| format!("c.{c}")).join(", ")
    )
}

pub(super) fn counts_from_row(row: &SqliteRow) -> StoreResult<([i64; 8], bool)> {
    let mut counts = [0; 8];
    for (n, column) in counts.iter_mut().zip(aggregates::COUNT_COLUMNS) {
        *n = row.try_get(column)?;
    }
    Ok((counts, row.try_get("switched_on")?))
}

/// Adds the WHERE clause of a policy report's filter: the policy, its state, a search in the host name.
pub(super) fn push_report_filter(builder: &mut QueryBuilder<'_, Sqlite>, policy_id: &str, query: &ReportQuery) {
    builder.push(" WHERE s.policy_id = ").push_bind(policy_id.to_owned());
    if let Some(state) = query.state {
        builder.push(format!(" AND {STATE} = ")).push_bind(state.code());
    }
    if !query.search.is_empty() {
        // The same rule as the admin center's: the lower-cased name contains the lower-cased text.
        builder.push(" AND instr(s.name_key, ").push_bind(query.search.to_lowercase()).push(") > 0");
    }
}

pub(super) fn policy_device_from_row(row: &SqliteRow) -> StoreResult<PolicyDeviceRow> {
    let os = code(row, "os", OsProduct::from_code)?;
    let edition = code(row, "edition", Edition::from_code)?;
    let version: Option<i64> = row.try_get("version")?;
    Ok(PolicyDeviceRow {
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("hostname")?,
        os: format!("{} {}", os.label(), edition.label()),
        state: code(row, "state", PolicyState::from_code)?,
        reported_version: version.map(to_u64),
        reported_at: row.try_get("reported_at")?,
        last_check_in: row.try_get("last_check_in")?,
    })
}
