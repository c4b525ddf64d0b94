//! The online backup: a consistent copy of a live database, taken beside a running server.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::SqliteStore;
use crate::store::{StoreError, StoreResult};

/// What a backup holds, read back from the copy once it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The copy's size in bytes.
    pub bytes: u64,
    /// The newest schema migration it carries.
    pub schema_version: i64,
    /// Rows of the main tables, by table.
    pub counts: Vec<(&'static str, i64)>,
}

/// The tables whose rows a backup summary counts.
const COUNTED: [&str; 6] = ["devices", "groups", "policies", "policy_versions", "admins", "audit_log"];

impl SqliteStore {
    /// Copies the database of `data_dir` into a new file `to` with SQLite's `VACUUM INTO`: one read transaction, so
    /// the copy is the database as of one moment, taken while a server keeps serving (WAL lets writes go on beside
    /// it). The copy is checked (`PRAGMA integrity_check`) and counted before this returns. Refuses when `data_dir`
    /// holds no Rampart database or `to` exists; never migrates or changes the source.
    pub async fn backup(data_dir: &Path, to: &Path) -> StoreResult<BackupSummary> {
        let source = data_dir.join(super::DATABASE_FILE);
        if !source.is_file() {
            return Err(StoreError::Refused(format!("{} holds no Rampart database", data_dir.display())));
        }
        if to.exists() {
            return Err(StoreError::Refused(format!("{} exists already: a backup never overwrites", to.display())));
        }
        let target = to.to_str().ok_or_else(|| StoreError::Refused(format!("{} is not UTF-8", to.display())))?;
        let mut connection = SqliteConnectOptions::new()
            .filename(&source)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(30))
            .connect()
            .await?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(&mut connection).await?;
        connection.close().await?;

        let mut copy = SqliteConnectOptions::new().filename(to).read_only(true).connect().await?;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut copy).await?;
        if check != "ok" {
            return Err(StoreError::Corrupt(format!(
                "the copy in {} fails its integrity check: {check}",
                to.display()
            )));
        }
        let schema_version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetch_one(&mut copy).await?;
        let mut counts = Vec::with_capacity(COUNTED.len());
        for table in COUNTED {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut copy).await?;
            counts.push((table, n));
        }
        let bytes: i64 =
            sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                .fetch_one(&mut copy)
                .await?;
        copy.close().await?;
        Ok(BackupSummary { bytes: u64::try_from(bytes).unwrap_or(0), schema_version, counts })
    }
}
