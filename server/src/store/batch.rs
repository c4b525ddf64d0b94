//! The write machinery every backend shares: the group commit of device reports and the buffer of check-ins. Neither
//! knows SQL; a backend gives each the function that writes a batch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use shared::api::UnixSeconds;

use super::{StoreError, StoreResult};

/// Buffered check-ins are written once this many devices are pending…
const FLUSH_AT: usize = 1024;
/// …or the oldest has waited this long (and before any read of devices).
const FLUSH_AFTER: Duration = Duration::from_secs(1);

/// Items waiting for the next group commit, and the lock whose holder commits them.
#[derive(Debug)]
pub(crate) struct GroupCommit<T> {
    queue: Mutex<Vec<Queued<T>>>,
    /// Numbers the queued items, so that a caller can tell whether a batch took its item already.
    next: AtomicU64,
    commit: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Queued<T> {
    number: u64,
    item: T,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl<T> Default for GroupCommit<T> {
    fn default() -> Self {
        Self { queue: Mutex::default(), next: AtomicU64::new(0), commit: tokio::sync::Mutex::default() }
    }
}

impl<T: Send + 'static> GroupCommit<T> {
    /// Queues `item` and returns once it is committed, or with the batch's error.
    ///
    /// Whoever holds the commit lock writes every queued item in one transaction (`write`); an item queued meanwhile
    /// goes with the next holder's batch. A caller whose item an earlier holder took does not write what arrived since:
    /// that waits for its own callers, so that a batch holds everything that arrived while the previous one was written
    /// (a holder writing the one or two items that came in meanwhile would make every batch small). The batch is
    /// written in a task of its own, so that a cancelled request cannot abandon the others' items.
    pub(crate) async fn submit<W, F>(&self, item: T, write: W) -> StoreResult<()>
    where
        W: FnOnce(Vec<T>) -> F,
        F: Future<Output = StoreResult<()>> + Send + 'static,
    {
        let (done, committed) = tokio::sync::oneshot::channel();
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).push(Queued { number, item, done });
        {
            let _leader = self.commit.lock().await;
            let batch = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.iter().any(|queued| queued.number == number) {
                    std::mem::take(&mut *queue)
                } else {
                    Vec::new()
                }
            };
            if !batch.is_empty() {
                let (items, senders): (Vec<T>, Vec<_>) = batch.into_iter().map(|q| (q.item, q.done)).unzip();
                let writing = write(items);
                let written = tokio::spawn(async move {
                    let outcome = writing.await.map_err(|error| error.to_string());
                    for done in senders {
                        // A caller may have gone (its request was cancelled); its item is committed all the same.
                        let _ = done.send(outcome.clone());
                    }
                });
                let _ = written.await;
            }
        }
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Corrupt(format!("the batch failed: {message}"))),
            Err(_) => Err(StoreError::Corrupt("the batch was dropped".to_owned())),
        }
    }
}

/// Check-ins not yet written: per device the latest time and how many. A check-in changes a device's last check-in
/// time and count only, so the fleet's check-ins are written together, by the caller that finds the buffer due.
#[derive(Debug, Default)]
pub(crate) struct CheckInBuffer {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    latest: HashMap<String, (UnixSeconds, u64)>,
    since: Option<Instant>,
}

/// A batch of check-ins to write: per device its latest time and how many check-ins it made.
pub(crate) type CheckIns = HashMap<String, (UnixSeconds, u64)>;

impl CheckInBuffer {
    /// Adds a check-in of `device_id` at `now`; returns every pending check-in when the buffer is due to be written.
    pub(crate) fn add(&self, device_id: &str, now: UnixSeconds) -> Option<CheckIns> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pending.latest.entry(device_id.to_owned()).or_insert((now, 0));
        entry.0 = entry.0.max(now);
        entry.1 += 1;
        let since = *pending.since.get_or_insert_with(Instant::now);
        (pending.latest.len() >= FLUSH_AT || since.elapsed() >= FLUSH_AFTER).then(|| pending.take())
    }

    /// Every pending check-in, to write before a read of devices.
    pub(crate) fn take(&self) -> CheckIns {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl Pending {
    fn take(&mut self) -> CheckIns {
        self.since = None;
        std::mem::take(&mut self.latest)
    }
}
