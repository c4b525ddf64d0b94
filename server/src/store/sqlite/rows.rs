//! How stored rows become records, for every module that reads devices or policies (their aggregate's own module, and
//! the report aggregates).

use shared::api::Registration;
use shared::device::{DeviceFacts, DirectoryDeviceId, Edition, Hostname, JoinType, ManagedBy, OsBuild, OsProduct};
use shared::eligibility::EligibilityCode;
use shared::policy::{Policy, PolicyDraft};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{code, corrupt};
use crate::store::{DeviceRecord, StoreError, StoreResult};

pub(super) const DEVICE_COLUMNS: &str = "id, directory_device_id, registration, hostname, os, edition, os_build, \
    required_update_installed, downlevel_agent_installed, join_type, managed_by, support, onboarded_at, \
    last_check_in, n_check_ins, sync_requested, claimed_directory_device_id";

pub(super) fn registration_code(registration: Registration) -> &'static str {
    match registration {
        Registration::Reused => "reused",
        Registration::Adopted => "adopted",
        Registration::Created => "created",
    }
}

pub(super) fn parse_registration(code: &str) -> Option<Registration> {
    match code {
        "reused" => Some(Registration::Reused),
        "adopted" => Some(Registration::Adopted),
        "created" => Some(Registration::Created),
        _ => None,
    }
}

pub(super) fn device_from_row(row: &SqliteRow) -> StoreResult<DeviceRecord> {
    let hostname: String = row.try_get("hostname")?;
    let os_build: String = row.try_get("os_build")?;
    let directory_device_id: String = row.try_get("directory_device_id")?;
    let directory_device_id = DirectoryDeviceId::try_from(directory_device_id.clone())
        .map_err(|_| corrupt("directory id", &directory_device_id))?;
    let n_check_ins: i64 = row.try_get("n_check_ins")?;
    Ok(DeviceRecord {
        id: row.try_get("id")?,
        facts: DeviceFacts {
            hostname: Hostname::try_from(hostname.clone()).map_err(|_| corrupt("hostname", &hostname))?,
            os: code(row, "os", OsProduct::from_code)?,
            edition: code(row, "edition", Edition::from_code)?,
            os_build: OsBuild::try_from(os_build.clone()).map_err(|_| corrupt("os_build", &os_build))?,
            required_update_installed: row.try_get("required_update_installed")?,
            downlevel_agent_installed: row.try_get("downlevel_agent_installed")?,
            join_type: code(row, "join_type", JoinType::from_code)?,
            directory_device_id: Some(directory_device_id.clone()),
            managed_by: code(row, "managed_by", ManagedBy::from_code)?,
        },
        directory_device_id,
        registration: code(row, "registration", parse_registration)?,
        support: code(row, "support", EligibilityCode::from_code)?,
        onboarded_at: row.try_get("onboarded_at")?,
        last_check_in: row.try_get("last_check_in")?,
        n_check_ins: u64::try_from(n_check_ins).unwrap_or(0),
        sync_requested: row.try_get("sync_requested")?,
        claimed_directory_device_id: row
            .try_get::<Option<String>, _>("claimed_directory_device_id")?
            .map(|id| DirectoryDeviceId::try_from(id.clone()).map_err(|_| corrupt("claimed directory id", &id)))
            .transpose()?,
    })
}

pub(super) const POLICY_COLUMNS: &str = "id, version, document, created_at, updated_at, updated_by";

pub(super) fn policy_from_row(row: &SqliteRow) -> StoreResult<Policy> {
    let version: i64 = row.try_get("version")?;
    let document: String = row.try_get("document")?;
    Ok(Policy {
        id: row.try_get("id")?,
        draft: from_json(&document)?,
        version: u64::try_from(version).unwrap_or(0),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

pub(super) fn to_json(draft: &PolicyDraft) -> StoreResult<String> {
    serde_json::to_string(draft).map_err(|e| StoreError::Corrupt(format!("policy does not serialize: {e}")))
}

pub(super) fn from_json(document: &str) -> StoreResult<PolicyDraft> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("stored policy does not parse: {e}")))
}
