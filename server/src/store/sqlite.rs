//! The embedded SQLite store: one file in the data directory, WAL journal, migrations applied at start.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use shared::access::Role;
use shared::api::{CheckInCounts, PolicyDeviceRow, SettingDeviceRow};
use shared::api::{Registration, UnixSeconds};
use shared::audit::{AuditAction, AuditEntry, AuditQuery, ObjectType};
use shared::device::{DeviceFacts, DirectoryDeviceId, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use shared::eligibility::EligibilityCode;
use shared::groups::GroupKind;
use shared::policy::{Policy, PolicyDraft, PolicyVersion};
use shared::query::{DeviceQuery, DeviceSort, EligibilityFilter, ReportQuery, ReportSort, SettingQuery, SortDir};
use shared::report::{DeviceReport, PolicyState, SettingTally, StatusCounts};
use shared::tenant::{Licences, TenantSwitches};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::{
    Actor, AdminRecord, ChangedIds, DeviceRecord, GroupRecord, NestOutcome, NewAudit, NewDevice, NewOnboardingToken,
    NewSession, Onboarded, OnboardingTokenRecord, PolicyUpdate, ReportPosition, Store, StoreError, StoreResult,
    StoredPolicyReport, TenantCounts, TenantRecord, UserUpdate,
};

/// Schema migrations, applied in order at start (every pending one in one transaction) and recorded in
/// `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (2, include_str!("../../migrations/0002_groups.sql")),
    (3, include_str!("../../migrations/0003_policies.sql")),
    (4, include_str!("../../migrations/0004_reports.sql")),
    (5, include_str!("../../migrations/0005_access_and_audit.sql")),
    (6, include_str!("../../migrations/0006_onboarding_tokens_and_device_claims.sql")),
    (7, include_str!("../../migrations/0007_report_aggregates.sql")),
    (8, include_str!("../../migrations/0008_setting_exceptions.sql")),
    (9, include_str!("../../migrations/0009_snapshot_changes.sql")),
];

mod aggregates;
mod credentials_cache;
mod setting_rows;

use aggregates::{ReportRow, Scope};

/// The SQLite store. Writes go through a single connection, so that transactions queue instead of failing with
/// `SQLITE_BUSY` when two of them try to upgrade to writing at once; reads use a pool of their own (WAL lets them
/// run beside the writer).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Counts committed changes to what decides a device's policies (tenant switches, groups, policies).
    generation: Arc<AtomicU64>,
    /// Check-ins not yet written (see [`Store::record_check_in`]).
    check_ins: Arc<Mutex<PendingCheckIns>>,
    /// Reports being group-committed.
    reports: Arc<ReportQueue>,
    /// What decides a new device's policies, for onboardings.
    targeting: Arc<aggregates::TargetingCache>,
    /// Devices' credentials as authentication last read them.
    credentials: Arc<credentials_cache::CredentialsCache>,
}

/// Reports waiting for the next group commit, and the lock whose holder commits them.
#[derive(Debug, Default)]
struct ReportQueue {
    queue: Mutex<Vec<PendingReport>>,
    /// Numbers the queued reports, so that a caller can tell whether a batch took its report already.
    next: AtomicU64,
    commit: tokio::sync::Mutex<()>,
}

/// One device's report, ready to write: a row per policy, the preferences JSON.
#[derive(Debug)]
struct PendingReport {
    number: u64,
    device_id: String,
    policies: Vec<ReportRow>,
    preferences: String,
    now: UnixSeconds,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Buffered check-ins: per device the latest time and how many.
#[derive(Debug, Default)]
struct PendingCheckIns {
    latest: HashMap<String, (UnixSeconds, u64)>,
    since: Option<Instant>,
}

impl PendingCheckIns {
    fn take(&mut self) -> HashMap<String, (UnixSeconds, u64)> {
        self.since = None;
        std::mem::take(&mut self.latest)
    }
}

/// Buffered check-ins are written once this many devices are pending…
const FLUSH_AT: usize = 1024;
/// …or the oldest has waited this long (and before any read of devices).
const FLUSH_AFTER: Duration = Duration::from_secs(1);

/// Bumps the store's generation when dropped, i.e. after the method holding it committed (or failed).
struct BumpOnDrop(Arc<AtomicU64>);

impl Drop for BumpOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

impl SqliteStore {
    async fn write_reports(&self, batch: &[PendingReport]) -> StoreResult<()> {
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

    fn bump_on_drop(&self) -> BumpOnDrop {
        BumpOnDrop(Arc::clone(&self.generation))
    }

    /// Writes the buffered check-ins, so that a read of devices sees every acknowledged check-in.
    async fn flush(&self) -> StoreResult<()> {
        let batch = self.check_ins.lock().unwrap_or_else(PoisonError::into_inner).take();
        self.write_check_ins(batch).await
    }

    async fn write_check_ins(&self, batch: HashMap<String, (UnixSeconds, u64)>) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        let times: Vec<(&str, i64)> = batch.iter().map(|(id, (latest, _))| (id.as_str(), *latest)).collect();
        aggregates::record_check_ins(&mut tx, &times).await?;
        // One statement per chunk of devices rather than one per device: each statement is a round trip to the
        // writer connection's thread.
        let mut rows: Vec<(&String, &(UnixSeconds, u64))> = batch.iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for chunk in rows.chunks(aggregates::CHUNK) {
            let mut update = QueryBuilder::<Sqlite>::new(
                "UPDATE devices SET last_check_in = MAX(COALESCE(last_check_in, 0), v.column2), \
                 n_check_ins = n_check_ins + v.column3 FROM (",
            );
            update.push_values(chunk, |mut values, (device_id, (latest, count))| {
                values.push_bind(*device_id).push_bind(*latest).push_bind(i64::try_from(*count).unwrap_or(i64::MAX));
            });
            update.push(") AS v WHERE devices.id = v.column1");
            update.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Opens (creating if needed) `rampart.sqlite3` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("rampart.sqlite3"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // A page cache of 64 MiB for the writer (the default 2 MiB makes every write into a fleet-sized table read its
        // pages back from the OS) and 16 MiB for each reader; reads map the file rather than copy it.
        let options = options.pragma("mmap_size", "268435456");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("cache_size", "-65536"))
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true).pragma("cache_size", "-16384"))
            .await?;
        let store = Self {
            read,
            write,
            generation: Arc::new(AtomicU64::new(0)),
            check_ins: Arc::default(),
            reports: Arc::default(),
            targeting: Arc::default(),
            credentials: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.write)
        .await?;
        // Every pending migration in one transaction: an upgrade applies whole or not at all, and code that reads the
        // schema (building the aggregates) runs once the schema is the one this code knows.
        let mut tx = self.write.begin().await?;
        let mut build_aggregates = false;
        for (version, sql) in MIGRATIONS {
            let applied: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
            if applied.is_none() {
                sqlx::raw_sql(sql).execute(&mut *tx).await?;
                if *version == 6 {
                    carry_over_onboarding_token(&mut tx).await?;
                }
                // The aggregates of a database that already holds a fleet, built once.
                build_aggregates |= *version == 7;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, unixepoch())")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if build_aggregates {
            aggregates::refresh(&mut tx, &Scope::All).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

const DEVICE_COLUMNS: &str = "id, directory_device_id, registration, hostname, os, edition, os_build, \
    required_update_installed, downlevel_agent_installed, join_type, managed_by, support, onboarded_at, \
    last_check_in, n_check_ins, sync_requested, claimed_directory_device_id";

/// The tenant's single onboarding token of before named tokens becomes one of them (hashed), so that devices
/// deployed with it keep onboarding; on a fresh database, where nobody has seen it, it is dropped.
async fn carry_over_onboarding_token(conn: &mut SqliteConnection) -> StoreResult<()> {
    let token: String =
        sqlx::query_scalar("SELECT onboarding_token FROM tenant WHERE id = 1").fetch_one(&mut *conn).await?;
    let n_admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins").fetch_one(&mut *conn).await?;
    if !token.is_empty() && n_admins > 0 {
        sqlx::query(
            "INSERT INTO onboarding_tokens (id, name, token_hash, ends_with, created_at, created_by) \
             VALUES (?, 'Onboarding token of the earlier version', ?, ?, unixepoch(), 'rampart')",
        )
        .bind(crate::credentials::random_guid().as_str())
        .bind(crate::credentials::sha256_hex(&token))
        .bind(crate::credentials::last_four(&token))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE tenant SET onboarding_token = '' WHERE id = 1").execute(&mut *conn).await?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, name, ends_with, created_at, created_by, expires_at, max_uses, uses, revoked_at";

fn token_from_row(row: &SqliteRow) -> StoreResult<OnboardingTokenRecord> {
    let max_uses: Option<i64> = row.try_get("max_uses")?;
    Ok(OnboardingTokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        ends_with: row.try_get("ends_with")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        expires_at: row.try_get("expires_at")?,
        max_uses: max_uses.map(to_u64),
        uses: to_u64(row.try_get("uses")?),
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn token_audit(action: AuditAction, token: &OnboardingTokenRecord, before: Option<serde_json::Value>) -> NewAudit {
    NewAudit {
        action,
        object_type: ObjectType::Tenant,
        object_id: token.id.clone(),
        object_name: format!("Onboarding token \u{201c}{}\u{201d}", token.name),
        before,
        after: Some(token_snapshot(token)),
    }
}

fn token_snapshot(token: &OnboardingTokenRecord) -> serde_json::Value {
    json!({
        "name": token.name,
        "ends_with": token.ends_with,
        "expires_at": token.expires_at,
        "max_uses": token.max_uses,
        "uses": token.uses,
        "revoked_at": token.revoked_at,
    })
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn code<T>(row: &SqliteRow, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let value: String = row.try_get(column)?;
    parse(&value).ok_or_else(|| corrupt(column, &value))
}

fn registration_code(registration: Registration) -> &'static str {
    match registration {
        Registration::Reused => "reused",
        Registration::Adopted => "adopted",
        Registration::Created => "created",
    }
}

fn parse_registration(code: &str) -> Option<Registration> {
    match code {
        "reused" => Some(Registration::Reused),
        "adopted" => Some(Registration::Adopted),
        "created" => Some(Registration::Created),
        _ => None,
    }
}

fn report_from_row(row: &SqliteRow) -> StoreResult<StoredPolicyReport> {
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

fn device_from_row(row: &SqliteRow) -> StoreResult<DeviceRecord> {
    let hostname: String = row.try_get("hostname")?;
    let os_build: String = row.try_get("os_build")?;
    let directory_device_id: String = row.try_get("directory_device_id")?;
    let directory_device_id = DirectoryDeviceId::try_from(directory_device_id.clone())
        .map_err(|_| corrupt("directory id", &directory_device_id))?;
    let n_check_ins: i64 = row.try_get("n_check_ins")?;
    Ok(DeviceRecord {
        id: row.try_get("id")?,
        facts: DeviceFacts {
            hostname: Hostname::try_from(hostname.clone()).map_err(|_| corrupt("hostname", &hostname))?,
            os: code(row, "os", OsProduct::from_code)?,
            edition: code(row, "edition", Edition::from_code)?,
            os_build: OsBuild::try_from(os_build.clone()).map_err(|_| corrupt("os_build", &os_build))?,
            required_update_installed: row.try_get("required_update_installed")?,
            downlevel_agent_installed: row.try_get("downlevel_agent_installed")?,
            join_type: code(row, "join_type", JoinType::from_code)?,
            directory_device_id: Some(directory_device_id.clone()),
            managed_by: code(row, "managed_by", ManagedBy::from_code)?,
        },
        directory_device_id,
        registration: code(row, "registration", parse_registration)?,
        support: code(row, "support", EligibilityCode::from_code)?,
        onboarded_at: row.try_get("onboarded_at")?,
        last_check_in: row.try_get("last_check_in")?,
        n_check_ins: u64::try_from(n_check_ins).unwrap_or(0),
        sync_requested: row.try_get("sync_requested")?,
        claimed_directory_device_id: row
            .try_get::<Option<String>, _>("claimed_directory_device_id")?
            .map(|id| DirectoryDeviceId::try_from(id.clone()).map_err(|_| corrupt("claimed directory id", &id)))
            .transpose()?,
    })
}

/// Adds the WHERE clause of the Devices list's filter.
fn push_device_filter(builder: &mut QueryBuilder<'_, Sqlite>, query: &DeviceQuery, switches: TenantSwitches) {
    builder.push(" WHERE 1 = 1");
    if !query.search.is_empty() {
        let escaped = query.search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        builder.push(" AND hostname LIKE ").push_bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
    }
    if let Some(managed_by) = query.managed_by {
        builder.push(" AND managed_by = ").push_bind(managed_by.code());
    }
    if let Some(os) = query.os {
        builder.push(" AND os = ").push_bind(os.code());
    }
    // Eligibility is the stored support combined with the switches (shared::eligibility::eligibility).
    match (query.eligibility, switches.both_on()) {
        (None, _) => {}
        (Some(EligibilityFilter::Eligible), true) => {
            builder.push(" AND support = ").push_bind(EligibilityCode::Eligible.code());
        }
        (Some(EligibilityFilter::Eligible), false) => {
            builder.push(" AND 0");
        }
        (Some(EligibilityFilter::NotApplicable), true) => {
            builder.push(" AND support <> ").push_bind(EligibilityCode::Eligible.code());
        }
        (Some(EligibilityFilter::NotApplicable), false) => {}
    }
}

fn order_by(query: &DeviceQuery, switches: TenantSwitches) -> String {
    let column = match query.sort {
        DeviceSort::Hostname => "hostname COLLATE NOCASE",
        DeviceSort::Os => "os",
        DeviceSort::ManagedBy => "managed_by",
        DeviceSort::JoinType => "join_type",
        // Sorts by what the list shows: with a switch off, supported devices read "tenant not enabled".
        DeviceSort::Eligibility if !switches.both_on() => {
            "CASE support WHEN 'eligible' THEN 'tenant_not_enabled' ELSE support END"
        }
        DeviceSort::Eligibility => "support",
        DeviceSort::LastCheckIn => "last_check_in",
    };
    let dir = match query.dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    if query.sort == DeviceSort::Hostname {
        format!(" ORDER BY {column} {dir}, id {dir}")
    } else {
        format!(" ORDER BY {column} {dir}, hostname COLLATE NOCASE {dir}, id {dir}")
    }
}

/// A policy's state on a device, derived from its row in `policy_devices` (s), the policy (p) and the tenant (t) as
/// `shared::report::targeted_state` does: Not applicable where the device is not eligible (its own support, and both
/// tenant switches), what it reported of the current version, else Pending.
const STATE: &str = "(CASE WHEN NOT (s.eligible AND t.security_settings_management \
    AND t.enforce_security_configuration) THEN 'not_applicable' \
    WHEN s.reported_version = p.version THEN s.reported_state ELSE 'pending' END)";

/// The `policy_status_counts` rows, with whether both tenant switches are on, and `filter` (a WHERE clause on c).
fn counts_select(filter: &str) -> String {
    format!(
        "SELECT c.policy_id, {}, t.security_settings_management AND t.enforce_security_configuration AS switched_on \
         FROM policy_status_counts c JOIN tenant t ON t.id = 1{filter}",
        aggregates::COUNT_COLUMNS.map(|c| format!("c.{c}")).join(", ")
    )
}

fn counts_from_row(row: &SqliteRow) -> StoreResult<([i64; 8], bool)> {
    let mut counts = [0; 8];
    for (n, column) in counts.iter_mut().zip(aggregates::COUNT_COLUMNS) {
        *n = row.try_get(column)?;
    }
    Ok((counts, row.try_get("switched_on")?))
}

/// Adds the WHERE clause of a policy report's filter: the policy, its state, a search in the host name.
fn push_report_filter(builder: &mut QueryBuilder<'_, Sqlite>, policy_id: &str, query: &ReportQuery) {
    builder.push(" WHERE s.policy_id = ").push_bind(policy_id.to_owned());
    if let Some(state) = query.state {
        builder.push(format!(" AND {STATE} = ")).push_bind(state.code());
    }
    if !query.search.is_empty() {
        // The same rule as the admin center's: the lower-cased name contains the lower-cased text.
        builder.push(" AND instr(s.name_key, ").push_bind(query.search.to_lowercase()).push(") > 0");
    }
}

fn policy_device_from_row(row: &SqliteRow) -> StoreResult<PolicyDeviceRow> {
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

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteStore {
    /// The devices a policy targets that match `query`'s filter (and are `device`, when given), in its order: at most
    /// `limit` from `position`.
    async fn report_rows(
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
impl Store for SqliteStore {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn count_admins(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins").fetch_one(&self.read).await?;
        Ok(to_u64(n))
    }

    async fn set_admin_password(
        &self,
        username: &str,
        password_hash: &str,
        must_change: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM admins WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let audit = match existing {
            Some(id) => {
                sqlx::query("UPDATE admins SET password_hash = ?, must_change_password = ? WHERE id = ?")
                    .bind(password_hash)
                    .bind(must_change)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE admin_id = ?").bind(id).execute(&mut *tx).await?;
                NewAudit {
                    action: AuditAction::PasswordReset,
                    object_type: ObjectType::User,
                    object_id: username.to_owned(),
                    object_name: username.to_owned(),
                    before: None,
                    after: Some(json!({ "one_time_password": must_change, "sessions_ended": true })),
                }
            }
            None => {
                sqlx::query(
                    "INSERT INTO admins (username, password_hash, must_change_password, created_at) VALUES (?, ?, ?, ?)",
                )
                .bind(username)
                .bind(password_hash)
                .bind(must_change)
                .bind(actor.at)
                .execute(&mut *tx)
                .await?;
                NewAudit {
                    action: AuditAction::UserCreate,
                    object_type: ObjectType::User,
                    object_id: username.to_owned(),
                    object_name: username.to_owned(),
                    before: None,
                    after: Some(json!({ "role": Role::Administrator.code(), "disabled": false })),
                }
            }
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_admin(&self, username: &str) -> StoreResult<Option<AdminRecord>> {
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE username = ?"))
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| admin_from_row(&row)).transpose()
    }

    async fn list_admins(&self) -> StoreResult<Vec<AdminRecord>> {
        let rows = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins ORDER BY username COLLATE NOCASE"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(admin_from_row).collect()
    }

    async fn create_admin(&self, username: &str, password_hash: &str, role: Role, actor: &Actor) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO admins (username, password_hash, role, must_change_password, created_at) VALUES (?, ?, ?, 1, ?) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.code())
        .bind(actor.at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Ok(false);
        }
        let audit = NewAudit {
            action: AuditAction::UserCreate,
            object_type: ObjectType::User,
            object_id: username.to_owned(),
            object_name: username.to_owned(),
            before: None,
            after: Some(json!({ "role": role.code(), "disabled": false })),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_admin(
        &self,
        username: &str,
        role: Option<Role>,
        disabled: Option<bool>,
        actor: &Actor,
    ) -> StoreResult<UserUpdate> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE username = ?"))
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(admin_from_row).transpose()? else { return Ok(UserUpdate::NotFound) };
        let (new_role, new_disabled) = (role.unwrap_or(before.role), disabled.unwrap_or(before.disabled));
        let was_active_admin = before.role == Role::Administrator && !before.disabled;
        if was_active_admin && (new_role != Role::Administrator || new_disabled) {
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM admins WHERE role = 'administrator' AND disabled = 0 AND id <> ?",
            )
            .bind(before.id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(UserUpdate::LastAdministrator);
            }
        }
        sqlx::query("UPDATE admins SET role = ?, disabled = ? WHERE id = ?")
            .bind(new_role.code())
            .bind(new_disabled)
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        if new_disabled {
            sqlx::query("DELETE FROM sessions WHERE admin_id = ?").bind(before.id).execute(&mut *tx).await?;
        }
        let audit = NewAudit {
            action: AuditAction::UserUpdate,
            object_type: ObjectType::User,
            object_id: username.to_owned(),
            object_name: username.to_owned(),
            before: Some(json!({ "role": before.role.code(), "disabled": before.disabled })),
            after: Some(json!({ "role": new_role.code(), "disabled": new_disabled })),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(UserUpdate::Updated(AdminRecord { role: new_role, disabled: new_disabled, ..before }))
    }

    async fn change_password(
        &self,
        admin_id: i64,
        password_hash: &str,
        session: &NewSession,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE admins SET password_hash = ?, must_change_password = 0 WHERE id = ?")
            .bind(password_hash)
            .bind(admin_id)
            .execute(&mut *tx)
            .await?;
        // Every other session ends (a thief's too), and the current one continues under a new token.
        sqlx::query("DELETE FROM sessions WHERE admin_id = ?").bind(admin_id).execute(&mut *tx).await?;
        insert_session(&mut tx, session, admin_id).await?;
        let audit = NewAudit {
            action: AuditAction::PasswordChange,
            object_type: ObjectType::User,
            object_id: actor.username.clone(),
            object_name: actor.username.clone(),
            before: None,
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_audit(&self, actor: &Actor, entry: NewAudit) -> StoreResult<()> {
        write_audit(&mut *self.write.acquire().await?, actor, &entry).await
    }

    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<(Vec<AuditEntry>, u64)> {
        let filter = |builder: &mut QueryBuilder<'_, Sqlite>| push_audit_filter(builder, query);
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM audit_log");
        filter(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        let mut page = QueryBuilder::<Sqlite>::new(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log"));
        filter(&mut page);
        page.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.per_page));
        page.push(" OFFSET ").push_bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
        let rows = page.build().fetch_all(&self.read).await?;
        let entries = rows.iter().map(audit_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((entries, u64::try_from(total).unwrap_or(0)))
    }

    async fn audit_chunk(
        &self,
        query: &AuditQuery,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut page = QueryBuilder::<Sqlite>::new(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log"));
        push_audit_filter(&mut page, query);
        if let Some(before_id) = before_id {
            page.push(" AND id < ").push_bind(before_id);
        }
        page.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = page.build().fetch_all(&self.read).await?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_entry(&self, id: i64) -> StoreResult<Option<AuditEntry>> {
        let row = sqlx::query(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(audit_from_row).transpose()
    }

    async fn sign_in_addresses(&self, username: &str, since: UnixSeconds) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT address FROM audit_log WHERE object_type = 'user' AND object_id = ? AND action = 'sign_in' \
             AND at >= ? GROUP BY address ORDER BY MAX(at) DESC LIMIT 100",
        )
        .bind(username)
        .bind(since)
        .fetch_all(&self.read)
        .await?)
    }

    async fn create_session(&self, session: &NewSession, admin_id: i64) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(session.created_at).execute(&mut *tx).await?;
        insert_session(&mut tx, session, admin_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_admin(&self, token_hash: &str, now: UnixSeconds) -> StoreResult<Option<AdminRecord>> {
        let row = sqlx::query(
            "SELECT a.id, a.username, a.password_hash, a.disabled, a.role, a.must_change_password, a.created_at \
             FROM sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ? AND s.expires_at > ? \
             AND a.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| admin_from_row(&row)).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.write).await?;
        Ok(())
    }

    async fn tenant(&self) -> StoreResult<TenantRecord> {
        let row = sqlx::query(
            "SELECT security_settings_management, enforce_security_configuration, licence_defender_for_endpoint, \
             licence_directory_premium_p1 FROM tenant WHERE id = 1",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(TenantRecord {
            switches: TenantSwitches {
                security_settings_management: row.try_get("security_settings_management")?,
                enforce_security_configuration: row.try_get("enforce_security_configuration")?,
            },
            licences: Licences {
                defender_for_endpoint: row.try_get("licence_defender_for_endpoint")?,
                directory_premium_p1: row.try_get("licence_directory_premium_p1")?,
            },
        })
    }

    async fn update_tenant(
        &self,
        switches: Option<TenantSwitches>,
        licences: Option<Licences>,
        actor: &Actor,
    ) -> StoreResult<()> {
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let before = tenant_snapshot(&mut tx).await?;
        if let Some(switches) = switches {
            sqlx::query(
                "UPDATE tenant SET security_settings_management = ?, enforce_security_configuration = ? WHERE id = 1",
            )
            .bind(switches.security_settings_management)
            .bind(switches.enforce_security_configuration)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(licences) = licences {
            sqlx::query(
                "UPDATE tenant SET licence_defender_for_endpoint = ?, licence_directory_premium_p1 = ? WHERE id = 1",
            )
            .bind(licences.defender_for_endpoint)
            .bind(licences.directory_premium_p1)
            .execute(&mut *tx)
            .await?;
        }
        let after = tenant_snapshot(&mut tx).await?;
        let audit = NewAudit {
            action: AuditAction::TenantUpdate,
            object_type: ObjectType::Tenant,
            object_id: "tenant".to_owned(),
            object_name: "Tenant".to_owned(),
            before: Some(before),
            after: Some(after),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_onboarding_token(
        &self,
        token: &NewOnboardingToken,
        actor: &Actor,
    ) -> StoreResult<OnboardingTokenRecord> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO onboarding_tokens (id, name, token_hash, ends_with, created_at, created_by, expires_at, max_uses) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(&token.ends_with)
        .bind(actor.at)
        .bind(&actor.username)
        .bind(token.expires_at)
        .bind(token.max_uses.map(to_i64))
        .execute(&mut *tx)
        .await?;
        let record = OnboardingTokenRecord {
            id: token.id.clone(),
            name: token.name.clone(),
            ends_with: token.ends_with.clone(),
            created_at: actor.at,
            created_by: actor.username.clone(),
            expires_at: token.expires_at,
            max_uses: token.max_uses,
            uses: 0,
            revoked_at: None,
        };
        write_audit(&mut tx, actor, &token_audit(AuditAction::TokenCreate, &record, None)).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_onboarding_tokens(&self) -> StoreResult<Vec<OnboardingTokenRecord>> {
        let rows =
            sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM onboarding_tokens ORDER BY created_at DESC, rowid DESC"))
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_onboarding_token(&self, id: &str, actor: &Actor) -> StoreResult<Option<OnboardingTokenRecord>> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM onboarding_tokens WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(token_from_row).transpose()? else { return Ok(None) };
        if before.revoked_at.is_some() {
            return Ok(Some(before));
        }
        sqlx::query("UPDATE onboarding_tokens SET revoked_at = ? WHERE id = ?")
            .bind(actor.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = OnboardingTokenRecord { revoked_at: Some(actor.at), ..before.clone() };
        let audit = token_audit(AuditAction::TokenRevoke, &after, Some(token_snapshot(&before)));
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    async fn onboarding_token_usable(&self, token_hash: &str, now: UnixSeconds) -> StoreResult<bool> {
        let usable: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM onboarding_tokens WHERE token_hash = ? AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        Ok(usable.is_some())
    }

    async fn tenant_counts(&self, reporting_since: UnixSeconds) -> StoreResult<TenantCounts> {
        self.flush().await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM admins WHERE disabled = 0) AS n_admins, \
             (SELECT COUNT(*) FROM devices) AS n_devices, \
             (SELECT COUNT(*) FROM devices WHERE last_check_in >= ?) AS n_reporting",
        )
        .bind(reporting_since)
        .fetch_one(&self.read)
        .await?;
        Ok(TenantCounts {
            n_admins: to_u64(row.try_get("n_admins")?),
            n_devices: to_u64(row.try_get("n_devices")?),
            n_devices_reporting: to_u64(row.try_get("n_reporting")?),
        })
    }

    async fn onboard_device(&self, device: NewDevice) -> StoreResult<Option<Onboarded>> {
        let mut tx = self.write.begin().await?;
        // The token's use is taken atomically, so that a token's limit holds under concurrent onboardings.
        let token: Option<(String, String)> = sqlx::query_as(
            "UPDATE onboarding_tokens SET uses = uses + 1 WHERE token_hash = ? AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses) RETURNING id, name",
        )
        .bind(&device.token_hash)
        .bind(device.now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((token_id, token_name)) = token else { return Ok(None) };

        // The device proving to be one already onboarded, by its current secret.
        let itself: Option<(String, String)> = match &device.previous_secret_hash {
            Some(hash) => {
                sqlx::query_as("SELECT id, directory_device_id FROM devices WHERE secret_hash = ?")
                    .bind(hash)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let (itself_id, itself_directory) = itself.unzip();
        let holder: Option<String> = match &device.facts.directory_device_id {
            Some(presented) => {
                sqlx::query_scalar("SELECT id FROM devices WHERE directory_device_id = ?")
                    .bind(presented.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        // A registration another device holds is not taken over: the claim is kept, and the presenter goes on with
        // its own registration (or a new one).
        let conflict = device.facts.directory_device_id.clone().filter(|_| holder.is_some() && holder != itself_id);
        let (directory_device_id, registration) = match (&device.facts.directory_device_id, &itself_directory) {
            (Some(presented), _) if conflict.is_none() => {
                let known: Option<String> = sqlx::query_scalar("SELECT id FROM directory_devices WHERE id = ?")
                    .bind(presented.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if known.is_some() {
                    (presented.clone(), Registration::Reused)
                } else {
                    insert_directory_device(&mut tx, presented, device.now, false).await?;
                    (presented.clone(), Registration::Adopted)
                }
            }
            (_, Some(own)) => {
                let own = DirectoryDeviceId::try_from(own.clone()).map_err(|_| corrupt("directory id", own))?;
                (own, Registration::Created)
            }
            (_, None) => {
                insert_directory_device(&mut tx, &device.new_directory_device_id, device.now, true).await?;
                (device.new_directory_device_id.clone(), Registration::Created)
            }
        };
        let facts = &device.facts;
        // A device not proving to be one already onboarded is new: its id is fresh (random), so it has no report and
        // no membership yet.
        let is_new = itself_id.is_none();
        let device_id = itself_id.unwrap_or_else(|| device.id.clone());
        sqlx::query(
            "INSERT INTO devices (id, secret_hash, directory_device_id, registration, hostname, os, edition, os_build, \
               required_update_installed, downlevel_agent_installed, join_type, managed_by, support, onboarded_at, \
               claimed_directory_device_id, onboarding_token_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, \
               directory_device_id = excluded.directory_device_id, \
               registration = excluded.registration, hostname = excluded.hostname, os = excluded.os, \
               edition = excluded.edition, os_build = excluded.os_build, \
               required_update_installed = excluded.required_update_installed, \
               downlevel_agent_installed = excluded.downlevel_agent_installed, join_type = excluded.join_type, \
               managed_by = excluded.managed_by, support = excluded.support, \
               claimed_directory_device_id = excluded.claimed_directory_device_id, \
               onboarding_token_id = excluded.onboarding_token_id",
        )
        .bind(&device_id)
        .bind(&device.secret_hash)
        .bind(directory_device_id.as_str())
        .bind(registration_code(registration))
        .bind(facts.hostname.as_str())
        .bind(facts.os.code())
        .bind(facts.edition.code())
        .bind(facts.os_build.as_str())
        .bind(facts.required_update_installed)
        .bind(facts.downlevel_agent_installed)
        .bind(facts.join_type.code())
        .bind(facts.managed_by.code())
        .bind(device.support.code())
        .bind(device.now)
        .bind(conflict.as_ref().map(DirectoryDeviceId::as_str))
        .bind(&token_id)
        .execute(&mut *tx)
        .await?;
        let actor = Actor {
            username: format!("onboarding token \u{201c}{token_name}\u{201d}"),
            address: device.address.clone(),
            at: device.now,
        };
        let audit = NewAudit {
            action: AuditAction::DeviceOnboard,
            object_type: ObjectType::Device,
            object_id: device_id.clone(),
            object_name: facts.hostname.as_str().to_owned(),
            before: None,
            after: Some(json!({
                "onboarded_again": device_id != device.id,
                "directory_device_id": directory_device_id.as_str(),
                "registration": registration_code(registration),
                "claimed_directory_device_id_held_by_another_device": conflict.as_ref().map(DirectoryDeviceId::as_str),
                "os": facts.os.code(),
                "join_type": facts.join_type.code(),
                "managed_by": facts.managed_by.code(),
            })),
        };
        write_audit(&mut tx, &actor, &audit).await?;
        if !is_new {
            aggregates::refresh(&mut tx, &Scope::Devices(vec![device_id.clone()])).await?;
        } else {
            let device = shared::preview::SnapshotDevice {
                id: device_id.clone(),
                facts: facts.clone(),
                support: device.support,
            };
            aggregates::add_new_device(&mut tx, &self.targeting, device).await?;
        }
        tx.commit().await?;
        self.credentials.forget(&device_id);
        Ok(Some(Onboarded { device_id, directory_device_id, registration, directory_conflict: conflict }))
    }

    async fn delete_device(&self, device_id: &str, actor: &Actor) -> StoreResult<bool> {
        self.flush().await?;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"))
            .bind(device_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(device_from_row).transpose()? else { return Ok(false) };
        aggregates::forget_devices(&mut tx, &[device_id.to_owned()]).await?;
        // Memberships, reports and preferences go with it (ON DELETE CASCADE); so do its credentials.
        sqlx::query("DELETE FROM devices WHERE id = ?").bind(device_id).execute(&mut *tx).await?;
        let audit = NewAudit {
            action: AuditAction::DeviceDelete,
            object_type: ObjectType::Device,
            object_id: device_id.to_owned(),
            object_name: before.facts.hostname.as_str().to_owned(),
            before: Some(json!({
                "hostname": before.facts.hostname.as_str(),
                "directory_device_id": before.directory_device_id.as_str(),
                "os": before.facts.os.code(),
                "onboarded_at": before.onboarded_at,
                "last_check_in": before.last_check_in,
            })),
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        self.credentials.forget(device_id);
        Ok(true)
    }

    async fn directory_holder(&self, directory_device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE directory_device_id = ?"))
            .bind(directory_device_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn authenticate_device(&self, device_id: &str) -> StoreResult<Option<(String, DeviceRecord)>> {
        if let Some(held) = self.credentials.get(device_id) {
            return Ok(Some(held));
        }
        let epoch = self.credentials.epoch();
        let row = sqlx::query(&format!("SELECT secret_hash, {DEVICE_COLUMNS} FROM devices WHERE id = ?"))
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?;
        let found =
            row.map(|row| Ok::<_, StoreError>((row.try_get("secret_hash")?, device_from_row(&row)?))).transpose()?;
        if let Some(found) = &found {
            self.credentials.keep(epoch, device_id, found.clone());
        }
        Ok(found)
    }

    async fn record_check_in(&self, device_id: &str, now: UnixSeconds, clear_sync: bool) -> StoreResult<()> {
        if clear_sync {
            let mut tx = self.write.begin().await?;
            aggregates::record_check_ins(&mut tx, &[(device_id, now)]).await?;
            sqlx::query(
                "UPDATE devices SET last_check_in = MAX(COALESCE(last_check_in, 0), ?), n_check_ins = n_check_ins + 1, \
                 sync_requested = 0 WHERE id = ?",
            )
            .bind(now)
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            self.credentials.forget(device_id);
            return Ok(());
        }
        let due = {
            let mut pending = self.check_ins.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = pending.latest.entry(device_id.to_owned()).or_insert((now, 0));
            entry.0 = entry.0.max(now);
            entry.1 += 1;
            let since = *pending.since.get_or_insert_with(Instant::now);
            (pending.latest.len() >= FLUSH_AT || since.elapsed() >= FLUSH_AFTER).then(|| pending.take())
        };
        match due {
            Some(batch) => self.write_check_ins(batch).await,
            None => Ok(()),
        }
    }

    async fn flush_check_ins(&self) -> StoreResult<()> {
        self.flush().await
    }

    async fn list_devices(
        &self,
        query: &DeviceQuery,
        switches: TenantSwitches,
    ) -> StoreResult<(Vec<DeviceRecord>, u64)> {
        self.flush().await?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM devices");
        push_device_filter(&mut count, query, switches);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;

        let mut page = QueryBuilder::<Sqlite>::new(format!("SELECT {DEVICE_COLUMNS} FROM devices"));
        push_device_filter(&mut page, query, switches);
        page.push(order_by(query, switches));
        page.push(" LIMIT ").push_bind(i64::from(query.per_page));
        page.push(" OFFSET ").push_bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
        let rows = page.build().fetch_all(&self.read).await?;
        let devices = rows.iter().map(device_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((devices, to_u64(total)))
    }

    async fn get_device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        self.flush().await?;
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"))
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn request_sync(&self, device_id: &str, actor: &Actor) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let hostname: Option<String> =
            sqlx::query_scalar("UPDATE devices SET sync_requested = 1 WHERE id = ? RETURNING hostname")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(hostname) = hostname else { return Ok(false) };
        let audit = NewAudit {
            action: AuditAction::DeviceSync,
            object_type: ObjectType::Device,
            object_id: device_id.to_owned(),
            object_name: hostname,
            before: None,
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        self.credentials.forget(device_id);
        Ok(true)
    }

    async fn all_device_facts(&self) -> StoreResult<Vec<(String, DeviceFacts)>> {
        let rows = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices")).fetch_all(&self.read).await?;
        rows.iter().map(|row| device_from_row(row).map(|device| (device.id, device.facts))).collect()
    }

    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>> {
        let mut tx = self.read.begin().await?;
        let rows = sqlx::query("SELECT id, name, description, kind, rule FROM groups ORDER BY name COLLATE NOCASE, id")
            .fetch_all(&mut *tx)
            .await?;
        let members: Vec<(String, String)> =
            sqlx::query_as("SELECT group_id, device_id FROM group_members").fetch_all(&mut *tx).await?;
        let nesting: Vec<(String, String)> =
            sqlx::query_as("SELECT parent_id, child_id FROM group_nesting ORDER BY child_id")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let mut groups = rows
            .iter()
            .map(|row| {
                Ok(GroupRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    kind: code(row, "kind", GroupKind::from_code)?,
                    rule: row.try_get("rule")?,
                    members: BTreeSet::new(),
                    children: Vec::new(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let index: std::collections::HashMap<String, usize> =
            groups.iter().enumerate().map(|(i, group)| (group.id.clone(), i)).collect();
        for (group_id, device_id) in members {
            if let Some(&i) = index.get(&group_id) {
                groups[i].members.insert(device_id);
            }
        }
        for (parent_id, child_id) in nesting {
            if let Some(&i) = index.get(&parent_id) {
                groups[i].children.push(child_id);
            }
        }
        Ok(groups)
    }

    async fn create_group(&self, group: &GroupRecord, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let now = actor.at;
        let mut tx = self.write.begin().await?;
        let result = sqlx::query(
            "INSERT INTO groups (id, name, description, kind, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&group.id)
        .bind(&group.name)
        .bind(&group.description)
        .bind(group.kind.code())
        .bind(&group.rule)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        let after = group_snapshot(&mut tx, &group.id).await?.map(|(_, value)| value);
        // A policy may name a group before it exists (the store does not hold it to the API's validation).
        aggregates::refresh_reaching(&mut tx, &group.id).await?;
        let audit = NewAudit {
            action: AuditAction::GroupCreate,
            object_type: ObjectType::Group,
            object_id: group.id.clone(),
            object_name: group.name.clone(),
            before: None,
            after,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_group(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        rule: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Option<bool>> {
        let _bump = self.bump_on_drop();
        let now = actor.at;
        let mut tx = self.write.begin().await?;
        let Some((_, before)) = group_snapshot(&mut tx, id).await? else { return Ok(None) };
        if let Some(name) = name {
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM groups WHERE name = ? AND id <> ?")
                .bind(name)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Ok(Some(false));
            }
        }
        sqlx::query(
            "UPDATE groups SET name = COALESCE(?, name), description = COALESCE(?, description), \
             rule = COALESCE(?, rule), updated_at = ? WHERE id = ?",
        )
        .bind(name)
        .bind(description)
        .bind(rule)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let (name, after) = group_snapshot(&mut tx, id).await?.unwrap_or_default();
        if rule.is_some() {
            aggregates::refresh_reaching(&mut tx, id).await?;
        }
        let audit = NewAudit {
            action: AuditAction::GroupUpdate,
            object_type: ObjectType::Group,
            object_id: id.to_owned(),
            object_name: name,
            before: Some(before),
            after: Some(after),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    async fn delete_group(&self, id: &str, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let Some((name, before)) = group_snapshot(&mut tx, id).await? else { return Ok(false) };
        let reaching = aggregates::policies_reaching(&mut tx, id).await?;
        sqlx::query("DELETE FROM groups WHERE id = ?").bind(id).execute(&mut *tx).await?;
        aggregates::refresh(&mut tx, &Scope::Policies(reaching)).await?;
        let audit = NewAudit {
            action: AuditAction::GroupDelete,
            object_type: ObjectType::Group,
            object_id: id.to_owned(),
            object_name: name,
            before: Some(before),
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<Vec<String>> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let mut unknown = Vec::new();
        for device_id in device_ids {
            let known: Option<String> = sqlx::query_scalar("SELECT id FROM devices WHERE id = ?")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                unknown.push(device_id.clone());
            }
        }
        if !unknown.is_empty() {
            return Ok(unknown);
        }
        for device_id in device_ids {
            sqlx::query("INSERT INTO group_members (group_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(id).execute(&mut *tx).await?;
        membership_audit(&mut tx, actor, id, None, Some(json!({ "added_devices": device_ids }))).await?;
        aggregates::refresh(&mut tx, &Scope::Devices(device_ids.to_vec())).await?;
        tx.commit().await?;
        Ok(Vec::new())
    }

    async fn remove_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<()> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        for device_id in device_ids {
            sqlx::query("DELETE FROM group_members WHERE group_id = ? AND device_id = ?")
                .bind(id)
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(id).execute(&mut *tx).await?;
        membership_audit(&mut tx, actor, id, Some(json!({ "removed_devices": device_ids })), None).await?;
        aggregates::refresh(&mut tx, &Scope::Devices(device_ids.to_vec())).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn nest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<NestOutcome> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let n_known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE id IN (?, ?)")
            .bind(parent)
            .bind(child)
            .fetch_one(&mut *tx)
            .await?;
        if n_known != if parent == child { 1 } else { 2 } {
            return Ok(NestOutcome::UnknownGroup);
        }
        let edges: Vec<(String, String)> =
            sqlx::query_as("SELECT parent_id, child_id FROM group_nesting").fetch_all(&mut *tx).await?;
        let children_of = |id: &str| edges.iter().filter(|(p, _)| p == id).map(|(_, c)| c.clone()).collect();
        if let Some(chain) = shared::groups::nesting_cycle(parent, child, children_of) {
            return Ok(NestOutcome::Cycle(chain));
        }
        sqlx::query("INSERT INTO group_nesting (parent_id, child_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(parent)
            .bind(child)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(parent).execute(&mut *tx).await?;
        nesting_audit(&mut tx, actor, parent, child, true).await?;
        aggregates::refresh_reaching(&mut tx, parent).await?;
        tx.commit().await?;
        Ok(NestOutcome::Nested)
    }

    async fn unnest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<bool> {
        let now = actor.at;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let result = sqlx::query("DELETE FROM group_nesting WHERE parent_id = ? AND child_id = ?")
            .bind(parent)
            .bind(child)
            .execute(&mut *tx)
            .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE groups SET updated_at = ? WHERE id = ?").bind(now).bind(parent).execute(&mut *tx).await?;
        nesting_audit(&mut tx, actor, parent, child, false).await?;
        aggregates::refresh_reaching(&mut tx, parent).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_policies(&self) -> StoreResult<Vec<Policy>> {
        let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies ORDER BY name COLLATE NOCASE, id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn get_policy(&self, id: &str) -> StoreResult<Option<Policy>> {
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn create_policy(&self, policy: &Policy, action: AuditAction, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let document = to_json(&policy.draft)?;
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO policies (id, profile, name, version, document, created_at, updated_at, updated_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&policy.id)
        .bind(policy.draft.profile.code())
        .bind(policy.draft.name.trim())
        .bind(to_i64(policy.version))
        .bind(&document)
        .bind(policy.created_at)
        .bind(policy.updated_at)
        .bind(&policy.updated_by)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        insert_version(&mut tx, &policy.id, policy.version, &document, policy.updated_at, &policy.updated_by).await?;
        aggregates::refresh(&mut tx, &Scope::Policies(vec![policy.id.clone()])).await?;
        let audit = NewAudit {
            action,
            object_type: ObjectType::Policy,
            object_id: policy.id.clone(),
            object_name: policy.draft.name.trim().to_owned(),
            before: None,
            after: Some(policy_snapshot(&document, policy.version)?),
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_policy(
        &self,
        id: &str,
        expected_version: u64,
        draft: &PolicyDraft,
        actor: &Actor,
    ) -> StoreResult<PolicyUpdate> {
        let _bump = self.bump_on_drop();
        let (now, by) = (actor.at, actor.username.as_str());
        let document = to_json(draft)?;
        let mut tx = self.write.begin().await?;
        let current: Option<(i64, String)> = sqlx::query_as("SELECT version, document FROM policies WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((current, old_document)) = current else { return Ok(PolicyUpdate::NotFound) };
        let current = u64::try_from(current).unwrap_or(0);
        if current != expected_version {
            return Ok(PolicyUpdate::Stale { current });
        }
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM policies WHERE name = ? AND id <> ?")
            .bind(draft.name.trim())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(PolicyUpdate::NameTaken);
        }
        let next = current + 1;
        sqlx::query(
            "UPDATE policies SET profile = ?, name = ?, version = ?, document = ?, updated_at = ?, updated_by = ? \
             WHERE id = ?",
        )
        .bind(draft.profile.code())
        .bind(draft.name.trim())
        .bind(to_i64(next))
        .bind(&document)
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_version(&mut tx, id, next, &document, now, by).await?;
        aggregates::new_version(&mut tx, id).await?;
        if from_json(&old_document)?.assignments != draft.assignments {
            aggregates::refresh(&mut tx, &Scope::Policies(vec![id.to_owned()])).await?;
        }
        let audit = NewAudit {
            action: AuditAction::PolicyUpdate,
            object_type: ObjectType::Policy,
            object_id: id.to_owned(),
            object_name: draft.name.trim().to_owned(),
            before: Some(policy_snapshot(&old_document, current)?),
            after: Some(policy_snapshot(&document, next)?),
        };
        write_audit(&mut tx, actor, &audit).await?;
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let policy = policy_from_row(&row)?;
        tx.commit().await?;
        Ok(PolicyUpdate::Updated(policy))
    }

    async fn delete_policy(&self, id: &str, actor: &Actor) -> StoreResult<bool> {
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let old: Option<(String, i64, String)> =
            sqlx::query_as("DELETE FROM policies WHERE id = ? RETURNING name, version, document")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((name, version, document)) = old else { return Ok(false) };
        aggregates::targeting_changed(&mut tx).await?;
        let audit = NewAudit {
            action: AuditAction::PolicyDelete,
            object_type: ObjectType::Policy,
            object_id: id.to_owned(),
            object_name: name,
            before: Some(policy_snapshot(&document, version)?),
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn policy_versions(&self, id: &str) -> StoreResult<Vec<PolicyVersion>> {
        let rows = sqlx::query(
            "SELECT version, document, created_at, created_by FROM policy_versions WHERE policy_id = ? ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let version: i64 = row.try_get("version")?;
                let document: String = row.try_get("document")?;
                Ok(PolicyVersion {
                    version: u64::try_from(version).unwrap_or(0),
                    draft: from_json(&document)?,
                    created_at: row.try_get("created_at")?,
                    created_by: row.try_get("created_by")?,
                })
            })
            .collect()
    }

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
        let (done, committed) = tokio::sync::oneshot::channel();
        let number = self.reports.next.fetch_add(1, Ordering::Relaxed);
        let row = PendingReport { number, device_id: device_id.to_owned(), policies, preferences, now, done };
        self.reports.queue.lock().unwrap_or_else(PoisonError::into_inner).push(row);
        // Group commit: whoever holds the commit lock writes every queued report in one transaction; a report queued
        // meanwhile goes with the next holder's batch. Each caller returns once its own report is committed. A caller
        // whose report an earlier holder took does not write what arrived since: that waits for its own callers, so
        // that a batch holds everything that arrived while the previous one was written (a holder writing the one or
        // two reports that came in meanwhile would make every batch small).
        {
            let _leader = self.reports.commit.lock().await;
            let batch = {
                let mut queue = self.reports.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.iter().any(|row| row.number == number) { std::mem::take(&mut *queue) } else { Vec::new() }
            };
            if !batch.is_empty() {
                // In a task of its own, so that a cancelled request cannot abandon the batch of the others.
                let store = self.clone();
                let written = tokio::spawn(async move {
                    let outcome = store.write_reports(&batch).await.map_err(|error| error.to_string());
                    for row in batch {
                        // A caller may have gone (its request was cancelled); its report is committed all the same.
                        let _ = row.done.send(outcome.clone());
                    }
                });
                let _ = written.await;
            }
        }
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Corrupt(format!("the report batch failed: {message}"))),
            Err(_) => Err(StoreError::Corrupt("the report batch was dropped".to_owned())),
        }
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

    async fn snapshot_changes(&self, since: Option<u64>, limit: usize) -> StoreResult<(u64, Option<ChangedIds>)> {
        let mut tx = self.read.begin().await?;
        let generation: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(generation), 0) FROM snapshot_changes").fetch_one(&mut *tx).await?;
        let Some(since) = since else { return Ok((to_u64(generation), None)) };
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT kind, id FROM snapshot_changes WHERE generation > ? ORDER BY generation LIMIT ?")
                .bind(to_i64(since))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
                .fetch_all(&mut *tx)
                .await?;
        if rows.len() > limit {
            return Ok((to_u64(generation), None));
        }
        let mut changed = ChangedIds::default();
        for (kind, id) in rows {
            match kind.as_str() {
                "device" => changed.devices.push(id),
                "group" => changed.groups.push(id),
                "policy" => changed.policies.push(id),
                _ => {}
            }
        }
        Ok((to_u64(generation), Some(changed)))
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

    async fn all_devices(&self) -> StoreResult<Vec<DeviceRecord>> {
        self.flush().await?;
        let rows = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY hostname COLLATE NOCASE, id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(device_from_row).collect()
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

const ADMIN_COLUMNS: &str = "id, username, password_hash, disabled, role, must_change_password, created_at";

fn admin_from_row(row: &SqliteRow) -> StoreResult<AdminRecord> {
    Ok(AdminRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get("disabled")?,
        role: code(row, "role", Role::from_code)?,
        must_change_password: row.try_get("must_change_password")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn insert_session(conn: &mut SqliteConnection, session: &NewSession, admin_id: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO sessions (token_hash, admin_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(&session.token_hash)
        .bind(admin_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_directory_device(
    conn: &mut SqliteConnection,
    id: &DirectoryDeviceId,
    now: UnixSeconds,
    synthetic: bool,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO directory_devices (id, created_at, synthetic) VALUES (?, ?, ?)")
        .bind(id.as_str())
        .bind(now)
        .bind(synthetic)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes an audit entry on the connection of the change's transaction.
async fn write_audit(conn: &mut SqliteConnection, actor: &Actor, audit: &NewAudit) -> StoreResult<()> {
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(serde_json::Value::to_string);
    sqlx::query(
        "INSERT INTO audit_log (at, actor, address, action, object_type, object_id, object_name, before, after) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(actor.at)
    .bind(&actor.username)
    .bind(&actor.address)
    .bind(audit.action.code())
    .bind(audit.object_type.code())
    .bind(&audit.object_id)
    .bind(&audit.object_name)
    .bind(json(&audit.before))
    .bind(json(&audit.after))
    .execute(conn)
    .await?;
    Ok(())
}

async fn tenant_snapshot(conn: &mut SqliteConnection) -> StoreResult<serde_json::Value> {
    let (ssm, enforce, mde, p1): (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT security_settings_management, enforce_security_configuration, licence_defender_for_endpoint, \
         licence_directory_premium_p1 FROM tenant WHERE id = 1",
    )
    .fetch_one(conn)
    .await?;
    Ok(json!({
        "security_settings_management": ssm,
        "enforce_security_configuration": enforce,
        "licence_defender_for_endpoint": mde,
        "licence_directory_premium_p1": p1,
    }))
}

/// A group's name and its audited values (name, description, kind, rule).
async fn group_snapshot(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<(String, serde_json::Value)>> {
    let row: Option<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT name, description, kind, rule FROM groups WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(name, description, kind, rule)| {
        let value = json!({ "name": name, "description": description, "kind": kind, "rule": rule });
        (name, value)
    }))
}

async fn membership_audit(
    conn: &mut SqliteConnection,
    actor: &Actor,
    group_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> StoreResult<()> {
    let name: String = sqlx::query_scalar("SELECT name FROM groups WHERE id = ?")
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_default();
    let audit = NewAudit {
        action: AuditAction::GroupMembers,
        object_type: ObjectType::Group,
        object_id: group_id.to_owned(),
        object_name: name,
        before,
        after,
    };
    write_audit(conn, actor, &audit).await
}

async fn nesting_audit(
    conn: &mut SqliteConnection,
    actor: &Actor,
    parent: &str,
    child: &str,
    nested: bool,
) -> StoreResult<()> {
    let name = |id: &str| sqlx::query_scalar::<_, String>("SELECT name FROM groups WHERE id = ?").bind(id.to_owned());
    let parent_name = name(parent).fetch_optional(&mut *conn).await?.unwrap_or_default();
    let child_name = name(child).fetch_optional(&mut *conn).await?.unwrap_or_default();
    let value = json!({ "nested_group": child, "nested_group_name": child_name });
    let audit = NewAudit {
        action: AuditAction::GroupNesting,
        object_type: ObjectType::Group,
        object_id: parent.to_owned(),
        object_name: parent_name,
        before: (!nested).then(|| value.clone()),
        after: nested.then_some(value),
    };
    write_audit(conn, actor, &audit).await
}

/// A policy version's audited values: its version and its whole draft.
fn policy_snapshot(document: &str, version: impl Into<i128>) -> StoreResult<serde_json::Value> {
    let draft: serde_json::Value = serde_json::from_str(document)
        .map_err(|e| StoreError::Corrupt(format!("stored policy does not parse: {e}")))?;
    Ok(json!({ "version": i64::try_from(version.into()).unwrap_or(i64::MAX), "policy": draft }))
}

/// The audit log's WHERE clause for `query`'s filter.
fn push_audit_filter(builder: &mut QueryBuilder<'_, Sqlite>, query: &AuditQuery) {
    builder.push(" WHERE 1 = 1");
    if let Some(actor) = &query.actor {
        builder.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(kind) = query.object_type {
        builder.push(" AND object_type = ").push_bind(kind.code());
    }
    if let Some(id) = &query.object_id {
        builder.push(" AND object_id = ").push_bind(id.clone());
    }
    if let Some(action) = query.action {
        builder.push(" AND action = ").push_bind(action.code());
    }
    if let Some(since) = query.since {
        builder.push(" AND at >= ").push_bind(since);
    }
    if let Some(until) = query.until {
        builder.push(" AND at < ").push_bind(until);
    }
}

const AUDIT_COLUMNS: &str = "id, at, actor, address, action, object_type, object_id, object_name, before, after";

fn audit_from_row(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let value = |column: &str| -> StoreResult<Option<serde_json::Value>> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("audit {column}: {e}"))))
            .transpose()
    };
    let (before, after) = (value("before")?, value("after")?);
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        address: row.try_get("address")?,
        action: code(row, "action", AuditAction::from_code)?,
        object_type: code(row, "object_type", ObjectType::from_code)?,
        object_id: row.try_get("object_id")?,
        object_name: row.try_get("object_name")?,
        summary: shared::audit::summarize(before.as_ref(), after.as_ref()),
        before,
        after,
    })
}

const POLICY_COLUMNS: &str = "id, version, document, created_at, updated_at, updated_by";

fn policy_from_row(row: &SqliteRow) -> StoreResult<Policy> {
    let version: i64 = row.try_get("version")?;
    let document: String = row.try_get("document")?;
    Ok(Policy {
        id: row.try_get("id")?,
        draft: from_json(&document)?,
        version: u64::try_from(version).unwrap_or(0),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    id: &str,
    version: u64,
    document: &str,
    now: UnixSeconds,
    actor: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO policy_versions (policy_id, version, document, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(to_i64(version))
    .bind(document)
    .bind(now)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn to_json(draft: &PolicyDraft) -> StoreResult<String> {
    serde_json::to_string(draft).map_err(|e| StoreError::Corrupt(format!("policy does not serialize: {e}")))
}

fn from_json(document: &str) -> StoreResult<PolicyDraft> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("stored policy does not parse: {e}")))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
