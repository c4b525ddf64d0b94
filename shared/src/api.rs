//! Data transfer objects of the admin API and the device API, shared by the server, the SPA and the agent.

use serde::Serialize;
use shared_derive::CompactDeserialize;

use crate::device::{DeviceFacts, DirectoryDeviceId};
use crate::eligibility::Eligibility;
use crate::tenant::{Licences, Prerequisite, TenantSwitches};

/// Unix time in seconds.
pub type UnixSeconds = i64;

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    /// Always `ok` when the server answers and its database does.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: String,
}

pub use crate::access::Me;

/// One row of the Devices list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceSummary {
    /// Rampart's id of the device.
    pub id: String,
    /// What the device reported.
    pub facts: DeviceFacts,
    /// The directory registration the device is known by.
    pub directory_device_id: DirectoryDeviceId,
    /// Eligibility for security settings management, with the tenant switches applied.
    pub eligibility: Eligibility,
    /// When the device onboarded.
    pub onboarded_at: UnixSeconds,
    /// When it last checked in; `None` before its first check-in.
    pub last_check_in: Option<UnixSeconds>,
}

/// A page of the Devices list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DevicePage {
    /// The rows of this page.
    pub items: Vec<DeviceSummary>,
    /// Devices matching the filter, on all pages.
    pub total: u64,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// Whether the device's directory registration already existed or was created at onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// The device presented a registration that Rampart already knew.
    Reused,
    /// The device presented a registration that Rampart had not seen; it was recorded as is.
    Adopted,
    /// The device had no registration; one was created for it (workgroup devices too).
    Created,
}

impl Registration {
    /// The name an admin reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Reused => "Existing registration reused",
            Self::Adopted => "Existing registration recorded",
            Self::Created => "Registration created at onboarding",
        }
    }
}

/// Everything known about one device (`GET /api/v1/devices/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceDetail {
    /// The row data.
    #[serde(flatten)]
    pub summary: DeviceSummary,
    /// How the directory registration came about.
    pub registration: Registration,
    /// How many times the device has checked in.
    pub n_check_ins: u64,
    /// Whether an admin asked for a check-in sooner than the interval.
    pub sync_requested: bool,
    /// A directory registration this device presented at onboarding that another device already holds: it was not
    /// taken over, and the device was onboarded with a registration of its own instead.
    pub directory_conflict: Option<DirectoryConflict>,
}

/// A directory registration that two devices claim (see [`DeviceDetail::directory_conflict`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DirectoryConflict {
    /// The registration the device presented.
    pub presented: DirectoryDeviceId,
    /// The device that holds it, when it still exists.
    pub held_by: Option<DeviceRef>,
}

/// A device by id and host name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceRef {
    /// Rampart's id.
    pub id: String,
    /// Host name.
    pub hostname: String,
}

/// The body of `POST /api/v1/device/onboard` (parsed by hand on the server, so that the token is checked before the
/// facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OnboardRequest {
    /// The tenant's onboarding token.
    pub onboarding_token: String,
    /// The device's facts.
    pub facts: DeviceFacts,
    /// When onboarding again with a directory registration this device holds: its current secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_secret: Option<String>,
}

/// Answer to `POST /api/v1/device/onboard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OnboardResponse {
    /// The device's id in Rampart.
    pub device_id: String,
    /// The device's secret; shown once, stored hashed.
    pub device_secret: String,
    /// The directory registration the device is known by.
    pub directory_device_id: DirectoryDeviceId,
    /// How the registration came about.
    pub registration: Registration,
    /// Seconds until the device should check in.
    pub check_in_interval_secs: u64,
}

/// Answer to `POST /api/v1/device/check-in` when the device's policies changed (or it held none). The device sends
/// the hash it holds in `If-None-Match`; when nothing changed the answer is `304 Not Modified` with the interval in
/// the [`CHECK_IN_INTERVAL_HEADER`] header and no body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckInResponse {
    /// Seconds until the next check-in.
    pub check_in_interval_secs: u64,
    /// Identifies this set of policies; the device sends it back to get a `304` while nothing changes.
    pub policies_hash: String,
    /// Every policy that applies to the device, at its current version (empty when the device is not eligible).
    pub policies: Vec<crate::policy::Policy>,
}

/// Header of a `304` check-in answer carrying the seconds until the next check-in.
pub const CHECK_IN_INTERVAL_HEADER: &str = "x-rampart-check-in-interval";

/// A device's effective configuration (`GET /api/v1/devices/{id}/effective`): the policies that apply to it and,
/// per setting, the value that takes effect and why, resolved with `shared::conflict` as the device resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EffectiveConfiguration {
    /// The policies that apply (none when the device is not eligible).
    pub policies: Vec<PolicyRef>,
    /// Per policy id, how the device gets it: the included group and, through nesting, the group that holds the
    /// device, by name, with "(rule)" or "(member)" on the last one; *All devices* alone when included so.
    #[serde(default)]
    pub through: std::collections::BTreeMap<String, Vec<String>>,
    /// Per setting: effective value, status, sources, and the rule that decided a conflict.
    pub resolution: crate::conflict::Resolution,
}

/// A device's reported status (`GET /api/v1/devices/{id}/status`): every policy that applies, with its state, and
/// the local preferences the device last reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceStatus {
    /// One entry per policy that applies to the device now.
    pub policies: Vec<DevicePolicyStatus>,
    /// The device's local preferences (the `Get-MpPreference` view), as last reported.
    pub preferences: std::collections::BTreeMap<String, String>,
    /// When the preferences were reported; `None` before the first report.
    pub preferences_reported_at: Option<UnixSeconds>,
}

/// One policy on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DevicePolicyStatus {
    /// The policy.
    pub policy: PolicyRef,
    /// Pending until the device reports the current version.
    pub state: crate::report::PolicyState,
    /// The version the device last reported, if any.
    pub reported_version: Option<u64>,
    /// Per setting, from the last report of the current version.
    pub settings: Vec<crate::report::SettingResult>,
    /// When the device reported it.
    pub reported_at: Option<UnixSeconds>,
}

/// How the devices a policy targets have checked in relative to the policy's last change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckInCounts {
    /// Checked in since the policy last changed.
    pub since_change: u64,
    /// Last checked in before the policy's last change.
    pub before_change: u64,
    /// Never checked in.
    pub never: u64,
}

/// One device in a policy's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyDeviceRow {
    /// The device's id.
    pub device_id: String,
    /// Its name.
    pub device_name: String,
    /// Its operating system, in words.
    pub os: String,
    /// The policy's state on it.
    pub state: crate::report::PolicyState,
    /// The version it last reported, if any.
    pub reported_version: Option<u64>,
    /// When it last reported the policy.
    pub reported_at: Option<UnixSeconds>,
    /// When it last checked in.
    pub last_check_in: Option<UnixSeconds>,
}

/// A policy's report (`GET /api/v1/policies/{id}/report`): device counts by status and check-in, the devices the
/// policy targets, and per setting the counts of success, error and conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyReport {
    /// The policy.
    pub policy: PolicyRef,
    /// When its current version was written.
    pub updated_at: UnixSeconds,
    /// Targeted devices by the policy's state.
    pub counts: crate::report::StatusCounts,
    /// Targeted devices by check-in.
    pub check_in: CheckInCounts,
    /// One page of the targeted devices that match the query (`crate::query::ReportQuery`), in its order.
    pub devices: Vec<PolicyDeviceRow>,
    /// Targeted devices matching the query, on all pages.
    pub devices_total: u64,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Per setting status.
    pub settings: Vec<crate::report::SettingCounts>,
}

/// One device's result for one setting of a policy, in that setting's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingDeviceRow {
    /// The device's id.
    pub device_id: String,
    /// Its name.
    pub device_name: String,
    /// Its operating system, in words.
    pub os: String,
    /// The setting's state on it.
    pub state: crate::report::SettingState,
    /// For an error, the code the device gave.
    pub code: String,
    /// Why: the device's message, the competing policies, the reason it does not apply.
    pub detail: String,
    /// When it reported the policy.
    pub reported_at: Option<UnixSeconds>,
}

/// One setting's devices (`GET /api/v1/policies/{id}/report/settings/{setting_id}`): its counts, and one page of the
/// devices that reported a result for it in the policy's current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SettingReport {
    /// The policy.
    pub policy: PolicyRef,
    /// The setting, its value in the policy and its counts.
    pub setting: crate::report::SettingCounts,
    /// One page of the devices that match the query (`crate::query::SettingQuery`), in its order.
    pub devices: Vec<SettingDeviceRow>,
    /// Devices matching the query, on all pages.
    pub devices_total: u64,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// One policy on one device (`GET /api/v1/policies/{id}/report/devices/{device_id}`): the policy's state there and
/// every setting with the other policies that manage it on that device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyDeviceReport {
    /// The policy.
    pub policy: PolicyRef,
    /// The device's row in the policy's report.
    pub device: PolicyDeviceRow,
    /// Every setting of the policy on the device.
    pub settings: Vec<crate::report::SettingOnDevice>,
}

/// A policy, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyRef {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Profile.
    pub profile: crate::catalog::Profile,
    /// Current version.
    pub version: u64,
}

/// The tenant administration page (`GET /api/v1/tenant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TenantView {
    /// The two switches.
    pub switches: TenantSwitches,
    /// Declared licences.
    pub licences: Licences,
    /// The prerequisite checklist.
    pub prerequisites: Vec<Prerequisite>,
}

/// `PATCH /api/v1/tenant`: what to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New switch positions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switches: Option<TenantSwitches>,
    /// New licence declarations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licences: Option<Licences>,
}

/// What a device needs to onboard: the server's address and an onboarding token. Given once, when the token is
/// created in Tenant administration, and read by `rampart-agent --onboarding-package`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OnboardingPackage {
    /// Base URL of the Rampart server, e.g. `http://127.0.0.1:8080`.
    pub server_url: String,
    /// The onboarding token.
    pub onboarding_token: String,
}

string_enum! {
    /// Whether an onboarding token still onboards devices.
    pub enum OnboardingTokenState {
        Active = ("active", "Active"),
        Expired = ("expired", "Expired"),
        UsedUp = ("used_up", "All uses taken"),
        Revoked = ("revoked", "Revoked"),
    }
}

/// An onboarding token as Tenant administration lists it (never the token itself: it is stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OnboardingTokenSummary {
    /// Id.
    pub id: String,
    /// The name an admin gave it (what it is for: a site, a deployment wave).
    pub name: String,
    /// The token's last four characters, to tell tokens apart.
    pub ends_with: String,
    /// When it was created.
    pub created_at: UnixSeconds,
    /// Who created it.
    pub created_by: String,
    /// When it stops onboarding devices; `None`: never.
    pub expires_at: Option<UnixSeconds>,
    /// How many onboardings it allows; `None`: no limit.
    pub max_uses: Option<u64>,
    /// How many devices onboarded with it.
    pub uses: u64,
    /// When it was revoked.
    pub revoked_at: Option<UnixSeconds>,
    /// Whether it still onboards devices.
    pub state: OnboardingTokenState,
}

impl OnboardingTokenSummary {
    /// The state at `now` from the token's limits.
    pub fn state_at(
        expires_at: Option<UnixSeconds>,
        max_uses: Option<u64>,
        uses: u64,
        revoked_at: Option<UnixSeconds>,
        now: UnixSeconds,
    ) -> OnboardingTokenState {
        if revoked_at.is_some() {
            OnboardingTokenState::Revoked
        } else if expires_at.is_some_and(|at| at <= now) {
            OnboardingTokenState::Expired
        } else if max_uses.is_some_and(|max| uses >= max) {
            OnboardingTokenState::UsedUp
        } else {
            OnboardingTokenState::Active
        }
    }
}

/// `POST /api/v1/tenant/onboarding-tokens`: a new onboarding token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOnboardingToken {
    /// What it is for, 1 to 64 characters.
    pub name: String,
    /// Days until it expires, 1 to 365; absent: it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
    /// How many devices may onboard with it, 1 to 1,000,000; absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u64>,
}

/// The longest onboarding token name.
pub const MAX_TOKEN_NAME_CHARS: usize = 64;
/// The longest onboarding token lifetime.
pub const MAX_TOKEN_DAYS: u32 = 365;
/// The most uses an onboarding token may allow.
pub const MAX_TOKEN_USES: u64 = 1_000_000;

impl CreateOnboardingToken {
    /// Every problem with the request; the form and the server both ask.
    pub fn validate(&self) -> Vec<crate::Violation> {
        let mut violations = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS || name.chars().any(char::is_control) {
            violations.push(crate::Violation::new(
                "name",
                format!("must be 1 to {MAX_TOKEN_NAME_CHARS} characters, without control characters"),
            ));
        }
        if self.expires_in_days.is_some_and(|days| !(1..=MAX_TOKEN_DAYS).contains(&days)) {
            violations.push(crate::Violation::new("expires_in_days", format!("must be 1 to {MAX_TOKEN_DAYS} days")));
        }
        if self.max_uses.is_some_and(|uses| !(1..=MAX_TOKEN_USES).contains(&uses)) {
            violations.push(crate::Violation::new("max_uses", format!("must be 1 to {MAX_TOKEN_USES}")));
        }
        violations
    }
}

/// Answer to `POST /api/v1/tenant/onboarding-tokens`: the token, shown this once, in its onboarding package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedOnboardingToken {
    /// The token as it will be listed.
    pub token: OnboardingTokenSummary,
    /// What `rampart-agent --onboarding-package` reads; the token in it is shown only now.
    pub package: OnboardingPackage,
}

/// A group in the Groups list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupSummary {
    /// The group's id; [`crate::groups::ALL_DEVICES`] for the built-in group.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Static or dynamic.
    pub kind: crate::groups::GroupKind,
    /// The rule of a dynamic group.
    pub rule: Option<String>,
    /// Devices in the group, through nested groups.
    pub n_members: u64,
    /// Groups nested directly in this one.
    pub n_nested: u64,
    /// Whether this is the built-in *All devices*, which cannot be changed.
    pub built_in: bool,
}

/// A group, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupRef {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A device in a group, and how it got there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupMember {
    /// Device id.
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Who manages it.
    pub managed_by: crate::device::ManagedBy,
    /// OS.
    pub os: crate::device::OsProduct,
    /// Whether it is a direct member (explicitly added, or matching this group's own rule) rather than one
    /// through a nested group.
    pub direct: bool,
}

/// A group's page (`GET /api/v1/groups/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupDetail {
    /// The list data.
    #[serde(flatten)]
    pub summary: GroupSummary,
    /// Members, by host name.
    pub members: Vec<GroupMember>,
    /// Groups nested directly in this one.
    pub nested: Vec<GroupRef>,
    /// Groups this one is nested in.
    pub nested_in: Vec<GroupRef>,
}

/// `POST /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// Name, unique among groups.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Static or dynamic.
    pub kind: crate::groups::GroupKind,
    /// The rule, for a dynamic group only.
    #[serde(default)]
    pub rule: Option<String>,
}

/// `PATCH /api/v1/groups/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New rule (dynamic groups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// `POST /api/v1/groups/{id}/members` and `…/members/remove`: devices to add to or remove from a static group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    /// Device ids.
    pub device_ids: Vec<String>,
}

/// `POST /api/v1/groups/{id}/nested`: a group to nest in this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NestGroup {
    /// The group to nest.
    pub group_id: String,
}

/// `POST /api/v1/groups/preview`: how many devices a rule would match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RulePreviewRequest {
    /// The rule as typed.
    pub rule: String,
}

/// The answer to a rule preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, CompactDeserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RulePreview {
    /// Devices matching.
    pub n_matching: u64,
    /// Up to ten matching host names, as examples.
    pub sample: Vec<String>,
}
