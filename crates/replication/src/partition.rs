use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::Notify;
use uuid::Uuid;
use weir_storage::AbortedTxn;
use weir_storage::{
    AppendInfo, CleanerConfig, CleanerStats, DeletedSegments, FetchData, Log, LogConfig,
    RetentionPolicy,
};

use crate::ReplicationError;

/// A parked fetch's wakeup handle. A fetch registers one with every partition it reads; an
/// append on any of them wakes it. `Notify` keeps a permit when nobody is waiting yet, so a
/// wakeup between registration and `notified().await` is not lost.
pub type FetchWaker = Arc<Notify>;

/// One partition hosted by this broker, with its log.
///
/// The log is behind a `std::sync::Mutex` held only for the synchronous append or read
/// bookkeeping (never across `.await`); the sendfile of read bytes happens after the lock is
/// released, on a file handle that stays valid even if the segment is later deleted.
pub struct Partition {
    topic: String,
    index: i32,
    topic_id: Uuid,
    log: Mutex<Log>,
    /// Offsets readers need without the log lock.
    high_watermark: AtomicI64,
    log_start_offset: AtomicI64,
    waiters: Mutex<Vec<Weak<Notify>>>,
}

impl Partition {
    pub fn new(topic: String, index: i32, topic_id: Uuid, log: Log) -> Self {
        let hw = log.log_end_offset();
        let start = log.log_start_offset();
        Self {
            topic,
            index,
            topic_id,
            log: Mutex::new(log),
            high_watermark: AtomicI64::new(hw),
            log_start_offset: AtomicI64::new(start),
            waiters: Mutex::new(Vec::new()),
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }
    pub fn index(&self) -> i32 {
        self.index
    }
    pub fn topic_id(&self) -> Uuid {
        self.topic_id
    }

    fn log(&self) -> Result<MutexGuard<'_, Log>, ReplicationError> {
        self.log.lock().map_err(|_| ReplicationError::Poisoned)
    }

    /// Appends validated batches as leader and wakes parked fetches.
    ///
    /// With a single replica the ISR is the leader alone, so the high watermark advances to the
    /// new log end offset as soon as the append returns. A retried idempotent batch already in
    /// the log comes back with [`AppendInfo::duplicate`] set and its original offsets; nothing
    /// is written then.
    pub fn append_as_leader(
        &self,
        records: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, ReplicationError> {
        let info = {
            let mut log = self.log()?;
            let info = log.append(records, now_ms)?;
            self.high_watermark
                .store(log.log_end_offset(), Ordering::Release);
            info
        };
        self.wake_waiters();
        Ok(info)
    }

    /// Reads up to `max_bytes` of whole batches at `offset`, below the high watermark.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<FetchData, ReplicationError> {
        let hw = self.high_watermark();
        Ok(self.log()?.read(offset, max_bytes, min_one_batch, hw)?)
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// The last stable offset: the first offset of the oldest open transaction, or the high
    /// watermark if that is smaller (or no transaction is open).
    pub fn last_stable_offset(&self) -> Result<i64, ReplicationError> {
        let hw = self.high_watermark();
        Ok(self
            .log()?
            .first_unstable_offset()
            .map_or(hw, |f| f.min(hw)))
    }

    /// A read_committed read: whole batches below the last stable offset, the last stable
    /// offset, and the aborted transactions overlapping `[offset, last stable offset)`.
    pub fn read_committed(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<(FetchData, i64, Vec<AbortedTxn>), ReplicationError> {
        let hw = self.high_watermark();
        let log = self.log()?;
        let lso = log.first_unstable_offset().map_or(hw, |f| f.min(hw));
        let data = log.read(offset, max_bytes, min_one_batch, lso)?;
        let aborted = if data.slice.is_some() {
            log.aborted_transactions(offset, lso)
        } else {
            Vec::new()
        };
        Ok((data, lso, aborted))
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    pub fn log_end_offset(&self) -> Result<i64, ReplicationError> {
        Ok(self.log()?.log_end_offset())
    }

    /// Earliest `(offset, timestamp)` whose timestamp is at or after `timestamp`.
    pub fn offset_for_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<(i64, i64)>, ReplicationError> {
        Ok(self.log()?.offset_for_timestamp(timestamp)?)
    }

    /// `(timestamp, offset)` of the batch with the largest timestamp.
    pub fn max_timestamp_and_offset(&self) -> Result<Option<(i64, i64)>, ReplicationError> {
        Ok(self.log()?.max_timestamp_and_offset())
    }

    pub fn size_bytes(&self) -> Result<u64, ReplicationError> {
        Ok(self.log()?.size_bytes())
    }

    pub fn update_config(&self, config: LogConfig) -> Result<(), ReplicationError> {
        self.log()?.update_config(config);
        Ok(())
    }

    /// Fsyncs the log, snapshots its producer state if it changed (so that a restart replays
    /// only what follows) and returns its new recovery point.
    pub fn flush(&self) -> Result<i64, ReplicationError> {
        let mut log = self.log()?;
        log.flush()?;
        log.take_producer_snapshot()?;
        Ok(log.recovery_point())
    }

    pub fn recovery_point(&self) -> Result<i64, ReplicationError> {
        Ok(self.log()?.recovery_point())
    }

    /// Registers a parked fetch to be woken by the next append.
    pub fn register_waker(&self, waker: &FetchWaker) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.retain(|w| w.strong_count() > 0);
            waiters.push(Arc::downgrade(waker));
        }
    }

    fn wake_waiters(&self) {
        let waiters = match self.waiters.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(_) => return,
        };
        for waiter in waiters.iter().filter_map(Weak::upgrade) {
            waiter.notify_one();
        }
    }
}

/// Retention and DeleteRecords: the log start offset moves, old segments are dropped from the
/// log under its lock; their files are unlinked by the caller after the lock is released.
impl Partition {
    /// Runs the retention rules on the log (only segments below the high watermark go).
    pub fn delete_old_segments(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<DeletedSegments, ReplicationError> {
        let mut log = self.log()?;
        let deleted = log.delete_old_segments(policy, now_ms, self.high_watermark())?;
        self.log_start_offset
            .store(log.log_start_offset(), Ordering::Release);
        Ok(deleted)
    }

    /// DeleteRecords as leader: moves the log start offset to `offset` (`-1`: the high
    /// watermark) and drops the segments wholly below it. Returns the new log start offset
    /// (Kafka's low watermark). An offset below the current start changes nothing; one above
    /// the high watermark (or another negative one) is out of range.
    pub fn delete_records(&self, offset: i64) -> Result<(i64, DeletedSegments), ReplicationError> {
        let mut log = self.log()?;
        let hw = self.high_watermark();
        let offset = if offset == -1 { hw } else { offset };
        log.maybe_increment_log_start_offset(offset, hw)?;
        let deleted = log.delete_segments_below_log_start()?;
        let start = log.log_start_offset();
        self.log_start_offset.store(start, Ordering::Release);
        Ok((start, deleted))
    }
}

/// Compaction: the log lock is held to plan and to swap the cleaned segments in, not while
/// segments are read and rewritten (see `weir_storage::cleaner`).
impl Partition {
    /// Cleans the log if `config` says it is due; `first_dirty_offset` is where the previous
    /// cleaning stopped. Returns what was done, `None` when nothing was due.
    pub fn clean_log(
        &self,
        config: &CleanerConfig,
        first_dirty_offset: i64,
        now_ms: i64,
    ) -> Result<Option<CleanerStats>, ReplicationError> {
        let plan =
            self.log()?
                .plan_cleaning(config, first_dirty_offset, self.high_watermark(), now_ms)?;
        let Some(plan) = plan else {
            return Ok(None);
        };
        let mut stats: Option<CleanerStats> = None;
        // One lock acquisition per swapped group, so produce and fetch wait for one swap at
        // most.
        for part in plan.clean()?.into_parts() {
            let s = self.log()?.install_cleaned(part)?;
            match stats.as_mut() {
                Some(total) => {
                    total.groups_swapped += s.groups_swapped;
                    total.next_dirty_offset = s.next_dirty_offset;
                }
                None => stats = Some(s),
            }
        }
        Ok(stats)
    }
}
