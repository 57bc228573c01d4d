//! A partition's log: a directory of segments.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use weir_protocol::batch::{BatchError, BatchIter};

use crate::config::LogConfig;
use crate::error::StorageError;
use crate::producer_snapshot::ProducerSnapshot;
use crate::producer_state::{ProducerBatch, ProducerStateManager, SequenceCheck};
use crate::read_slice::FetchData;
use crate::segment::{
    delete_segment_files, BatchInfo, LogSegment, SegmentRead, MAX_RELATIVE_OFFSET,
    MAX_SEGMENT_BYTES,
};
use crate::txn_index::{append_txn_index, AbortedTxn, OpenTxns, TxnBatch, TxnTracker};

/// Outcome of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Base offset assigned to the first batch.
    pub first_offset: i64,
    /// Last offset of the last batch.
    pub last_offset: i64,
    /// Largest batch max timestamp among the appended batches.
    pub max_timestamp: i64,
    /// Base offset of the first appended batch carrying `max_timestamp` (batch granularity:
    /// records are never parsed).
    pub offset_of_max_timestamp: i64,
    /// Bytes appended.
    pub bytes: usize,
    /// The record set was a retry of idempotent batches already in the log: nothing was
    /// written, and the offsets are those the batches got the first time (`max_timestamp` is
    /// -1). The broker answers it as a success, as Kafka does.
    pub duplicate: bool,
}

/// `producer.id.expiration.check.interval.ms`, Kafka's default: how often appends look for
/// expired producer ids.
const PRODUCER_EXPIRATION_CHECK_INTERVAL_MS: i64 = 600_000;

/// Suffixes of files left behind by an interrupted operation; deleted on open. `.cleaned` and
/// `.swap` come from compaction (a well-formed `.swap` is completed before, see
/// `cleaner.rs`), `.deleted` from asynchronous segment deletion, `.tmp` from
/// atomic file replacement.
const STRAY_SUFFIXES: [&str; 4] = [".cleaned", ".swap", ".deleted", ".tmp"];

/// One partition's log: the segments of a directory `<topic>-<partition>`, ordered by base
/// offset, of which the last is the active one that appends go to.
///
/// Offsets are assigned here: each appended batch gets the base offset that makes it follow
/// the log end offset (LEO) contiguously. Reads return whole batches of one segment as a
/// [`crate::ReadSlice`] for `sendfile`.
///
/// # Recovery
///
/// [`Log::open`] re-reads (checking CRCs) every segment from the one containing the recovery
/// point on, plus always the last one; truncates the first torn or corrupt batch and
/// everything after it (later segments are deleted); and rebuilds those segments' indexes.
/// Earlier segments keep their index files unless these are missing or inconsistent.
/// Everything below the recovery point was fsynced, so nothing flushed is lost.
///
/// Segments live in a `BTreeMap` keyed by base offset so that retention can drop the oldest
/// ones and the log start offset can move past them.
#[derive(Debug)]
pub struct Log {
    // `pub(crate)` for retention (`retention.rs`), which drops old segments and moves the
    // log start offset.
    pub(crate) dir: PathBuf,
    config: LogConfig,
    pub(crate) segments: BTreeMap<i64, LogSegment>,
    pub(crate) log_start_offset: i64,
    pub(crate) log_end_offset: i64,
    pub(crate) recovery_point: i64,
    pub(crate) size_bytes: u64,
    unflushed_messages: i64,
    /// `now_ms` of the last flush (or of the first append after opening).
    last_flush_ms: Option<i64>,
    /// A segment file was created since the directory was last fsynced.
    pub(crate) dir_dirty: bool,
    /// Idempotent producers' state as of the log end offset.
    producer_state: ProducerStateManager,
    /// Open and aborted transactions (`txn_index.rs`).
    pub(crate) txns: TxnTracker,
}

impl Log {
    /// Opens (or creates) the log in `dir`, recovering everything from `recovery_point` on.
    pub fn open(dir: &Path, config: LogConfig, recovery_point: i64) -> Result<Log, StorageError> {
        std::fs::create_dir_all(dir).map_err(StorageError::io("create log directory", dir))?;
        // A cleaner swap a crash interrupted is finished before segments are listed.
        crate::cleaner::complete_interrupted_swaps(dir)?;
        let mut bases = Vec::new();
        let mut index_files = Vec::new();
        let entries =
            std::fs::read_dir(dir).map_err(StorageError::io("list log directory", dir))?;
        for entry in entries {
            let entry = entry.map_err(StorageError::io("list log directory", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = entry.path();
            if STRAY_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                tracing::info!(file = %path.display(), "deleting stray file");
                std::fs::remove_file(&path)
                    .map_err(StorageError::io("delete stray file", &path))?;
            } else if let Some(base) = name.strip_suffix(".log").and_then(parse_base_offset) {
                bases.push(base);
            } else if let Some(base) = [".index", ".timeindex", ".txnindex"]
                .iter()
                .find_map(|ext| name.strip_suffix(ext))
                .and_then(parse_base_offset)
            {
                index_files.push((base, path));
            }
        }
        bases.sort_unstable();
        // Index files whose segment is gone (Kafka deletes them too).
        for (base, path) in index_files {
            if bases.binary_search(&base).is_err() {
                tracing::info!(file = %path.display(), "deleting orphan index file");
                std::fs::remove_file(&path)
                    .map_err(StorageError::io("delete orphan index", &path))?;
            }
        }

        let mut segments = BTreeMap::new();
        let mut dir_dirty = false;
        if bases.is_empty() {
            segments.insert(0, LogSegment::create(dir, 0)?);
            dir_dirty = true;
        }
        // Recover from the segment containing the recovery point on.
        let recover_from = bases
            .iter()
            .rev()
            .find(|&&b| b <= recovery_point)
            .or(bases.first())
            .copied()
            .unwrap_or(0);
        let last = bases.last().copied();
        for (i, &base) in bases.iter().enumerate() {
            let recover = base >= recover_from || Some(base) == last;
            let (mut segment, outcome) =
                LogSegment::open(dir, base, recover, config.index_interval_bytes)?;
            let is_last = Some(base) == last || outcome.truncated_bytes > 0;
            if outcome.recovered && !is_last {
                // A closed segment's time index ends with its largest timestamp.
                segment.on_become_inactive()?;
            }
            segments.insert(base, segment);
            if outcome.truncated_bytes > 0 {
                // Whatever followed a corrupt batch cannot be trusted to be contiguous.
                for &later in bases.get(i + 1..).unwrap_or_default() {
                    tracing::warn!(base_offset = later, "deleting segment after corruption");
                    delete_segment_files(dir, later)?;
                }
                break;
            }
        }

        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset: 0,
            log_end_offset: 0,
            recovery_point: 0,
            size_bytes: 0,
            unflushed_messages: 0,
            last_flush_ms: None,
            dir_dirty,
            producer_state: ProducerStateManager::default(),
            txns: TxnTracker::default(),
        };
        log.log_start_offset = log.segments.keys().next().copied().unwrap_or(0);
        log.log_end_offset = log.active().map_or(0, LogSegment::next_offset);
        log.size_bytes = log.segments.values().map(LogSegment::size).sum();
        // Recovered data is valid but not known to be on disk: keep the old point (or LEO if
        // the log got shorter than it).
        log.recovery_point = recovery_point.clamp(log.log_start_offset, log.log_end_offset);
        let open_txns = log.load_producer_state()?;
        log.load_transactions(open_txns)?;
        Ok(log)
    }

    /// Rebuilds the producer state: the newest valid snapshot at or below the log end offset
    /// (snapshots past it describe data recovery cut off and are deleted), then the headers of
    /// every batch from there to the log end. Without a snapshot, from the log start. Returns
    /// the snapshot's offset and open transactions, when it recorded them.
    fn load_producer_state(&mut self) -> Result<Option<(i64, OpenTxns)>, StorageError> {
        let mut state = None;
        for snapshot in ProducerSnapshot::list(&self.dir)?.into_iter().rev() {
            if snapshot.offset > self.log_end_offset {
                tracing::info!(file = %snapshot.path.display(), "deleting producer snapshot past the log end");
                snapshot.delete()?;
                continue;
            }
            if snapshot.offset < self.log_start_offset {
                break;
            }
            match snapshot.read() {
                Ok((loaded, open)) => {
                    state = Some((loaded, open.map(|o| (snapshot.offset, o))));
                    break;
                }
                Err(e @ StorageError::CorruptSnapshot { .. }) => {
                    tracing::warn!(error = %e, "deleting corrupt producer snapshot");
                    snapshot.delete()?;
                }
                Err(e) => return Err(e),
            }
        }
        let (mut state, open_txns) =
            state.unwrap_or_else(|| (ProducerStateManager::new(self.log_start_offset), None));
        let from = state.map_end_offset();
        if from < self.log_end_offset {
            for segment in self.segments.values() {
                if segment.next_offset() <= from {
                    continue;
                }
                let start = match segment.find_batch(from)? {
                    Some(b) => b.position,
                    None => continue,
                };
                crate::producer_state::replay_segment(segment, start, &mut state)?;
            }
            tracing::debug!(
                dir = %self.dir.display(),
                from,
                to = self.log_end_offset,
                producers = state.len(),
                "producer state rebuilt from the log"
            );
        }
        state.set_map_end_offset(self.log_end_offset);
        self.producer_state = state;
        Ok(open_txns)
    }

    /// Rebuilds the open and aborted transactions. With a producer snapshot that recorded the
    /// transactions open at its offset `S`: those, the `.txnindex` entries of markers below
    /// `S` (written when each marker was appended), and the batch headers from `S` on. Without
    /// one, the batch headers of the whole log (an open transaction may start anywhere). The
    /// `.txnindex` of each segment that was read is rewritten to match what its markers say.
    fn load_transactions(&mut self, snapshot: Option<(i64, OpenTxns)>) -> Result<(), StorageError> {
        let (from, mut tracker) = match snapshot {
            Some((offset, open)) => (offset, TxnTracker::with_open(open)),
            // Every segment from its first byte, even below the log start offset: a
            // transaction may have begun before a DeleteRecords moved it.
            None => (i64::MIN, TxnTracker::default()),
        };
        for segment in self.segments.values() {
            let base = segment.base_offset();
            let on_disk = crate::txn_index::read_txn_index(&self.dir, base)?;
            if segment.next_offset() <= from {
                tracker.load_aborted(on_disk);
                continue;
            }
            let (mut aborted, start) = if base < from {
                let kept: Vec<AbortedTxn> = on_disk
                    .iter()
                    .filter(|t| t.last_offset < from)
                    .copied()
                    .collect();
                tracker.load_aborted(kept.iter().copied());
                let start = segment
                    .find_batch(from)?
                    .map_or(segment.size(), |b| b.position);
                (kept, start)
            } else {
                (Vec::new(), 0)
            };
            aborted.extend(crate::txn_index::scan_segment(
                segment,
                start,
                &mut tracker,
            )?);
            if on_disk != aborted {
                crate::txn_index::write_txn_index(&self.dir, base, &aborted)?;
            }
        }
        tracker.truncate_below(self.log_start_offset);
        self.txns = tracker;
        Ok(())
    }

    /// The first offset of the oldest open transaction: the last stable offset is the
    /// smaller of this and the high watermark.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.txns.first_unstable_offset()
    }

    /// Aborted transactions overlapping `[from, to)`, for read_committed fetches.
    pub fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.txns.aborted_between(from, to)
    }

    /// Writes a producer state snapshot at the log end offset if the state changed since the
    /// last one (on segment roll, checkpoint and clean shutdown).
    pub fn take_producer_snapshot(&mut self) -> Result<(), StorageError> {
        if self.producer_state.is_dirty() {
            self.producer_state.set_map_end_offset(self.log_end_offset);
            ProducerSnapshot::write(
                &self.dir,
                &self.producer_state,
                &self.txns.open_transactions(),
            )?;
            self.producer_state.mark_snapshotted();
        }
        Ok(())
    }

    /// The idempotent producers' state.
    pub fn producer_state(&self) -> &ProducerStateManager {
        &self.producer_state
    }

    /// Forgets producers idle for `producer.id.expiration.ms` (also done by appends, every
    /// ten minutes).
    pub fn remove_expired_producers(&mut self, now_ms: i64) {
        let expiration = self.config.producer_id_expiration_ms;
        self.producer_state.remove_expired(now_ms, expiration);
    }

    fn active(&self) -> Option<&LogSegment> {
        self.segments.values().next_back()
    }

    /// Appends one or more concatenated record batches v2 (already validated by the broker),
    /// assigning offsets from the log end offset by rewriting each batch's base offset in
    /// `records`. Rolls to a new segment first if needed; fsyncs if `flush.messages` or
    /// `flush.ms` say so. On error the log is unchanged.
    pub fn append(&mut self, records: &[u8], now_ms: i64) -> Result<AppendInfo, StorageError> {
        if records.is_empty() {
            return Err(StorageError::InvalidRecords {
                position: 0,
                source: BatchError::Empty,
            });
        }
        if records.len() as u64 > MAX_SEGMENT_BYTES {
            return Err(StorageError::RecordSetTooLarge {
                size: records.len(),
                max: MAX_SEGMENT_BYTES,
            });
        }
        let mut batches = Vec::new();
        let mut position = 0usize;
        // Idempotent batches are checked against the producer state before anything is
        // written, with the offsets they will get (duplicates get none).
        let mut producers = self.producer_state.begin_append();
        let mut duplicates = Vec::new();
        let mut next = self.log_end_offset;
        for batch in BatchIter::new(records) {
            let invalid = |source| StorageError::InvalidRecords { position, source };
            let batch = batch.map_err(invalid)?;
            let info =
                BatchInfo::from_header(batch.as_bytes(), position as u64).map_err(invalid)?;
            if let Some(pb) = ProducerBatch::from_header(batch.as_bytes()) {
                match producers.check(&pb.at_offset(next))? {
                    SequenceCheck::Append => {}
                    SequenceCheck::Duplicate(original) => {
                        duplicates.push(original);
                        position += batch.total_len();
                        continue;
                    }
                }
            }
            next += info.last_offset - info.base_offset + 1;
            batches.push(info);
            position += batch.total_len();
        }
        let producer_updates = producers.into_updates();
        if let (Some(first), Some(last)) = (duplicates.first(), duplicates.last()) {
            if !batches.is_empty() {
                return Err(StorageError::MixedDuplicateBatches);
            }
            tracing::debug!(
                dir = %self.dir.display(),
                first_offset = first.first_offset,
                "duplicate idempotent batch not appended"
            );
            return Ok(AppendInfo {
                first_offset: first.first_offset,
                last_offset: last.last_offset,
                max_timestamp: -1,
                offset_of_max_timestamp: first.first_offset,
                bytes: 0,
                duplicate: true,
            });
        }

        // Assign offsets.
        let mut next = self.log_end_offset;
        let mut max_ts: Option<(i64, i64)> = None;
        // The base offsets are rewritten as the segment writes the batches (a vectored write
        // with an 8-byte patch per batch), so the producer's bytes are never copied here.
        for b in &mut batches {
            let delta = b.last_offset - b.base_offset;
            b.base_offset = next;
            b.last_offset = next + delta;
            next = b.last_offset + 1;
            if max_ts.is_none_or(|(ts, _)| b.max_timestamp > ts) {
                max_ts = Some((b.max_timestamp, b.base_offset));
            }
        }
        let (first_offset, last_offset) = (self.log_end_offset, next - 1);
        let (max_timestamp, offset_of_max_timestamp) = max_ts.unwrap_or((-1, first_offset));

        self.maybe_roll(records.len() as u64, last_offset, now_ms)?;
        let config = &self.config;
        let active = self
            .segments
            .values_mut()
            .next_back()
            .ok_or_else(|| missing_active(&self.dir))?;
        active.append(
            records,
            &batches,
            config.index_interval_bytes,
            config.segment_index_bytes,
            now_ms,
        )?;
        self.log_end_offset = next;
        let active_base = active.base_offset();
        for b in &batches {
            let at = usize::try_from(b.position).unwrap_or(usize::MAX);
            let Some(bytes) = records.get(at..) else {
                continue;
            };
            if let Some(tb) = TxnBatch::parse(bytes, b.base_offset, b.last_offset) {
                if let Some(aborted) = self.txns.on_batch(&tb) {
                    append_txn_index(&self.dir, active_base, &aborted)?;
                }
            }
        }
        self.producer_state.complete_append(producer_updates, next);
        if !self.producer_state.is_empty() {
            self.producer_state.maybe_remove_expired(
                now_ms,
                self.config.producer_id_expiration_ms,
                PRODUCER_EXPIRATION_CHECK_INTERVAL_MS,
            );
        }
        self.size_bytes += records.len() as u64;
        self.unflushed_messages = self
            .unflushed_messages
            .saturating_add(last_offset - first_offset + 1);
        let last_flush = *self.last_flush_ms.get_or_insert(now_ms);
        if self.unflushed_messages >= self.config.flush_messages
            || now_ms.saturating_sub(last_flush) >= self.config.flush_ms
        {
            self.flush()?;
            self.last_flush_ms = Some(now_ms);
        }
        Ok(AppendInfo {
            first_offset,
            last_offset,
            max_timestamp,
            offset_of_max_timestamp,
            bytes: records.len(),
            duplicate: false,
        })
    }

    /// Rolls to a new segment based at the log end offset when the active one is not empty and
    /// `size` more bytes would pass `segment.bytes`, `segment.ms` has elapsed since its first
    /// append, an index is full, or `last_offset` would not fit relative to its base.
    fn maybe_roll(&mut self, size: u64, last_offset: i64, now_ms: i64) -> Result<(), StorageError> {
        let Some(active) = self.segments.values_mut().next_back() else {
            return Err(missing_active(&self.dir));
        };
        if active.size() == 0 {
            return Ok(());
        }
        let max_size = self.config.segment_bytes.min(MAX_SEGMENT_BYTES);
        let reason = if active.size() + size > max_size {
            "segment.bytes"
        } else if active
            .rolling_base_ms()
            .is_some_and(|t| now_ms.saturating_sub(t) >= self.config.segment_ms)
        {
            "segment.ms"
        } else if active.indexes_full(self.config.segment_index_bytes) {
            "segment.index.bytes"
        } else if last_offset - active.base_offset() > MAX_RELATIVE_OFFSET {
            "relative offset overflow"
        } else {
            return Ok(());
        };
        active.on_become_inactive()?;
        // Kafka snapshots producer state at every roll, named after the new segment.
        self.take_producer_snapshot()?;
        let base = self.log_end_offset;
        tracing::debug!(dir = %self.dir.display(), base_offset = base, reason, "rolling segment");
        let segment = LogSegment::create(&self.dir, base)?;
        self.segments.insert(base, segment);
        self.dir_dirty = true;
        Ok(())
    }

    /// Whole batches starting with the one that contains `offset`, from one segment: as many
    /// as fit in `max_bytes` and whose last offset is `< max_offset` (the high watermark; a
    /// batch straddling it is not returned, as in Kafka). If the first batch alone is larger
    /// than `max_bytes` it is returned whole when `min_one_batch` (KIP-74), else nothing.
    ///
    /// `offset == log end offset` or `>= max_offset` returns no data; an offset below the log
    /// start or above the log end is [`StorageError::OffsetOutOfRange`].
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        max_offset: i64,
    ) -> Result<FetchData, StorageError> {
        if offset < self.log_start_offset || offset > self.log_end_offset {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start: self.log_start_offset,
                log_end: self.log_end_offset,
            });
        }
        let none = FetchData {
            slice: None,
            first_offset_in_slice: offset,
        };
        if offset == self.log_end_offset || offset >= max_offset {
            return Ok(none);
        }
        let start = self
            .segments
            .range(..=offset)
            .next_back()
            .map_or(self.log_start_offset, |(&b, _)| b);
        // An offset past the end of its segment (or in a gap) is served by the next one.
        for segment in self.segments.range(start..).map(|(_, s)| s) {
            match segment.read(offset, max_bytes, min_one_batch, max_offset)? {
                SegmentRead::NotHere => continue,
                SegmentRead::Empty => return Ok(none),
                SegmentRead::Data {
                    slice,
                    first_offset,
                } => {
                    return Ok(FetchData {
                        slice: Some(slice),
                        first_offset_in_slice: first_offset,
                    })
                }
            }
        }
        Ok(none)
    }

    /// First offset of the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// The earliest batch whose max timestamp is `>= timestamp`, as `(offset, timestamp)`.
    ///
    /// Batch granularity: the offset is the batch's base offset and the timestamp its max
    /// timestamp (Kafka reads records to return the exact record; a consumer seeking to the
    /// returned offset receives the same records plus possibly a few older ones of the batch).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, StorageError> {
        for segment in self.segments.values() {
            if segment
                .max_timestamp()
                .is_some_and(|m| m.timestamp >= timestamp)
            {
                if let Some((offset, ts)) = segment.find_offset_by_timestamp(timestamp)? {
                    return Ok(Some((offset.max(self.log_start_offset), ts)));
                }
            }
        }
        Ok(None)
    }

    /// `(timestamp, offset)` of the batch with the largest max timestamp (the first one if
    /// several tie; its base offset), for ListOffsets `MAX_TIMESTAMP`. `None` on an empty log.
    pub fn max_timestamp_and_offset(&self) -> Option<(i64, i64)> {
        self.segments
            .values()
            .filter_map(LogSegment::max_timestamp)
            .fold(None, |best: Option<(i64, i64)>, m| match best {
                Some((ts, _)) if ts >= m.timestamp => best,
                _ => Some((m.timestamp, m.offset)),
            })
    }

    /// fsyncs every segment written since the recovery point (and the directory if segments
    /// were created), then moves the recovery point to the log end offset.
    pub fn flush(&mut self) -> Result<(), StorageError> {
        let from = self
            .segments
            .range(..=self.recovery_point)
            .next_back()
            .map_or(self.log_start_offset, |(&b, _)| b);
        for segment in self.segments.range(from..).map(|(_, s)| s) {
            segment.flush()?;
        }
        if self.dir_dirty {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(StorageError::io("fsync log directory", &self.dir))?;
            self.dir_dirty = false;
        }
        self.recovery_point = self.log_end_offset;
        self.unflushed_messages = 0;
        Ok(())
    }

    /// Every offset below this is on disk (fsynced); recovery starts from here.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    /// Total size of the segments' `.log` files.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Applies new settings; segment limits apply from the next append on.
    pub fn update_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.keys().copied().collect()
    }

    /// Iterates over the segments, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &LogSegment> {
        self.segments.values()
    }

    /// Removes the log's directory and everything in it. Open [`crate::ReadSlice`]s stay
    /// readable.
    pub fn delete(self) -> Result<(), StorageError> {
        std::fs::remove_dir_all(&self.dir).map_err(StorageError::io("delete log", &self.dir))
    }

    /// Flushes and releases the log (a clean shutdown).
    pub fn close(mut self) -> Result<(), StorageError> {
        self.flush()
    }
}

fn missing_active(dir: &Path) -> StorageError {
    StorageError::CorruptSegment {
        path: dir.to_path_buf(),
        position: 0,
        reason: "log has no active segment".to_string(),
    }
}

/// Parses Kafka's 20-digit file name stem.
fn parse_base_offset(stem: &str) -> Option<i64> {
    if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}
