//! Log compaction (`cleanup.policy=compact`): keep only the latest record per key in the
//! closed segments of a partition, as Kafka's `LogCleaner` does, without ever changing an
//! offset.
//!
//! # A cleaning, in three steps
//!
//! 1. **Plan** ([`Log::plan_cleaning`], under the partition lock, touches no data): the
//!    *cleanable* section is the closed segments from the log start up to the first one that
//!    is the active segment, reaches the high watermark, or holds a record younger than
//!    `min.compaction.lag.ms` (by the segment's largest timestamp). Its *dirty* part starts
//!    at the first dirty offset: where the previous cleaning stopped, as the broker keeps it
//!    in `cleaner-offset-checkpoint`; the log start when there is none, or when it lies
//!    below the log start or past the log end (Kafka's `cleanableOffsets`). The log is
//!    cleaned when `dirty bytes / cleanable bytes >= min.cleanable.dirty.ratio` (the bytes
//!    of whole segments, the one holding the first dirty offset counted dirty), or when a
//!    dirty segment's first record is older than `max.compaction.lag.ms`. The plan holds its
//!    own open handles on the segment files.
//! 2. **Clean** ([`CleanPlan::clean`], without any lock): builds a map key -> latest offset
//!    over the dirty part, from the first dirty offset until the map is full or the dirty
//!    part ends; where it stopped is the end of this cleaning (and the next one's first
//!    dirty offset). It then rewrites the segments below that end in groups (consecutive
//!    segments whose sizes add up to at most `segment.bytes`) into `<base>.log.cleaned`
//!    files, keeping a record when it has a key and no later offset for that key is in the
//!    map; a tombstone (null value) is also dropped once it has been through one cleaning
//!    (it lies below the first dirty offset) and its segment's largest timestamp is more than
//!    `delete.retention.ms` old. Records without a key are dropped, as Kafka does. Batches
//!    keep their base offset, last offset delta, timestamps, producer id/epoch/base sequence
//!    and codec; only their record count, length and CRC change (see `cleaner_codec.rs`). A
//!    batch left with no record is dropped. Control batches and transactional batches are
//!    copied unchanged and their keys are not entered in the map (an aborted transaction must
//!    not shadow earlier records; the transaction index does not survive the merging of
//!    segments, so a segment that has a non-empty `.txnindex` is never grouped with others).
//!    A group where nothing changes is not rewritten.
//! 3. **Swap** ([`Log::install_cleaned`], under the partition lock), per group, see below;
//!    [`CleanedLog::into_parts`] lets the caller take the lock once per group.
//!    A group whose segments changed meanwhile (retention deleted one) is abandoned.
//!
//! # Swap protocol (crash safety)
//!
//! For a group of segments with base offsets `A = b0 < b1 < ... < bn` followed by the
//! segment based at `E`:
//!
//! 1. `A.log.cleaned` is written and fsynced (outside the lock; its data is flushed every
//!    [`CLEANED_SYNC_BYTES`] as it is written, so the final fsync has little left to do),
//!    then indexed into `A.index.cleaned` and `A.timeindex.cleaned`, also fsynced.
//! 2. It is renamed to `A.log.E.swap` (the name says which segments it replaces: every
//!    segment with a base in `[A, E)`), and the directory is fsynced. From here on the swap
//!    file is the truth.
//! 3. The files of `b1..bn` are renamed to `*.deleted`, then `A.log`, `A.index` and
//!    `A.timeindex` (`A.txnindex` stays: a segment with one is cleaned alone, and its
//!    transactional batches and markers are kept unchanged).
//! 4. `A.log.E.swap` is renamed to `A.log` and the directory fsynced; then
//!    `A.index.cleaned` and `A.timeindex.cleaned` are renamed to `A.index` and
//!    `A.timeindex`, and the segment is opened on them (checked, not rebuilt), so that the
//!    lock is held for renames and directory fsyncs, not for re-reading the segment. The
//!    `.deleted` files are removed `file.delete.delay.ms` later by the broker's sweep, or at
//!    once without a delay (see `deleted_files.rs`).
//!
//! [`complete_interrupted_swaps`] runs first thing in [`Log::open`]: a `.swap` file found
//! there is finished (steps 3 and 4, deleting rather than renaming); a `.cleaned` file is
//! deleted with the other stray files (its group was never touched), and so are `.deleted`
//! ones and the `.index.cleaned`/`.timeindex.cleaned` of a swap cut short before they were
//! renamed (`A`'s indexes are then missing and rebuilt from `A.log` as after any crash). A
//! crash before step 2 is durable leaves the old segments, a crash after it leaves a
//! complete swap file: nothing is lost or duplicated either way.
//!
//! # Memory and speed
//!
//! The offset map ([`OffsetMap`]) holds 24 bytes per key whatever the key's size, within
//! `log.cleaner.dedupe.buffer.size` (15/16 of it; the rest bounds the per-batch table
//! below) filled to `log.cleaner.io.buffer.load.factor`, as Kafka's `SkimpyOffsetMap`. When
//! it is full the cleaning ends at the first offset it could not map (possibly inside a
//! segment, as in Kafka): records past it are kept unless a mapped later record of their key
//! exists, which it cannot. The next cleaning starts there. A log with more keys than the
//! map holds is therefore compacted in several passes, each of bounded memory.
//!
//! While mapping, the cleaner also counts, per batch of the dirty part, how many of its
//! records are still the latest of their key (a replaced offset decrements its batch's
//! count). The rewrite then copies a batch whose records all survive byte for byte and
//! drops one whose records are all superseded without decompressing it a second time; only
//! batches that lose some records are decompressed again and rebuilt (for compressed topics
//! the bulk of a cleaning's cost). Segments are read in chunks of [`READ_CHUNK`] bytes, and
//! the decompression and rebuild buffers are reused from batch to batch.
//!
//! # Sharing the machine
//!
//! Reads and writes are reported to a [`Throttler`] (`log.cleaner.io.max.bytes.per.second`,
//! unlimited by default as in Kafka), and the cleaned file is flushed in steps rather than
//! at the end (see [`CLEANED_SYNC_BYTES`]), so that a cleaning never leaves a large amount
//! of dirty pages for the kernel to write back behind the producers' appends.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use weir_protocol::batch::{BatchHeader, LOG_OVERHEAD};

use crate::cleaner_codec;
use crate::deleted_files::{remove_files, rename_segment_to_deleted, DELETED_SUFFIX};
use crate::error::StorageError;
use crate::log::Log;
use crate::offset_map::{OffsetMap, Put};
use crate::segment::{delete_segment_files, file_name, LogSegment, MAX_RELATIVE_OFFSET};
use crate::throttler::Throttler;

/// Bytes read at a time from a segment being cleaned.
pub const READ_CHUNK: usize = 4 << 20;

/// A cleaned segment's data is flushed (`fdatasync`) every time this many more bytes have
/// been written to it, rather than all at once before the swap: a large backlog of dirty
/// pages written back in one go holds up the producers' appends (writeback throttling, and
/// an ext4 journal commit that must wait for it), while small steady flushes do not.
pub const CLEANED_SYNC_BYTES: u64 = 8 << 20;

/// A compacted topic's cleaning settings, with Kafka's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanerConfig {
    /// `min.cleanable.dirty.ratio` (0.5).
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms` (0).
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms` (`i64::MAX`).
    pub max_compaction_lag_ms: i64,
    /// `delete.retention.ms` (1 day).
    pub delete_retention_ms: i64,
    /// `log.cleaner.dedupe.buffer.size` (128 MiB): memory for the key -> offset map and
    /// the per-batch bookkeeping of one cleaning (Kafka divides it among
    /// `log.cleaner.threads`; Weir runs one cleaner, which gets all of it).
    pub dedupe_buffer_size: u64,
    /// `log.cleaner.io.buffer.load.factor` (0.9): how full the map may get.
    pub dedupe_buffer_load_factor: f64,
    /// `log.cleaner.io.max.bytes.per.second` (unlimited): bytes read and written per second
    /// by the cleaner (see [`Throttler`]).
    pub io_max_bytes_per_second: f64,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        Self {
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            delete_retention_ms: 86_400_000,
            dedupe_buffer_size: 128 << 20,
            dedupe_buffer_load_factor: 0.9,
            io_max_bytes_per_second: f64::MAX,
        }
    }
}

/// One closed segment as the plan saw it.
#[derive(Debug)]
struct PlannedSegment {
    base: i64,
    /// Base offset of the segment after it.
    next_base: i64,
    size: u64,
    largest_timestamp: i64,
    has_txn_index: bool,
    file: File,
}

/// What [`Log::plan_cleaning`] decided: the segments to clean, with open handles, so that
/// [`CleanPlan::clean`] runs without the log.
#[derive(Debug)]
pub struct CleanPlan {
    dir: PathBuf,
    segments: Vec<PlannedSegment>,
    first_dirty: i64,
    /// First offset not cleaned (the first uncleanable segment's base).
    end: i64,
    segment_bytes: u64,
    index_interval_bytes: u32,
    now_ms: i64,
    config: CleanerConfig,
    /// `dirty bytes / cleanable bytes` when planned.
    pub dirty_ratio: f64,
}

/// One rewritten group, ready to swap in.
#[derive(Debug)]
struct CleanedGroup {
    /// Base offsets and sizes of the segments it replaces (the first is its own base).
    replaces: Vec<(i64, u64)>,
    /// Base of the segment following the group.
    end: i64,
}

/// The output of [`CleanPlan::clean`], for [`Log::install_cleaned`].
#[derive(Debug)]
#[must_use = "cleaned segments must be installed (or their files are left to recovery)"]
pub struct CleanedLog {
    groups: Vec<CleanedGroup>,
    end: i64,
    pub stats: CleanerStats,
}

/// What a cleaning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanerStats {
    /// Bytes of segments read (the dirty part twice: map, then rewrite).
    pub bytes_read: u64,
    /// Size of the cleanable section before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub records_read: u64,
    pub records_removed: u64,
    pub tombstones_removed: u64,
    /// Distinct keys in the offset map.
    pub keys: u64,
    /// Segment groups swapped in.
    pub groups_swapped: u64,
    /// First dirty offset for the next cleaning.
    pub next_dirty_offset: i64,
}

impl Log {
    /// Step 1: decides whether the log needs cleaning and what to clean (see the module
    /// docs). `first_dirty_offset` is where the previous cleaning stopped (0 if none). Call
    /// under the partition lock; the returned plan owns its file handles.
    pub fn plan_cleaning(
        &self,
        config: &CleanerConfig,
        first_dirty_offset: i64,
        high_watermark: i64,
        now_ms: i64,
    ) -> Result<Option<CleanPlan>, StorageError> {
        let mut segments = Vec::new();
        let mut iter = self.segments.values().peekable();
        while let Some(segment) = iter.next() {
            let Some(next) = iter.peek() else { break };
            let next_base = next.base_offset();
            let largest_timestamp = segment.max_timestamp().map_or(-1, |m| m.timestamp);
            if next_base > high_watermark
                || now_ms.saturating_sub(largest_timestamp) < config.min_compaction_lag_ms
            {
                break;
            }
            let file = File::open(segment.log_path()).map_err(StorageError::io(
                "open segment to clean",
                segment.log_path(),
            ))?;
            let txn_index = self.dir.join(file_name(segment.base_offset(), "txnindex"));
            let has_txn_index = std::fs::metadata(&txn_index).is_ok_and(|m| m.len() > 0);
            segments.push(PlannedSegment {
                base: segment.base_offset(),
                next_base,
                size: segment.size(),
                largest_timestamp,
                has_txn_index,
                file,
            });
        }
        let Some(end) = segments.last().map(|s| s.next_base) else {
            return Ok(None);
        };
        // Kafka's `cleanableOffsets`: a checkpoint below the log start (retention,
        // DeleteRecords) or past the log end (the log was truncated or recreated) restarts
        // from the log start.
        let first_dirty = if first_dirty_offset < self.log_start_offset
            || first_dirty_offset > self.log_end_offset
        {
            self.log_start_offset
        } else {
            first_dirty_offset
        };
        let total: u64 = segments.iter().map(|s| s.size).sum();
        let dirty: u64 = segments
            .iter()
            .filter(|s| s.next_base > first_dirty)
            .map(|s| s.size)
            .sum();
        if dirty == 0 || first_dirty >= end {
            return Ok(None);
        }
        let dirty_ratio = dirty as f64 / total.max(1) as f64;
        let overdue = config.max_compaction_lag_ms < i64::MAX
            && self
                .segments
                .range(first_dirty..end)
                .filter_map(|(_, s)| s.rolling_base_ms())
                .any(|first_ts| now_ms.saturating_sub(first_ts) > config.max_compaction_lag_ms);
        if dirty_ratio < config.min_cleanable_dirty_ratio && !overdue {
            return Ok(None);
        }
        Ok(Some(CleanPlan {
            dir: self.dir.clone(),
            segments,
            first_dirty,
            end,
            segment_bytes: self.config().segment_bytes,
            index_interval_bytes: self.config().index_interval_bytes,
            now_ms,
            config: *config,
            dirty_ratio,
        }))
    }

    /// Step 3: swaps the cleaned groups in (see the module docs for the protocol). Call under
    /// the partition lock. A group whose segments are no longer those it was cleaned from is
    /// abandoned and its `.cleaned` files deleted.
    pub fn install_cleaned(&mut self, cleaned: CleanedLog) -> Result<CleanerStats, StorageError> {
        let mut stats = cleaned.stats;
        let index_interval = self.config().index_interval_bytes;
        for group in cleaned.groups {
            let unchanged =
                group.replaces.iter().all(|&(base, size)| {
                    self.segments.get(&base).is_some_and(|s| s.size() == size)
                }) && self
                    .segments
                    .range(group.end..)
                    .next()
                    .is_some_and(|(&b, _)| b == group.end);
            let Some(&(base, _)) = group.replaces.first() else {
                continue;
            };
            if !unchanged {
                tracing::info!(dir = %self.dir.display(), base_offset = base, "segments changed while cleaning; group abandoned");
                for path in cleaned_files(&self.dir, base) {
                    remove_if_exists(&path)?;
                }
                continue;
            }
            let swap = self.dir.join(swap_name(base, group.end));
            std::fs::rename(self.dir.join(cleaned_name(base, "log")), &swap)
                .map_err(StorageError::io("rename cleaned segment", &swap))?;
            sync_dir(&self.dir)?;
            // The replaced files wait as `.deleted` for `file.delete.delay.ms` (see
            // `deleted_files.rs`), or go now without a delay.
            let mut replaced = Vec::new();
            for &(b, _) in group.replaces.iter().skip(1) {
                if let Some(old) = self.segments.remove(&b) {
                    self.size_bytes = self.size_bytes.saturating_sub(old.size());
                    drop(old);
                }
                replaced.extend(rename_segment_to_deleted(&self.dir, b)?);
            }
            for ext in ["log", "index", "timeindex"] {
                let from = self.dir.join(file_name(base, ext));
                let to = self
                    .dir
                    .join(format!("{}{DELETED_SUFFIX}", file_name(base, ext)));
                match std::fs::rename(&from, &to) {
                    Ok(()) => replaced.push(to),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(StorageError::io("rename replaced segment file", &from)(e))
                    }
                }
            }
            finish_swap(&self.dir, base, &swap)?;
            if self.config().file_delete_delay_ms <= 0 {
                remove_files(&replaced)?;
            }
            // The indexes built in step 1. No directory fsync: if these renames are lost in a
            // crash, `A.log` is opened without indexes and they are rebuilt.
            for ext in ["index", "timeindex"] {
                let to = self.dir.join(file_name(base, ext));
                std::fs::rename(self.dir.join(cleaned_name(base, ext)), &to)
                    .map_err(StorageError::io("rename cleaned index", &to))?;
            }
            // Without recovery: the indexes are checked against the log and only rebuilt if
            // they do not match (they always should).
            let (mut segment, _) = LogSegment::open(&self.dir, base, false, index_interval)?;
            segment.on_become_inactive()?;
            let new_size = segment.size();
            if let Some(old) = self.segments.insert(base, segment) {
                self.size_bytes = self.size_bytes.saturating_sub(old.size());
            }
            self.size_bytes += new_size;
            stats.groups_swapped += 1;
        }
        stats.next_dirty_offset = cleaned.end;
        if stats.bytes_before == 0 {
            // A later part of `CleanedLog::into_parts`: the first one logged the cleaning.
            return Ok(stats);
        }
        tracing::info!(
            dir = %self.dir.display(),
            before = stats.bytes_before,
            after = stats.bytes_after,
            removed = stats.records_removed,
            tombstones = stats.tombstones_removed,
            groups = stats.groups_swapped,
            "log cleaned"
        );
        Ok(stats)
    }
}

impl CleanedLog {
    /// Splits the result into one part per group, so that the caller can take the partition
    /// lock once per group swap rather than for all of them. The first part carries the
    /// stats; install the parts in order.
    pub fn into_parts(self) -> Vec<CleanedLog> {
        let end = self.end;
        let mut stats = Some(self.stats);
        let mut parts: Vec<CleanedLog> = self
            .groups
            .into_iter()
            .map(|g| CleanedLog {
                groups: vec![g],
                end,
                stats: stats.take().unwrap_or_default(),
            })
            .collect();
        if let Some(stats) = stats {
            // Nothing to swap: still one part, so that the caller learns the new dirty offset.
            parts.push(CleanedLog {
                groups: Vec::new(),
                end,
                stats,
            });
        }
        parts
    }
}

impl CleanPlan {
    /// First offset past the cleanable section.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// Step 2: builds the offset map and writes the cleaned groups (see the module docs).
    /// Runs without the log; the result goes to [`Log::install_cleaned`].
    pub fn clean(self) -> Result<CleanedLog, StorageError> {
        let mut stats = CleanerStats::default();
        let budget = self.config.dedupe_buffer_size;
        let mut map = OffsetMap::new(budget - budget / 16, self.config.dedupe_buffer_load_factor);
        let max_tracked = usize::try_from(budget / 16).unwrap_or(usize::MAX)
            / std::mem::size_of::<TrackedBatch>();
        let mut tracked: Vec<TrackedBatch> = Vec::new();
        let mut scratch = Vec::new();
        let mut read_buf = Vec::new();
        let throttler = Throttler::new(self.config.io_max_bytes_per_second);
        // Where the map stopped: the end of this cleaning.
        let mut end = self.end;
        for s in self
            .segments
            .iter()
            .filter(|s| s.next_base > self.first_dirty)
        {
            let path = self.dir.join(file_name(s.base, "log"));
            stats.bytes_read += s.size;
            let mut full = false;
            s.for_each_batch(&path, &mut read_buf, &throttler, |batch, pos| {
                if batch.last_offset() < self.first_dirty
                    || batch.is_control()
                    || batch.is_transactional()
                {
                    return Ok(true);
                }
                checked(&batch, &path, pos)?;
                let section = cleaner_codec::records_section_in(&batch, &mut scratch)
                    .map_err(|e| corrupt(&path, pos, e))?;
                let base = batch.base_offset();
                let whole = base >= self.first_dirty;
                let mut live = 0u32;
                let mut count = 0u32;
                for r in cleaner_codec::RecordIter::new(section) {
                    let r = r.map_err(|e| corrupt(&path, pos, e))?;
                    let offset = base + i64::from(r.offset_delta);
                    count += 1;
                    if offset < self.first_dirty {
                        continue;
                    }
                    let Some(key) = r.key else { continue };
                    match map.put(key, offset) {
                        Put::Inserted => live += 1,
                        Put::Replaced(previous) => {
                            live += 1;
                            if previous >= base {
                                live = live.saturating_sub(1);
                            } else {
                                supersede(&mut tracked, previous);
                            }
                        }
                        Put::Kept => {}
                        Put::Full => {
                            // Kafka: the map is full, this offset ends the cleaning.
                            end = offset;
                            full = true;
                            return Ok(false);
                        }
                    }
                }
                if whole && tracked.len() < max_tracked {
                    tracked.push(TrackedBatch {
                        base,
                        last: batch.last_offset(),
                        count,
                        live,
                    });
                }
                Ok(true)
            })?;
            if full {
                tracing::debug!(
                    dir = %self.dir.display(),
                    keys = map.len(),
                    end,
                    "offset map full; cleaning up to where it reached"
                );
                break;
            }
        }
        stats.keys = map.len() as u64;

        let mut rewriter = Rewriter {
            plan: &self,
            map: &map,
            tracked: &tracked,
            next_tracked: 0,
            end,
            read_buf,
            throttler: &throttler,
            scratch,
            kept: Vec::new(),
            rebuilt: Vec::new(),
        };
        let mut groups = Vec::new();
        for group in self.groups(end) {
            if let Some(g) = rewriter.clean_group(group, &mut stats)? {
                groups.push(g);
            }
        }
        Ok(CleanedLog { groups, end, stats })
    }

    /// Consecutive segments whose sizes add up to at most `segment.bytes` and whose offsets
    /// fit relative to the first; a segment with a transaction index stays alone.
    fn groups(&self, clean_end: i64) -> Vec<&[PlannedSegment]> {
        // Only segments with data below the end (the map may have covered less than the plan).
        let count = self
            .segments
            .iter()
            .take_while(|s| s.base < clean_end)
            .count();
        let segments = self.segments.get(..count).unwrap_or_default();
        let mut out = Vec::new();
        let mut start = 0;
        while start < segments.len() {
            let mut end = start + 1;
            let mut size = segments.get(start).map_or(0, |s| s.size);
            let first = segments.get(start);
            if !first.is_some_and(|s| s.has_txn_index) {
                while let (Some(f), Some(next)) = (first, segments.get(end)) {
                    if next.has_txn_index
                        || size + next.size > self.segment_bytes
                        || next.next_base - 1 - f.base > MAX_RELATIVE_OFFSET
                    {
                        break;
                    }
                    size += next.size;
                    end += 1;
                }
            }
            if let Some(g) = segments.get(start..end) {
                out.push(g);
            }
            start = end;
        }
        out
    }
}

/// A batch of the dirty part whose every record was entered in the offset map: how many of
/// its records are still the latest for their key. The rewrite then keeps it whole (all
/// live) or drops it (none live) without decompressing it again.
#[derive(Debug, Clone, Copy)]
struct TrackedBatch {
    base: i64,
    last: i64,
    count: u32,
    live: u32,
}

/// A later record replaced the one at `offset` in the map: one live record less in its
/// batch, if that batch is tracked.
fn supersede(tracked: &mut [TrackedBatch], offset: i64) {
    let at = tracked.partition_point(|b| b.base <= offset);
    if let Some(b) = at
        .checked_sub(1)
        .and_then(|i| tracked.get_mut(i))
        .filter(|b| b.last >= offset)
    {
        b.live = b.live.saturating_sub(1);
    }
}

/// Step 2's second half: rewrites groups of segments, with buffers reused from batch to
/// batch.
struct Rewriter<'a> {
    plan: &'a CleanPlan,
    map: &'a OffsetMap,
    tracked: &'a [TrackedBatch],
    /// Index in `tracked` of the next batch to look for (batches come in offset order).
    next_tracked: usize,
    end: i64,
    read_buf: Vec<u8>,
    throttler: &'a Throttler,
    scratch: Vec<u8>,
    kept: Vec<u8>,
    rebuilt: Vec<u8>,
}

impl Rewriter<'_> {
    /// The tracked entry of the batch based at `base`, if any.
    fn tracked(&mut self, base: i64) -> Option<TrackedBatch> {
        while let Some(b) = self.tracked.get(self.next_tracked) {
            if b.base >= base {
                return (b.base == base).then_some(*b);
            }
            self.next_tracked += 1;
        }
        None
    }

    fn clean_group(
        &mut self,
        group: &[PlannedSegment],
        stats: &mut CleanerStats,
    ) -> Result<Option<CleanedGroup>, StorageError> {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            return Ok(None);
        };
        let plan = self.plan;
        let cleaned_path = plan.dir.join(cleaned_name(first.base, "log"));
        let file = File::create(&cleaned_path)
            .map_err(StorageError::io("create cleaned segment", &cleaned_path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut changed = false;
        let mut written = 0u64;
        let mut synced = 0u64;
        let throttler = self.throttler;
        for s in group {
            let path = plan.dir.join(file_name(s.base, "log"));
            stats.bytes_read += s.size;
            stats.bytes_before += s.size;
            // Tombstones go once cleaned before and older than delete.retention.ms.
            let drop_tombstones = s.next_base <= plan.first_dirty
                && plan.now_ms.saturating_sub(s.largest_timestamp)
                    > plan.config.delete_retention_ms;
            let mut write = |bytes: &[u8]| {
                written += bytes.len() as u64;
                out.write_all(bytes)
                    .map_err(StorageError::io("write cleaned segment", &cleaned_path))?;
                throttler.maybe_throttle(bytes.len() as u64);
                if written - synced >= CLEANED_SYNC_BYTES {
                    synced = written;
                    out.flush()
                        .and_then(|()| out.get_ref().sync_data())
                        .map_err(StorageError::io("fsync cleaned segment", &cleaned_path))?;
                }
                Ok::<(), StorageError>(())
            };
            let mut read_buf = std::mem::take(&mut self.read_buf);
            s.for_each_batch(&path, &mut read_buf, throttler, |batch, pos| {
                // A tracked batch's CRC was checked by the mapping pass.
                let tracked = self.tracked(batch.base_offset());
                if tracked.is_none() {
                    checked(&batch, &path, pos)?;
                }
                if batch.is_control() || batch.is_transactional() || batch.base_offset() >= self.end
                {
                    write(batch.as_bytes())?;
                    return Ok(true);
                }
                if let Some(t) = tracked {
                    stats.records_read += u64::from(t.count);
                    if t.live == t.count {
                        write(batch.as_bytes())?;
                        return Ok(true);
                    }
                    if t.live == 0 {
                        stats.records_removed += u64::from(t.count);
                        changed = true;
                        return Ok(true);
                    }
                }
                let section = cleaner_codec::records_section_in(&batch, &mut self.scratch)
                    .map_err(|e| corrupt(&path, pos, e))?;
                self.kept.clear();
                let mut count = 0i32;
                let mut total = 0usize;
                for r in cleaner_codec::RecordIter::new(section) {
                    let r = r.map_err(|e| corrupt(&path, pos, e))?;
                    total += 1;
                    let offset = batch.base_offset() + i64::from(r.offset_delta);
                    // Records past the end of the map are kept (unless a key-less one).
                    let latest = r
                        .key
                        .is_some_and(|key| self.map.get(key).is_none_or(|l| offset >= l));
                    let expired_tombstone = latest && !r.has_value && drop_tombstones;
                    if latest && !expired_tombstone {
                        self.kept.extend_from_slice(r.raw);
                        count += 1;
                    } else {
                        stats.records_removed += 1;
                        stats.tombstones_removed += u64::from(expired_tombstone);
                    }
                }
                stats.records_read += total as u64;
                if count as usize == total {
                    write(batch.as_bytes())?;
                    return Ok(true);
                }
                changed = true;
                if count == 0 {
                    return Ok(true);
                }
                cleaner_codec::rebuild_batch_into(
                    &batch,
                    &self.kept,
                    count,
                    batch.compression_codec(),
                    &mut self.rebuilt,
                )
                .map_err(|e| corrupt(&path, pos, e))?;
                write(&self.rebuilt)?;
                Ok(true)
            })?;
            self.read_buf = read_buf;
        }
        stats.bytes_after += written;
        let file = out.into_inner().map_err(|e| {
            StorageError::io("write cleaned segment", &cleaned_path)(e.into_error())
        })?;
        if !changed {
            drop(file);
            remove_if_exists(&cleaned_path)?;
            return Ok(None);
        }
        file.sync_all()
            .map_err(StorageError::io("fsync cleaned segment", &cleaned_path))?;
        drop(file);
        LogSegment::write_indexes(
            &cleaned_path,
            first.base,
            &plan.dir.join(cleaned_name(first.base, "index")),
            &plan.dir.join(cleaned_name(first.base, "timeindex")),
            plan.index_interval_bytes,
        )?;
        Ok(Some(CleanedGroup {
            replaces: group.iter().map(|s| (s.base, s.size)).collect(),
            end: last.next_base,
        }))
    }
}

/// `<A>.<ext>.cleaned`: a cleaned segment's file before the swap (step 1).
fn cleaned_name(base: i64, ext: &str) -> String {
    format!("{}.cleaned", file_name(base, ext))
}

/// The `.cleaned` log and indexes of the group based at `base` (step 1).
fn cleaned_files(dir: &Path, base: i64) -> [PathBuf; 3] {
    ["log", "index", "timeindex"].map(|ext| dir.join(cleaned_name(base, ext)))
}

/// `<A>.log.<E>.swap`: the cleaned segment replacing every segment with a base in `[A, E)`.
fn swap_name(base: i64, end: i64) -> String {
    format!("{}.{end:020}.swap", file_name(base, "log"))
}

fn parse_swap_name(name: &str) -> Option<(i64, i64)> {
    let rest = name.strip_suffix(".swap")?;
    let (base, end) = rest.split_once(".log.")?;
    let ok = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(base) || !ok(end) {
        return None;
    }
    Some((base.parse().ok()?, end.parse().ok()?))
}

/// Steps 3 (for `A` itself) and 4 of the swap protocol: drop `A`'s stale indexes (if still
/// there), rename the swap file over `A.log`, fsync the directory.
fn finish_swap(dir: &Path, base: i64, swap: &Path) -> Result<(), StorageError> {
    for ext in ["index", "timeindex"] {
        remove_if_exists(&dir.join(file_name(base, ext)))?;
    }
    let log = dir.join(file_name(base, "log"));
    std::fs::rename(swap, &log).map_err(StorageError::io("swap in cleaned segment", &log))?;
    sync_dir(dir)
}

/// Finishes every swap a crash interrupted (see the module docs): for each `A.log.E.swap`,
/// deletes the segments based in `(A, E)` and `A`'s indexes, and renames the swap file to
/// `A.log`. Called by [`Log::open`] before it lists segments.
pub fn complete_interrupted_swaps(dir: &Path) -> Result<(), StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StorageError::io("list log directory", dir)(e)),
    };
    let mut swaps = Vec::new();
    let mut bases = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StorageError::io("list log directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(range) = parse_swap_name(name) {
            swaps.push((range, entry.path()));
        } else if let Some(base) = name
            .strip_suffix(".log")
            .filter(|s| s.len() == 20)
            .and_then(|s| s.parse::<i64>().ok())
        {
            bases.push(base);
        }
    }
    for ((base, end), swap) in swaps {
        tracing::warn!(file = %swap.display(), "completing an interrupted segment swap");
        for &b in bases.iter().filter(|&&b| b > base && b < end) {
            delete_segment_files(dir, b)?;
        }
        finish_swap(dir, base, &swap)?;
    }
    Ok(())
}

fn corrupt(path: &Path, position: u64, e: impl std::fmt::Display) -> StorageError {
    StorageError::CorruptSegment {
        path: path.to_path_buf(),
        position,
        reason: format!("cannot clean batch: {e}"),
    }
}

fn remove_if_exists(path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("delete file", path)(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io("fsync log directory", dir))
}

impl PlannedSegment {
    /// Calls `f(batch, position)` for every batch of the segment (whose file is at `path`),
    /// reading [`READ_CHUNK`] bytes at a time into `buf` (reused; more for a larger batch)
    /// and reporting each read to `throttler`, until `f` returns `false`. Batch headers are
    /// parsed, CRCs are left to the caller ([`checked`]): the rewrite skips those the mapping
    /// pass already checked.
    fn for_each_batch(
        &self,
        path: &Path,
        buf: &mut Vec<u8>,
        throttler: &Throttler,
        mut f: impl FnMut(BatchHeader<'_>, u64) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        let mut pos = 0u64;
        while pos < self.size {
            let want = (self.size - pos).min(READ_CHUNK as u64) as usize;
            self.read_into(buf, want, pos, path, throttler)?;
            let mut at = 0usize;
            let mut filled = want;
            while let Some(len_bytes) = buf
                .get(at + 8..at + LOG_OVERHEAD)
                .filter(|_| at + LOG_OVERHEAD <= filled)
            {
                let mut l = [0u8; 4];
                l.copy_from_slice(len_bytes);
                let total = usize::try_from(i32::from_be_bytes(l))
                    .map_err(|_| corrupt(path, pos + at as u64, "negative batch length"))?
                    + LOG_OVERHEAD;
                let Some(bytes) = buf.get(at..at + total).filter(|_| at + total <= filled) else {
                    if at == 0 {
                        // A batch larger than the chunk: read it whole.
                        if pos + total as u64 > self.size {
                            return Err(corrupt(path, pos, "batch past the end of the segment"));
                        }
                        self.read_into(buf, total, pos, path, throttler)?;
                        filled = total;
                        continue;
                    }
                    break;
                };
                let at_pos = pos + at as u64;
                let batch = BatchHeader::parse(bytes).map_err(|e| corrupt(path, at_pos, e))?;
                if !f(batch, at_pos)? {
                    return Ok(());
                }
                at += total;
            }
            if at == 0 {
                return Err(corrupt(path, pos, "torn batch"));
            }
            pos += at as u64;
        }
        Ok(())
    }

    /// Reads `len` bytes at `pos` into the start of `buf` (grown if shorter; only the first
    /// use zeroes it, as it keeps its length afterwards) and reports them to `throttler`.
    fn read_into(
        &self,
        buf: &mut Vec<u8>,
        len: usize,
        pos: u64,
        path: &Path,
        throttler: &Throttler,
    ) -> Result<(), StorageError> {
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let dst = buf.get_mut(..len).unwrap_or_default();
        self.file
            .read_exact_at(dst, pos)
            .map_err(StorageError::io("read segment to clean", path))?;
        throttler.maybe_throttle(len as u64);
        Ok(())
    }
}

/// Checks a batch's CRC.
fn checked(batch: &BatchHeader<'_>, path: &Path, position: u64) -> Result<(), StorageError> {
    batch.verify_crc().map_err(|e| corrupt(path, position, e))
}

#[cfg(test)]
#[path = "cleaner_tests.rs"]
mod tests;
