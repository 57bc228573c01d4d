//! A file of fixed-size entries, the storage under both sparse indexes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::StorageError;

/// A flat array of `N`-byte entries with no header, read and written with `pread`/`pwrite`.
///
/// Its length is always `entries * N` (no preallocation). Nothing but the entry count is kept
/// in memory, so an index of any size costs a bounded heap; the page cache holds hot pages.
/// `what` names the file in errors ("offset index", "time index").
#[derive(Debug)]
pub(crate) struct EntryFile<const N: usize> {
    path: PathBuf,
    file: File,
    entries: u64,
    what: &'static str,
}

impl<const N: usize> EntryFile<N> {
    const ENTRY_SIZE: u64 = N as u64;

    /// Creates an empty file, replacing any file at `path`.
    pub(crate) fn create(path: &Path, what: &'static str) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(StorageError::io(what, path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            entries: 0,
            what,
        })
    }

    /// Opens an existing file. `Ok(None)` when it is missing or its length is not a whole
    /// number of entries: the caller rebuilds it.
    pub(crate) fn open(path: &Path, what: &'static str) -> Result<Option<Self>, StorageError> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(what, path)(e)),
        };
        let len = file.metadata().map_err(StorageError::io(what, path))?.len();
        if len % Self::ENTRY_SIZE != 0 {
            return Ok(None);
        }
        Ok(Some(Self {
            path: path.to_path_buf(),
            file,
            entries: len / Self::ENTRY_SIZE,
            what,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    pub(crate) fn size_bytes(&self) -> u64 {
        self.entries * Self::ENTRY_SIZE
    }

    /// Reads entry `i` (which must be `< entries`).
    pub(crate) fn read(&self, i: u64) -> Result<[u8; N], StorageError> {
        let mut buf = [0u8; N];
        self.file
            .read_exact_at(&mut buf, i * Self::ENTRY_SIZE)
            .map_err(StorageError::io(self.what, &self.path))?;
        Ok(buf)
    }

    pub(crate) fn append(&mut self, entry: &[u8; N]) -> Result<(), StorageError> {
        self.file
            .write_all_at(entry, self.entries * Self::ENTRY_SIZE)
            .map_err(StorageError::io(self.what, &self.path))?;
        self.entries += 1;
        Ok(())
    }

    /// Drops every entry from `n` on (no-op if there are no more than `n`).
    pub(crate) fn truncate(&mut self, n: u64) -> Result<(), StorageError> {
        if n >= self.entries {
            return Ok(());
        }
        self.file
            .set_len(n * Self::ENTRY_SIZE)
            .map_err(StorageError::io(self.what, &self.path))?;
        self.entries = n;
        Ok(())
    }

    pub(crate) fn sync(&self) -> Result<(), StorageError> {
        self.file
            .sync_data()
            .map_err(StorageError::io(self.what, &self.path))
    }
}
