//! What devices report, and the report views read from the maintained aggregates.

use std::collections::BTreeMap;

use async_trait::async_trait;
use shared::api::{CheckInCounts, PolicyDeviceRow, SettingDeviceRow, UnixSeconds};
use shared::query::{ReportQuery, SettingQuery};
use shared::report::{DeviceReport, PolicyState, SettingResult, SettingTally, StatusCounts};

use super::StoreResult;

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

/// What devices report, and the report views read from the maintained aggregates.
#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
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
    /// One setting's devices: those whose counted report of the policy's current version (see
    /// [`ReportStore::setting_tallies`]) has a result for `setting_id`, that match `query`'s filter, in its order: at most
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
    /// The device's last reported local preferences and when.
    async fn device_preferences(&self, device_id: &str)
    -> StoreResult<Option<(BTreeMap<String, String>, UnixSeconds)>>;
}
