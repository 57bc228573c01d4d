//! [`GroupCoordinatorService`]: the async shell around the I/O-free [`GroupCoordinator`].
//!
//! It owns the clock, the `__consumer_offsets` partitions and the parked JoinGroup/SyncGroup
//! requests. Each call locks the core, feeds it the request and the time, appends the records
//! the core returns (one uncompressed batch per partition, through
//! `Partition::append_as_leader`, still under the lock so the log order is the order the core
//! decided), then completes the parked requests the core answered. Calls run on tokio's
//! blocking pool because appends are file writes.
//!
//! Time: one task ([`GroupCoordinatorService::run_timers`]) sleeps until the core's next
//! deadline (session expiry, rebalance timeout, initial delay, retention check) and is woken
//! early whenever a call may have moved that deadline. Nothing polls.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::sync::{oneshot, watch, Notify};
use weir_replication::Partition;

use crate::group::Token;
use crate::records::{partition_for, CoordinatorRecord};
use crate::{CoordinatorConfig, CoordinatorError, Effects, GroupCoordinator, Reply};

/// Largest read while replaying a partition.
const REPLAY_READ_BYTES: usize = 4 << 20;

/// Milliseconds since the Unix epoch, advanced by tokio's clock (so paused-time tests move it).
#[derive(Debug)]
pub(crate) struct Clock {
    base_wall_ms: i64,
    base: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let base_wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self {
            base_wall_ms,
            base: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.base_wall_ms.saturating_add(elapsed)
    }

    pub(crate) fn instant_at(&self, ms: i64) -> tokio::time::Instant {
        let offset = u64::try_from(ms.saturating_sub(self.base_wall_ms)).unwrap_or(0);
        self.base + Duration::from_millis(offset)
    }
}

struct Inner {
    core: GroupCoordinator,
    waiters: HashMap<Token, oneshot::Sender<Reply>>,
}

/// The group coordinator of one broker: the core, its clock, its log, its parked requests.
pub struct GroupCoordinatorService {
    inner: Mutex<Inner>,
    partitions: RwLock<Option<Vec<Arc<Partition>>>>,
    num_partitions: i32,
    clock: Clock,
    deadline_changed: Notify,
    next_token: AtomicU64,
}

impl GroupCoordinatorService {
    /// A coordinator with no groups, not yet loaded: [`GroupCoordinatorService::load`] gives
    /// it the `__consumer_offsets` partitions.
    pub fn new(config: CoordinatorConfig, num_partitions: i32) -> Arc<Self> {
        let clock = Clock::new();
        let now = clock.now_ms();
        Arc::new(Self {
            inner: Mutex::new(Inner {
                core: GroupCoordinator::new(config, now),
                waiters: HashMap::new(),
            }),
            partitions: RwLock::new(None),
            num_partitions: num_partitions.max(1),
            clock,
            deadline_changed: Notify::new(),
            next_token: AtomicU64::new(1),
        })
    }

    pub fn num_partitions(&self) -> i32 {
        self.num_partitions
    }

    /// The `__consumer_offsets` partition of a group.
    pub fn partition_for(&self, group_id: &str) -> i32 {
        partition_for(group_id, self.num_partitions)
    }

    pub fn is_loaded(&self) -> bool {
        self.partitions.read().map(|p| p.is_some()).unwrap_or(false)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the core half-updated in a way that
        // matters more than stopping group service entirely would.
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Replays every `__consumer_offsets` partition from its start (blocking: call from a
    /// blocking thread), then starts serving. `partitions[i]` is partition `i`.
    pub fn load(&self, partitions: Vec<Arc<Partition>>) -> Result<(), CoordinatorError> {
        let mut inner = self.lock();
        let now = self.clock.now_ms();
        let mut count = 0usize;
        for p in &partitions {
            count += replay_partition(&mut inner.core, p, now)?;
        }
        tracing::info!(
            records = count,
            partitions = partitions.len(),
            "group coordinator loaded __consumer_offsets"
        );
        if let Ok(mut slot) = self.partitions.write() {
            *slot = Some(partitions);
        }
        drop(inner);
        self.deadline_changed.notify_one();
        Ok(())
    }

    /// Appends records, grouped into one batch per partition, in the order given.
    fn append(&self, records: &[CoordinatorRecord], now: i64) -> Result<(), CoordinatorError> {
        if records.is_empty() {
            return Ok(());
        }
        let partitions = self
            .partitions
            .read()
            .map_err(|_| CoordinatorError::PartitionNotLoaded { partition: -1 })?;
        let Some(partitions) = partitions.as_ref() else {
            return Err(CoordinatorError::PartitionNotLoaded { partition: -1 });
        };
        let mut by_partition: BTreeMap<i32, Vec<(Bytes, Option<Bytes>)>> = BTreeMap::new();
        for r in records {
            let p = partition_for(r.group(), self.num_partitions);
            by_partition.entry(p).or_default().push(r.encode());
        }
        for (p, batch) in by_partition {
            let partition = usize::try_from(p)
                .ok()
                .and_then(|i| partitions.get(i))
                .ok_or(CoordinatorError::PartitionNotLoaded { partition: p })?;
            append_key_values(partition, batch, now)?;
        }
        Ok(())
    }

    /// Appends the effects' records and completes the parked requests they answer. Group
    /// records are already applied in memory; a failed append is logged (the state is
    /// rebuilt from what the log holds at the next start).
    fn finish(&self, inner: &mut Inner, fx: Effects, now: i64) {
        if let Err(e) = self.append(&fx.records, now) {
            tracing::error!(error = %e, "cannot append group records to __consumer_offsets");
        }
        for (token, reply) in fx.replies {
            if let Some(tx) = inner.waiters.remove(&token) {
                let _ = tx.send(reply);
            }
        }
    }

    /// Runs `f` against the core on a blocking thread and applies its effects.
    pub async fn call<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut GroupCoordinator, i64) -> (R, Effects) + Send + 'static,
    ) -> Option<R> {
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut inner = this.lock();
            let now = this.clock.now_ms();
            let (r, fx) = f(&mut inner.core, now);
            this.finish(&mut inner, fx, now);
            drop(inner);
            this.deadline_changed.notify_one();
            r
        })
        .await;
        result.ok()
    }

    /// Runs a request that may be parked (JoinGroup, SyncGroup) and waits for its reply.
    /// `None` if the reply was dropped (the coordinator went away).
    pub async fn call_parked(
        self: &Arc<Self>,
        f: impl FnOnce(&mut GroupCoordinator, Token, i64) -> Effects + Send + 'static,
    ) -> Option<Reply> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut inner = this.lock();
            // Registered under the same lock that runs `f`, so a reply produced by `f` itself
            // (or by any later call) finds its channel.
            inner.waiters.insert(token, tx);
            let now = this.clock.now_ms();
            let fx = f(&mut inner.core, token, now);
            this.finish(&mut inner, fx, now);
            drop(inner);
            this.deadline_changed.notify_one();
        })
        .await
        .ok()?;
        rx.await.ok()
    }

    /// OffsetCommit: validates, appends the offset records, and applies them only once the
    /// append succeeded, so an acknowledged commit is exactly what a restart replays.
    #[allow(clippy::type_complexity)]
    pub async fn commit(
        self: &Arc<Self>,
        f: impl FnOnce(
                &mut GroupCoordinator,
                i64,
            )
                -> Result<(Vec<Option<ResponseError>>, Vec<CoordinatorRecord>), ResponseError>
            + Send
            + 'static,
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut inner = this.lock();
            let now = this.clock.now_ms();
            let (errors, records) = f(&mut inner.core, now)?;
            if let Err(e) = this.append(&records, now) {
                tracing::error!(error = %e, "offset commit not appended");
                return Err(ResponseError::CoordinatorNotAvailable);
            }
            for r in records {
                inner.core.replay(r, now);
            }
            drop(inner);
            this.deadline_changed.notify_one();
            Ok(errors)
        })
        .await
        .unwrap_or(Err(ResponseError::UnknownServerError))
    }

    /// Appends offset records committed by a transaction (validated when TxnOffsetCommit
    /// arrived) and applies them. Blocking: call from a blocking thread.
    pub(crate) fn append_offsets_blocking(
        &self,
        records: Vec<CoordinatorRecord>,
    ) -> Result<(), CoordinatorError> {
        let mut inner = self.lock();
        let now = self.clock.now_ms();
        self.append(&records, now)?;
        for r in records {
            inner.core.replay(r, now);
        }
        Ok(())
    }

    /// Reads the core without changing it.
    pub fn read<R>(&self, f: impl FnOnce(&GroupCoordinator) -> R) -> R {
        f(&self.lock().core)
    }

    /// Committed offsets of a group: `(topic, partition, offset)`.
    pub fn committed_offsets(&self, group_id: &str) -> Vec<(String, i32, i64)> {
        self.read(|core| {
            core.group(group_id)
                .map(|g| {
                    g.offsets
                        .iter()
                        .map(|((t, p), o)| (t.clone(), *p, o.offset))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Fires the core's deadlines until `shutdown` turns true.
    pub async fn run_timers(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let deadline = self.read(GroupCoordinator::next_deadline);
            let at = self.clock.instant_at(deadline);
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {
                    self.call(|core, now| ((), core.tick(now))).await;
                }
                _ = self.deadline_changed.notified() => {}
                _ = shutdown.changed() => break,
            }
        }
    }
}

/// Replays one partition from its log start; returns the number of records applied.
fn replay_partition(
    core: &mut GroupCoordinator,
    partition: &Partition,
    now: i64,
) -> Result<usize, CoordinatorError> {
    let index = partition.index();
    let mut count = 0;
    for_each_record(
        partition,
        |offset, key, value| match CoordinatorRecord::decode(key, value) {
            Ok(Some(r)) => {
                core.replay(r, now);
                count += 1;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(partition = index, offset, error = %e, "skipping undecodable __consumer_offsets record");
            }
        },
    )?;
    Ok(count)
}

/// Appends `(key, value)` records as one uncompressed batch (a coordinator's record format:
/// no producer id, create time `now`).
pub(crate) fn append_key_values(
    partition: &Partition,
    records: Vec<(Bytes, Option<Bytes>)>,
    now: i64,
) -> Result<(), CoordinatorError> {
    let p = partition.index();
    let batch: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i64::try_from(i).unwrap_or(0),
            sequence: -1,
            timestamp: now,
            key: Some(key),
            value,
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &batch,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| CoordinatorError::Encode {
        reason: format!("{e:#}"),
    })?;
    partition
        .append_as_leader(&buf, now)
        .map_err(|source| CoordinatorError::Log {
            partition: p,
            source,
        })?;
    Ok(())
}

/// Calls `f(offset, key, value)` for every keyed data record of a partition, from its log
/// start to its high watermark (control records are skipped).
pub(crate) fn for_each_record(
    partition: &Partition,
    mut f: impl FnMut(i64, &[u8], Option<&[u8]>),
) -> Result<(), CoordinatorError> {
    let index = partition.index();
    let read_err = |reason: String| CoordinatorError::Read {
        partition: index,
        reason,
    };
    let end = partition.high_watermark();
    let mut offset = partition.log_start_offset();
    while offset < end {
        let data = partition
            .read(offset, REPLAY_READ_BYTES, true)
            .map_err(|source| CoordinatorError::Log {
                partition: index,
                source,
            })?;
        let Some(slice) = data.slice else { break };
        let bytes = slice.read_to_vec().map_err(|e| read_err(e.to_string()))?;
        let mut buf = Bytes::from(bytes);
        let sets =
            RecordBatchDecoder::decode_all(&mut buf).map_err(|e| read_err(format!("{e:#}")))?;
        let before = offset;
        for set in sets {
            for record in set.records {
                if record.offset < offset {
                    continue;
                }
                offset = record.offset + 1;
                if record.control {
                    continue;
                }
                let Some(key) = record.key.as_deref() else {
                    continue;
                };
                f(record.offset, key, record.value.as_deref());
            }
        }
        if offset == before {
            // Whole batches with no record at or past `offset` (e.g. emptied by compaction).
            break;
        }
    }
    Ok(())
}
