//! Admin accounts and their sessions.

use async_trait::async_trait;
use shared::access::Role;
use shared::api::UnixSeconds;

use super::{Actor, StoreResult};

/// An admin account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecord {
    /// Row id.
    pub id: i64,
    /// Account name.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Role.
    pub role: Role,
    /// Still on the one-time password.
    pub must_change_password: bool,
    /// When the account was created.
    pub created_at: UnixSeconds,
}

/// What a change of a user account came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserUpdate {
    /// No such account.
    NotFound,
    /// The change would leave no enabled Administrator; nothing changed.
    LastAdministrator,
    /// Changed.
    Updated(AdminRecord),
}

/// A session to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of its token.
    pub token_hash: String,
    /// Now.
    pub created_at: UnixSeconds,
    /// When it ends.
    pub expires_at: UnixSeconds,
}

/// Admin accounts and their sessions.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Number of admin accounts, disabled ones included.
    async fn count_admins(&self) -> StoreResult<u64>;
    /// Creates the account (an Administrator), or resets its password if it exists and ends its sessions; audited.
    /// `must_change` marks the password one-time.
    async fn set_admin_password(
        &self,
        username: &str,
        password_hash: &str,
        must_change: bool,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// Every account, by name.
    async fn list_admins(&self) -> StoreResult<Vec<AdminRecord>>;
    /// Creates an account with a one-time password; false when the name is taken.
    async fn create_admin(&self, username: &str, password_hash: &str, role: Role, actor: &Actor) -> StoreResult<bool>;
    /// Changes an account's role or disables/enables it; a disabled account's sessions end.
    async fn update_admin(
        &self,
        username: &str,
        role: Option<Role>,
        disabled: Option<bool>,
        actor: &Actor,
    ) -> StoreResult<UserUpdate>;
    /// Replaces the password of an account and clears its one-time flag; every session of the account ends and
    /// `session` starts in their place, in one transaction.
    async fn change_password(
        &self,
        admin_id: i64,
        password_hash: &str,
        session: &NewSession,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// The addresses the account signed in from since `since` (at most 100, most recent first).
    async fn sign_in_addresses(&self, username: &str, since: UnixSeconds) -> StoreResult<Vec<String>>;
    /// The account with this name.
    async fn find_admin(&self, username: &str) -> StoreResult<Option<AdminRecord>>;
    /// Stores a session (by the hash of its token).
    async fn create_session(&self, session: &NewSession, admin_id: i64) -> StoreResult<()>;
    /// The enabled admin whose unexpired session has this token hash.
    async fn session_admin(&self, token_hash: &str, now: UnixSeconds) -> StoreResult<Option<AdminRecord>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
}
