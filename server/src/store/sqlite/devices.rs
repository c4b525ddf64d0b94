//! Devices in SQLite: onboarding, credentials, buffered check-ins, the device list.

use async_trait::async_trait;
use serde_json::json;
use shared::api::{Registration, UnixSeconds};
use shared::audit::{AuditAction, ObjectType};
use shared::device::{DeviceFacts, DirectoryDeviceId};
use shared::eligibility::EligibilityCode;
use shared::query::{DeviceQuery, DeviceSort, EligibilityFilter, SortDir};
use shared::tenant::TenantSwitches;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::aggregates::{self, Scope};
use super::audit::write_audit;
use super::rows::{DEVICE_COLUMNS, device_from_row, registration_code};
use super::{SqliteStore, corrupt, to_u64};
use crate::store::batch::CheckIns;
use crate::store::{Actor, DeviceRecord, DeviceStore, NewAudit, NewDevice, Onboarded, StoreError, StoreResult};

impl SqliteStore {
    pub(super) async fn write_check_ins(&self, batch: CheckIns) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        let times: Vec<(&str, i64)> = batch.iter().map(|(id, (latest, _))| (id.as_str(), *latest)).collect();
        aggregates::record_check_ins(&mut tx, &times).await?;
        // One statement per chunk of devices rather than one per device: each statement is a round trip to the
        // writer connection's thread.
        let mut rows: Vec<(&String, &(UnixSeconds, u64))> = batch.iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for chunk in rows.chunks(aggregates::CHUNK) {
            let mut update = QueryBuilder::<Sqlite>::new(
                "UPDATE devices SET last_check_in = MAX(COALESCE(last_check_in, 0), v.column2), \
                 n_check_ins = n_check_ins + v.column3 FROM (",
            );
            update.push_values(chunk, |mut values, (device_id, (latest, count))| {
                values.push_bind(*device_id).push_bind(*latest).push_bind(i64::try_from(*count).unwrap_or(i64::MAX));
            });
            update.push(") AS v WHERE devices.id = v.column1");
            update.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn onboard_device(&self, device: NewDevice) -> StoreResult<Option<Onboarded>> {
        let mut tx = self.write.begin().await?;
        // The token's use is taken atomically, so that a token's limit holds under concurrent onboardings.
        let token: Option<(String, String)> = sqlx::query_as(
            "UPDATE onboarding_tokens SET uses = uses + 1 WHERE token_hash = ? AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses) RETURNING id, name",
        )
        .bind(&device.token_hash)
        .bind(device.now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((token_id, token_name)) = token else { return Ok(None) };

        // The device proving to be one already onboarded, by its current secret.
        let itself: Option<(String, String)> = match &device.previous_secret_hash {
            Some(hash) => {
                sqlx::query_as("SELECT id, directory_device_id FROM devices WHERE secret_hash = ?")
                    .bind(hash)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let (itself_id, itself_directory) = itself.unzip();
        let holder: Option<String> = match &device.facts.directory_device_id {
            Some(presented) => {
                sqlx::query_scalar("SELECT id FROM devices WHERE directory_device_id = ?")
                    .bind(presented.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        // A registration another device holds is not taken over: the claim is kept, and the presenter goes on with
        // its own registration (or a new one).
        let conflict = device.facts.directory_device_id.clone().filter(|_| holder.is_some() && holder != itself_id);
        let (directory_device_id, registration) = match (&device.facts.directory_device_id, &itself_directory) {
            (Some(presented), _) if conflict.is_none() => {
                let known: Option<String> = sqlx::query_scalar("SELECT id FROM directory_devices WHERE id = ?")
                    .bind(presented.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if known.is_some() {
                    (presented.clone(), Registration::Reused)
                } else {
                    insert_directory_device(&mut tx, presented, device.now, false).await?;
                    (presented.clone(), Registration::Adopted)
                }
            }
            (_, Some(own)) => {
                let own = DirectoryDeviceId::try_from(own.clone()).map_err(|_| corrupt("directory id", own))?;
                (own, Registration::Created)
            }
            (_, None) => {
                insert_directory_device(&mut tx, &device.new_directory_device_id, device.now, true).await?;
                (device.new_directory_device_id.clone(), Registration::Created)
            }
        };
        let facts = &device.facts;
        // A device not proving to be one already onboarded is new: its id is fresh (random), so it has no report and
        // no membership yet.
        let is_new = itself_id.is_none();
        let device_id = itself_id.unwrap_or_else(|| device.id.clone());
        sqlx::query(
            "INSERT INTO devices (id, secret_hash, directory_device_id, registration, hostname, os, edition, os_build, \
               required_update_installed, downlevel_agent_installed, join_type, managed_by, support, onboarded_at, \
               claimed_directory_device_id, onboarding_token_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, \
               directory_device_id = excluded.directory_device_id, \
               registration = excluded.registration, hostname = excluded.hostname, os = excluded.os, \
               edition = excluded.edition, os_build = excluded.os_build, \
               required_update_installed = excluded.required_update_installed, \
               downlevel_agent_installed = excluded.downlevel_agent_installed, join_type = excluded.join_type, \
               managed_by = excluded.managed_by, support = excluded.support, \
               claimed_directory_device_id = excluded.claimed_directory_device_id, \
               onboarding_token_id = excluded.onboarding_token_id",
        )
        .bind(&device_id)
        .bind(&device.secret_hash)
        .bind(directory_device_id.as_str())
        .bind(registration_code(registration))
        .bind(facts.hostname.as_str())
        .bind(facts.os.code())
        .bind(facts.edition.code())
        .bind(facts.os_build.as_str())
        .bind(facts.required_update_installed)
        .bind(facts.downlevel_agent_installed)
        .bind(facts.join_type.code())
        .bind(facts.managed_by.code())
        .bind(device.support.code())
        .bind(device.now)
        .bind(conflict.as_ref().map(DirectoryDeviceId::as_str))
        .bind(&token_id)
        .execute(&mut *tx)
        .await?;
        let actor = Actor {
            username: format!("onboarding token \u{201c}{token_name}\u{201d}"),
            address: device.address.clone(),
            at: device.now,
        };
        let audit = NewAudit {
            action: AuditAction::DeviceOnboard,
            object_type: ObjectType::Device,
            object_id: device_id.clone(),
            object_name: facts.hostname.as_str().to_owned(),
            before: None,
            after: Some(json!({
                "onboarded_again": device_id != device.id,
                "directory_device_id": directory_device_id.as_str(),
                "registration": registration_code(registration),
                "claimed_directory_device_id_held_by_another_device": conflict.as_ref().map(DirectoryDeviceId::as_str),
                "os": facts.os.code(),
                "join_type": facts.join_type.code(),
                "managed_by": facts.managed_by.code(),
            })),
        };
        write_audit(&mut tx, &actor, &audit).await?;
        if !is_new {
            aggregates::refresh(&mut tx, &Scope::Devices(vec![device_id.clone()])).await?;
        } else {
            let device = shared::preview::SnapshotDevice {
                id: device_id.clone(),
                facts: facts.clone(),
                support: device.support,
            };
            aggregates::add_new_device(&mut tx, &self.targeting, device).await?;
        }
        tx.commit().await?;
        self.credentials.forget(&device_id);
        Ok(Some(Onboarded { device_id, directory_device_id, registration, directory_conflict: conflict }))
    }

    async fn delete_device(&self, device_id: &str, actor: &Actor) -> StoreResult<bool> {
        self.flush().await?;
        let _bump = self.bump_on_drop();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"))
            .bind(device_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = row.as_ref().map(device_from_row).transpose()? else { return Ok(false) };
        aggregates::forget_devices(&mut tx, &[device_id.to_owned()]).await?;
        // Memberships, reports and preferences go with it (ON DELETE CASCADE); so do its credentials.
        sqlx::query("DELETE FROM devices WHERE id = ?").bind(device_id).execute(&mut *tx).await?;
        let audit = NewAudit {
            action: AuditAction::DeviceDelete,
            object_type: ObjectType::Device,
            object_id: device_id.to_owned(),
            object_name: before.facts.hostname.as_str().to_owned(),
            before: Some(json!({
                "hostname": before.facts.hostname.as_str(),
                "directory_device_id": before.directory_device_id.as_str(),
                "os": before.facts.os.code(),
                "onboarded_at": before.onboarded_at,
                "last_check_in": before.last_check_in,
            })),
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        self.credentials.forget(device_id);
        Ok(true)
    }

    async fn directory_holder(&self, directory_device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE directory_device_id = ?"))
            .bind(directory_device_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn authenticate_device(&self, device_id: &str) -> StoreResult<Option<(String, DeviceRecord)>> {
        if let Some(held) = self.credentials.get(device_id) {
            return Ok(Some(held));
        }
        let epoch = self.credentials.epoch();
        let row = sqlx::query(&format!("SELECT secret_hash, {DEVICE_COLUMNS} FROM devices WHERE id = ?"))
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?;
        let found =
            row.map(|row| Ok::<_, StoreError>((row.try_get("secret_hash")?, device_from_row(&row)?))).transpose()?;
        if let Some(found) = &found {
            self.credentials.keep(epoch, device_id, found.clone());
        }
        Ok(found)
    }

    async fn record_check_in(&self, device_id: &str, now: UnixSeconds, clear_sync: bool) -> StoreResult<()> {
        if clear_sync {
            let mut tx = self.write.begin().await?;
            aggregates::record_check_ins(&mut tx, &[(device_id, now)]).await?;
            sqlx::query(
                "UPDATE devices SET last_check_in = MAX(COALESCE(last_check_in, 0), ?), n_check_ins = n_check_ins + 1, \
                 sync_requested = 0 WHERE id = ?",
            )
            .bind(now)
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            self.credentials.forget(device_id);
            return Ok(());
        }
        let due = self.check_ins.add(device_id, now);
        match due {
            Some(batch) => self.write_check_ins(batch).await,
            None => Ok(()),
        }
    }

    async fn flush_check_ins(&self) -> StoreResult<()> {
        self.flush().await
    }

    async fn list_devices(
        &self,
        query: &DeviceQuery,
        switches: TenantSwitches,
    ) -> StoreResult<(Vec<DeviceRecord>, u64)> {
        self.flush().await?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM devices");
        push_device_filter(&mut count, query, switches);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;

        let mut page = QueryBuilder::<Sqlite>::new(format!("SELECT {DEVICE_COLUMNS} FROM devices"));
        push_device_filter(&mut page, query, switches);
        page.push(order_by(query, switches));
        page.push(" LIMIT ").push_bind(i64::from(query.per_page));
        page.push(" OFFSET ").push_bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
        let rows = page.build().fetch_all(&self.read).await?;
        let devices = rows.iter().map(device_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((devices, to_u64(total)))
    }

    async fn get_device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        self.flush().await?;
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"))
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn request_sync(&self, device_id: &str, actor: &Actor) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let hostname: Option<String> =
            sqlx::query_scalar("UPDATE devices SET sync_requested = 1 WHERE id = ? RETURNING hostname")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(hostname) = hostname else { return Ok(false) };
        let audit = NewAudit {
            action: AuditAction::DeviceSync,
            object_type: ObjectType::Device,
            object_id: device_id.to_owned(),
            object_name: hostname,
            before: None,
            after: None,
        };
        write_audit(&mut tx, actor, &audit).await?;
        tx.commit().await?;
        self.credentials.forget(device_id);
        Ok(true)
    }

    async fn all_device_facts(&self) -> StoreResult<Vec<(String, DeviceFacts)>> {
        let rows = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices")).fetch_all(&self.read).await?;
        rows.iter().map(|row| device_from_row(row).map(|device| (device.id, device.facts))).collect()
    }

    async fn all_devices(&self) -> StoreResult<Vec<DeviceRecord>> {
        self.flush().await?;
        let rows = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY hostname COLLATE NOCASE, id"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(device_from_row).collect()
    }
}

/// Adds the WHERE clause of the Devices list's filter.
pub(super) fn push_device_filter(
    builder: &mut QueryBuilder<'_, Sqlite>,
    query: &DeviceQuery,
    switches: TenantSwitches,
) {
    builder.push(" WHERE 1 = 1");
    if !query.search.is_empty() {
        let escaped = query.search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        builder.push(" AND hostname LIKE ").push_bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
    }
    if let Some(managed_by) = query.managed_by {
        builder.push(" AND managed_by = ").push_bind(managed_by.code());
    }
    if let Some(os) = query.os {
        builder.push(" AND os = ").push_bind(os.code());
    }
    // Eligibility is the stored support combined with the switches (shared::eligibility::eligibility).
    match (query.eligibility, switches.both_on()) {
        (None, _) => {}
        (Some(EligibilityFilter::Eligible), true) => {
            builder.push(" AND support = ").push_bind(EligibilityCode::Eligible.code());
        }
        (Some(EligibilityFilter::Eligible), false) => {
            builder.push(" AND 0");
        }
        (Some(EligibilityFilter::NotApplicable), true) => {
            builder.push(" AND support <> ").push_bind(EligibilityCode::Eligible.code());
        }
        (Some(EligibilityFilter::NotApplicable), false) => {}
    }
}

pub(super) fn order_by(query: &DeviceQuery, switches: TenantSwitches) -> String {
    let column = match query.sort {
        DeviceSort::Hostname => "hostname COLLATE NOCASE",
        DeviceSort::Os => "os",
        DeviceSort::ManagedBy => "managed_by",
        DeviceSort::JoinType => "join_type",
        // Sorts by what the list shows: with a switch off, supported devices read "tenant not enabled".
        DeviceSort::Eligibility if !switches.both_on() => {
            "CASE support WHEN 'eligible' THEN 'tenant_not_enabled' ELSE support END"
        }
        DeviceSort::Eligibility => "support",
        DeviceSort::LastCheckIn => "last_check_in",
    };
    let dir = match query.dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    if query.sort == DeviceSort::Hostname {
        format!(" ORDER BY {column} {dir}, id {dir}")
    } else {
        format!(" ORDER BY {column} {dir}, hostname COLLATE NOCASE {dir}, id {dir}")
    }
}

pub(super) async fn insert_directory_device(
    conn: &mut SqliteConnection,
    id: &DirectoryDeviceId,
    now: UnixSeconds,
    synthetic: bool,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO directory_devices (id, created_at, synthetic) VALUES (?, ?, ?)")
        .bind(id.as_str())
        .bind(now)
        .bind(synthetic)
        .execute(conn)
        .await?;
    Ok(())
}
