//! Persistence behind one contract, so the server does not care which database holds the data.
//!
//! The contract is split by aggregate: one trait each for accounts, the audit log, the tenant, devices, groups,
//! policies and reports, and [`Store`] for what spans them (the targeting generation, the snapshot's changes). Each
//! module here holds its aggregate's records and trait; a backend implements every trait in modules of its own
//! (`sqlite/`: the SQL of each aggregate beside it), and shares the write machinery that knows no SQL (`batch`: the
//! reports' group commit and the check-in buffer). `SqliteStore` is the embedded default. Every method that changes
//! more than one row does so in one transaction.
//!
//! Text rules every backend keeps, whatever its own collation: "by name" orders names compared with ASCII letters
//! folded to lower case (`Zeta` after `alpha`; other characters by code point), ties broken by id; "the name is
//! taken" compares the same way; a device search matches the text anywhere in the host name, ASCII letters in
//! either case. Times are Unix seconds given by the caller, never the database's clock.

mod accounts;
mod audit;
mod batch;
mod devices;
mod groups;
mod policies;
mod reports;
mod sqlite;
mod tenant;

use async_trait::async_trait;

pub use accounts::{AccountStore, AdminRecord, NewSession, UserUpdate};
pub use audit::{Actor, AuditStore, NewAudit};
pub use devices::{DeviceRecord, DeviceStore, NewDevice, Onboarded};
pub use groups::{GroupRecord, GroupStore, NestOutcome};
pub use policies::{PolicyStore, PolicyUpdate};
pub use reports::{ReportPosition, ReportStore, StoredPolicyReport};
pub use sqlite::{BackupSummary, SqliteStore};
pub use tenant::{NewOnboardingToken, OnboardingTokenRecord, TenantCounts, TenantRecord, TenantStore};

/// A storage failure. Callers answer it with a 500; the message goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value no longer parses: the database was changed behind Rampart's back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// An operation on the database's files was refused before anything was written (a backup onto an existing file,
    /// a data directory without a database).
    #[error("{0}")]
    Refused(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// What changed in the preview's snapshot after a generation (see [`Store::snapshot_changes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedIds {
    /// Devices changed, added or removed.
    pub devices: Vec<String>,
    /// Groups changed, added or removed (their rule, members or nesting included).
    pub groups: Vec<String>,
    /// Policies changed, added or removed.
    pub policies: Vec<String>,
}

/// Rampart's persistence: every aggregate's store, and what spans them.
#[async_trait]
pub trait Store:
    AccountStore + AuditStore + TenantStore + DeviceStore + GroupStore + PolicyStore + ReportStore + Send + Sync + 'static
{
    /// A number that changes after every committed change to the tenant switches, groups or policies, so that what
    /// is derived from them can be cached until it moves.
    fn generation(&self) -> u64;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// The generation of the preview's snapshot (it rises with every change to a device's facts, a group, a policy or
    /// the tenant switches), and the ids changed after `since` — `None` when no `since` is given or more than `limit`
    /// objects changed.
    async fn snapshot_changes(&self, since: Option<u64>, limit: usize) -> StoreResult<(u64, Option<ChangedIds>)>;
}
