//! Devices: onboarding, credentials, check-ins, the device list.

use async_trait::async_trait;
use shared::api::{Registration, UnixSeconds};
use shared::device::{DeviceFacts, DirectoryDeviceId};
use shared::eligibility::EligibilityCode;
use shared::query::DeviceQuery;
use shared::tenant::TenantSwitches;

use super::{Actor, StoreResult};

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

/// Devices: onboarding, credentials, check-ins, the device list.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
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
    /// flushed (see [`DeviceStore::record_check_in`]).
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
    /// Every device, by name.
    async fn all_devices(&self) -> StoreResult<Vec<DeviceRecord>>;
}
