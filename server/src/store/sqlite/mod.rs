//! The embedded SQLite store: one file in the data directory, WAL journal, migrations applied at start.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::batch::{CheckInBuffer, GroupCommit};
use super::{ChangedIds, Store, StoreError, StoreResult};

/// The database's file in the data directory.
const DATABASE_FILE: &str = "rampart.sqlite3";

/// Schema migrations, applied in order at start (every pending one in one transaction) and recorded in
/// `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/0001_initial.sql")),
    (2, include_str!("../../../migrations/0002_groups.sql")),
    (3, include_str!("../../../migrations/0003_policies.sql")),
    (4, include_str!("../../../migrations/0004_reports.sql")),
    (5, include_str!("../../../migrations/0005_access_and_audit.sql")),
    (6, include_str!("../../../migrations/0006_onboarding_tokens_and_device_claims.sql")),
    (7, include_str!("../../../migrations/0007_report_aggregates.sql")),
    (8, include_str!("../../../migrations/0008_setting_exceptions.sql")),
    (9, include_str!("../../../migrations/0009_snapshot_changes.sql")),
];

mod accounts;
mod aggregates;
mod audit;
mod backup;
mod credentials_cache;
mod devices;
mod groups;
mod policies;
mod reports;
mod rows;
mod setting_rows;
mod tenant;

use aggregates::Scope;
pub use backup::BackupSummary;
use tenant::carry_over_onboarding_token;

/// The SQLite store. Writes go through a single connection, so that transactions queue instead of failing with
/// `SQLITE_BUSY` when two of them try to upgrade to writing at once; reads use a pool of their own (WAL lets them
/// run beside the writer).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Counts committed changes to what decides a device's policies (tenant switches, groups, policies).
    generation: Arc<AtomicU64>,
    /// Check-ins not yet written (see [`super::DeviceStore::record_check_in`]).
    check_ins: Arc<CheckInBuffer>,
    /// Reports being group-committed.
    reports: Arc<GroupCommit<reports::PendingReport>>,
    /// What decides a new device's policies, for onboardings.
    targeting: Arc<aggregates::TargetingCache>,
    /// Devices' credentials as authentication last read them.
    credentials: Arc<credentials_cache::CredentialsCache>,
}

/// Bumps the store's generation when dropped, i.e. after the method holding it committed (or failed).
struct BumpOnDrop(Arc<AtomicU64>);

impl Drop for BumpOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn code<T>(row: &SqliteRow, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let value: String = row.try_get(column)?;
    parse(&value).ok_or_else(|| corrupt(column, &value))
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    fn bump_on_drop(&self) -> BumpOnDrop {
        BumpOnDrop(Arc::clone(&self.generation))
    }

    /// Writes the buffered check-ins, so that a read of devices sees every acknowledged check-in.
    async fn flush(&self) -> StoreResult<()> {
        self.write_check_ins(self.check_ins.take()).await
    }

    /// Opens (creating if needed) `rampart.sqlite3` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DATABASE_FILE))
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
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
                    .bind(version)
                    .bind(crate::now())
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

#[async_trait]
impl Store for SqliteStore {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
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
}
