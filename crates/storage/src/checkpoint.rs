//! Kafka's offset checkpoint files.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::StorageError;

/// A file mapping `(topic, partition)` to an offset, as Kafka keeps them in each log directory
/// (`recovery-point-offset-checkpoint`, `replication-offset-checkpoint`,
/// `log-start-offset-checkpoint`).
///
/// # On-disk format
///
/// Text, same as Kafka's `OffsetCheckpointFile`, so files can move between Kafka and Weir:
///
/// ```text
/// 0                      <- format version
/// 2                      <- number of entries
/// orders 0 1234          <- <topic> <partition> <offset>, one per line
/// orders 1 998
/// ```
///
/// Writes are atomic: the content goes to `<path>.tmp`, which is fsynced, renamed over
/// `<path>`, and the directory fsynced; a crash leaves either the old or the new file (and
/// possibly a stray `.tmp`, which the next write replaces).
#[derive(Debug, Clone)]
pub struct OffsetCheckpoint {
    path: PathBuf,
}

const VERSION: i32 = 0;

impl OffsetCheckpoint {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the entries. A missing file is an empty checkpoint.
    pub fn read(&self) -> Result<HashMap<(String, i32), i64>, StorageError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(StorageError::io("read checkpoint", &self.path)(e)),
        };
        let corrupt = |line: usize, reason: String| StorageError::CorruptCheckpoint {
            path: self.path.clone(),
            line,
            reason,
        };
        let mut lines = text.lines();
        let version = lines.next().unwrap_or_default().trim();
        if version.parse::<i32>().ok() != Some(VERSION) {
            return Err(corrupt(1, format!("unsupported version {version:?}")));
        }
        let count_text = lines.next().unwrap_or_default().trim();
        let count: usize = count_text
            .parse()
            .map_err(|_| corrupt(2, format!("invalid entry count {count_text:?}")))?;
        let mut entries = HashMap::with_capacity(count.min(1 << 16));
        for (i, line) in lines.enumerate() {
            let line_no = i + 3;
            if line.trim().is_empty() {
                continue;
            }
            // Topic names cannot contain spaces; split from the right anyway.
            let mut fields = line.trim_end().rsplitn(3, ' ');
            let (Some(offset), Some(partition), Some(topic)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(corrupt(line_no, format!("expected 3 fields in {line:?}")));
            };
            let partition: i32 = partition
                .parse()
                .map_err(|_| corrupt(line_no, format!("invalid partition {partition:?}")))?;
            let offset: i64 = offset
                .parse()
                .map_err(|_| corrupt(line_no, format!("invalid offset {offset:?}")))?;
            entries.insert((topic.to_string(), partition), offset);
        }
        if entries.len() != count {
            return Err(corrupt(
                2,
                format!("header says {count} entries, file has {}", entries.len()),
            ));
        }
        Ok(entries)
    }

    /// Replaces the file atomically with `entries` (written sorted by topic and partition).
    pub fn write(&self, entries: &HashMap<(String, i32), i64>) -> Result<(), StorageError> {
        let mut sorted: Vec<_> = entries.iter().collect();
        sorted.sort_unstable();
        let mut text = format!("{VERSION}\n{}\n", sorted.len());
        for ((topic, partition), offset) in sorted {
            text.push_str(&format!("{topic} {partition} {offset}\n"));
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through `<path>.tmp`: write, fsync, rename, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(StorageError::io("create", &tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(StorageError::io("write", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(StorageError::io("rename into place", path))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io("fsync directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-point-offset-checkpoint");
        let cp = OffsetCheckpoint::new(&path);
        assert!(cp.read().unwrap().is_empty());
        let mut entries = HashMap::new();
        entries.insert(("orders".to_string(), 1), 998);
        entries.insert(("orders".to_string(), 0), 1234);
        entries.insert(("__consumer_offsets".to_string(), 42), 0);
        cp.write(&entries).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n3\n__consumer_offsets 42 0\norders 0 1234\norders 1 998\n"
        );
        assert_eq!(cp.read().unwrap(), entries);
        assert!(!dir
            .path()
            .join("recovery-point-offset-checkpoint.tmp")
            .exists());
    }

    #[test]
    fn corrupt_files_are_reported_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        let cp = OffsetCheckpoint::new(&path);
        for (text, bad_line) in [
            ("1\n0\n", 1),
            ("0\nx\n", 2),
            ("0\n1\nt 0\n", 3),
            ("0\n1\nt zero 5\n", 3),
            ("0\n2\nt 0 5\n", 2),
            ("", 1),
        ] {
            std::fs::write(&path, text).unwrap();
            match cp.read() {
                Err(StorageError::CorruptCheckpoint { line, .. }) => {
                    assert_eq!(line, bad_line, "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
