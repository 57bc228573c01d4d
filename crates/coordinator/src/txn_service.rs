//! [`TxnCoordinatorService`]: the async shell around the I/O-free [`TransactionCoordinator`].
//!
//! It owns the clock, the `__transaction_state` partitions and a way to reach every other
//! partition (for markers). Each call locks the core, feeds it the request and the time, then
//! carries out the returned [`TxnAction`]s in order, still under the lock, on tokio's
//! blocking pool: `__transaction_state` appends (one uncompressed batch, with the group
//! coordinator's helper), offset commits through the [`GroupCoordinatorService`], and
//! COMMIT/ABORT control batches appended directly to each partition of the transaction (a
//! single broker leads them all, so no WriteTxnMarkers round trip is needed).
//!
//! Time: [`TxnCoordinatorService::run_timers`] sleeps until the core's next transaction
//! timeout and is woken early whenever a call may have moved it. Nothing polls.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::EndTxnMarker;
use kafka_protocol::protocol::Encodable;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::sync::{watch, Notify};
use weir_replication::Partition;

use crate::records::partition_for;
use crate::service::{append_key_values, for_each_record, Clock};
use crate::txn_coordinator::{TransactionCoordinator, TxnAction, TxnConfig, TxnEffects, TxnMarker};
use crate::txn_records::TxnRecord;
use crate::{CoordinatorError, GroupCoordinatorService};

/// Finds a hosted partition by topic and index (markers go to any partition).
pub type PartitionLookup = Arc<dyn Fn(&str, i32) -> Option<Arc<Partition>> + Send + Sync>;

struct Loaded {
    partitions: Vec<Arc<Partition>>,
    lookup: PartitionLookup,
}

/// The transaction coordinator of one broker.
pub struct TxnCoordinatorService {
    core: Mutex<TransactionCoordinator>,
    loaded: RwLock<Option<Loaded>>,
    groups: Arc<GroupCoordinatorService>,
    num_partitions: i32,
    clock: Clock,
    deadline_changed: Notify,
}

impl TxnCoordinatorService {
    /// A coordinator with no transactions, not yet loaded.
    pub fn new(
        config: TxnConfig,
        num_partitions: i32,
        groups: Arc<GroupCoordinatorService>,
    ) -> Arc<Self> {
        Arc::new(Self {
            core: Mutex::new(TransactionCoordinator::new(config)),
            loaded: RwLock::new(None),
            groups,
            num_partitions: num_partitions.max(1),
            clock: Clock::new(),
            deadline_changed: Notify::new(),
        })
    }

    pub fn num_partitions(&self) -> i32 {
        self.num_partitions
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded.read().map(|l| l.is_some()).unwrap_or(false)
    }

    fn lock(&self) -> MutexGuard<'_, TransactionCoordinator> {
        match self.core.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Replays every `__transaction_state` partition (blocking), finishes transactions a crash
    /// left half-completed, then starts serving. `partitions[i]` is partition `i`.
    pub fn load(
        &self,
        partitions: Vec<Arc<Partition>>,
        lookup: PartitionLookup,
    ) -> Result<(), CoordinatorError> {
        let mut core = self.lock();
        let mut count = 0usize;
        for p in &partitions {
            let index = p.index();
            for_each_record(p, |offset, key, value| {
                match TxnRecord::decode(key, value) {
                    Ok(Some(r)) => {
                        core.replay(r);
                        count += 1;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(partition = index, offset, error = %e, "skipping undecodable __transaction_state record");
                    }
                }
            })?;
        }
        tracing::info!(
            records = count,
            "transaction coordinator loaded __transaction_state"
        );
        if let Ok(mut slot) = self.loaded.write() {
            *slot = Some(Loaded { partitions, lookup });
        }
        let now = self.clock.now_ms();
        let fx = core.complete_pending(now);
        self.run(fx, now);
        drop(core);
        self.deadline_changed.notify_one();
        Ok(())
    }

    /// Carries out the core's actions in order. A failure is logged; the state is rebuilt
    /// from what the log holds at the next start (a `Prepare*` record is completed then).
    fn run(&self, fx: TxnEffects, now: i64) {
        for action in fx.actions {
            let result = match action {
                TxnAction::Append(record) => self.append(&record, now),
                TxnAction::Markers(marker) => self.write_markers(&marker, now),
                TxnAction::CommitOffsets(records) => self.groups.append_offsets_blocking(records),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "transaction coordinator action failed");
            }
        }
    }

    fn append(&self, record: &TxnRecord, now: i64) -> Result<(), CoordinatorError> {
        let loaded = self
            .loaded
            .read()
            .map_err(|_| CoordinatorError::PartitionNotLoaded { partition: -1 })?;
        let p = partition_for(&record.transactional_id, self.num_partitions);
        let partition = loaded
            .as_ref()
            .and_then(|l| usize::try_from(p).ok().and_then(|i| l.partitions.get(i)))
            .ok_or(CoordinatorError::PartitionNotLoaded { partition: p })?;
        append_key_values(partition, vec![record.encode()], now)
    }

    fn write_markers(&self, marker: &TxnMarker, now: i64) -> Result<(), CoordinatorError> {
        let lookup = self
            .loaded
            .read()
            .map_err(|_| CoordinatorError::PartitionNotLoaded { partition: -1 })?
            .as_ref()
            .map(|l| l.lookup.clone())
            .ok_or(CoordinatorError::PartitionNotLoaded { partition: -1 })?;
        let batch = control_batch(marker, now)?;
        for (topic, index) in &marker.partitions {
            let Some(partition) = lookup(topic, *index) else {
                // The topic was deleted meanwhile: nothing to mark.
                tracing::warn!(%topic, partition = index, "no partition for a transaction marker");
                continue;
            };
            if let Err(source) = partition.append_as_leader(&batch, now) {
                tracing::error!(%topic, partition = index, error = %source, "cannot write transaction marker");
            }
        }
        Ok(())
    }

    /// Runs `f` against the core on a blocking thread and carries out its actions.
    pub async fn call<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut TransactionCoordinator, i64) -> (R, TxnEffects) + Send + 'static,
    ) -> Option<R> {
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut core = this.lock();
            let now = this.clock.now_ms();
            let (r, fx) = f(&mut core, now);
            this.run(fx, now);
            drop(core);
            this.deadline_changed.notify_one();
            r
        })
        .await;
        result.ok()
    }

    /// Reads the core without changing it.
    pub fn read<R>(&self, f: impl FnOnce(&TransactionCoordinator) -> R) -> R {
        f(&self.lock())
    }

    /// Produce's check for a transactional batch (see
    /// [`TransactionCoordinator::check_produce`]).
    pub fn check_produce(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), ResponseError> {
        self.read(|c| c.check_produce(producer_id, epoch, topic, partition))
    }

    /// Fires transaction timeouts until `shutdown` turns true.
    pub async fn run_timers(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let deadline = self.read(TransactionCoordinator::next_deadline);
            let sleep = async {
                if deadline == i64::MAX {
                    std::future::pending::<()>().await;
                } else {
                    tokio::time::sleep_until(self.clock.instant_at(deadline)).await;
                }
            };
            tokio::select! {
                _ = sleep => {
                    self.call(|core, now| ((), core.tick(now))).await;
                }
                _ = self.deadline_changed.notified() => {}
                _ = shutdown.changed() => break,
            }
        }
    }
}

/// A COMMIT or ABORT control batch of one record (key: version 0, type 1 commit / 0 abort;
/// value: version 0 then `EndTxnMarker`).
fn control_batch(marker: &TxnMarker, now: i64) -> Result<BytesMut, CoordinatorError> {
    let encode_err = |reason: String| CoordinatorError::Encode { reason };
    let mut key = BytesMut::new();
    key.put_i16(0);
    key.put_i16(i16::from(marker.commit));
    let mut value = BytesMut::new();
    value.put_i16(0);
    EndTxnMarker::default()
        .with_coordinator_epoch(0)
        .encode(&mut value, 0)
        .map_err(|e| encode_err(format!("{e:#}")))?;
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: marker.producer_id,
        producer_epoch: marker.producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now,
        key: Some(key.freeze()),
        value: Some(Bytes::from(value)),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        std::slice::from_ref(&record),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| encode_err(format!("{e:#}")))?;
    Ok(buf)
}
