//! The local metadata log: `<log.dir>/__cluster_metadata-0/metadata.log`.
//!
//! # On-disk format
//!
//! The file is a sequence of entries, each one change to cluster metadata:
//!
//! ```text
//! offset   i64  big-endian   the entry's offset: 0 for the first entry, then +1 per entry
//! length   u32  big-endian   payload length in bytes (at most MAX_ENTRY_BYTES)
//! crc      u32  big-endian   CRC-32C (Castagnoli) of the payload
//! payload  [u8; length]      serde_json of Vec<MetadataRecord>: every record of the change
//! ```
//!
//! One change is one entry, written with one `write` and made durable with `fsync` before
//! [`MetadataLog::append`] returns, so after a crash either all records of a change are there
//! or none are.
//!
//! # Recovery
//!
//! [`MetadataLog::open`] reads entries from the start and stops at the first one that is
//! incomplete (torn write), has a CRC mismatch, an offset other than the next expected one, or a
//! payload that does not decode. That entry and everything after it are truncated away (and the
//! truncation is fsynced): as in Kafka's log recovery, nothing after a bad entry is trusted.
//!
//! # Replication later
//!
//! Entries carry their offset so that a Raft quorum (openraft) can replicate this log without
//! reshaping callers: an entry's offset maps to openraft's log index, the payload is the
//! application data of one Raft entry, and `MetadataStore::commit` stays "append one change,
//! then apply it". The Raft term would be added next to the offset in the frame then.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{MetadataError, Result};
use crate::record::MetadataRecord;

/// Directory of the metadata log under a log dir (KRaft's name for its metadata partition).
pub const METADATA_DIR: &str = "__cluster_metadata-0";
/// File name of the metadata log inside [`METADATA_DIR`].
pub const METADATA_LOG_FILE: &str = "metadata.log";
/// Size of an entry's header: offset, length, crc.
pub const ENTRY_HEADER_BYTES: usize = 8 + 4 + 4;
/// Largest payload an entry may have. A larger length in a header is treated as corruption.
pub const MAX_ENTRY_BYTES: usize = 128 * 1024 * 1024;

/// An entry read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The entry's offset.
    pub offset: i64,
    /// The records of the change, in order.
    pub records: Vec<MetadataRecord>,
}

/// The append-only metadata log file. See the module docs for the format.
#[derive(Debug)]
pub struct MetadataLog {
    path: PathBuf,
    file: File,
    /// Length of the valid prefix of the file, in bytes.
    len: u64,
    next_offset: i64,
    failed: bool,
}

impl MetadataLog {
    /// Opens (creating if needed) the metadata log under `log_dir`, returns it with every valid
    /// entry in offset order, and truncates a torn or corrupt tail.
    pub fn open(log_dir: &Path) -> Result<(MetadataLog, Vec<LogEntry>)> {
        let dir = log_dir.join(METADATA_DIR);
        let io = |op: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| MetadataError::Io { op, path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io("create directory", &dir))?;
        let path = dir.join(METADATA_LOG_FILE);
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io("open", &path))?;
        if !existed {
            // Make the new file's directory entry durable.
            sync_dir(&dir)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read", &path))?;

        let (entries, valid_len, problem) = decode_entries(&bytes);
        let valid_len_u64 = valid_len as u64;
        if let Some(problem) = problem {
            tracing::warn!(
                path = %path.display(),
                valid_bytes = valid_len,
                file_bytes = bytes.len(),
                problem,
                "truncating metadata log tail"
            );
            file.set_len(valid_len_u64).map_err(io("truncate", &path))?;
            file.sync_all().map_err(io("fsync", &path))?;
        }
        let next_offset = entries.last().map_or(0, |e| e.offset + 1);
        Ok((
            MetadataLog {
                path,
                file,
                len: valid_len_u64,
                next_offset,
                failed: false,
            },
            entries,
        ))
    }

    /// Appends one change (all `records` as one entry), fsyncs, and returns the entry's offset.
    ///
    /// An empty change writes nothing and returns the last offset (-1 for an empty log).
    /// If writing or syncing fails, the file is cut back to its previous length so the change
    /// is not half there; if even that fails the log refuses further appends
    /// ([`MetadataError::LogFailed`]) until reopened.
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<i64> {
        if self.failed {
            return Err(MetadataError::LogFailed {
                path: self.path.clone(),
            });
        }
        if records.is_empty() {
            return Ok(self.next_offset - 1);
        }
        let offset = self.next_offset;
        let frame = encode_entry(offset, records)?;
        let written = self
            .file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            if self.file.set_len(self.len).is_err() {
                self.failed = true;
            }
            return Err(MetadataError::Io {
                op: "append",
                path: self.path.clone(),
                source,
            });
        }
        self.len += frame.len() as u64;
        self.next_offset += 1;
        Ok(offset)
    }

    /// The offset the next entry will get.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// The path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Encodes one entry: header and payload.
pub fn encode_entry(offset: i64, records: &[MetadataRecord]) -> Result<Vec<u8>> {
    let payload = serde_json::to_vec(records).map_err(|source| MetadataError::Encode { source })?;
    if payload.len() > MAX_ENTRY_BYTES {
        return Err(MetadataError::EntryTooLarge {
            len: payload.len(),
            max: MAX_ENTRY_BYTES,
        });
    }
    let len = u32::try_from(payload.len()).map_err(|_| MetadataError::EntryTooLarge {
        len: payload.len(),
        max: MAX_ENTRY_BYTES,
    })?;
    let mut frame = Vec::with_capacity(ENTRY_HEADER_BYTES + payload.len());
    frame.extend_from_slice(&offset.to_be_bytes());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Decodes the valid prefix of a log file: its entries, its length, and why decoding stopped
/// early (`None` when the whole input was valid).
fn decode_entries(bytes: &[u8]) -> (Vec<LogEntry>, usize, Option<String>) {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    let mut expected_offset = 0i64;
    while let Some(rest) = bytes.get(pos..) {
        if rest.is_empty() {
            return (entries, pos, None);
        }
        let (Some(offset), Some(len), Some(crc)) = (
            read_array::<8>(rest, 0).map(i64::from_be_bytes),
            read_array::<4>(rest, 8).map(u32::from_be_bytes),
            read_array::<4>(rest, 12).map(u32::from_be_bytes),
        ) else {
            return (entries, pos, Some("incomplete entry header".into()));
        };
        if offset != expected_offset {
            let msg = format!("offset {offset} where {expected_offset} was expected");
            return (entries, pos, Some(msg));
        }
        let len = len as usize;
        if len > MAX_ENTRY_BYTES {
            return (entries, pos, Some(format!("entry length {len} too large")));
        }
        let Some(payload) = rest.get(ENTRY_HEADER_BYTES..ENTRY_HEADER_BYTES + len) else {
            return (entries, pos, Some("incomplete entry payload".into()));
        };
        let actual = crc32c::crc32c(payload);
        if actual != crc {
            let msg = format!(
                "crc mismatch at offset {offset}: stored {crc:#010x}, computed {actual:#010x}"
            );
            return (entries, pos, Some(msg));
        }
        let records: Vec<MetadataRecord> = match serde_json::from_slice(payload) {
            Ok(records) => records,
            Err(e) => {
                let msg = format!("undecodable payload at offset {offset}: {e}");
                return (entries, pos, Some(msg));
            }
        };
        entries.push(LogEntry { offset, records });
        pos += ENTRY_HEADER_BYTES + len;
        expected_offset += 1;
    }
    (entries, pos, None)
}

fn read_array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn sync_dir(dir: &Path) -> Result<()> {
    let io = |source| MetadataError::Io {
        op: "fsync directory",
        path: dir.to_path_buf(),
        source,
    };
    File::open(dir).map_err(io)?.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn topic(name: &str) -> MetadataRecord {
        MetadataRecord::Topic {
            name: name.into(),
            topic_id: Uuid::from_u128(name.len() as u128),
        }
    }

    #[test]
    fn decode_round_trips_entries() -> Result<()> {
        let mut bytes = encode_entry(0, &[topic("a")])?;
        bytes.extend(encode_entry(1, &[topic("bb"), topic("ccc")])?);
        let (entries, len, problem) = decode_entries(&bytes);
        assert_eq!(problem, None);
        assert_eq!(len, bytes.len());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].offset, 1);
        assert_eq!(entries[1].records, vec![topic("bb"), topic("ccc")]);
        Ok(())
    }

    #[test]
    fn decode_stops_at_torn_header_and_payload() -> Result<()> {
        let first = encode_entry(0, &[topic("a")])?;
        let second = encode_entry(1, &[topic("bb")])?;
        for cut in [
            1,
            ENTRY_HEADER_BYTES - 1,
            ENTRY_HEADER_BYTES + 1,
            second.len() - 1,
        ] {
            let mut bytes = first.clone();
            bytes.extend_from_slice(&second[..cut]);
            let (entries, len, problem) = decode_entries(&bytes);
            assert_eq!(entries.len(), 1, "cut at {cut}");
            assert_eq!(len, first.len());
            assert!(problem.is_some());
        }
        Ok(())
    }

    #[test]
    fn decode_rejects_wrong_offset_and_huge_length() -> Result<()> {
        let bytes = encode_entry(5, &[topic("a")])?;
        let (entries, len, problem) = decode_entries(&bytes);
        assert!(entries.is_empty());
        assert_eq!(len, 0);
        assert_eq!(problem.as_deref(), Some("offset 5 where 0 was expected"));

        let mut bytes = encode_entry(0, &[topic("a")])?;
        bytes[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        let (entries, _, problem) = decode_entries(&bytes);
        assert!(entries.is_empty());
        assert!(problem.is_some_and(|p| p.contains("too large")));
        Ok(())
    }

    #[test]
    fn crc_checked_json_garbage_is_rejected() {
        let payload = b"not json";
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0i64.to_be_bytes());
        bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
        bytes.extend_from_slice(payload);
        let (entries, len, problem) = decode_entries(&bytes);
        assert!(entries.is_empty());
        assert_eq!(len, 0);
        assert!(problem.is_some_and(|p| p.contains("undecodable")));
    }

    #[test]
    fn append_then_reopen() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|source| MetadataError::Io {
            op: "tempdir",
            path: PathBuf::new(),
            source,
        })?;
        let (mut log, entries) = MetadataLog::open(dir.path())?;
        assert!(entries.is_empty());
        assert_eq!(log.append(&[])?, -1);
        assert_eq!(log.append(&[topic("a")])?, 0);
        assert_eq!(log.append(&[topic("bb"), topic("ccc")])?, 1);
        assert_eq!(log.next_offset(), 2);
        drop(log);
        let (log, entries) = MetadataLog::open(dir.path())?;
        assert_eq!(log.next_offset(), 2);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].records, vec![topic("a")]);
        Ok(())
    }
}
