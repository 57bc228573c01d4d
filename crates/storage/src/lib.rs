//! Weir's storage engine: how a partition's records live on disk.
//!
//! # What this crate owns
//!
//! - **Segments** ([`LogSegment`]): a `.log` file of Kafka record batches v2, stored byte for
//!   byte as producers sent them with only the base offset assigned, plus two sparse indexes,
//!   [`OffsetIndex`] (`.index`) and [`TimeIndex`] (`.timeindex`), in Kafka's file formats and
//!   names (`00000000000000000000.log`, ...).
//! - **The partition log** ([`Log`]): offset assignment on append, segment rolling
//!   (`segment.bytes`, `segment.ms`, `segment.index.bytes`), reads of whole batches as file
//!   ranges for `sendfile` ([`ReadSlice`]), timestamp lookups, fsync policy (`flush.messages`,
//!   `flush.ms`) and the recovery point.
//! - **Recovery**: on [`Log::open`], segments past the recovery point are re-read, their CRCs
//!   checked, a torn or corrupt tail truncated and their indexes rebuilt.
//! - **Retention** (`retention.rs`, [`RetentionPolicy`]): deleting whole old segments by
//!   `retention.ms` / `retention.bytes`, and moving the log start offset (DeleteRecords).
//! - **Compaction** (`cleaner.rs`, [`CleanPlan`]): the log cleaner of `cleanup.policy=compact`
//!   topics, keeping the latest record per key in closed segments, swapped in atomically.
//! - **Checkpoints** ([`OffsetCheckpoint`]): Kafka's `recovery-point-offset-checkpoint` and
//!   friends, replaced atomically.
//!
//! # What it does not own
//!
//! - Validation of client input beyond batch structure and CRC (record counts, sizes,
//!   compression): the broker does it before calling [`Log::append`]. Idempotent producers'
//!   sequences and epochs are checked here, in [`Log::append`], against the partition's
//!   [`ProducerStateManager`].
//! - Replication, high watermark, leader epochs: the replication crate; it passes the high
//!   watermark to [`Log::read`] as `max_offset`.
//!
//! # Layout
//!
//! - `config.rs`: [`LogConfig`], Kafka's per-topic log settings.
//! - `log.rs`: [`Log`], [`AppendInfo`], recovery of a directory.
//! - `segment.rs`: [`LogSegment`], recovery of one segment.
//! - `offset_index.rs`, `time_index.rs`: the sparse indexes.
//! - `read_slice.rs`: [`ReadSlice`], [`FetchData`].
//! - `retention.rs`: [`RetentionPolicy`], [`DeletedSegments`], the `impl Log` of retention.
//! - `deleted_files.rs`: `.deleted` files and their removal after `file.delete.delay.ms`
//!   ([`DeletedFileSweeper`]).
//! - `cleaner.rs`: [`CleanerConfig`], [`CleanPlan`], [`CleanedLog`], the `impl Log` of
//!   compaction and its swap protocol.
//! - `cleaner_codec.rs`: record-level access to batches (cleaner, `compression.type`).
//! - `offset_map.rs`: [`OffsetMap`], the cleaner's key -> offset map of bounded memory.
//! - `lz4_frame.rs`: the cleaner's LZ4 frame reader and writer (block by block).
//! - `producer_state.rs`: [`ProducerStateManager`], idempotent producers' sequences and epochs.
//! - `producer_snapshot.rs`: [`ProducerSnapshot`], its `.snapshot` files.
//! - `checkpoint.rs`: [`OffsetCheckpoint`].
//! - `txn_index.rs`: open and aborted transactions, the `.txnindex` files ([`AbortedTxn`]).
//! - `error.rs`: [`StorageError`].
//!
//! # Memory and I/O
//!
//! Everything is synchronous `std::fs` with positioned reads and writes (`pread`/`pwrite`);
//! async callers use a blocking thread. Index entries are never loaded into the heap: lookups
//! binary-search the index files, so memory stays bounded whatever the data size. The work per
//! append or read is per batch (header reads), never per record.

pub mod checkpoint;
pub mod cleaner;
pub mod cleaner_codec;
pub mod config;
pub mod deleted_files;
mod entry_file;
pub mod error;
pub mod log;
mod lz4_frame;
pub mod offset_index;
pub mod offset_map;
pub mod producer_snapshot;
pub mod producer_state;
pub mod read_slice;
pub mod retention;
pub mod segment;
pub mod throttler;
pub mod time_index;
pub mod txn_index;

#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use checkpoint::OffsetCheckpoint;
pub use cleaner::{CleanPlan, CleanedLog, CleanerConfig, CleanerStats};
pub use config::LogConfig;
pub use deleted_files::DeletedFileSweeper;
pub use error::StorageError;
pub use log::{AppendInfo, Log};
pub use offset_index::{OffsetIndex, OffsetPosition};
pub use offset_map::OffsetMap;
pub use producer_snapshot::ProducerSnapshot;
pub use producer_state::{ProducerStateEntry, ProducerStateManager};
pub use read_slice::{FetchData, ReadSlice};
pub use retention::{DeletedSegments, RetentionPolicy};
pub use segment::LogSegment;
pub use throttler::Throttler;
pub use time_index::{TimeIndex, TimestampOffset};
pub use txn_index::AbortedTxn;
