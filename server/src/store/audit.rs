//! The audit log: who changed what, written in the transaction of the change itself.

use async_trait::async_trait;
use shared::api::UnixSeconds;
use shared::audit::{AuditAction, AuditEntry, AuditQuery, ObjectType};

use super::StoreResult;

/// Who changes something, from which address, and when. Every mutating store method takes one and writes the audit
/// entry of its change in the same transaction, so there is no change without its entry and no entry without its
/// change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Account name.
    pub username: String,
    /// The client's address.
    pub address: String,
    /// Now.
    pub at: UnixSeconds,
}

impl Actor {
    /// Rampart itself (the demo's preparation, migrations of content), at `at`.
    pub fn system(at: UnixSeconds) -> Self {
        Self { username: "rampart".to_owned(), address: "local".to_owned(), at }
    }
}

/// An audit entry to write beside a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    /// What was done.
    pub action: AuditAction,
    /// On what kind of object.
    pub object_type: ObjectType,
    /// The object's id.
    pub object_id: String,
    /// Its name.
    pub object_name: String,
    /// Values before.
    pub before: Option<serde_json::Value>,
    /// Values after.
    pub after: Option<serde_json::Value>,
}

/// The audit log: who changed what, written in the transaction of the change itself.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Writes an audit entry that goes with no other change (sign-ins).
    async fn record_audit(&self, actor: &Actor, entry: NewAudit) -> StoreResult<()>;
    /// One page of the audit log, newest first, and the number of matching entries.
    async fn audit_log(&self, query: &AuditQuery) -> StoreResult<(Vec<AuditEntry>, u64)>;
    /// Up to `limit` matching entries older than `before_id` (all when `None`), newest first; `query`'s page is
    /// ignored. For exports that stream the whole log.
    async fn audit_chunk(&self, query: &AuditQuery, before_id: Option<i64>, limit: u32)
    -> StoreResult<Vec<AuditEntry>>;
    /// One entry.
    async fn audit_entry(&self, id: i64) -> StoreResult<Option<AuditEntry>>;
}
