//! Byte ranges of a segment file handed to the network layer.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::error::StorageError;

/// Whole batches of one segment, to be sent with `sendfile` (or read into memory).
///
/// `file` is the segment's open `.log` file: it stays valid (on Unix) even if the segment is
/// deleted or the log truncated meanwhile, so a response being written never sees a missing
/// file.
#[derive(Debug, Clone)]
pub struct ReadSlice {
    pub file: Arc<File>,
    /// Byte position of the first batch in the file.
    pub position: u64,
    /// Length in bytes; always a sum of whole batches.
    pub len: usize,
}

impl ReadSlice {
    /// Copies the bytes into memory (for TLS listeners, replication tests and tools).
    pub fn read_to_vec(&self) -> Result<Vec<u8>, StorageError> {
        let mut buf = vec![0u8; self.len];
        self.file
            .read_exact_at(&mut buf, self.position)
            .map_err(|source| StorageError::Io {
                op: "read slice of",
                path: format!("segment file at position {}", self.position).into(),
                source,
            })?;
        Ok(buf)
    }
}

/// What [`crate::Log::read`] returns.
#[derive(Debug, Clone)]
pub struct FetchData {
    /// `None` when there is nothing to return (at the end of the log or above `max_offset`,
    /// or the first batch exceeds `max_bytes` without `min_one_batch`).
    pub slice: Option<ReadSlice>,
    /// Base offset of the first batch in `slice` (may be below the offset asked for, since
    /// whole batches are returned); the offset asked for when `slice` is `None`.
    pub first_offset_in_slice: i64,
}

impl FetchData {
    /// Number of bytes of records returned.
    pub fn len(&self) -> usize {
        self.slice.as_ref().map_or(0, |s| s.len)
    }

    /// True when no records are returned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
