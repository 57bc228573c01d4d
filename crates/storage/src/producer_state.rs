//! Idempotent producer state of one partition: per producer id, its epoch and the sequence
//! numbers and offsets of its last five batches (Kafka's `ProducerStateManager`).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use weir_protocol::batch::BATCH_HEADER_LEN;

use crate::error::StorageError;
use crate::segment::{BatchInfo, LogSegment};

/// Batches remembered per producer for duplicate detection: a producer has at most five
/// requests in flight per partition (`max.in.flight.requests.per.connection` <= 5 with
/// idempotence), so a retry is always of one of its last five batches.
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

/// Kafka's `RecordBatch.NO_PRODUCER_ID`: batches with a smaller id are not idempotent.
pub const NO_PRODUCER_ID: i64 = -1;

/// Sequence numbers, offsets and the timestamp of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// What a batch header says about its producer, plus the offsets the batch has (or will get)
/// in the log. Read from the fixed 61-byte header only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub is_control: bool,
}

impl ProducerBatch {
    /// The producer fields of a v2 batch header (`header` holds at least its first 61 bytes),
    /// or `None` for a batch without a producer id (not idempotent) or a short header.
    /// Offsets are the header's; see [`ProducerBatch::at_offset`].
    pub fn from_header(header: &[u8]) -> Option<ProducerBatch> {
        fn be<const N: usize>(h: &[u8], at: usize) -> Option<[u8; N]> {
            h.get(at..at + N)?.try_into().ok()
        }
        let producer_id = i64::from_be_bytes(be(header, 43)?);
        if producer_id <= NO_PRODUCER_ID {
            return None;
        }
        let base_offset = i64::from_be_bytes(be(header, 0)?);
        let attributes = i16::from_be_bytes(be(header, 21)?);
        let last_offset_delta = i32::from_be_bytes(be(header, 23)?);
        let first_seq = i32::from_be_bytes(be(header, 53)?);
        Some(ProducerBatch {
            producer_id,
            producer_epoch: i16::from_be_bytes(be(header, 51)?),
            first_seq,
            last_seq: increment_sequence(first_seq, last_offset_delta),
            first_offset: base_offset,
            last_offset: base_offset.saturating_add(i64::from(last_offset_delta)),
            max_timestamp: i64::from_be_bytes(be(header, 35)?),
            is_control: attributes & 0x20 != 0,
        })
    }

    /// The same batch moved to base offset `first_offset`.
    pub fn at_offset(self, first_offset: i64) -> ProducerBatch {
        ProducerBatch {
            first_offset,
            last_offset: first_offset + (self.last_offset - self.first_offset),
            ..self
        }
    }

    fn metadata(&self) -> BatchMetadata {
        BatchMetadata {
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            first_offset: self.first_offset,
            last_offset: self.last_offset,
        }
    }
}

/// `sequence + increment`, wrapping past `i32::MAX` to 0 as Kafka's
/// `DefaultRecordBatch.incrementSequence` does.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// True when `next` directly follows `last` (Kafka's `inSequence`: after `i32::MAX` comes 0).
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// One producer's state in a partition (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateEntry {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Max timestamp of the producer's last batch; expiration counts from it.
    pub last_timestamp: i64,
    /// The last [`NUM_BATCHES_TO_RETAIN`] batches of the current epoch, oldest first.
    pub batches: VecDeque<BatchMetadata>,
}

impl ProducerStateEntry {
    fn empty(producer_id: i64) -> Self {
        Self {
            producer_id,
            producer_epoch: -1,
            last_timestamp: -1,
            batches: VecDeque::new(),
        }
    }

    /// Sequence of the last record appended in the current epoch.
    pub fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }

    /// The remembered batch with exactly this epoch and sequence range.
    fn find_duplicate(&self, batch: &ProducerBatch) -> Option<BatchMetadata> {
        if batch.producer_epoch != self.producer_epoch {
            return None;
        }
        self.batches
            .iter()
            .find(|b| b.first_seq == batch.first_seq && b.last_seq == batch.last_seq)
            .copied()
    }

    /// Records an appended batch; a new epoch forgets the previous epoch's batches.
    fn add_batch(&mut self, batch: &ProducerBatch) {
        if batch.producer_epoch != self.producer_epoch {
            self.producer_epoch = batch.producer_epoch;
            self.batches.clear();
        }
        if self.batches.len() >= NUM_BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(batch.metadata());
        self.last_timestamp = batch.max_timestamp;
    }

    /// Checks that `batch` may follow this state (Kafka's `ProducerAppendInfo` checks for a
    /// client append).
    fn validate(&self, batch: &ProducerBatch) -> Result<(), StorageError> {
        if batch.producer_epoch < self.producer_epoch {
            return Err(StorageError::InvalidProducerEpoch {
                producer_id: batch.producer_id,
                epoch: batch.producer_epoch,
                current_epoch: self.producer_epoch,
            });
        }
        let out_of_order = |expected| StorageError::OutOfOrderSequence {
            producer_id: batch.producer_id,
            sequence: batch.first_seq,
            expected,
        };
        if batch.producer_epoch != self.producer_epoch {
            // A producer seen before that bumped its epoch restarts its sequences at 0. An
            // unknown producer (never seen, expired, or its batches removed by retention) may
            // start anywhere: since Kafka 2.5 (KIP-360) it is accepted, not refused with
            // UNKNOWN_PRODUCER_ID.
            if batch.first_seq != 0 && self.producer_epoch >= 0 {
                return Err(out_of_order(0));
            }
        } else if let Some(last) = self.last_seq() {
            if !in_sequence(last, batch.first_seq) {
                return Err(out_of_order(increment_sequence(last, 1)));
            }
        }
        Ok(())
    }
}

/// What to do with one idempotent batch of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Write it.
    Append,
    /// It is a retry of a batch already in the log: do not write it again; answer with the
    /// original offsets.
    Duplicate(BatchMetadata),
}

/// The idempotent producer state of one partition, built from the batches of its log.
///
/// For each producer id: its epoch, the max timestamp of its last batch and the sequence
/// numbers and offsets of its last [`NUM_BATCHES_TO_RETAIN`] batches. Every client append is
/// checked against it before anything is written ([`ProducerAppend`]): a retry of one of the
/// last five batches is a duplicate (acknowledged with its original offsets, not written
/// again), a sequence gap is `OUT_OF_ORDER_SEQUENCE_NUMBER`, an older epoch
/// `INVALID_PRODUCER_EPOCH`. The work is constant per batch: headers only, no records.
///
/// The state covers the log up to [`ProducerStateManager::map_end_offset`]; it is persisted in
/// snapshot files (see [`crate::producer_snapshot`]) and after a restart rebuilt from the latest
/// snapshot plus the batch headers after it.
#[derive(Debug, Default)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerStateEntry>,
    /// One past the last offset whose batch is reflected in `producers`.
    map_end_offset: i64,
    /// The state changed since the last snapshot was taken (or loaded).
    dirty: bool,
    /// `now_ms` of the last expiration pass.
    last_expiration_check_ms: Option<i64>,
}

impl ProducerStateManager {
    /// An empty state covering the log up to `map_end_offset`.
    pub fn new(map_end_offset: i64) -> Self {
        Self {
            map_end_offset,
            ..Self::default()
        }
    }

    /// A state loaded from a snapshot taken at `map_end_offset`.
    pub fn from_entries(
        entries: impl IntoIterator<Item = ProducerStateEntry>,
        map_end_offset: i64,
    ) -> Self {
        Self {
            producers: entries.into_iter().map(|e| (e.producer_id, e)).collect(),
            map_end_offset,
            ..Self::default()
        }
    }

    /// One past the last offset reflected in the state.
    pub fn map_end_offset(&self) -> i64 {
        self.map_end_offset
    }

    /// The state of one producer.
    pub fn entry(&self, producer_id: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer's state (in no particular order).
    pub fn entries(&self) -> impl Iterator<Item = &ProducerStateEntry> {
        self.producers.values()
    }

    /// Number of producers with state.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// True when the state changed since the last snapshot.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Marks the state as saved in (or loaded from) a snapshot.
    pub fn mark_snapshotted(&mut self) {
        self.dirty = false;
    }

    /// Starts checking the idempotent batches of one append.
    pub fn begin_append(&self) -> ProducerAppend<'_> {
        ProducerAppend {
            state: self,
            updated: Vec::new(),
        }
    }

    /// Applies the updates of a checked append once its batches are in the log, whose end
    /// offset is now `map_end_offset`.
    pub fn complete_append(&mut self, updates: Vec<ProducerStateEntry>, map_end_offset: i64) {
        self.dirty |= !updates.is_empty();
        for entry in updates {
            self.producers.insert(entry.producer_id, entry);
        }
        self.map_end_offset = map_end_offset;
    }

    /// Replays a batch read back from the log (recovery): no validation, as Kafka does for
    /// appends that do not come from a client.
    pub fn replay(&mut self, batch: &ProducerBatch) {
        if batch.is_control {
            // Transaction markers carry no sequence; they only move the epoch on.
            let entry = self
                .producers
                .entry(batch.producer_id)
                .or_insert_with(|| ProducerStateEntry::empty(batch.producer_id));
            if batch.producer_epoch > entry.producer_epoch {
                entry.producer_epoch = batch.producer_epoch;
                entry.batches.clear();
            }
            entry.last_timestamp = batch.max_timestamp;
        } else {
            self.producers
                .entry(batch.producer_id)
                .or_insert_with(|| ProducerStateEntry::empty(batch.producer_id))
                .add_batch(batch);
        }
        self.map_end_offset = self.map_end_offset.max(batch.last_offset + 1);
        self.dirty = true;
    }

    /// Sets the end of the covered log range (after a replay that found no more batches).
    pub fn set_map_end_offset(&mut self, offset: i64) {
        self.map_end_offset = offset;
    }

    /// Forgets producers whose last batch is `producer.id.expiration.ms` old or older.
    /// Returns how many were removed.
    pub fn remove_expired(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_timestamp) < expiration_ms);
        self.last_expiration_check_ms = Some(now_ms);
        let removed = before - self.producers.len();
        self.dirty |= removed > 0;
        removed
    }

    /// Runs [`ProducerStateManager::remove_expired`] if `interval_ms` passed since the last
    /// pass (Kafka checks every `producer.id.expiration.check.interval.ms`).
    pub fn maybe_remove_expired(&mut self, now_ms: i64, expiration_ms: i64, interval_ms: i64) {
        let due = self
            .last_expiration_check_ms
            .is_none_or(|last| now_ms.saturating_sub(last) >= interval_ms);
        if due {
            let removed = self.remove_expired(now_ms, expiration_ms);
            if removed > 0 {
                tracing::debug!(removed, "expired idle producer ids");
            }
        }
    }
}

/// The checks of one append in progress: each idempotent batch is checked against the state
/// as updated by the batches before it in the same append; nothing changes in the
/// [`ProducerStateManager`] until [`ProducerStateManager::complete_append`].
#[derive(Debug)]
pub struct ProducerAppend<'a> {
    state: &'a ProducerStateManager,
    /// Entries touched by this append (usually one: a producer sends one batch per partition).
    updated: Vec<ProducerStateEntry>,
}

impl ProducerAppend<'_> {
    /// Checks one batch (with the offsets it will get) and records it if it is to be written.
    pub fn check(&mut self, batch: &ProducerBatch) -> Result<SequenceCheck, StorageError> {
        let index = match self
            .updated
            .iter()
            .position(|e| e.producer_id == batch.producer_id)
        {
            Some(i) => i,
            None => {
                let current = self.state.producers.get(&batch.producer_id);
                // Duplicates are looked for in the state before this append, as Kafka does.
                if let Some(dup) = current.and_then(|e| e.find_duplicate(batch)) {
                    return Ok(SequenceCheck::Duplicate(dup));
                }
                self.updated.push(
                    current
                        .cloned()
                        .unwrap_or_else(|| ProducerStateEntry::empty(batch.producer_id)),
                );
                self.updated.len() - 1
            }
        };
        let Some(entry) = self.updated.get_mut(index) else {
            return Ok(SequenceCheck::Append);
        };
        if batch.is_control {
            // A transaction marker (written by the coordinator) has no sequence: it may not
            // go back in epoch, and a newer epoch fences the older one's later batches.
            if batch.producer_epoch < entry.producer_epoch {
                return Err(StorageError::InvalidProducerEpoch {
                    producer_id: batch.producer_id,
                    epoch: batch.producer_epoch,
                    current_epoch: entry.producer_epoch,
                });
            }
            if batch.producer_epoch > entry.producer_epoch {
                entry.producer_epoch = batch.producer_epoch;
                entry.batches.clear();
            }
            entry.last_timestamp = batch.max_timestamp;
            return Ok(SequenceCheck::Append);
        }
        entry.validate(batch)?;
        entry.add_batch(batch);
        Ok(SequenceCheck::Append)
    }

    /// The updated entries, for [`ProducerStateManager::complete_append`].
    pub fn into_updates(self) -> Vec<ProducerStateEntry> {
        self.updated
    }
}

/// Replays into `state` the batches of `segment` from byte `start` to its end, reading only
/// each batch's 61-byte header through a 1 MiB buffer (batches are skipped, never decoded).
pub(crate) fn replay_segment(
    segment: &LogSegment,
    start: u64,
    state: &mut ProducerStateManager,
) -> Result<(), StorageError> {
    let path = segment.log_path();
    let file = File::open(path).map_err(StorageError::io("open segment", path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    reader
        .seek(SeekFrom::Start(start))
        .map_err(StorageError::io("read segment", path))?;
    let mut pos = start;
    let mut header = [0u8; BATCH_HEADER_LEN];
    while pos + BATCH_HEADER_LEN as u64 <= segment.size() {
        reader
            .read_exact(&mut header)
            .map_err(StorageError::io("read segment", path))?;
        let info =
            BatchInfo::from_header(&header, pos).map_err(|e| StorageError::CorruptSegment {
                path: path.to_path_buf(),
                position: pos,
                reason: e.to_string(),
            })?;
        if let Some(batch) = ProducerBatch::from_header(&header) {
            state.replay(&batch);
        }
        let skip = i64::try_from(info.len).unwrap_or(i64::MAX) - BATCH_HEADER_LEN as i64;
        reader
            .seek_relative(skip)
            .map_err(StorageError::io("read segment", path))?;
        pos = info.end();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, first_seq: i32, count: i32, offset: i64) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            producer_epoch: epoch,
            first_seq,
            last_seq: increment_sequence(first_seq, count - 1),
            first_offset: offset,
            last_offset: offset + i64::from(count) - 1,
            max_timestamp: 1000,
            is_control: false,
        }
    }

    /// Checks and appends one batch like `Log::append` does.
    fn append(
        state: &mut ProducerStateManager,
        b: ProducerBatch,
    ) -> Result<SequenceCheck, StorageError> {
        let mut append = state.begin_append();
        let check = append.check(&b)?;
        let updates = append.into_updates();
        if check == SequenceCheck::Append {
            state.complete_append(updates, b.last_offset + 1);
        }
        Ok(check)
    }

    #[test]
    fn in_order_batches_append_and_retries_of_the_last_five_are_duplicates() {
        let mut s = ProducerStateManager::new(0);
        for i in 0..7 {
            let check = append(&mut s, batch(1, 0, i * 10, 10, i64::from(i) * 10)).unwrap();
            assert_eq!(check, SequenceCheck::Append);
        }
        // Batches 2..=6 are remembered: a retry gets its original offsets.
        let dup = append(&mut s, batch(1, 0, 30, 10, 999)).unwrap();
        assert_eq!(
            dup,
            SequenceCheck::Duplicate(BatchMetadata {
                first_seq: 30,
                last_seq: 39,
                first_offset: 30,
                last_offset: 39
            })
        );
        assert_eq!(s.map_end_offset(), 70);
        // Batch 1 is too old to be recognised: its sequence is out of order.
        let err = append(&mut s, batch(1, 0, 10, 10, 70)).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::OutOfOrderSequence {
                    sequence: 10,
                    expected: 70,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_gap_or_a_partial_overlap_is_out_of_order() {
        let mut s = ProducerStateManager::new(0);
        append(&mut s, batch(1, 0, 0, 5, 0)).unwrap();
        for seq in [6, 3, -1] {
            let err = append(&mut s, batch(1, 0, seq, 1, 5)).unwrap_err();
            assert!(matches!(
                err,
                StorageError::OutOfOrderSequence { expected: 5, .. }
            ));
        }
        assert_eq!(s.entry(1).unwrap().last_seq(), Some(4));
    }

    #[test]
    fn older_epochs_are_fenced_and_a_new_epoch_starts_at_zero() {
        let mut s = ProducerStateManager::new(0);
        append(&mut s, batch(1, 3, 0, 5, 0)).unwrap();
        let err = append(&mut s, batch(1, 2, 5, 1, 5)).unwrap_err();
        assert!(matches!(
            err,
            StorageError::InvalidProducerEpoch {
                epoch: 2,
                current_epoch: 3,
                ..
            }
        ));
        let err = append(&mut s, batch(1, 4, 5, 1, 5)).unwrap_err();
        assert!(matches!(
            err,
            StorageError::OutOfOrderSequence { expected: 0, .. }
        ));
        assert_eq!(
            append(&mut s, batch(1, 4, 0, 1, 5)).unwrap(),
            SequenceCheck::Append
        );
        // The old epoch's batches are forgotten: not a duplicate any more, but fenced.
        assert!(append(&mut s, batch(1, 3, 0, 5, 6)).is_err());
        assert_eq!(s.entry(1).unwrap().batches.len(), 1);
    }

    #[test]
    fn an_unknown_producer_may_start_at_any_sequence() {
        // Kafka 2.5+ (KIP-360): state lost to retention or expiration does not fail the producer.
        let mut s = ProducerStateManager::new(0);
        assert_eq!(
            append(&mut s, batch(9, 0, 42, 2, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert!(append(&mut s, batch(9, 0, 45, 1, 2)).is_err());
        assert!(append(&mut s, batch(9, 0, 44, 1, 2)).is_ok());
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        let mut s = ProducerStateManager::new(0);
        let b = batch(1, 0, i32::MAX - 1, 4, 0);
        assert_eq!(b.last_seq, 1);
        append(&mut s, b).unwrap();
        assert_eq!(
            append(&mut s, batch(1, 0, 2, 1, 4)).unwrap(),
            SequenceCheck::Append
        );
        // And the wrapped batch is still found as a duplicate.
        assert!(matches!(
            append(&mut s, b.at_offset(100)).unwrap(),
            SequenceCheck::Duplicate(BatchMetadata {
                first_offset: 0,
                ..
            })
        ));
        let mut s = ProducerStateManager::new(0);
        append(&mut s, batch(1, 0, i32::MAX, 1, 0)).unwrap();
        assert_eq!(
            append(&mut s, batch(1, 0, 0, 1, 1)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn batches_of_one_append_are_checked_in_order_and_nothing_changes_until_completed() {
        let s = ProducerStateManager::new(0);
        let mut a = s.begin_append();
        assert_eq!(
            a.check(&batch(1, 0, 0, 2, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert_eq!(
            a.check(&batch(1, 0, 2, 2, 2)).unwrap(),
            SequenceCheck::Append
        );
        assert!(a.check(&batch(1, 0, 7, 2, 4)).is_err());
        assert_eq!(a.into_updates().len(), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn idle_producers_expire() {
        let mut s = ProducerStateManager::new(0);
        append(&mut s, batch(1, 0, 0, 1, 0)).unwrap(); // last timestamp 1000
        let mut late = batch(2, 0, 0, 1, 1);
        late.max_timestamp = 5000;
        append(&mut s, late).unwrap();
        s.mark_snapshotted();
        s.maybe_remove_expired(1500, 1000, 600_000);
        assert_eq!(s.len(), 2);
        // Not due again before the check interval.
        s.maybe_remove_expired(2500, 1000, 600_000);
        assert_eq!(s.len(), 2);
        assert_eq!(s.remove_expired(2000, 1000), 1);
        assert!(s.entry(1).is_none() && s.entry(2).is_some());
        assert!(s.is_dirty());
        // An expired producer is unknown: it may continue at any sequence.
        assert!(append(&mut s, batch(1, 0, 1, 1, 2)).is_ok());
    }

    #[test]
    fn parses_the_producer_fields_of_a_header() {
        let mut h = [0u8; 61];
        h[0..8].copy_from_slice(&100i64.to_be_bytes());
        h[23..27].copy_from_slice(&4i32.to_be_bytes());
        h[35..43].copy_from_slice(&77i64.to_be_bytes());
        h[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(ProducerBatch::from_header(&h), None);
        h[43..51].copy_from_slice(&5i64.to_be_bytes());
        h[51..53].copy_from_slice(&2i16.to_be_bytes());
        h[53..57].copy_from_slice(&(i32::MAX - 1).to_be_bytes());
        let b = ProducerBatch::from_header(&h).unwrap();
        assert_eq!(
            b,
            ProducerBatch {
                producer_id: 5,
                producer_epoch: 2,
                first_seq: i32::MAX - 1,
                last_seq: 2,
                first_offset: 100,
                last_offset: 104,
                max_timestamp: 77,
                is_control: false,
            }
        );
        assert_eq!(b.at_offset(7).last_offset, 11);
        assert_eq!(ProducerBatch::from_header(&h[..56]), None);
    }
}
