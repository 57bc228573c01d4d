//! Producer state snapshot files: `<partition dir>/<20-digit offset>.snapshot`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::StorageError;
use crate::producer_state::{
    BatchMetadata, ProducerStateEntry, ProducerStateManager, NUM_BATCHES_TO_RETAIN,
};
use crate::segment::file_name;
use crate::txn_index::OpenTxns;

const MAGIC: &[u8; 4] = b"WPSS";
/// Version 2 added the open transactions; version 1 files are still read (without them).
const VERSION: u16 = 2;
/// magic + version + crc + offset + entry count.
const HEADER_LEN: usize = 4 + 2 + 4 + 8 + 4;
/// producer id + epoch + last timestamp + batch count.
const ENTRY_HEADER_LEN: usize = 8 + 2 + 8 + 1;
const BATCH_LEN: usize = 4 + 4 + 8 + 8;
/// Snapshots kept per partition; older ones are deleted after each new one.
const SNAPSHOTS_TO_KEEP: usize = 2;

/// One snapshot of a partition's [`ProducerStateManager`], taken when the log end offset was
/// the number in its name: the state of every producer as of the batches below that offset.
///
/// # On-disk format
///
/// Weir's own (Kafka's `.snapshot` files use a different schema; the name and role are the
/// same). Big-endian integers:
///
/// | field          | type | note                                                     |
/// |----------------|------|----------------------------------------------------------|
/// | magic          | [u8; 4] | `WPSS`                                                |
/// | version        | u16  | 1                                                        |
/// | crc            | u32  | CRC-32C of everything after this field                   |
/// | offset         | i64  | the log end offset the state covers (= the file name)    |
/// | entry count    | u32  |                                                          |
/// | entries        | ...  | per producer: producer id i64, epoch i16, last timestamp i64, batch count u8 (0..=5), then per batch (oldest first) first seq i32, last seq i32, first offset i64, last offset i64 |
/// | open txn count | u32  | version 2                                                |
/// | open txns      | ...  | per open transaction: producer id i64, offset of its first batch i64 |
///
/// The open transactions let `Log::open` rebuild the last stable offset from the snapshot
/// and the `.txnindex` files plus the batches after the snapshot, instead of reading every
/// batch header of the log (Kafka's snapshot keeps each producer's `currentTxnFirstOffset`
/// for the same reason).
///
/// Unlike Kafka, which keeps only each producer's last batch in its snapshots, all five
/// remembered batches are stored, so any of them is still recognised as a duplicate after a
/// restart.
///
/// Files are written atomically (`.tmp`, fsync, rename, fsync of the directory). A snapshot
/// that fails its checks is deleted and an older one used; the log after the snapshot's offset
/// is replayed from batch headers (`Log::open`). Taken when a segment rolls and when the log is
/// flushed by a checkpoint or a clean shutdown; the newest two are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSnapshot {
    pub offset: i64,
    pub path: PathBuf,
}

impl ProducerSnapshot {
    /// The snapshot files in `dir`, oldest first.
    pub fn list(dir: &Path) -> Result<Vec<ProducerSnapshot>, StorageError> {
        let entries =
            std::fs::read_dir(dir).map_err(StorageError::io("list log directory", dir))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(StorageError::io("list log directory", dir))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".snapshot")) else {
                continue;
            };
            if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(offset) = stem.parse() {
                    out.push(ProducerSnapshot {
                        offset,
                        path: entry.path(),
                    });
                }
            }
        }
        out.sort_by_key(|s| s.offset);
        Ok(out)
    }

    /// Writes the state and the open transactions (producer id, first offset) as
    /// `<dir>/<offset>.snapshot` (offset = the state's map end offset), then deletes all but
    /// the newest snapshots.
    pub fn write(
        dir: &Path,
        state: &ProducerStateManager,
        open_txns: &[(i64, i64)],
    ) -> Result<ProducerSnapshot, StorageError> {
        let offset = state.map_end_offset();
        let mut body = Vec::with_capacity(12 + state.len() * (ENTRY_HEADER_LEN + 2 * BATCH_LEN));
        body.extend_from_slice(&offset.to_be_bytes());
        body.extend_from_slice(&u32::try_from(state.len()).unwrap_or(u32::MAX).to_be_bytes());
        for e in state.entries() {
            body.extend_from_slice(&e.producer_id.to_be_bytes());
            body.extend_from_slice(&e.producer_epoch.to_be_bytes());
            body.extend_from_slice(&e.last_timestamp.to_be_bytes());
            let batches = e.batches.iter().take(NUM_BATCHES_TO_RETAIN);
            body.push(batches.len() as u8);
            for b in batches {
                body.extend_from_slice(&b.first_seq.to_be_bytes());
                body.extend_from_slice(&b.last_seq.to_be_bytes());
                body.extend_from_slice(&b.first_offset.to_be_bytes());
                body.extend_from_slice(&b.last_offset.to_be_bytes());
            }
        }
        body.extend_from_slice(
            &u32::try_from(open_txns.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for (producer_id, first_offset) in open_txns {
            body.extend_from_slice(&producer_id.to_be_bytes());
            body.extend_from_slice(&first_offset.to_be_bytes());
        }
        let mut bytes = Vec::with_capacity(10 + body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_be_bytes());
        bytes.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        bytes.extend_from_slice(&body);

        let path = dir.join(file_name(offset, "snapshot"));
        let tmp = dir.join(format!("{}.tmp", file_name(offset, "snapshot")));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(StorageError::io("create producer snapshot", &tmp))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(StorageError::io("write producer snapshot", &tmp))?;
        std::fs::rename(&tmp, &path)
            .map_err(StorageError::io("rename producer snapshot", &path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StorageError::io("fsync log directory", dir))?;

        let snapshots = Self::list(dir)?;
        let prune = snapshots.len().saturating_sub(SNAPSHOTS_TO_KEEP);
        for old in snapshots.iter().take(prune) {
            old.delete()?;
        }
        Ok(ProducerSnapshot { offset, path })
    }

    /// Reads the snapshot back: the producer state, and the open transactions (`None` from a
    /// version 1 file, which did not record them).
    pub fn read(&self) -> Result<(ProducerStateManager, Option<OpenTxns>), StorageError> {
        let bytes = std::fs::read(&self.path)
            .map_err(StorageError::io("read producer snapshot", &self.path))?;
        let corrupt = |reason: String| StorageError::CorruptSnapshot {
            path: self.path.clone(),
            reason,
        };
        let mut r = Reader {
            bytes: &bytes,
            at: 0,
        };
        let short = || corrupt("truncated".to_string());
        if r.take::<4>().ok_or_else(short)? != *MAGIC {
            return Err(corrupt("bad magic".to_string()));
        }
        let version = u16::from_be_bytes(r.take().ok_or_else(short)?);
        if version != 1 && version != VERSION {
            return Err(corrupt(format!("unsupported version {version}")));
        }
        let stored = u32::from_be_bytes(r.take().ok_or_else(short)?);
        let computed = crc32c::crc32c(bytes.get(r.at..).unwrap_or_default());
        if stored != computed {
            return Err(corrupt(format!(
                "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
            )));
        }
        let offset = i64::from_be_bytes(r.take().ok_or_else(short)?);
        if offset != self.offset {
            return Err(corrupt(format!(
                "holds offset {offset}, named {}",
                self.offset
            )));
        }
        let count = u32::from_be_bytes(r.take().ok_or_else(short)?);
        let mut entries = Vec::with_capacity((count as usize).min(bytes.len() / ENTRY_HEADER_LEN));
        for _ in 0..count {
            let producer_id = i64::from_be_bytes(r.take().ok_or_else(short)?);
            let producer_epoch = i16::from_be_bytes(r.take().ok_or_else(short)?);
            let last_timestamp = i64::from_be_bytes(r.take().ok_or_else(short)?);
            let [n] = r.take::<1>().ok_or_else(short)?;
            if usize::from(n) > NUM_BATCHES_TO_RETAIN {
                return Err(corrupt(format!("{n} batches for producer {producer_id}")));
            }
            let mut batches = VecDeque::with_capacity(usize::from(n));
            for _ in 0..n {
                batches.push_back(BatchMetadata {
                    first_seq: i32::from_be_bytes(r.take().ok_or_else(short)?),
                    last_seq: i32::from_be_bytes(r.take().ok_or_else(short)?),
                    first_offset: i64::from_be_bytes(r.take().ok_or_else(short)?),
                    last_offset: i64::from_be_bytes(r.take().ok_or_else(short)?),
                });
            }
            entries.push(ProducerStateEntry {
                producer_id,
                producer_epoch,
                last_timestamp,
                batches,
            });
        }
        let open_txns = if version >= 2 {
            let count = u32::from_be_bytes(r.take().ok_or_else(short)?);
            let mut open = Vec::with_capacity((count as usize).min(bytes.len() / 16));
            for _ in 0..count {
                let producer_id = i64::from_be_bytes(r.take().ok_or_else(short)?);
                let first_offset = i64::from_be_bytes(r.take().ok_or_else(short)?);
                if !(0..offset).contains(&first_offset) {
                    return Err(corrupt(format!(
                        "open transaction of producer {producer_id} starts at {first_offset}, outside [0, {offset})"
                    )));
                }
                open.push((producer_id, first_offset));
            }
            Some(open)
        } else {
            None
        };
        if r.at != bytes.len() {
            return Err(corrupt(format!("{} trailing bytes", bytes.len() - r.at)));
        }
        let mut state = ProducerStateManager::from_entries(entries, offset);
        state.mark_snapshotted();
        Ok((state, open_txns))
    }

    /// Removes the file (a missing one is fine).
    pub fn delete(&self) -> Result<(), StorageError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io("delete producer snapshot", &self.path)(e)),
        }
    }
}

/// Bounds-checked big-endian reads.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let out: [u8; N] = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(out)
    }
}

const _: () = assert!(HEADER_LEN == 22);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer_state::ProducerBatch;

    fn state() -> ProducerStateManager {
        let mut s = ProducerStateManager::new(0);
        for i in 0..7i32 {
            s.replay(&ProducerBatch {
                producer_id: i64::from(i % 2),
                producer_epoch: 3,
                first_seq: i * 2,
                last_seq: i * 2 + 1,
                first_offset: i64::from(i) * 2,
                last_offset: i64::from(i) * 2 + 1,
                max_timestamp: 100 + i64::from(i),
                is_control: false,
            });
        }
        s
    }

    fn sorted(s: &ProducerStateManager) -> Vec<ProducerStateEntry> {
        let mut v: Vec<_> = s.entries().cloned().collect();
        v.sort_by_key(|e| e.producer_id);
        v
    }

    #[test]
    fn round_trips_and_keeps_the_newest_two() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = state();
        let snap = ProducerSnapshot::write(dir.path(), &s, &[(1, 4), (9, 13)]).unwrap();
        assert_eq!(snap.offset, 14);
        assert!(dir.path().join("00000000000000000014.snapshot").exists());
        let (back, open) = snap.read().unwrap();
        assert_eq!(sorted(&back), sorted(&s));
        assert_eq!(back.map_end_offset(), 14);
        assert!(!back.is_dirty());
        assert_eq!(open, Some(vec![(1, 4), (9, 13)]));

        for end in [20, 30] {
            s.set_map_end_offset(end);
            ProducerSnapshot::write(dir.path(), &s, &[]).unwrap();
        }
        let offsets: Vec<i64> = ProducerSnapshot::list(dir.path())
            .unwrap()
            .iter()
            .map(|s| s.offset)
            .collect();
        assert_eq!(offsets, vec![20, 30]);
    }

    #[test]
    fn damaged_snapshots_are_reported_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let snap = ProducerSnapshot::write(dir.path(), &state(), &[(1, 2)]).unwrap();
        let good = std::fs::read(&snap.path).unwrap();

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let cases: [(&str, Vec<u8>); 4] = [
            ("flipped bit", flipped),
            ("truncated", good[..good.len() - 3].to_vec()),
            ("empty", Vec::new()),
            ("bad magic", [b"XXXX".as_slice(), &good[4..]].concat()),
        ];
        for (what, bytes) in cases {
            std::fs::write(&snap.path, &bytes).unwrap();
            let err = snap.read().unwrap_err();
            assert!(
                matches!(err, StorageError::CorruptSnapshot { .. }),
                "{what}: {err}"
            );
        }
        // A snapshot renamed to another offset is not trusted either.
        std::fs::write(&snap.path, &good).unwrap();
        let renamed = ProducerSnapshot {
            offset: 13,
            path: snap.path.clone(),
        };
        assert!(renamed.read().is_err());
    }

    #[test]
    fn version_1_files_load_without_open_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let snap = ProducerSnapshot::write(dir.path(), &state(), &[]).unwrap();
        let v2 = std::fs::read(&snap.path).unwrap();
        // A version 1 body is a version 2 body without the trailing open-transaction count.
        let body = &v2[4 + 2 + 4..v2.len() - 4]; // after magic, version and CRC
        let mut v1 = MAGIC.to_vec();
        v1.extend_from_slice(&1u16.to_be_bytes());
        v1.extend_from_slice(&crc32c::crc32c(body).to_be_bytes());
        v1.extend_from_slice(body);
        std::fs::write(&snap.path, &v1).unwrap();
        let (back, open) = snap.read().unwrap();
        assert_eq!(sorted(&back), sorted(&state()));
        assert_eq!(open, None);
    }

    #[test]
    fn open_transaction_past_the_snapshot_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let snap = ProducerSnapshot::write(dir.path(), &state(), &[(1, 14)]).unwrap();
        assert!(matches!(
            snap.read(),
            Err(StorageError::CorruptSnapshot { .. })
        ));
    }
}
