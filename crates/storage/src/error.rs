//! The storage crate's one error type.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;
use weir_protocol::batch::BatchError;

/// Everything that can go wrong in the storage engine.
///
/// [`StorageError::is_fatal`] separates errors that mean the log directory can no longer be
/// trusted (I/O failures, corruption found after recovery) from errors that only concern the
/// request that caused them (an offset out of range, a malformed record set).
#[derive(Debug, Error)]
pub enum StorageError {
    /// A file system call failed.
    #[error("I/O error while trying to {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A fetch or lookup asked for an offset outside `[log_start, log_end]`.
    #[error("offset {offset} is out of range: log start {log_start}, log end {log_end}")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },

    /// The record set handed to `append` is not a sequence of well-formed v2 batches.
    #[error("invalid record set at byte {position}: {source}")]
    InvalidRecords {
        position: usize,
        #[source]
        source: BatchError,
    },

    /// The record set cannot fit in one segment (file positions are 31-bit, as in Kafka).
    #[error("record set of {size} bytes exceeds the largest appendable size {max}")]
    RecordSetTooLarge { size: usize, max: u64 },

    /// An append would make an offset not representable relative to its segment base.
    #[error("offset {offset} cannot be stored relative to segment base offset {base_offset}")]
    OffsetOverflow { base_offset: i64, offset: i64 },

    /// A segment that passed recovery no longer parses (the file changed under us).
    #[error("corrupt segment {} at position {position}: {reason}", path.display())]
    CorruptSegment {
        path: PathBuf,
        position: u64,
        reason: String,
    },

    /// An offset checkpoint file does not follow the `0\n<count>\n<topic> <partition> <offset>` format.
    #[error("corrupt checkpoint file {} at line {line}: {reason}", path.display())]
    CorruptCheckpoint {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    /// An idempotent batch's sequence does not follow its producer's last one (a gap, or a
    /// retry too old to be recognised). Kafka's `OUT_OF_ORDER_SEQUENCE_NUMBER`.
    #[error("out of order sequence {sequence} for producer {producer_id}: expected {expected}")]
    OutOfOrderSequence {
        producer_id: i64,
        sequence: i32,
        expected: i32,
    },

    /// A batch from an older epoch of its producer (a zombie). Kafka's `INVALID_PRODUCER_EPOCH`.
    #[error(
        "producer {producer_id} epoch {epoch} is older than the current epoch {current_epoch}"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current_epoch: i16,
    },

    /// One record set mixes retries of batches already in the log with new batches (real
    /// clients send one batch per partition and request).
    #[error("record set mixes duplicate and new idempotent batches")]
    MixedDuplicateBatches,

    /// A producer state snapshot fails its checks (it is then ignored and rebuilt from the log).
    #[error("corrupt producer snapshot {}: {reason}", path.display())]
    CorruptSnapshot { path: PathBuf, reason: String },
}

impl StorageError {
    /// True when the partition (or the whole log directory) must stop: the disk failed or data
    /// that passed recovery is now unreadable. Other errors only fail the current request.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            StorageError::Io { .. } | StorageError::CorruptSegment { .. }
        )
    }

    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io { op, path, source }
    }
}
