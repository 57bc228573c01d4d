//! One segment of a partition log: a `.log` file of record batches and its two sparse indexes.

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use weir_protocol::batch::{BatchError, BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD};

use crate::error::StorageError;
use crate::offset_index::OffsetIndex;
use crate::read_slice::ReadSlice;
use crate::time_index::{TimeIndex, TimestampOffset};

/// Largest size of a `.log` file: index positions are stored as u32 but Kafka limits them to
/// `Int.MaxValue`, and so do we, so that Kafka tools can read our indexes.
pub const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;

/// Largest `offset - base offset` stored in an index (Kafka's `Int.MaxValue` limit as well).
pub const MAX_RELATIVE_OFFSET: i64 = i32::MAX as i64;

/// Bytes read at a time when recovery scans a segment.
const RECOVERY_CHUNK: usize = 1 << 20;

/// `<20-digit zero-padded base offset>.<extension>`, Kafka's file naming.
pub fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

/// Opens an existing segment file for reading and writing; returns it with its length.
fn open_log(path: &Path) -> Result<(File, u64), StorageError> {
    let log = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(StorageError::io("open segment", path))?;
    let size = log
        .metadata()
        .map_err(StorageError::io("stat segment", path))?
        .len();
    Ok((log, size))
}

/// What the storage engine needs from a batch header: where the batch is, how long it is,
/// which offsets and which max timestamp it carries. Read from the 61-byte header only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    /// Byte position of the batch (in its segment, or in a record set being appended).
    pub position: u64,
    /// Total size in bytes, header included.
    pub len: u64,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

impl BatchInfo {
    /// Parses the fields of a v2 batch header from its first [`BATCH_HEADER_LEN`] bytes,
    /// checking magic, length and the sign of the last offset delta, but not the CRC.
    pub fn from_header(header: &[u8], position: u64) -> Result<Self, BatchError> {
        let h: &[u8; BATCH_HEADER_LEN] = header
            .get(..BATCH_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(BatchError::Truncated {
                available: header.len(),
                needed: BATCH_HEADER_LEN,
            })?;
        let i32_at = |at: usize| i32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let i64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[at..at + 8]);
            i64::from_be_bytes(b)
        };
        let magic = h[16] as i8;
        if magic != 2 {
            return Err(BatchError::UnsupportedMagic { magic });
        }
        let length = i32_at(8);
        let len = u64::try_from(length)
            .ok()
            .map(|l| l + LOG_OVERHEAD as u64)
            .filter(|&l| l >= BATCH_HEADER_LEN as u64)
            .ok_or(BatchError::InvalidLength { length })?;
        let delta = i32_at(23);
        if delta < 0 {
            return Err(BatchError::InvalidRecordCount {
                count: i32_at(57),
                last_offset_delta: delta,
            });
        }
        let base_offset = i64_at(0);
        Ok(Self {
            position,
            len,
            base_offset,
            last_offset: base_offset.saturating_add(i64::from(delta)),
            max_timestamp: i64_at(35),
        })
    }

    /// Position just after the batch.
    pub fn end(&self) -> u64 {
        self.position + self.len
    }
}

/// What [`LogSegment::open`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryOutcome {
    /// The segment was re-read batch by batch and its indexes rebuilt.
    pub recovered: bool,
    /// Bytes cut from the end of the `.log` (a torn or corrupt tail).
    pub truncated_bytes: u64,
}

/// Result of reading from one segment.
#[derive(Debug)]
pub enum SegmentRead {
    /// The segment holds no batch with an offset at or after the one asked for.
    NotHere,
    /// The batch is here, but limits (`max_offset`, `max_bytes`) leave nothing to return.
    Empty,
    /// Whole batches starting with the one containing the offset.
    Data { slice: ReadSlice, first_offset: i64 },
}

/// A segment: `<base>.log` with its `<base>.index` and `<base>.timeindex`.
///
/// # On-disk format
///
/// The `.log` file is a plain concatenation of record batches v2, stored byte for byte as the
/// producer sent them except for the base offset the log assigned. There is no header and no
/// padding; file size is the sum of batch sizes. Offsets increase strictly from batch to batch
/// and all are `>= base offset` (the number in the file name) and `<= base + i32::MAX`.
/// The file never exceeds [`MAX_SEGMENT_BYTES`].
///
/// See [`OffsetIndex`] and [`TimeIndex`] for the index files. Both are derived data: recovery
/// re-reads the batches (checking length, magic and CRC), truncates the `.log` at the first
/// torn or corrupt batch, and rewrites both indexes.
///
/// Only constant-size state lives in memory (sizes, next offset, largest timestamp); index
/// entries stay on disk.
#[derive(Debug)]
pub struct LogSegment {
    base_offset: i64,
    log_path: PathBuf,
    log: Arc<File>,
    size: u64,
    next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_last_index_entry: u64,
    max_timestamp: Option<TimestampOffset>,
    /// When the segment.ms clock started: `now_ms` of the first append while this process
    /// runs, or for a segment reopened with data in it the first batch's max timestamp (what
    /// Kafka uses for its rolling-based timestamp).
    rolling_base_ms: Option<i64>,
}

impl LogSegment {
    /// Creates an empty segment in `dir`, replacing any files of the same name.
    pub fn create(dir: &Path, base_offset: i64) -> Result<Self, StorageError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&log_path)
            .map_err(StorageError::io("create segment", &log_path))?;
        let offset_index =
            OffsetIndex::create(&dir.join(file_name(base_offset, "index")), base_offset)?;
        let time_index =
            TimeIndex::create(&dir.join(file_name(base_offset, "timeindex")), base_offset)?;
        Ok(Self {
            base_offset,
            log_path,
            log: Arc::new(log),
            size: 0,
            next_offset: base_offset,
            offset_index,
            time_index,
            bytes_since_last_index_entry: 0,
            max_timestamp: None,
            rolling_base_ms: None,
        })
    }

    /// Opens the existing segment `<base_offset>.log` in `dir`.
    ///
    /// With `recover`, every batch is re-read and checked, the log truncated after the last
    /// valid one and both indexes rebuilt. Without it, the index files are trusted if they
    /// pass a cheap consistency check; if they don't (missing, torn, pointing past the log),
    /// the segment is recovered anyway.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        recover: bool,
        index_interval_bytes: u32,
    ) -> Result<(Self, RecoveryOutcome), StorageError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let (log, size) = open_log(&log_path)?;
        let index_path = dir.join(file_name(base_offset, "index"));
        let time_index_path = dir.join(file_name(base_offset, "timeindex"));

        if !recover {
            if let Some(segment) = Self::load(
                &log_path,
                &log,
                size,
                base_offset,
                &index_path,
                &time_index_path,
            )? {
                return Ok((segment, RecoveryOutcome::default()));
            }
            tracing::warn!(
                segment = %log_path.display(),
                "index files missing or inconsistent, rebuilding"
            );
        }

        let (mut segment, truncated_bytes) = Self::reindexed(
            log_path,
            log,
            size,
            base_offset,
            (&index_path, &time_index_path),
            index_interval_bytes,
        )?;
        segment.rolling_base_ms = segment.first_batch_timestamp()?;
        Ok((
            segment,
            RecoveryOutcome {
                recovered: true,
                truncated_bytes,
            },
        ))
    }

    /// Builds the `.index` and `.timeindex` of the complete, closed segment file at
    /// `log_path` (based at `base_offset`) into `index_path` and `time_index_path`, and
    /// fsyncs them: what [`LogSegment::open`] with `recover` writes, for a file that is not
    /// yet at its final name. The log cleaner indexes a cleaned segment this way before it
    /// takes the partition lock, so that the swap under the lock only renames files and
    /// then opens the segment without re-reading it. The file must be whole (the cleaner
    /// wrote and fsynced it): an invalid batch is an error (after the file was truncated
    /// there, as recovery does; the cleaner then abandons it).
    pub fn write_indexes(
        log_path: &Path,
        base_offset: i64,
        index_path: &Path,
        time_index_path: &Path,
        index_interval_bytes: u32,
    ) -> Result<(), StorageError> {
        let (log, size) = open_log(log_path)?;
        let (mut segment, truncated) = Self::reindexed(
            log_path.to_path_buf(),
            log,
            size,
            base_offset,
            (index_path, time_index_path),
            index_interval_bytes,
        )?;
        if truncated > 0 {
            return Err(StorageError::CorruptSegment {
                path: log_path.to_path_buf(),
                position: size - truncated,
                reason: "invalid batch in a segment being indexed".to_string(),
            });
        }
        segment.on_become_inactive()?;
        segment.offset_index.sync()?;
        segment.time_index.sync()
    }

    /// The segment over `log` with both indexes created anew at `index_paths` (offset, time)
    /// and filled by [`LogSegment::recover`]; also returns the bytes recovery truncated.
    fn reindexed(
        log_path: PathBuf,
        log: File,
        size: u64,
        base_offset: i64,
        index_paths: (&Path, &Path),
        index_interval_bytes: u32,
    ) -> Result<(Self, u64), StorageError> {
        let mut segment = Self {
            base_offset,
            log_path,
            log: Arc::new(log),
            size,
            next_offset: base_offset,
            offset_index: OffsetIndex::create(index_paths.0, base_offset)?,
            time_index: TimeIndex::create(index_paths.1, base_offset)?,
            bytes_since_last_index_entry: 0,
            max_timestamp: None,
            rolling_base_ms: None,
        };
        let truncated = segment.recover(index_interval_bytes)?;
        Ok((segment, truncated))
    }

    /// Opens a segment whose index files are trusted. `None` means "recover it instead".
    fn load(
        log_path: &Path,
        log: &File,
        size: u64,
        base_offset: i64,
        index_path: &Path,
        time_index_path: &Path,
    ) -> Result<Option<Self>, StorageError> {
        let Some(offset_index) = OffsetIndex::open(index_path, base_offset)? else {
            return Ok(None);
        };
        let Some(time_index) = TimeIndex::open(time_index_path, base_offset)? else {
            return Ok(None);
        };
        // A closed non-empty segment always has a time index entry (written when it rolled).
        if !offset_index.is_consistent(size)? || (size > 0 && time_index.entries() == 0) {
            return Ok(None);
        }
        let log = log
            .try_clone()
            .map_err(StorageError::io("open segment", log_path))?;
        let mut segment = Self {
            base_offset,
            log_path: log_path.to_path_buf(),
            log: Arc::new(log),
            size,
            next_offset: base_offset,
            bytes_since_last_index_entry: 0,
            max_timestamp: time_index.last_entry(),
            offset_index,
            time_index,
            rolling_base_ms: None,
        };
        // The next offset comes from the last batch: scan from the last index entry, which is
        // at most about index.interval.bytes before the end.
        let mut pos = segment
            .offset_index
            .last_entry()
            .map_or(0, |e| u64::from(e.position));
        let mut last_batch_start = pos;
        while pos < size {
            match segment.read_header(pos) {
                Ok(b) => {
                    segment.next_offset = b.last_offset + 1;
                    last_batch_start = b.position;
                    pos = b.end();
                }
                Err(StorageError::CorruptSegment { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        if !segment.time_index.is_consistent(segment.next_offset)? {
            return Ok(None);
        }
        segment.bytes_since_last_index_entry = size - last_batch_start;
        segment.rolling_base_ms = segment.first_batch_timestamp()?;
        Ok(Some(segment))
    }

    /// Re-reads every batch, keeps the valid prefix and rebuilds both (empty) indexes.
    /// Returns how many bytes were cut from the end of the `.log`.
    fn recover(&mut self, index_interval_bytes: u32) -> Result<u64, StorageError> {
        let file_len = self.size;
        let (log, log_path) = (Arc::clone(&self.log), self.log_path.clone());
        let mut reader = ChunkedReader::new(&log, &log_path, file_len);
        let mut pos = 0u64;
        let mut next_offset = self.base_offset;
        let mut stop_reason = None;
        while pos < file_len {
            let header = match reader.get(pos, BATCH_HEADER_LEN as u64)? {
                Some(h) => h,
                None => {
                    stop_reason = Some("torn batch header".to_string());
                    break;
                }
            };
            let info = match BatchInfo::from_header(header, pos) {
                Ok(info) => info,
                Err(e) => {
                    stop_reason = Some(e.to_string());
                    break;
                }
            };
            if info.base_offset < next_offset
                || info.last_offset - self.base_offset > MAX_RELATIVE_OFFSET
                || info.end() > MAX_SEGMENT_BYTES
            {
                stop_reason = Some(format!(
                    "batch offsets {}..={} out of order or out of the segment's range",
                    info.base_offset, info.last_offset
                ));
                break;
            }
            let Some(bytes) = reader.get(pos, info.len)? else {
                stop_reason = Some(format!("torn batch: {} bytes declared", info.len));
                break;
            };
            if let Err(e) = BatchHeader::parse(bytes).and_then(|b| b.verify_crc()) {
                stop_reason = Some(e.to_string());
                break;
            }
            self.index_batch(&info, index_interval_bytes, u32::MAX)?;
            next_offset = info.last_offset + 1;
            pos = info.end();
        }
        self.next_offset = next_offset;
        self.size = pos;
        if let Some(reason) = stop_reason {
            tracing::warn!(
                segment = %self.log_path.display(),
                position = pos,
                truncated_bytes = file_len - pos,
                %reason,
                "truncating segment at first invalid batch"
            );
            self.log
                .set_len(pos)
                .map_err(StorageError::io("truncate segment", &self.log_path))?;
        }
        Ok(file_len - pos)
    }

    /// The first batch's max timestamp, if the segment has a batch.
    fn first_batch_timestamp(&self) -> Result<Option<i64>, StorageError> {
        if self.size == 0 {
            return Ok(None);
        }
        Ok(Some(self.read_header(0)?.max_timestamp))
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// One past the last offset in the segment (the base offset when empty).
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Size of the `.log` file in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }

    pub fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }

    /// The largest batch max timestamp in the segment and the base offset of its first batch.
    pub fn max_timestamp(&self) -> Option<TimestampOffset> {
        self.max_timestamp
    }

    /// When the segment.ms clock of this segment started (see the field's doc).
    pub fn rolling_base_ms(&self) -> Option<i64> {
        self.rolling_base_ms
    }

    /// True when an index cannot take another entry within `segment.index.bytes`.
    pub fn indexes_full(&self, max_index_bytes: u32) -> bool {
        self.offset_index.is_full(max_index_bytes) || self.time_index.is_full(max_index_bytes)
    }

    /// Appends `records` (whose batches, described by `batches` with positions relative to
    /// `records`, already carry their final offsets) with a single write, then indexes them.
    /// On failure the file and the indexes are cut back and the segment is unchanged.
    pub fn append(
        &mut self,
        records: &[u8],
        batches: &[BatchInfo],
        index_interval_bytes: u32,
        max_index_bytes: u32,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let Some(last) = batches.last() else {
            return Ok(());
        };
        let start = self.size;
        let end = start + records.len() as u64;
        if end > MAX_SEGMENT_BYTES {
            return Err(StorageError::RecordSetTooLarge {
                size: records.len(),
                max: MAX_SEGMENT_BYTES.saturating_sub(start),
            });
        }
        if last.last_offset - self.base_offset > MAX_RELATIVE_OFFSET {
            return Err(StorageError::OffsetOverflow {
                base_offset: self.base_offset,
                offset: last.last_offset,
            });
        }
        let saved = (
            self.offset_index.entries(),
            self.time_index.entries(),
            self.bytes_since_last_index_entry,
            self.max_timestamp,
        );
        let result = write_batches_at(&self.log, records, batches, start)
            .map_err(StorageError::io("append to segment", &self.log_path))
            .and_then(|()| {
                batches.iter().try_for_each(|b| {
                    let b = BatchInfo {
                        position: start + b.position,
                        ..*b
                    };
                    self.index_batch(&b, index_interval_bytes, max_index_bytes)
                })
            });
        if let Err(e) = result {
            // Roll back so that memory and disk agree; the caller sees the error either way.
            let _ = self.log.set_len(start);
            let _ = self.offset_index.truncate_entries(saved.0);
            let _ = self.time_index.truncate_entries(saved.1);
            self.bytes_since_last_index_entry = saved.2;
            self.max_timestamp = saved.3;
            return Err(e);
        }
        self.size = end;
        self.next_offset = last.last_offset + 1;
        self.rolling_base_ms.get_or_insert(now_ms);
        Ok(())
    }

    /// Index bookkeeping for one batch at its final position (Kafka's `LogSegment.append`):
    /// track the largest timestamp, and once more than `index.interval.bytes` were appended
    /// since the last entry, add an offset index entry for this batch and a time index entry.
    fn index_batch(
        &mut self,
        b: &BatchInfo,
        index_interval_bytes: u32,
        max_index_bytes: u32,
    ) -> Result<(), StorageError> {
        if self
            .max_timestamp
            .is_none_or(|m| b.max_timestamp > m.timestamp)
        {
            self.max_timestamp = Some(TimestampOffset {
                timestamp: b.max_timestamp,
                offset: b.base_offset,
            });
        }
        if self.bytes_since_last_index_entry > u64::from(index_interval_bytes) {
            // A full index only makes lookups scan further; the log rolls on the next append.
            if !self.indexes_full(max_index_bytes) {
                let position =
                    u32::try_from(b.position).map_err(|_| StorageError::RecordSetTooLarge {
                        size: b.len as usize,
                        max: MAX_SEGMENT_BYTES,
                    })?;
                self.offset_index.append(b.last_offset, position)?;
                if let Some(m) = self.max_timestamp {
                    self.time_index.maybe_append(m.timestamp, m.offset)?;
                }
            }
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += b.len;
        Ok(())
    }

    /// Called when the segment stops being the active one: records its largest timestamp in
    /// the time index (in the slot [`TimeIndex::is_full`] keeps free), so that it can be
    /// found again after a restart without reading the log.
    pub fn on_become_inactive(&mut self) -> Result<(), StorageError> {
        if let Some(m) = self.max_timestamp {
            self.time_index.maybe_append(m.timestamp, m.offset)?;
        }
        Ok(())
    }

    /// Reads the header of the batch at `pos`, which must lie wholly inside the segment.
    pub fn read_header(&self, pos: u64) -> Result<BatchInfo, StorageError> {
        let corrupt = |reason: String| StorageError::CorruptSegment {
            path: self.log_path.clone(),
            position: pos,
            reason,
        };
        if pos + BATCH_HEADER_LEN as u64 > self.size {
            return Err(corrupt(format!(
                "batch header past the end of the segment ({} bytes)",
                self.size
            )));
        }
        let mut buf = [0u8; BATCH_HEADER_LEN];
        self.log
            .read_exact_at(&mut buf, pos)
            .map_err(StorageError::io("read segment", &self.log_path))?;
        let info = BatchInfo::from_header(&buf, pos).map_err(|e| corrupt(e.to_string()))?;
        if info.end() > self.size {
            return Err(corrupt(format!(
                "batch of {} bytes past the end of the segment ({} bytes)",
                info.len, self.size
            )));
        }
        Ok(info)
    }

    /// The first batch at or after `pos` for which `wanted` holds.
    fn scan_from(
        &self,
        mut pos: u64,
        wanted: impl Fn(&BatchInfo) -> bool,
    ) -> Result<Option<BatchInfo>, StorageError> {
        while pos < self.size {
            let b = self.read_header(pos)?;
            if wanted(&b) {
                return Ok(Some(b));
            }
            pos = b.end();
        }
        Ok(None)
    }

    /// The first batch whose last offset is `>= offset` (the batch containing it, or the next
    /// one if the offset falls in a gap), found through the offset index.
    pub fn find_batch(&self, offset: i64) -> Result<Option<BatchInfo>, StorageError> {
        let start = self.offset_index.lookup(offset)?;
        self.scan_from(u64::from(start.position), |b| b.last_offset >= offset)
    }

    /// Whole batches starting with the one containing `offset`, as many as fit in
    /// `max_bytes`, all with last offset `< max_offset`. When the first batch alone is larger
    /// than `max_bytes` it is returned whole if `min_one_batch` (KIP-74), else nothing.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        max_offset: i64,
    ) -> Result<SegmentRead, StorageError> {
        let Some(first) = self.find_batch(offset)? else {
            return Ok(SegmentRead::NotHere);
        };
        if first.last_offset >= max_offset {
            return Ok(SegmentRead::Empty);
        }
        let max_bytes = max_bytes as u64;
        let mut end = first.end();
        if first.len > max_bytes {
            if !min_one_batch {
                return Ok(SegmentRead::Empty);
            }
        } else if self.next_offset <= max_offset && self.size - first.position <= max_bytes {
            // Everything to the end of the segment fits: no need to walk the batches.
            end = self.size;
        } else {
            // Jump over whole batches with the offset index: the batch an entry points at
            // starts after whole batches whose last offsets are below the entry's.
            let limit = first.position + max_bytes;
            if let Some(e) = self.offset_index.last_entry_within(limit, max_offset)? {
                end = end.max(u64::from(e.position));
            }
            while end < self.size {
                let b = self.read_header(end)?;
                if b.last_offset >= max_offset || b.end() - first.position > max_bytes {
                    break;
                }
                end = b.end();
            }
        }
        Ok(SegmentRead::Data {
            slice: ReadSlice {
                file: Arc::clone(&self.log),
                position: first.position,
                len: (end - first.position) as usize,
            },
            first_offset: first.base_offset,
        })
    }

    /// The first batch whose max timestamp is `>= timestamp`, as `(base offset, max
    /// timestamp)`: the time index gives the offset to start from, the offset index the
    /// position, then batch headers are scanned.
    pub fn find_offset_by_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<(i64, i64)>, StorageError> {
        // Where to start scanning batch headers. Time entries are written with offset entries
        // and only when the largest timestamp grows, so with `below = (t1, o1)`, `t1 < target`,
        // and `above = (t2, o2)` the next one, every batch up to the last offset entry before
        // o2 had timestamps <= t1: the answer lies after that entry, at or before o2.
        let start = match self.time_index.bracket(timestamp)? {
            (Some(below), _) if below.timestamp == timestamp => {
                self.offset_index.lookup(below.offset)?.position
            }
            (Some(_), Some(above)) => self.offset_index.lookup(above.offset - 1)?.position,
            (Some(below), None) => self
                .offset_index
                .last_entry()
                .map_or(0, |e| e.position)
                .max(self.offset_index.lookup(below.offset)?.position),
            (None, _) => 0,
        };
        let Some(b) = self.scan_from(u64::from(start), |b| b.max_timestamp >= timestamp)? else {
            return Ok(None);
        };
        // The batch holds the answer; Kafka returns the exact record, so look inside it.
        let mut bytes = vec![0u8; usize::try_from(b.len).unwrap_or(0)];
        self.log
            .read_exact_at(&mut bytes, b.position)
            .map_err(StorageError::io(
                "read batch for timestamp lookup",
                &self.log_path,
            ))?;
        match weir_protocol::batch::find_record_at_or_after(&bytes, timestamp) {
            Ok(Some(found)) => Ok(Some(found)),
            // Only possible if the batch's max timestamp field disagrees with its records:
            // the batch-level answer is the best there is.
            Ok(None) | Err(_) => Ok(Some((b.base_offset, b.max_timestamp))),
        }
    }

    /// fsyncs the `.log` and both indexes.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.log
            .sync_data()
            .map_err(StorageError::io("fsync segment", &self.log_path))?;
        self.offset_index.sync()?;
        self.time_index.sync()
    }

    /// Removes the segment's files. Readers holding a [`ReadSlice`] keep their open file.
    pub fn delete(self) -> Result<(), StorageError> {
        let dir = self
            .log_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        delete_segment_files(&dir, self.base_offset)
    }
}

/// Removes `<base>.log`, `.index`, `.timeindex` and `.txnindex` from `dir`, ignoring missing ones.
pub fn delete_segment_files(dir: &Path, base_offset: i64) -> Result<(), StorageError> {
    for ext in ["log", "index", "timeindex", "txnindex"] {
        let path = dir.join(file_name(base_offset, ext));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io("delete segment file", &path)(e)),
        }
    }
    Ok(())
}

/// Sequential reads of a file through a buffer of about [`RECOVERY_CHUNK`] bytes, so that
/// recovery costs one syscall per megabyte rather than two per batch.
struct ChunkedReader<'a> {
    file: &'a File,
    path: &'a Path,
    file_len: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> ChunkedReader<'a> {
    fn new(file: &'a File, path: &'a Path, file_len: u64) -> Self {
        Self {
            file,
            path,
            file_len,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// `len` bytes at `pos`, or `None` if the file ends before.
    fn get(&mut self, pos: u64, len: u64) -> Result<Option<&[u8]>, StorageError> {
        let Some(end) = pos.checked_add(len).filter(|&e| e <= self.file_len) else {
            return Ok(None);
        };
        let buf_end = self.buf_start + self.buf.len() as u64;
        if pos < self.buf_start || end > buf_end {
            let want = len.max(RECOVERY_CHUNK as u64).min(self.file_len - pos);
            self.buf.resize(want as usize, 0);
            self.file
                .read_exact_at(&mut self.buf, pos)
                .map_err(StorageError::io("read segment", self.path))?;
            self.buf_start = pos;
        }
        let from = (pos - self.buf_start) as usize;
        Ok(self.buf.get(from..from + len as usize))
    }
}

/// Most iovecs one `pwritev` call takes (Linux `IOV_MAX`).
const MAX_IOVECS: usize = 1024;

/// Writes `records` at `position` with each batch's base offset replaced by
/// `batches[i].base_offset`, without copying the batches: one `pwritev` per up to 512 batches,
/// each batch as two slices (its new base offset, then the rest of its bytes as sent).
/// `batches` must cover `records` in order, as [`crate::Log::append`] builds them.
fn write_batches_at(
    file: &File,
    records: &[u8],
    batches: &[BatchInfo],
    position: u64,
) -> std::io::Result<()> {
    let offsets: Vec<[u8; 8]> = batches
        .iter()
        .map(|b| b.base_offset.to_be_bytes())
        .collect();
    let mut slices = Vec::with_capacity(batches.len() * 2);
    for (b, offset) in batches.iter().zip(&offsets) {
        let rest = usize::try_from(b.position + 8)
            .ok()
            .zip(usize::try_from(b.end()).ok())
            .and_then(|(from, to)| records.get(from..to))
            .ok_or_else(|| std::io::Error::other("batch outside the record set"))?;
        slices.push(IoSlice::new(offset));
        slices.push(IoSlice::new(rest));
    }
    let mut at = position;
    for chunk in slices.chunks_mut(MAX_IOVECS) {
        let mut chunk: &mut [IoSlice<'_>] = chunk;
        while !chunk.is_empty() {
            let offset =
                i64::try_from(at).map_err(|_| std::io::Error::other("position too large"))?;
            let written =
                nix::sys::uio::pwritev(file, chunk, offset).map_err(std::io::Error::from)?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            at += written as u64;
            IoSlice::advance_slices(&mut chunk, written);
        }
    }
    Ok(())
}
