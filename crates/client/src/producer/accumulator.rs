//! Per-partition queues of batches waiting to be sent.
//!
//! `send` appends to the newest batch of its partition (or starts one); the sender takes the
//! oldest batch of each partition once it is full, has waited `linger.ms`, or a flush asks for
//! it. Retried batches go back in creation order, so a partition's records stay in order.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::producer::batch::ProducerBatch;
use crate::producer::record::{Callback, DeliveryFuture, ProducerRecord};

/// One partition's queue and its ordering state.
#[derive(Default)]
pub(crate) struct PartitionQueue {
    pub batches: VecDeque<ProducerBatch>,
    /// Requests carrying a batch of this partition that have not been answered.
    pub in_flight: usize,
    /// Next idempotent sequence number.
    pub next_sequence: i32,
    /// The producer id and epoch `next_sequence` counts for; when the producer moves to a new
    /// epoch, the partition starts again at 0 once its batches in flight are answered (Java's
    /// `maybeUpdateProducerIdAndEpoch`).
    pub producer: Option<(i64, i16)>,
    /// Last sequence the broker acknowledged in that epoch, which tells a real gap
    /// (`OUT_OF_ORDER_SEQUENCE_NUMBER` for the next batch) from a retry of a later one.
    pub last_acked: Option<i32>,
    /// A failure of this partition made the producer bump its epoch: its batches sealed with
    /// the old epoch get new sequences in the new one (Java's `partitionsToRewriteSequences`).
    pub rewrite: bool,
    next_order: u64,
    /// Not before this instant (retry backoff).
    pub retry_after: Option<Instant>,
    /// A batch failed and went back in the queue: send nothing until the in-flight requests
    /// are answered, so that the retried batch goes first.
    pub retrying: bool,
}

impl PartitionQueue {
    /// Puts a retried batch back, before every batch created after it.
    pub fn reenqueue(&mut self, batch: ProducerBatch) {
        let at = self
            .batches
            .iter()
            .position(|b| b.order > batch.order)
            .unwrap_or(self.batches.len());
        self.batches.insert(at, batch);
    }
}

/// All topics' queues: `topic -> partition -> queue`.
#[derive(Default)]
pub(crate) struct Queues {
    pub topics: HashMap<Arc<str>, Vec<PartitionQueue>>,
    /// Records appended and not yet completed.
    pub pending_records: u64,
}

impl Queues {
    pub fn queue_mut(&mut self, topic: &Arc<str>, partition: i32) -> Option<&mut PartitionQueue> {
        self.topics
            .get_mut(topic)?
            .get_mut(usize::try_from(partition).ok()?)
    }

    /// Takes every waiting batch out of every queue (an abort, or a transaction that can no
    /// longer send), so the caller can fail them.
    pub fn drain_all(&mut self) -> Vec<ProducerBatch> {
        self.topics
            .values_mut()
            .flat_map(|parts| parts.iter_mut())
            .flat_map(|queue| queue.batches.drain(..))
            .collect()
    }
}

pub(crate) struct RecordAccumulator {
    queues: Mutex<Queues>,
    pub batch_size: usize,
}

/// What `append` did, for the sender's wake-up.
pub(crate) struct Appended {
    pub future: DeliveryFuture,
    /// A batch became ready (full) or a new one started its linger clock.
    pub wake_sender: bool,
}

impl RecordAccumulator {
    pub fn new(batch_size: usize) -> Self {
        RecordAccumulator {
            queues: Mutex::new(Queues::default()),
            batch_size,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Queues> {
        match self.queues.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Appends one record; `reserved` bytes of `buffer.memory` move to its batch.
    #[allow(clippy::too_many_arguments)]
    pub fn append(
        &self,
        topic: &str,
        partition: i32,
        record: &ProducerRecord<'_>,
        timestamp: i64,
        reserved: usize,
        callback: Option<Callback>,
    ) -> Appended {
        let mut q = self.lock();
        q.pending_records += 1;
        let topic_arc = match q.topics.get_key_value(topic) {
            Some((k, _)) => k.clone(),
            None => {
                let k: Arc<str> = Arc::from(topic);
                q.topics.insert(k.clone(), Vec::new());
                k
            }
        };
        let parts = q.topics.entry(topic_arc.clone()).or_default();
        let idx = usize::try_from(partition).unwrap_or(0);
        if parts.len() <= idx {
            parts.resize_with(idx + 1, PartitionQueue::default);
        }
        let queue = &mut parts[idx];
        let mut wake_sender = false;
        let mut new_batch = None;
        let batch = match queue.batches.back_mut().filter(|b| b.sealed.is_none()) {
            Some(b) => b
                .try_append(record, timestamp, self.batch_size)
                .map(|delta| (delta, b)),
            None => None,
        };
        let (offset_delta, batch) = match batch {
            Some(x) => x,
            None => {
                // The previous batch (if any) is full now: the sender may take it.
                wake_sender = true;
                let order = queue.next_order;
                queue.next_order += 1;
                let mut b = ProducerBatch::new(
                    topic_arc.clone(),
                    partition,
                    self.batch_size,
                    order,
                    Instant::now(),
                );
                let delta = b.try_append(record, timestamp, usize::MAX).unwrap_or(0);
                (delta, new_batch.insert(b))
            }
        };
        batch.reserved += reserved;
        if batch.records_len() >= self.batch_size {
            wake_sender = true;
        }
        if let Some(cb) = callback {
            batch.callbacks.push((offset_delta, timestamp, cb));
        }
        let future = DeliveryFuture {
            batch: batch.completion.clone(),
            offset_delta,
            timestamp,
        };
        if let Some(b) = new_batch {
            queue.batches.push_back(b);
        }
        Appended {
            future,
            wake_sender,
        }
    }
}
