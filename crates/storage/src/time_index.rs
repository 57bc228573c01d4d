//! The sparse time index of one segment (`<base offset>.timeindex`).

use std::path::Path;

use crate::entry_file::EntryFile;
use crate::error::StorageError;

/// One time index entry, with the offset made absolute again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// The largest batch max timestamp seen in the segment up to `offset`.
    pub timestamp: i64,
    /// Base offset of the first batch whose max timestamp is `timestamp`.
    pub offset: i64,
}

/// Maps timestamps to offsets in one segment, sparsely.
///
/// # On-disk format
///
/// Same layout as Kafka's `TimeIndex`: a flat array of 12-byte entries, no header:
///
/// | bytes | field           | type   |
/// |-------|-----------------|--------|
/// | 0..8  | timestamp       | i64 BE |
/// | 8..12 | relative offset | u32 BE |
///
/// Each entry is `(largest batch max timestamp so far in the segment, offset of the batch that
/// carried it)`, relative to the segment's base offset. The offset is that batch's **base**
/// offset (Kafka stores a record offset; Weir works at batch granularity and never reads
/// records). An entry is appended together with each offset index entry, and once more when
/// the segment stops being the active one, but only when its timestamp is strictly larger than
/// the previous entry's: timestamps and offsets are strictly increasing and the last entry of
/// a closed segment holds the segment's largest timestamp.
///
/// Not preallocated, so the length is always `entries * 12`; rebuilt from the `.log` by
/// recovery when missing or inconsistent. Only the last entry is kept in memory; lookups
/// binary-search the file with `pread`.
#[derive(Debug)]
pub struct TimeIndex {
    file: EntryFile<12>,
    base_offset: i64,
    last: Option<TimestampOffset>,
}

impl TimeIndex {
    /// Size of one entry in bytes.
    pub const ENTRY_SIZE: u64 = 12;

    /// Creates an empty index, replacing any file at `path`.
    pub fn create(path: &Path, base_offset: i64) -> Result<Self, StorageError> {
        Ok(Self {
            file: EntryFile::create(path, "time index")?,
            base_offset,
            last: None,
        })
    }

    /// Opens an existing index. Returns `Ok(None)` when the file is missing or its length is
    /// not a whole number of entries: the caller rebuilds it.
    pub fn open(path: &Path, base_offset: i64) -> Result<Option<Self>, StorageError> {
        let Some(file) = EntryFile::open(path, "time index")? else {
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

    /// Cheap consistency check: the entries increase from first to last and the last offset
    /// lies in `[base offset, next_offset)`.
    pub fn is_consistent(&self, next_offset: i64) -> Result<bool, StorageError> {
        let Some(last) = self.last else {
            return Ok(true);
        };
        if last.offset < self.base_offset || last.offset >= next_offset {
            return Ok(false);
        }
        if self.entries() > 1 {
            let first = self.entry(0)?;
            if first.timestamp >= last.timestamp || first.offset >= last.offset {
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

    pub fn last_entry(&self) -> Option<TimestampOffset> {
        self.last
    }

    /// True when the file could not take two more entries within `max_index_bytes`: one slot
    /// stays reserved for the entry written when the segment is rolled.
    pub fn is_full(&self, max_index_bytes: u32) -> bool {
        (self.entries() + 2) * Self::ENTRY_SIZE > u64::from(max_index_bytes)
    }

    /// Appends `(timestamp, offset)` if `timestamp` is larger than the last entry's.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64) -> Result<(), StorageError> {
        if self
            .last
            .is_some_and(|l| timestamp <= l.timestamp || offset <= l.offset)
        {
            return Ok(());
        }
        let relative = offset
            .checked_sub(self.base_offset)
            .and_then(|r| u32::try_from(r).ok())
            .ok_or(StorageError::OffsetOverflow {
                base_offset: self.base_offset,
                offset,
            })?;
        let mut buf = [0u8; Self::ENTRY_SIZE as usize];
        buf[..8].copy_from_slice(&timestamp.to_be_bytes());
        buf[8..].copy_from_slice(&relative.to_be_bytes());
        self.file.append(&buf)?;
        self.last = Some(TimestampOffset { timestamp, offset });
        Ok(())
    }

    /// The entry with the largest timestamp `<= target`, if any. The first batch whose max
    /// timestamp is `>= target` is at or after the returned offset.
    pub fn lookup(&self, target: i64) -> Result<Option<TimestampOffset>, StorageError> {
        match self.lookup_index(target)? {
            Some(i) => self.entry(i).map(Some),
            None => Ok(None),
        }
    }

    /// The entries around `target`: the last with timestamp `<= target` and the first with
    /// timestamp `> target`, either possibly absent.
    pub fn bracket(
        &self,
        target: i64,
    ) -> Result<(Option<TimestampOffset>, Option<TimestampOffset>), StorageError> {
        let below = self.lookup_index(target)?;
        let above = below.map_or(0, |i| i + 1);
        Ok((
            below.map(|i| self.entry(i)).transpose()?,
            if above < self.entries() {
                Some(self.entry(above)?)
            } else {
                None
            },
        ))
    }

    fn lookup_index(&self, target: i64) -> Result<Option<u64>, StorageError> {
        let Some(last) = self.last else {
            return Ok(None);
        };
        if target >= last.timestamp {
            return Ok(Some(self.entries() - 1));
        }
        let first = self.entry(0)?;
        if target < first.timestamp {
            return Ok(None);
        }
        // Invariant: entry(lo).timestamp <= target < entry(hi).timestamp.
        let (mut lo, mut hi) = (0u64, self.entries() - 1);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid)?.timestamp <= target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(Some(lo))
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
    pub fn entry(&self, i: u64) -> Result<TimestampOffset, StorageError> {
        let buf = self.file.read(i)?;
        let [t0, t1, t2, t3, t4, t5, t6, t7, r0, r1, r2, r3] = buf;
        Ok(TimestampOffset {
            timestamp: i64::from_be_bytes([t0, t1, t2, t3, t4, t5, t6, t7]),
            offset: self.base_offset + i64::from(u32::from_be_bytes([r0, r1, r2, r3])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_increasing_timestamps_are_kept_and_looked_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000010.timeindex");
        let mut idx = TimeIndex::create(&path, 10).unwrap();
        assert_eq!(idx.lookup(5).unwrap(), None);
        idx.maybe_append(1000, 10).unwrap();
        idx.maybe_append(900, 12).unwrap(); // older timestamp: ignored
        idx.maybe_append(2000, 15).unwrap();
        idx.maybe_append(3000, 20).unwrap();
        assert_eq!(idx.entries(), 3);
        assert_eq!(idx.lookup(999).unwrap(), None);
        assert_eq!(
            idx.lookup(2500).unwrap(),
            Some(TimestampOffset {
                timestamp: 2000,
                offset: 15
            })
        );
        assert_eq!(idx.lookup(1000).unwrap().unwrap().offset, 10);
        assert_eq!(idx.lookup(i64::MAX).unwrap().unwrap().offset, 20);
        drop(idx);
        let idx = TimeIndex::open(&path, 10).unwrap().unwrap();
        assert_eq!(idx.last_entry().unwrap().timestamp, 3000);
        assert!(idx.is_consistent(21).unwrap());
        assert!(!idx.is_consistent(20).unwrap());
        assert!(!idx.is_full(60));
        assert!(idx.is_full(59));
    }
}
