//! The devices' credentials and records as authentication reads them, held in memory: a check-in that changes
//! nothing (`304`) then costs no database read, whose hand-off to SQLite's connection thread and back was the
//! largest part of it. Every write to a device's row that authentication reads (onboarding again, deletion, a sync
//! request and its clearing) forgets the device after it commits; a read racing such a write is not kept (an epoch
//! moves with every forgetting). The counters of a cached record (last check-in, number of check-ins) lag, as they
//! already may by the buffered check-ins. Bounded: past [`CAPACITY`] devices it starts again from empty.
//!
//! One process only: a second server on the same database would not see this one's forgetting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::store::DeviceRecord;

/// The most devices held (about 400 bytes each).
const CAPACITY: usize = 250_000;

/// A device's secret hash and record.
pub(super) type Credentials = (String, DeviceRecord);

#[derive(Debug, Default)]
pub(super) struct CredentialsCache {
    held: Mutex<HashMap<String, Credentials>>,
    epoch: AtomicU64,
}

impl CredentialsCache {
    /// The held credentials of a device.
    pub(super) fn get(&self, device_id: &str) -> Option<Credentials> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).get(device_id).cloned()
    }

    /// The epoch to pass to [`Self::keep`] for a read that starts now.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps what a read that started at `epoch` found, unless a device was forgotten since.
    pub(super) fn keep(&self, epoch: u64, device_id: &str, credentials: Credentials) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if held.len() >= CAPACITY {
            held.clear();
        }
        held.insert(device_id.to_owned(), credentials);
    }

    /// Forgets a device whose row changed (call after the change committed).
    pub(super) fn forget(&self, device_id: &str) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        held.remove(device_id);
    }
}
