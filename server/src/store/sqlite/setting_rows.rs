//! One setting's devices: the devices whose counted report of a policy's current version gave the setting a result,
//! paged, sorted and filtered in SQL. A result is Succeeded unless `setting_exceptions` (migration 0008) holds it.

use shared::api::SettingDeviceRow;
use shared::device::{Edition, OsProduct};
use shared::query::{SettingQuery, SettingSort, SortDir};
use shared::report::SettingState;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{SqliteStore, code};
use crate::store::{ReportPosition, StoreResult};

/// The setting's state on a device of the page's inner query.
const STATE: &str = "COALESCE(e.state, 'succeeded')";

/// The pairs whose results count (as in the per setting status): the device is eligible and both tenant switches are
/// on, it reported the policy's current version, and the policy applies to it.
fn push_from(builder: &mut QueryBuilder<'_, Sqlite>, policy_id: &str, setting_id: &str, query: &SettingQuery) {
    // Filtered to an exception state, the exceptions lead (an index range); otherwise every counted pair does.
    let join = match query.state {
        Some(state) if state != SettingState::Succeeded => " JOIN",
        _ => " LEFT JOIN",
    };
    builder
        .push(format!(
            " FROM policy_devices s JOIN policies p ON p.id = s.policy_id JOIN tenant t ON t.id = 1{join} \
             setting_exceptions e ON e.device_id = s.device_id AND e.policy_id = s.policy_id AND e.setting_id = "
        ))
        .push_bind(setting_id.to_owned());
    builder.push(" WHERE s.policy_id = ").push_bind(policy_id.to_owned()).push(
        " AND s.eligible AND t.security_settings_management AND t.enforce_security_configuration \
             AND s.reported_version = p.version AND s.reported_state <> 'not_applicable'",
    );
    match query.state {
        Some(SettingState::Succeeded) => {
            builder.push(" AND e.state IS NULL");
        }
        Some(state) => {
            builder.push(" AND e.state = ").push_bind(state.code());
        }
        None => {}
    }
    if !query.search.is_empty() {
        builder.push(" AND instr(s.name_key, ").push_bind(query.search.to_lowercase()).push(") > 0");
    }
}

impl SqliteStore {
    /// One setting's devices that match `query`'s filter, in its order: at most `limit` from `position`.
    pub(super) async fn setting_rows(
        &self,
        policy_id: &str,
        setting_id: &str,
        query: &SettingQuery,
        position: ReportPosition<'_, SettingDeviceRow>,
        limit: u32,
    ) -> StoreResult<Vec<SettingDeviceRow>> {
        let (dir, after) = match query.dir {
            SortDir::Asc => ("ASC", ">"),
            SortDir::Desc => ("DESC", "<"),
        };
        // A total order (the sort key, the name, the id), so that a chunk of an export continues after the last row.
        let key = match query.sort {
            SettingSort::Device => None,
            SettingSort::Status => Some(STATE),
        };
        let order = |key: Option<&str>| match key {
            Some(key) => format!(" ORDER BY {key} {dir}, s.name_key {dir}, s.device_id {dir}"),
            None => format!(" ORDER BY s.name_key {dir}, s.device_id {dir}"),
        };
        let mut select = QueryBuilder::<Sqlite>::new(format!(
            "SELECT s.device_id, d.hostname, d.os, d.edition, s.state, s.code, s.detail, r.reported_at \
             FROM (SELECT s.policy_id, s.device_id, s.name_key, {STATE} AS state, COALESCE(e.code, '') AS code, \
             COALESCE(e.detail, '') AS detail"
        ));
        push_from(&mut select, policy_id, setting_id, query);
        if let ReportPosition::After(last) = position {
            select.push(format!(
                " AND ({}s.name_key, s.device_id) {after} (",
                key.map_or(String::new(), |k| format!("{k}, "))
            ));
            match query.sort {
                SettingSort::Device => {}
                SettingSort::Status => {
                    select.push_bind(last.state.code()).push(", ");
                }
            }
            select.push_bind(last.device_name.to_lowercase()).push(", ").push_bind(last.device_id.clone()).push(")");
        }
        select.push(order(key)).push(" LIMIT ").push_bind(i64::from(limit));
        if let ReportPosition::Offset(offset) = position {
            select.push(" OFFSET ").push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        }
        select.push(
            ") s JOIN devices d ON d.id = s.device_id \
             LEFT JOIN device_policy_reports r ON r.device_id = s.device_id AND r.policy_id = s.policy_id",
        );
        select.push(order(key.map(|k| if k == STATE { "s.state" } else { k })));
        let rows = select.build().fetch_all(&self.read).await?;
        rows.iter().map(setting_row).collect()
    }

    /// How many of the setting's devices match `query`'s filter.
    pub(super) async fn count_setting_rows(
        &self,
        policy_id: &str,
        setting_id: &str,
        query: &SettingQuery,
    ) -> StoreResult<u64> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*)");
        push_from(&mut count, policy_id, setting_id, query);
        let n: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

fn setting_row(row: &SqliteRow) -> StoreResult<SettingDeviceRow> {
    let os = code(row, "os", OsProduct::from_code)?;
    let edition = code(row, "edition", Edition::from_code)?;
    Ok(SettingDeviceRow {
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("hostname")?,
        os: format!("{} {}", os.label(), edition.label()),
        state: code(row, "state", SettingState::from_code)?,
        code: row.try_get("code")?,
        detail: row.try_get("detail")?,
        reported_at: row.try_get("reported_at")?,
    })
}
