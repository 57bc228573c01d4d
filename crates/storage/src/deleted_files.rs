//! Delayed deletion of segment files, as Kafka's `file.delete.delay.ms`: a segment dropped by
//! retention (or DeleteRecords) or replaced by the cleaner has its files renamed to
//! `<name>.deleted` at once, under the partition lock, and removed from the disk
//! `file.delete.delay.ms` later by a background sweep ([`DeletedFileSweeper`], driven by the
//! broker's retention task). [`crate::Log::open`] removes any `.deleted` file left by a
//! previous run, since nothing can be reading it any more.
//!
//! # Why Weir does not need the delay for correctness (on Linux)
//!
//! Kafka delays the unlink because its readers may still be using a segment through state
//! that deletion invalidates: index files are memory-mapped and the mapping is closed when the
//! segment is deleted, so an index lookup racing with deletion could touch an unmapped buffer,
//! and on Windows an open file cannot be deleted at all. Weir's readers never hold such state:
//! [`crate::Log::read`] runs under the partition lock and returns a [`crate::ReadSlice`] that
//! holds its own `Arc<File>` of the segment's `.log` (opened when the segment was), the
//! broker's zero-copy path (`crates/broker/src/zero_copy.rs`) gives that descriptor to
//! `sendfile`, index lookups are `pread`s on descriptors under the same lock, and the cleaner
//! opens the segments it reads while planning, under the lock too. No reader opens a segment
//! by its path after the lock is released. On Linux (and any POSIX system), an unlinked or
//! renamed file stays fully readable through descriptors opened before, until the last one is
//! closed, so a fetch that has its `ReadSlice` finishes its `sendfile` whatever happens to the
//! name. Retention's own test (`readers_keep_reading_deleted_segments`) checks exactly that.
//!
//! The delay is kept for what it gives besides: Kafka's on-disk behaviour (an operator sees
//! the `.deleted` files for a minute, tools that list segments skip them), and the freeing of
//! a large file's blocks happens later, on the sweep, rather than right after retention.
//! `file.delete.delay.ms=0` removes the files as soon as the partition lock is released.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::StorageError;
use crate::segment::file_name;

/// Suffix of a file waiting for removal.
pub const DELETED_SUFFIX: &str = ".deleted";

/// Extensions of a segment's files.
const SEGMENT_EXTENSIONS: [&str; 4] = ["log", "index", "timeindex", "txnindex"];

/// Renames the files of the segment based at `base` in `dir` (those that exist) to
/// `<name>.deleted`, replacing any older file of that name. Returns the new paths.
pub(crate) fn rename_segment_to_deleted(
    dir: &Path,
    base: i64,
) -> Result<Vec<PathBuf>, StorageError> {
    let mut renamed = Vec::with_capacity(SEGMENT_EXTENSIONS.len());
    for ext in SEGMENT_EXTENSIONS {
        let from = dir.join(file_name(base, ext));
        let to = dir.join(format!("{}{DELETED_SUFFIX}", file_name(base, ext)));
        match std::fs::rename(&from, &to) {
            Ok(()) => renamed.push(to),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StorageError::io("rename segment file to .deleted", &from)(
                    e,
                ))
            }
        }
    }
    Ok(renamed)
}

/// Removes `paths`, ignoring those already gone. Tries them all; returns the first error.
pub fn remove_files(paths: &[PathBuf]) -> Result<(), StorageError> {
    let mut first_error = None;
    for path in paths {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "failed to delete file");
                first_error.get_or_insert(StorageError::io("delete file", path)(e));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Removes `.deleted` files once they have waited `file.delete.delay.ms`.
///
/// The wait is counted from when a sweep first saw the file (the sweeper's memory, not a file
/// timestamp: a rename keeps the file's modification time, and whether it updates the change
/// time depends on the filesystem). A file is thus removed between `delay` and
/// `delay + one sweep interval` after its rename; files of a directory that disappeared are
/// forgotten.
#[derive(Debug, Default)]
pub struct DeletedFileSweeper {
    first_seen_ms: HashMap<PathBuf, i64>,
}

impl DeletedFileSweeper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sweeps the partition directories `dirs`, each with its `file.delete.delay.ms`: removes
    /// the `.deleted` files first seen at least that long before `now_ms`. Returns the number
    /// of files removed. A directory that cannot be read is reported and skipped.
    pub fn sweep(&mut self, dirs: &[(PathBuf, i64)], now_ms: i64) -> usize {
        let mut seen = HashMap::with_capacity(self.first_seen_ms.len());
        let mut due = Vec::new();
        for (dir, delay_ms) in dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot list for .deleted files");
                    continue;
                }
            };
            for entry in entries.flatten() {
                let is_deleted = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.ends_with(DELETED_SUFFIX));
                if !is_deleted {
                    continue;
                }
                let path = entry.path();
                let first = self.first_seen_ms.get(&path).copied().unwrap_or(now_ms);
                if now_ms.saturating_sub(first) >= *delay_ms {
                    due.push(path);
                } else {
                    seen.insert(path, first);
                }
            }
        }
        self.first_seen_ms = seen;
        let removed = due.len();
        if removed > 0 {
            tracing::debug!(files = removed, "removing .deleted files");
        }
        // Errors are logged per file; a file that could not go is seen again next sweep.
        let _ = remove_files(&due);
        removed
    }

    /// Number of `.deleted` files waiting.
    pub fn pending(&self) -> usize {
        self.first_seen_ms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_go_after_the_delay_counted_from_first_sight() {
        let dir = tempfile::tempdir().unwrap();
        for ext in ["log", "index", "timeindex"] {
            std::fs::write(dir.path().join(file_name(7, ext)), b"x").unwrap();
        }
        std::fs::write(dir.path().join(file_name(9, "log")), b"kept").unwrap();
        let renamed = rename_segment_to_deleted(dir.path(), 7).unwrap();
        assert_eq!(renamed.len(), 3);
        assert!(renamed.iter().all(|p| p.exists()));
        assert!(!dir.path().join(file_name(7, "log")).exists());

        let dirs = vec![(dir.path().to_path_buf(), 1_000)];
        let mut sweeper = DeletedFileSweeper::new();
        assert_eq!(sweeper.sweep(&dirs, 10_000), 0);
        assert_eq!(sweeper.pending(), 3);
        assert_eq!(sweeper.sweep(&dirs, 10_999), 0);
        assert!(renamed.iter().all(|p| p.exists()));
        assert_eq!(sweeper.sweep(&dirs, 11_000), 3);
        assert!(renamed.iter().all(|p| !p.exists()));
        assert_eq!(sweeper.pending(), 0);
        assert!(dir.path().join(file_name(9, "log")).exists());
    }

    #[test]
    fn zero_delay_removes_on_the_first_sweep_and_gone_dirs_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file_name(0, "log")), b"x").unwrap();
        rename_segment_to_deleted(dir.path(), 0).unwrap();
        let mut sweeper = DeletedFileSweeper::new();
        assert_eq!(sweeper.sweep(&[(dir.path().to_path_buf(), 0)], 5), 1);

        std::fs::write(dir.path().join(file_name(1, "log")), b"x").unwrap();
        rename_segment_to_deleted(dir.path(), 1).unwrap();
        assert_eq!(sweeper.sweep(&[(dir.path().to_path_buf(), 60_000)], 5), 0);
        assert_eq!(sweeper.pending(), 1);
        let gone = dir.path().to_path_buf();
        drop(dir);
        assert_eq!(sweeper.sweep(&[(gone, 60_000)], 6), 0);
        assert_eq!(sweeper.pending(), 0);
    }
}
