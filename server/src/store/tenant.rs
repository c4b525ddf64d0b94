//! The tenant: its switches and licences, its onboarding tokens, the counts of its prerequisite checklist.

use async_trait::async_trait;
use shared::api::UnixSeconds;
use shared::tenant::{Licences, TenantSwitches};

use super::{Actor, StoreResult};

/// The tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// The two switches.
    pub switches: TenantSwitches,
    /// Declared licences.
    pub licences: Licences,
}

/// An onboarding token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOnboardingToken {
    /// Id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Its last four characters.
    pub ends_with: String,
    /// When it expires.
    pub expires_at: Option<UnixSeconds>,
    /// How many onboardings it allows.
    pub max_uses: Option<u64>,
}

/// A stored onboarding token (never the token: only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingTokenRecord {
    /// Id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its last four characters.
    pub ends_with: String,
    /// When it was created.
    pub created_at: UnixSeconds,
    /// Who created it.
    pub created_by: String,
    /// When it expires.
    pub expires_at: Option<UnixSeconds>,
    /// How many onboardings it allows.
    pub max_uses: Option<u64>,
    /// Onboardings so far.
    pub uses: u64,
    /// When it was revoked.
    pub revoked_at: Option<UnixSeconds>,
}

impl OnboardingTokenRecord {
    /// As Tenant administration lists it, at `now`.
    pub fn summary(&self, now: UnixSeconds) -> shared::api::OnboardingTokenSummary {
        shared::api::OnboardingTokenSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            ends_with: self.ends_with.clone(),
            created_at: self.created_at,
            created_by: self.created_by.clone(),
            expires_at: self.expires_at,
            max_uses: self.max_uses,
            uses: self.uses,
            revoked_at: self.revoked_at,
            state: shared::api::OnboardingTokenSummary::state_at(
                self.expires_at,
                self.max_uses,
                self.uses,
                self.revoked_at,
                now,
            ),
        }
    }
}

/// Counts for the prerequisite checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantCounts {
    /// Enabled admins.
    pub n_admins: u64,
    /// All devices.
    pub n_devices: u64,
    /// Devices that checked in since the given time.
    pub n_devices_reporting: u64,
}

/// The tenant: its switches and licences, its onboarding tokens, the counts of its prerequisite checklist.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// The tenant.
    async fn tenant(&self) -> StoreResult<TenantRecord>;
    /// Sets the switches and/or the licences.
    async fn update_tenant(
        &self,
        switches: Option<TenantSwitches>,
        licences: Option<Licences>,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// Stores a new onboarding token.
    async fn create_onboarding_token(
        &self,
        token: &NewOnboardingToken,
        actor: &Actor,
    ) -> StoreResult<OnboardingTokenRecord>;
    /// Every onboarding token, newest first.
    async fn list_onboarding_tokens(&self) -> StoreResult<Vec<OnboardingTokenRecord>>;
    /// Revokes a token (again is harmless); `None` when there is no such token.
    async fn revoke_onboarding_token(&self, id: &str, actor: &Actor) -> StoreResult<Option<OnboardingTokenRecord>>;
    /// Whether the token with this hash onboards devices now.
    async fn onboarding_token_usable(&self, token_hash: &str, now: UnixSeconds) -> StoreResult<bool>;
    /// Counts for the prerequisite checklist.
    async fn tenant_counts(&self, reporting_since: UnixSeconds) -> StoreResult<TenantCounts>;
}
