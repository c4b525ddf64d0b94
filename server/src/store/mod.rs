//! Persistence behind one trait, so the server does not care which database holds the data.
//!
//! `SqliteStore` is the embedded default. Every method that changes more than one row does so in one transaction.

mod sqlite;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use shared::access::Role;
use shared::api::{CheckInCounts, PolicyDeviceRow, Registration, SettingDeviceRow, UnixSeconds};
use shared::audit::{AuditAction, AuditEntry, AuditQuery, ObjectType};
use shared::device::{DeviceFacts, DirectoryDeviceId};
use shared::eligibility::EligibilityCode;
use shared::groups::GroupKind;
use shared::policy::{Policy, PolicyDraft, PolicyVersion};
use shared::query::{DeviceQuery, ReportQuery, SettingQuery};
use shared::report::{DeviceReport, PolicyState, SettingResult, SettingTally, StatusCounts};
use shared::tenant::{Licences, TenantSwitches};

pub use sqlite::SqliteStore;

/// A storage failure. Callers answer it with a 500; the message goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value no longer parses: the database was changed behind Rampart's back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

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

/// The tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// The two switches.
    pub switches: TenantSwitches,
    /// Declared licences.
    pub licences: Licences,
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

/// A device to store at onboarding.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// SHA-256 of the onboarding token it presented; checked, and its use counted, in the onboarding's transaction.
    pub token_hash: String,
    /// The address it onboarded from, for the audit log.
    pub address: String,
    /// Id to use when the device is new.
    pub id: String,
    /// SHA-256 of the device secret, hex.
    pub secret_hash: String,
    /// What it reported.
    pub facts: DeviceFacts,
    /// `shared::eligibility::device_support(&facts)`.
    pub support: EligibilityCode,
    /// Registration to create when the device presents none.
    pub new_directory_device_id: DirectoryDeviceId,
    /// SHA-256 of the secret the device presented as its current one, when it onboards again.
    pub previous_secret_hash: Option<String>,
    /// Now.
    pub now: UnixSeconds,
}

/// What onboarding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onboarded {
    /// The device's id: the new one, or the existing one when the registration already had a device.
    pub device_id: String,
    /// The registration the device is known by.
    pub directory_device_id: DirectoryDeviceId,
    /// How it came about.
    pub registration: Registration,
    /// A registration the device presented that another device holds (it was onboarded with one of its own).
    pub directory_conflict: Option<DirectoryDeviceId>,
}

/// A stored device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Rampart's id.
    pub id: String,
    /// What it reported.
    pub facts: DeviceFacts,
    /// Its registration.
    pub directory_device_id: DirectoryDeviceId,
    /// How the registration came about.
    pub registration: Registration,
    /// Support from its own facts, before the tenant switches.
    pub support: EligibilityCode,
    /// When it onboarded.
    pub onboarded_at: UnixSeconds,
    /// When it last checked in.
    pub last_check_in: Option<UnixSeconds>,
    /// Number of check-ins.
    pub n_check_ins: u64,
    /// Whether an admin asked it to check in sooner.
    pub sync_requested: bool,
    /// A registration it presented that another device held, when it was onboarded with one of its own instead.
    pub claimed_directory_device_id: Option<DirectoryDeviceId>,
}

/// A stored group with its own members and the groups nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Static or dynamic.
    pub kind: GroupKind,
    /// The rule's text, for dynamic groups.
    pub rule: Option<String>,
    /// Explicit members (static groups).
    pub members: BTreeSet<String>,
    /// Groups nested directly in this one.
    pub children: Vec<String>,
}

/// What nesting a group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NestOutcome {
    /// Done (or already so).
    Nested,
    /// Refused: the chain of group ids that would loop.
    Cycle(Vec<String>),
    /// One of the groups does not exist.
    UnknownGroup,
}

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

/// The latest report of one policy on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicyReport {
    /// The policy.
    pub policy_id: String,
    /// The version the device applied.
    pub version: u64,
    /// Its state then.
    pub state: PolicyState,
    /// Per setting.
    pub settings: Vec<SettingResult>,
    /// When.
    pub reported_at: UnixSeconds,
}

/// Where a page of a report's rows (by default a policy's devices) starts.
#[derive(Debug, Clone, Copy)]
pub enum ReportPosition<'a, R = PolicyDeviceRow> {
    /// After this many rows (a page of the admin center).
    Offset(u64),
    /// After this row, in the query's order (the next chunk of an export: no row is counted twice).
    After(&'a R),
}

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

/// Rampart's persistence.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A number that changes after every committed change to the tenant switches, groups or policies, so that what
    /// is derived from them can be cached until it moves.
    fn generation(&self) -> u64;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

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

    /// Onboards a device with an onboarding token, in one transaction with the token's use and the audit entry;
    /// `Ok(None)` when the token is not usable (then nothing changes).
    ///
    /// A device that presents its current secret is onboarded again in place (new secret, new facts). A presented
    /// registration is reused or recorded — unless another device holds it and the presenter cannot prove to be that
    /// device: then it is not taken over; the presenter gets a registration of its own and the claim is kept
    /// ([`DeviceRecord::claimed_directory_device_id`]) for an admin to settle.
    async fn onboard_device(&self, device: NewDevice) -> StoreResult<Option<Onboarded>>;
    /// Deletes a device, its reports, preferences and memberships; its credentials stop working at once; audited.
    /// False when there is no such device.
    async fn delete_device(&self, device_id: &str, actor: &Actor) -> StoreResult<bool>;
    /// The device holding a directory registration.
    async fn directory_holder(&self, directory_device_id: &str) -> StoreResult<Option<DeviceRecord>>;
    /// A device and its secret hash, for authentication. Its `last_check_in` may lag by the check-ins not yet
    /// flushed (see [`Store::record_check_in`]).
    async fn authenticate_device(&self, device_id: &str) -> StoreResult<Option<(String, DeviceRecord)>>;
    /// Records a check-in. With `clear_sync` (the device had a Policy sync pending, and gets everything now) it is
    /// written at once and clears the request; otherwise it is buffered and written with others in one transaction
    /// within a second or before any read of devices, so a crash can lose at most that second of check-in times.
    async fn record_check_in(&self, device_id: &str, now: UnixSeconds, clear_sync: bool) -> StoreResult<()>;
    /// Writes the buffered check-ins now (at shutdown).
    async fn flush_check_ins(&self) -> StoreResult<()>;
    /// One page of devices and the number of all matching ones.
    async fn list_devices(
        &self,
        query: &DeviceQuery,
        switches: TenantSwitches,
    ) -> StoreResult<(Vec<DeviceRecord>, u64)>;
    /// One device.
    async fn get_device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>>;
    /// Asks the device to check in at its next poll; false when there is no such device.
    async fn request_sync(&self, device_id: &str, actor: &Actor) -> StoreResult<bool>;

    /// Every device's facts, for dynamic group rules.
    async fn all_device_facts(&self) -> StoreResult<Vec<(String, DeviceFacts)>>;
    /// Every group with its own members and nested groups, by name.
    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>>;
    /// Stores a new group; false when the name is taken (ignoring case).
    async fn create_group(&self, group: &GroupRecord, actor: &Actor) -> StoreResult<bool>;
    /// Changes name, description or rule; `Ok(None)` when there is no such group, `Ok(Some(false))` when the new
    /// name is taken.
    async fn update_group(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        rule: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Option<bool>>;
    /// Deletes a group (its memberships and nestings go with it); false when there is no such group.
    async fn delete_group(&self, id: &str, actor: &Actor) -> StoreResult<bool>;
    /// Adds devices to a static group, all or none; returns the ids that are not devices (nothing is added then).
    async fn add_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<Vec<String>>;
    /// Removes devices from a static group.
    async fn remove_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<()>;
    /// Nests `child` in `parent`, refusing a loop; the check and the write happen in one transaction.
    async fn nest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<NestOutcome>;
    /// Takes `child` out of `parent`; false when it was not nested there.
    async fn unnest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<bool>;

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

    /// Stores a device's report in one transaction; a policy's result replaces the stored one only when its version is
    /// the same or newer, so a late report of an old version never hides a newer one, and repeating a report is harmless.
    async fn record_report(&self, device_id: &str, report: &DeviceReport, now: UnixSeconds) -> StoreResult<()>;
    /// The latest report of every policy on the device.
    async fn device_reports(&self, device_id: &str) -> StoreResult<Vec<StoredPolicyReport>>;
    /// The latest report of one policy from every device that reported it, by device id.
    async fn policy_reports(&self, policy_id: &str) -> StoreResult<BTreeMap<String, StoredPolicyReport>>;
    /// Every policy's targeted devices by state, by policy id (maintained: one row per policy; a policy that targets
    /// no device may be missing).
    async fn status_counts(&self) -> StoreResult<BTreeMap<String, StatusCounts>>;
    /// One policy's per setting tallies of the counted reports, by setting id (maintained; none while a tenant switch
    /// is off, as no device can receive a policy then).
    async fn setting_tallies(&self, policy_id: &str) -> StoreResult<BTreeMap<String, SettingTally>>;
    /// The devices a policy targets that match `query`'s filter, in its order: at most `limit` from `position`.
    async fn policy_devices(
        &self,
        policy_id: &str,
        query: &ReportQuery,
        position: ReportPosition<'_>,
        limit: u32,
    ) -> StoreResult<Vec<PolicyDeviceRow>>;
    /// How many devices the policy targets that match `query`'s filter.
    async fn count_policy_devices(&self, policy_id: &str, query: &ReportQuery) -> StoreResult<u64>;
    /// The generation of the preview's snapshot (it rises with every change to a device's facts, a group, a policy or
    /// the tenant switches), and the ids changed after `since` — `None` when no `since` is given or more than `limit`
    /// objects changed.
    async fn snapshot_changes(&self, since: Option<u64>, limit: usize) -> StoreResult<(u64, Option<ChangedIds>)>;
    /// One setting's devices: those whose counted report of the policy's current version (see
    /// [`Store::setting_tallies`]) has a result for `setting_id`, that match `query`'s filter, in its order: at most
    /// `limit` from `position`. A report of the current version carries one result per configured setting (the device
    /// API refuses others), so the rows of each state number what the tallies count.
    async fn setting_devices(
        &self,
        policy_id: &str,
        setting_id: &str,
        query: &SettingQuery,
        position: ReportPosition<'_, SettingDeviceRow>,
        limit: u32,
    ) -> StoreResult<Vec<SettingDeviceRow>>;
    /// How many of a setting's devices match `query`'s filter.
    async fn count_setting_devices(&self, policy_id: &str, setting_id: &str, query: &SettingQuery) -> StoreResult<u64>;
    /// The policy's row on one device, if the policy targets it.
    async fn policy_device(&self, policy_id: &str, device_id: &str) -> StoreResult<Option<PolicyDeviceRow>>;
    /// One policy's targeted devices by state, and by their last check-in: since its last change, before it, never
    /// (maintained: one row).
    async fn policy_counts(&self, policy_id: &str) -> StoreResult<(StatusCounts, CheckInCounts)>;
    /// Every device, by name.
    async fn all_devices(&self) -> StoreResult<Vec<DeviceRecord>>;
    /// The device's last reported local preferences and when.
    async fn device_preferences(&self, device_id: &str)
    -> StoreResult<Option<(BTreeMap<String, String>, UnixSeconds)>>;
}
