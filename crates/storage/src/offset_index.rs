//! The sparse offset index of one segment (`<base offset>.index`).

use std::path::Path;

use crate::entry_file::EntryFile;
use crate::error::StorageError;

/// One offset index entry, with the offset made absolute again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    /// Absolute offset: the last offset of the batch that starts at `position`.
    pub offset: i64,
    /// Byte position of that batch in the segment's `.log` file.
    pub position: u32,
}

/// Maps offsets to byte positions in a segment's `.log` file, sparsely.
///
/// # On-disk format
///
/// Same as Kafka's `OffsetIndex`: a flat array of 8-byte entries, no header:
///
/// | bytes | field           | type   |
/// |-------|-----------------|--------|
/// | 0..4  | relative offset | u32 BE |
/// | 4..8  | file position   | u32 BE |
///
/// The relative offset is `offset - segment base offset`, where `offset` is the **last** offset
/// of a batch and the position is where that batch **starts** (Kafka keys its index the same
/// way). Entries are strictly increasing in both fields. One entry is written each time more
/// than `index.interval.bytes` of log have been appended since the previous entry, so a lookup
/// lands at most about that many bytes before the wanted batch.
///
/// Unlike Kafka the file is not preallocated: its length is always `entries * 8`. It holds no
/// information that is not in the `.log`, so recovery rebuilds it from the batches whenever it
/// is missing, has a length that is not a multiple of 8, or disagrees with the log.
///
/// Nothing of the file is kept in memory except its last entry: lookups binary-search the
/// file with `pread`, so a broker holding terabytes of segments keeps a bounded heap. The page
/// cache keeps hot index pages close.
#[derive(Debug)]
pub struct OffsetIndex {
    file: EntryFile<8>,
    base_offset: i64,
    last: Option<OffsetPosition>,
}

impl OffsetIndex {
    /// Size of one entry in bytes.
    pub const ENTRY_SIZE: u64 = 8;

    /// Creates an empty index, replacing any file at `path`.
    pub fn create(path: &Path, base_offset: i64) -> Result<Self, StorageError> {
        Ok(Self {
            file: EntryFile::create(path, "offset index")?,
            base_offset,
            last: None,
        })
    }

    /// Opens an existing index. Returns `Ok(None)` when the file is missing or its length is
    /// not a whole number of entries: the caller rebuilds it.
    pub fn open(path: &Path, base_offset: i64) -> Result<Option<Self>, StorageError> {
        let Some(file) = EntryFile::open(path, "offset index")? else {
            return Ok(None);
        };
        let mut index = Self {
            file,
            base_offset,
            last: None,
        };
        if index.entries() > 0 {
            index.last = Some(index.entry(index.entries() - 1)?);
        }
        Ok(Some(index))
    }

    /// Cheap consistency check against the segment's log size (Kafka's `sanityCheck`): the
    /// entries are increasing at both ends and the last one points inside the log.
    pub fn is_consistent(&self, log_size: u64) -> Result<bool, StorageError> {
        let Some(last) = self.last else {
            return Ok(true);
        };
        if last.offset < self.base_offset || u64::from(last.position) >= log_size {
            return Ok(false);
        }
        if self.entries() > 1 {
            let first = self.entry(0)?;
            if first.offset >= last.offset || first.position >= last.position {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn entries(&self) -> u64 {
        self.file.entries()
    }

    pub fn size_bytes(&self) -> u64 {
        self.file.size_bytes()
    }

    /// The last entry, if any.
    pub fn last_entry(&self) -> Option<OffsetPosition> {
        self.last
    }

    /// True when one more entry would make the file larger than `max_index_bytes`
    /// (`segment.index.bytes`).
    pub fn is_full(&self, max_index_bytes: u32) -> bool {
        (self.entries() + 1) * Self::ENTRY_SIZE > u64::from(max_index_bytes)
    }

    /// Appends an entry for the batch starting at `position` whose last offset is `offset`.
    /// Entries that would not increase the offset are ignored (they carry no information).
    pub fn append(&mut self, offset: i64, position: u32) -> Result<(), StorageError> {
        if self.last.is_some_and(|l| offset <= l.offset) {
            return Ok(());
        }
        let relative = self.relative(offset)?;
        let mut buf = [0u8; Self::ENTRY_SIZE as usize];
        buf[..4].copy_from_slice(&relative.to_be_bytes());
        buf[4..].copy_from_slice(&position.to_be_bytes());
        self.file.append(&buf)?;
        self.last = Some(OffsetPosition { offset, position });
        Ok(())
    }

    /// The entry with the largest offset `<= target`, or `(base offset, 0)` when there is none:
    /// the batch containing `target` starts at or after the returned position.
    pub fn lookup(&self, target: i64) -> Result<OffsetPosition, StorageError> {
        let start = OffsetPosition {
            offset: self.base_offset,
            position: 0,
        };
        let Some(last) = self.last else {
            return Ok(start);
        };
        // Readers at the tail of the log are the common case: no search at all.
        if target >= last.offset {
            return Ok(last);
        }
        let first = self.entry(0)?;
        if target < first.offset {
            return Ok(start);
        }
        // Invariant: entry(lo).offset <= target < entry(hi).offset.
        let (mut lo, mut hi) = (0u64, self.entries() - 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid)?.offset <= target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.entry(lo)
    }

    /// The last entry whose position is `<= max_position` and whose offset is `< max_offset`
    /// (both increase along the index), if any. Lets a read jump over whole batches instead of
    /// walking their headers.
    pub fn last_entry_within(
        &self,
        max_position: u64,
        max_offset: i64,
    ) -> Result<Option<OffsetPosition>, StorageError> {
        let fits =
            |e: &OffsetPosition| u64::from(e.position) <= max_position && e.offset < max_offset;
        let Some(last) = self.last else {
            return Ok(None);
        };
        if fits(&last) {
            return Ok(Some(last));
        }
        let first = self.entry(0)?;
        if !fits(&first) {
            return Ok(None);
        }
        // Invariant: entry(lo) fits, entry(hi) does not.
        let (mut lo, mut hi) = (0u64, self.entries() - 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(&self.entry(mid)?) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.entry(lo).map(Some)
    }

    /// Drops every entry from `n` on.
    pub fn truncate_entries(&mut self, n: u64) -> Result<(), StorageError> {
        if n >= self.entries() {
            return Ok(());
        }
        self.file.truncate(n)?;
        self.last = if n == 0 {
            None
        } else {
            Some(self.entry(n - 1)?)
        };
        Ok(())
    }

    pub fn sync(&self) -> Result<(), StorageError> {
        self.file.sync()
    }

    /// Reads entry `i` (which must be `< entries`).
    pub fn entry(&self, i: u64) -> Result<OffsetPosition, StorageError> {
        let buf = self.file.read(i)?;
        let [r0, r1, r2, r3, p0, p1, p2, p3] = buf;
        Ok(OffsetPosition {
            offset: self.base_offset + i64::from(u32::from_be_bytes([r0, r1, r2, r3])),
            position: u32::from_be_bytes([p0, p1, p2, p3]),
        })
    }

    fn relative(&self, offset: i64) -> Result<u32, StorageError> {
        offset
            .checked_sub(self.base_offset)
            .and_then(|r| u32::try_from(r).ok())
            .ok_or(StorageError::OffsetOverflow {
                base_offset: self.base_offset,
                offset,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_largest_entry_not_above_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.index");
        let mut idx = OffsetIndex::create(&path, 100).unwrap();
        assert_eq!(
            idx.lookup(150).unwrap(),
            OffsetPosition {
                offset: 100,
                position: 0
            }
        );
        for i in 1..=50u32 {
            idx.append(100 + i64::from(i) * 10, i * 1000).unwrap();
        }
        assert_eq!(idx.lookup(105).unwrap().position, 0);
        assert_eq!(idx.lookup(110).unwrap().position, 1000);
        assert_eq!(idx.lookup(119).unwrap().position, 1000);
        assert_eq!(idx.lookup(120).unwrap().position, 2000);
        assert_eq!(idx.lookup(355).unwrap().position, 25000);
        assert_eq!(idx.lookup(10_000).unwrap().position, 50000);
        // Reopened from disk the answers are the same.
        drop(idx);
        let idx = OffsetIndex::open(&path, 100).unwrap().unwrap();
        assert_eq!(idx.entries(), 50);
        assert_eq!(idx.lookup(355).unwrap().position, 25000);
        assert!(idx.is_consistent(60_000).unwrap());
        assert!(!idx.is_consistent(50_000).unwrap());
    }

    #[test]
    fn torn_file_is_rejected_and_full_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        std::fs::write(&path, [0u8; 12]).unwrap();
        assert!(OffsetIndex::open(&path, 0).unwrap().is_none());
        assert!(OffsetIndex::open(&dir.path().join("missing.index"), 0)
            .unwrap()
            .is_none());
        let mut idx = OffsetIndex::create(&path, 0).unwrap();
        assert!(!idx.is_full(16));
        idx.append(1, 0).unwrap();
        idx.append(2, 10).unwrap();
        assert!(idx.is_full(16));
        idx.truncate_entries(1).unwrap();
        assert_eq!(
            idx.last_entry(),
            Some(OffsetPosition {
                offset: 1,
                position: 0
            })
        );
        assert!(matches!(
            idx.append(1 << 40, 20),
            Err(StorageError::OffsetOverflow { .. })
        ));
    }
}
