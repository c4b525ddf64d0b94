//! Policies and their version history.

use async_trait::async_trait;
use shared::audit::AuditAction;
use shared::policy::{Policy, PolicyDraft, PolicyVersion};

use super::{Actor, StoreResult};

/// What an update of a policy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyUpdate {
    /// Written as the next version.
    Updated(Policy),
    /// Refused: the policy is at another version than the caller read.
    Stale {
        /// The version it is at.
        current: u64,
    },
    /// Refused: another policy has the name.
    NameTaken,
    /// There is no such policy.
    NotFound,
}

/// Policies and their version history.
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// Every policy at its current version, by name.
    async fn list_policies(&self) -> StoreResult<Vec<Policy>>;
    /// One policy at its current version.
    async fn get_policy(&self, id: &str) -> StoreResult<Option<Policy>>;
    /// Stores a new policy as version 1; false when the name is taken (ignoring case). `action` says how it came
    /// (created, imported) for the audit log.
    async fn create_policy(&self, policy: &Policy, action: AuditAction, actor: &Actor) -> StoreResult<bool>;
    /// Writes `draft` as the next version if the policy is still at `expected_version`; check and write happen in
    /// one transaction.
    async fn update_policy(
        &self,
        id: &str,
        expected_version: u64,
        draft: &PolicyDraft,
        actor: &Actor,
    ) -> StoreResult<PolicyUpdate>;
    /// Deletes a policy and its history; false when there is no such policy.
    async fn delete_policy(&self, id: &str, actor: &Actor) -> StoreResult<bool>;
    /// Every version of a policy, oldest first (empty when there is no such policy).
    async fn policy_versions(&self, id: &str) -> StoreResult<Vec<PolicyVersion>>;
}
