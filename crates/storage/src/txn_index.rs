//! Transactions in a partition's log: which are open (they hold back the last stable offset)
//! and which were aborted (read_committed consumers drop their records), and the `.txnindex`
//! file that lists the aborted ones per segment.
//!
//! # `.txnindex` on-disk format (Kafka's `TransactionIndex`)
//!
//! `<base offset>.txnindex` next to each segment: a sequence of 34-byte entries, one per
//! transaction aborted by an ABORT marker in that segment, in marker order. Big-endian:
//!
//! | field              | type | note                                                  |
//! |--------------------|------|-------------------------------------------------------|
//! | version            | i16  | 0                                                     |
//! | producer id        | i64  |                                                       |
//! | first offset       | i64  | offset of the transaction's first batch in this partition |
//! | last offset        | i64  | offset of the ABORT marker                            |
//! | last stable offset | i64  | the partition's LSO once the marker was written       |
//!
//! Entries are appended when the marker is; they are not fsynced on their own: after an
//! unclean stop the open transactions and the aborted list are rebuilt from the batch headers
//! of the log (`Log::open`), and the files of the re-read segments rewritten. A trailing
//! partial entry is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use weir_protocol::batch::BATCH_HEADER_LEN;

use crate::error::StorageError;
use crate::segment::{file_name, BatchInfo, LogSegment};

/// Size of one `.txnindex` entry.
pub const TXN_INDEX_ENTRY_LEN: usize = 34;

/// A transaction that ended with an ABORT marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    pub fn encode(&self) -> [u8; TXN_INDEX_ENTRY_LEN] {
        let mut b = [0u8; TXN_INDEX_ENTRY_LEN];
        let mut at = 2;
        for v in [
            self.producer_id,
            self.first_offset,
            self.last_offset,
            self.last_stable_offset,
        ] {
            if let Some(dst) = b.get_mut(at..at + 8) {
                dst.copy_from_slice(&v.to_be_bytes());
            }
            at += 8;
        }
        b
    }

    pub fn decode(b: &[u8]) -> Option<AbortedTxn> {
        let i64_at = |at: usize| -> Option<i64> {
            Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
        };
        Some(AbortedTxn {
            producer_id: i64_at(2)?,
            first_offset: i64_at(10)?,
            last_offset: i64_at(18)?,
            last_stable_offset: i64_at(26)?,
        })
    }
}

/// Reads a segment's `.txnindex` (missing file: none).
pub fn read_txn_index(dir: &Path, base_offset: i64) -> Result<Vec<AbortedTxn>, StorageError> {
    let path = dir.join(file_name(base_offset, "txnindex"));
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io("read txnindex", &path)(e)),
    };
    Ok(bytes
        .chunks_exact(TXN_INDEX_ENTRY_LEN)
        .filter_map(AbortedTxn::decode)
        .collect())
}

/// Appends one entry to a segment's `.txnindex`.
pub fn append_txn_index(
    dir: &Path,
    base_offset: i64,
    txn: &AbortedTxn,
) -> Result<(), StorageError> {
    let path = dir.join(file_name(base_offset, "txnindex"));
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(StorageError::io("open txnindex", &path))?;
    f.write_all(&txn.encode())
        .map_err(StorageError::io("write txnindex", &path))
}

/// Replaces a segment's `.txnindex` with `txns` (deleted when empty).
pub fn write_txn_index(
    dir: &Path,
    base_offset: i64,
    txns: &[AbortedTxn],
) -> Result<(), StorageError> {
    let path = dir.join(file_name(base_offset, "txnindex"));
    if txns.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StorageError::io("delete txnindex", &path)(e))
            }
            _ => Ok(()),
        };
    }
    let mut bytes = Vec::with_capacity(txns.len() * TXN_INDEX_ENTRY_LEN);
    for t in txns {
        bytes.extend_from_slice(&t.encode());
    }
    std::fs::write(&path, bytes).map_err(StorageError::io("write txnindex", &path))
}

/// The transaction-related fields of a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnBatch {
    pub producer_id: i64,
    pub base_offset: i64,
    pub last_offset: i64,
    /// `Some(true)` COMMIT marker, `Some(false)` ABORT marker, `None` data.
    pub marker: Option<bool>,
}

impl TxnBatch {
    /// `None` for a non-transactional batch. `batch` holds the header and, for a control
    /// batch, at least the start of its first record (its key says COMMIT or ABORT).
    pub fn parse(batch: &[u8], base_offset: i64, last_offset: i64) -> Option<TxnBatch> {
        let attributes = i16::from_be_bytes(batch.get(21..23)?.try_into().ok()?);
        if attributes & 0x10 == 0 {
            return None;
        }
        let producer_id = i64::from_be_bytes(batch.get(43..51)?.try_into().ok()?);
        let marker = if attributes & 0x20 != 0 {
            Some(control_type(batch.get(BATCH_HEADER_LEN..)?)? == 1)
        } else {
            None
        };
        Some(TxnBatch {
            producer_id,
            base_offset,
            last_offset,
            marker,
        })
    }
}

/// The type (0 ABORT, 1 COMMIT) in the key of a control batch's first record: length varint,
/// attributes i8, timestamp delta varlong, offset delta varint, key length varint, key
/// (`version: i16, type: i16`).
fn control_type(record: &[u8]) -> Option<i16> {
    let mut at = 0usize;
    varint(record, &mut at)?; // length
    at += 1; // attributes
    varint(record, &mut at)?; // timestamp delta
    varint(record, &mut at)?; // offset delta
    let key_len = varint(record, &mut at)?;
    if key_len < 4 {
        return None;
    }
    Some(i16::from_be_bytes(
        record.get(at + 2..at + 4)?.try_into().ok()?,
    ))
}

/// A zigzag varint (Kafka's record fields) at `*at`, moving `*at` past it.
fn varint(buf: &[u8], at: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            let magnitude = i64::try_from(value >> 1).ok()?;
            return Some(if value & 1 == 0 {
                magnitude
            } else {
                -magnitude - 1
            });
        }
    }
    None
}

/// Open transactions as (producer id, offset of the transaction's first batch).
pub type OpenTxns = Vec<(i64, i64)>;

/// Open and aborted transactions of one partition.
#[derive(Debug, Default)]
pub struct TxnTracker {
    /// Producer id -> offset of its open transaction's first batch.
    ongoing: HashMap<i64, i64>,
    /// Aborted transactions, in marker order.
    aborted: Vec<AbortedTxn>,
}

impl TxnTracker {
    /// A tracker that starts with these open transactions (producer id, first offset), as a
    /// producer snapshot recorded them.
    pub fn with_open(open: impl IntoIterator<Item = (i64, i64)>) -> TxnTracker {
        TxnTracker {
            ongoing: open.into_iter().collect(),
            aborted: Vec::new(),
        }
    }

    /// The open transactions (producer id, first offset), sorted by producer id.
    pub fn open_transactions(&self) -> OpenTxns {
        let mut open: OpenTxns = self.ongoing.iter().map(|(p, o)| (*p, *o)).collect();
        open.sort_unstable();
        open
    }

    /// The first offset of the oldest open transaction.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.values().min().copied()
    }

    /// Applies a batch now in the log; returns the aborted transaction its ABORT marker ends.
    pub fn on_batch(&mut self, batch: &TxnBatch) -> Option<AbortedTxn> {
        match batch.marker {
            None => {
                self.ongoing
                    .entry(batch.producer_id)
                    .or_insert(batch.base_offset);
                None
            }
            Some(commit) => {
                let first = self.ongoing.remove(&batch.producer_id);
                if commit {
                    return None;
                }
                let first_offset = first.unwrap_or(batch.base_offset);
                let lso = self
                    .first_unstable_offset()
                    .unwrap_or(batch.last_offset + 1)
                    .min(batch.last_offset + 1);
                let txn = AbortedTxn {
                    producer_id: batch.producer_id,
                    first_offset,
                    last_offset: batch.last_offset,
                    last_stable_offset: lso,
                };
                self.aborted.push(txn);
                Some(txn)
            }
        }
    }

    /// Adds aborted transactions read from a `.txnindex`.
    pub fn load_aborted(&mut self, txns: impl IntoIterator<Item = AbortedTxn>) {
        self.aborted.extend(txns);
    }

    /// Aborted transactions that overlap `[from, to)`: those a read_committed fetch of that
    /// range must tell the consumer about.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|t| t.last_offset >= from && t.first_offset < to)
            .copied()
            .collect()
    }

    /// Forgets what lies wholly below `offset` (the log start moved).
    pub fn truncate_below(&mut self, offset: i64) {
        self.aborted.retain(|t| t.last_offset >= offset);
    }
}

/// Reads the headers of a segment's batches (and the first bytes of control records) from
/// byte `start`, feeding transactional ones to `tracker`; returns the aborted transactions
/// whose markers lie in it.
pub(crate) fn scan_segment(
    segment: &LogSegment,
    start: u64,
    tracker: &mut TxnTracker,
) -> Result<Vec<AbortedTxn>, StorageError> {
    // Header plus room for a control record's length, attributes, deltas and key.
    const PEEK: usize = BATCH_HEADER_LEN + 32;
    let path = segment.log_path();
    let file = File::open(path).map_err(StorageError::io("open segment", path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    reader
        .seek(SeekFrom::Start(start))
        .map_err(StorageError::io("read segment", path))?;
    let mut pos = start;
    let mut aborted = Vec::new();
    let mut buf = [0u8; PEEK];
    while pos + BATCH_HEADER_LEN as u64 <= segment.size() {
        let header = buf.get_mut(..BATCH_HEADER_LEN).unwrap_or_default();
        reader
            .read_exact(header)
            .map_err(StorageError::io("read segment", path))?;
        let info =
            BatchInfo::from_header(header, pos).map_err(|e| StorageError::CorruptSegment {
                path: path.to_path_buf(),
                position: pos,
                reason: e.to_string(),
            })?;
        let mut consumed = BATCH_HEADER_LEN as u64;
        let attributes = buf
            .get(21..23)
            .map_or(0, |a| i16::from_be_bytes([a[0], a[1]]));
        if attributes & 0x30 == 0x30 {
            let extra = usize::try_from(info.len)
                .unwrap_or(PEEK)
                .min(PEEK)
                .saturating_sub(BATCH_HEADER_LEN);
            if let Some(rest) = buf.get_mut(BATCH_HEADER_LEN..BATCH_HEADER_LEN + extra) {
                reader
                    .read_exact(rest)
                    .map_err(StorageError::io("read segment", path))?;
            }
            consumed += extra as u64;
        }
        if let Some(tb) = TxnBatch::parse(&buf, info.base_offset, info.last_offset) {
            if let Some(a) = tracker.on_batch(&tb) {
                aborted.push(a);
            }
        }
        let skip = i64::try_from(info.len.saturating_sub(consumed)).unwrap_or(i64::MAX);
        reader
            .seek_relative(skip)
            .map_err(StorageError::io("read segment", path))?;
        pos = info.end();
    }
    Ok(aborted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entry_round_trips_in_34_bytes() {
        let t = AbortedTxn {
            producer_id: 7,
            first_offset: 10,
            last_offset: 20,
            last_stable_offset: 21,
        };
        let b = t.encode();
        assert_eq!(b.len(), 34);
        assert_eq!(&b[..2], &[0, 0]);
        assert_eq!(AbortedTxn::decode(&b), Some(t));
    }

    #[test]
    fn tracker_holds_the_lso_and_lists_aborted() {
        let mut t = TxnTracker::default();
        let data = |pid, off| TxnBatch {
            producer_id: pid,
            base_offset: off,
            last_offset: off + 1,
            marker: None,
        };
        let marker = |pid, off, commit| TxnBatch {
            producer_id: pid,
            base_offset: off,
            last_offset: off,
            marker: Some(commit),
        };
        assert_eq!(t.on_batch(&data(1, 0)), None);
        assert_eq!(t.on_batch(&data(2, 2)), None);
        assert_eq!(t.on_batch(&data(1, 4)), None);
        assert_eq!(t.first_unstable_offset(), Some(0));
        assert_eq!(t.on_batch(&marker(1, 6, true)), None);
        assert_eq!(t.first_unstable_offset(), Some(2));
        let a = t.on_batch(&marker(2, 7, false)).unwrap();
        assert_eq!(
            (a.first_offset, a.last_offset, a.last_stable_offset),
            (2, 7, 8)
        );
        assert_eq!(t.first_unstable_offset(), None);
        assert_eq!(t.aborted_between(0, 3), vec![a]);
        assert_eq!(t.aborted_between(8, 10), vec![]);
        t.truncate_below(8);
        assert!(t.aborted_between(0, 100).is_empty());
    }

    #[test]
    fn control_type_reads_the_marker_key() {
        // length 12, attributes 0, timestamp delta 0, offset delta 0, key length 4 (zigzag 8),
        // key version 0 type 1.
        let rec = [24u8, 0, 0, 0, 8, 0, 0, 0, 1];
        assert_eq!(control_type(&rec), Some(1));
        let rec = [24u8, 0, 0, 0, 8, 0, 0, 0, 0];
        assert_eq!(control_type(&rec), Some(0));
        assert_eq!(control_type(&[24u8, 0]), None);
    }
}
