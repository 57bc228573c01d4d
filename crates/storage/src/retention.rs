//! Retention: deleting whole old segments and moving the log start offset, as Kafka's
//! `UnifiedLog.deleteOldSegments` does.
//!
//! # Rules (Kafka's)
//!
//! A retention pass walks the segments oldest first and stops at the first one that must be
//! kept; it never looks past a kept segment. Three rules run in this order, each on what the
//! previous one left:
//!
//! 1. **Time** (`retention.ms >= 0`, only with `cleanup.policy` containing `delete`): a segment
//!    goes when `now - largest timestamp > retention.ms`. The largest timestamp is the largest
//!    batch max timestamp in the segment, or the `.log` file's modification time when the
//!    segment has no timestamp (`-1`), as in Kafka's `LogSegment.largestTimestamp`.
//! 2. **Size** (`retention.bytes >= 0`, same condition): with `excess = size - retention.bytes`,
//!    the oldest segments go while each fits in what is left of `excess`, so the log never
//!    drops below `retention.bytes`.
//! 3. **Log start offset** (always, whatever the cleanup policy): a segment goes when the next
//!    segment's base offset is at or below the log start offset (after DeleteRecords, or a
//!    start offset restored from `log-start-offset-checkpoint`).
//!
//! A segment is only eligible when everything in it is below the high watermark, and an empty
//! active segment is never deleted. When every segment, the active one included, is to go,
//! the log first rolls a new empty active segment at the log end offset (Kafka does the same),
//! so a partition that receives nothing still loses its expired data.
//!
//! The log start offset then moves to the base offset of the first remaining segment (or
//! stays where DeleteRecords put it, if that is further).
//!
//! # Not pausing produce and fetch
//!
//! Deciding and dropping segments from the in-memory map is done under the partition's lock,
//! and so is renaming their files to `<name>.deleted` (metadata operations, as Kafka's
//! `asyncDeleteSegment`); nothing else touches a file except a roll. The files are removed
//! `file.delete.delay.ms` later by the broker's sweep (see `deleted_files.rs`, which also
//! explains why the delay is not needed for correctness: a fetch already holding a
//! [`crate::ReadSlice`] keeps its open file). With a delay of 0 they are removed by
//! [`DeletedSegments::delete_files`], outside the lock. A crash before the renames leaves the
//! segments on disk: on restart they are opened again (with the log start offset from
//! `log-start-offset-checkpoint` if it was written meanwhile) and the next retention pass
//! deletes them again; a crash after them leaves `.deleted` files, which [`Log::open`]
//! removes.

use std::time::UNIX_EPOCH;

use std::path::PathBuf;

use crate::deleted_files::{remove_files, rename_segment_to_deleted};
use crate::error::StorageError;
use crate::log::Log;
use crate::segment::{file_name, LogSegment};

/// A topic's retention settings, in Kafka's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `retention.ms`; negative means no time limit.
    pub retention_ms: i64,
    /// `retention.bytes`; negative means no size limit.
    pub retention_bytes: i64,
    /// `cleanup.policy` contains `delete`. Without it only the log start offset rule applies.
    pub delete: bool,
}

impl Default for RetentionPolicy {
    /// Kafka's defaults: 7 days, no size limit, `cleanup.policy=delete`.
    fn default() -> Self {
        Self {
            retention_ms: 604_800_000,
            retention_bytes: -1,
            delete: true,
        }
    }
}

/// Segments dropped from a log. Their files were renamed to `.deleted`; those of logs
/// without a `file.delete.delay.ms` are removed by [`DeletedSegments::delete_files`], the
/// others by the broker's sweep once the delay has passed.
#[derive(Debug, Default)]
#[must_use = "the files of segments without a delete delay stay on disk until delete_files is called"]
pub struct DeletedSegments {
    segments: Vec<LogSegment>,
    /// Files to remove now (no delay, or a rename that failed).
    remove_now: Vec<PathBuf>,
}

impl DeletedSegments {
    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Total size of their `.log` files.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(LogSegment::size).sum()
    }

    /// Base offsets, oldest first.
    pub fn base_offsets(&self) -> Vec<i64> {
        self.segments.iter().map(LogSegment::base_offset).collect()
    }

    /// Adds the segments of `other`.
    pub fn extend(&mut self, other: DeletedSegments) {
        self.segments.extend(other.segments);
        self.remove_now.extend(other.remove_now);
    }

    /// Closes the segments and removes the files that have no delete delay. Call without
    /// holding the log's lock. Tries every file and returns the first error.
    pub fn delete_files(self) -> Result<(), StorageError> {
        drop(self.segments);
        remove_files(&self.remove_now)
    }
}

impl Log {
    /// Runs the three retention rules (see the module docs) and drops the deletable segments
    /// from the log, returning them for [`DeletedSegments::delete_files`]. `high_watermark`
    /// bounds what may be deleted: only segments wholly below it.
    pub fn delete_old_segments(
        &mut self,
        policy: &RetentionPolicy,
        now_ms: i64,
        high_watermark: i64,
    ) -> Result<DeletedSegments, StorageError> {
        let mut deleted = DeletedSegments::default();
        if policy.delete && policy.retention_ms >= 0 {
            let retention_ms = policy.retention_ms;
            deleted.extend(
                self.delete_prefix(high_watermark, "retention.ms", |segment, _| {
                    Ok(now_ms.saturating_sub(largest_timestamp(segment)?) > retention_ms)
                })?,
            );
        }
        if policy.delete && policy.retention_bytes >= 0 {
            let size = i64::try_from(self.size_bytes).unwrap_or(i64::MAX);
            let mut excess = size - policy.retention_bytes;
            if excess > 0 {
                deleted.extend(self.delete_prefix(
                    high_watermark,
                    "retention.bytes",
                    |segment, _| {
                        let size = i64::try_from(segment.size()).unwrap_or(i64::MAX);
                        let delete = excess - size >= 0;
                        if delete {
                            excess -= size;
                        }
                        Ok(delete)
                    },
                )?);
            }
        }
        deleted.extend(self.delete_segments_below_log_start()?);
        Ok(deleted)
    }

    /// Drops the segments that lie wholly below the log start offset (rule 3).
    pub fn delete_segments_below_log_start(&mut self) -> Result<DeletedSegments, StorageError> {
        let start = self.log_start_offset;
        self.delete_prefix(i64::MAX, "log start offset", |_, next| {
            Ok(next.is_some_and(|n| n.base_offset() <= start))
        })
    }

    /// Moves the log start offset forward to `offset` (DeleteRecords). An offset at or below
    /// the current start changes nothing; one above `high_watermark` is out of range.
    /// Returns whether the start moved. Segments below it are not dropped here: see
    /// [`Log::delete_segments_below_log_start`].
    pub fn maybe_increment_log_start_offset(
        &mut self,
        offset: i64,
        high_watermark: i64,
    ) -> Result<bool, StorageError> {
        if offset < 0 || offset > high_watermark.min(self.log_end_offset) {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start: self.log_start_offset,
                log_end: self.log_end_offset,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(false);
        }
        self.set_log_start_offset(offset);
        Ok(true)
    }

    /// Applies a log start offset read from `log-start-offset-checkpoint` after
    /// [`Log::open`]: clamped to `[first segment base, log end offset]`, never moving back.
    pub fn restore_log_start_offset(&mut self, offset: i64) {
        let offset = offset.min(self.log_end_offset);
        if offset > self.log_start_offset {
            self.set_log_start_offset(offset);
        }
    }

    fn set_log_start_offset(&mut self, offset: i64) {
        tracing::debug!(
            dir = %self.dir.display(),
            from = self.log_start_offset,
            to = offset,
            "log start offset moves"
        );
        self.log_start_offset = offset;
        // Kafka too: what lies below the log start needs no recovery.
        self.recovery_point = self.recovery_point.max(offset);
        // Aborted transactions wholly below it concern no reader any more.
        self.txns.truncate_below(offset);
    }

    /// Drops the longest prefix of segments for which `predicate(segment, next segment)`
    /// holds, among segments wholly below `high_watermark`, never an empty active segment.
    /// Rolls first if the active segment is to go.
    fn delete_prefix(
        &mut self,
        high_watermark: i64,
        reason: &'static str,
        mut predicate: impl FnMut(&LogSegment, Option<&LogSegment>) -> Result<bool, StorageError>,
    ) -> Result<DeletedSegments, StorageError> {
        let mut count = 0usize;
        let mut iter = self.segments.values().peekable();
        while let Some(segment) = iter.next() {
            let next = iter.peek().copied();
            let upper_bound = next.map_or(self.log_end_offset, LogSegment::base_offset);
            let last_and_empty = next.is_none() && segment.size() == 0;
            if last_and_empty || upper_bound > high_watermark || !predicate(segment, next)? {
                break;
            }
            count += 1;
        }
        if count == 0 {
            return Ok(DeletedSegments::default());
        }
        if count == self.segments.len() {
            self.roll_for_retention()?;
        }
        let mut segments = Vec::with_capacity(count);
        for _ in 0..count {
            if let Some((_, segment)) = self.segments.pop_first() {
                self.size_bytes = self.size_bytes.saturating_sub(segment.size());
                segments.push(segment);
            }
        }
        let first_base = self
            .segments
            .keys()
            .next()
            .copied()
            .unwrap_or(self.log_end_offset);
        tracing::info!(
            dir = %self.dir.display(),
            reason,
            segments = segments.len(),
            bytes = segments.iter().map(LogSegment::size).sum::<u64>(),
            new_log_start_offset = first_base.max(self.log_start_offset),
            "deleting old segments"
        );
        if first_base > self.log_start_offset {
            self.set_log_start_offset(first_base);
        }
        let remove_now = self.rename_deleted_segments(&segments);
        Ok(DeletedSegments {
            segments,
            remove_now,
        })
    }

    /// Renames the dropped segments' files to `.deleted` (see the module docs). Returns the
    /// files to remove at once: all of them without `file.delete.delay.ms`, and the original
    /// files of a segment whose rename failed (removed at once, as before the delay existed).
    fn rename_deleted_segments(&self, segments: &[LogSegment]) -> Vec<PathBuf> {
        let delay = self.config().file_delete_delay_ms;
        let mut remove_now = Vec::new();
        for segment in segments {
            let base = segment.base_offset();
            match rename_segment_to_deleted(&self.dir, base) {
                Ok(renamed) if delay <= 0 => remove_now.extend(renamed),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(base_offset = base, error = %e, "cannot rename segment to .deleted; deleting it now");
                    remove_now.extend(
                        ["log", "index", "timeindex", "txnindex"]
                            .map(|ext| self.dir.join(file_name(base, ext))),
                    );
                    // A partial rename left some `.deleted` files: those go too.
                    remove_now.extend(
                        ["log", "index", "timeindex", "txnindex"]
                            .map(|ext| self.dir.join(format!("{}.deleted", file_name(base, ext)))),
                    );
                }
            }
        }
        remove_now
    }

    /// Rolls to a new empty active segment at the log end offset, so that the current active
    /// one can be deleted.
    fn roll_for_retention(&mut self) -> Result<(), StorageError> {
        let base = self.log_end_offset;
        if let Some(active) = self.segments.values_mut().next_back() {
            active.on_become_inactive()?;
        }
        tracing::debug!(dir = %self.dir.display(), base_offset = base, "rolling segment for retention");
        let segment = LogSegment::create(&self.dir, base)?;
        self.segments.insert(base, segment);
        self.dir_dirty = true;
        Ok(())
    }
}

/// Kafka's `LogSegment.largestTimestamp`: the largest batch timestamp, or the `.log` file's
/// modification time when the segment has no timestamps.
fn largest_timestamp(segment: &LogSegment) -> Result<i64, StorageError> {
    if let Some(m) = segment.max_timestamp().filter(|m| m.timestamp >= 0) {
        return Ok(m.timestamp);
    }
    let path = segment.log_path();
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(StorageError::io("stat segment", path))?;
    Ok(modified
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::batch_of_len;
    use crate::LogConfig;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 1_700_000_000_000;

    /// A log whose segments each hold `per_segment` batches of 100 bytes (1 record each).
    fn log_with(dir: &std::path::Path, timestamps: &[i64], per_segment: u64) -> Log {
        let config = LogConfig {
            segment_bytes: 100 * per_segment,
            ..LogConfig::default()
        };
        let mut log = Log::open(dir, config, 0).unwrap();
        for &ts in timestamps {
            let b = batch_of_len(100, ts);
            log.append(&b, NOW).unwrap();
        }
        log
    }

    fn policy(retention_ms: i64, retention_bytes: i64) -> RetentionPolicy {
        RetentionPolicy {
            retention_ms,
            retention_bytes,
            delete: true,
        }
    }

    fn files(dir: &std::path::Path, ext: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(ext))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn deletes_by_time_up_to_first_young_segment() {
        let dir = tempfile::tempdir().unwrap();
        // Segments of 2 batches: [old, old] [old, young] [old, old] [young]
        let old = NOW - 3 * DAY;
        let ts = [old, old, old, NOW, old, old, NOW];
        let mut log = log_with(dir.path(), &ts, 2);
        assert_eq!(log.segment_base_offsets(), vec![0, 2, 4, 6]);
        let hw = log.log_end_offset();
        let deleted = log.delete_old_segments(&policy(DAY, -1), NOW, hw).unwrap();
        // The second segment is young, so the third (old) stays too.
        assert_eq!(deleted.base_offsets(), vec![0]);
        assert_eq!(deleted.bytes(), 200);
        deleted.delete_files().unwrap();
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.segment_base_offsets(), vec![2, 4, 6]);
        assert_eq!(log.size_bytes(), 500);
        assert_eq!(files(dir.path(), ".log").len(), 3);
        assert!(!dir.path().join("00000000000000000000.index").exists());
        assert!(matches!(
            log.read(1, 1000, true, hw),
            Err(StorageError::OffsetOutOfRange { log_start: 2, .. })
        ));
        assert_eq!(
            log.read(2, 1000, true, hw).unwrap().first_offset_in_slice,
            2
        );
        // Unlimited retention deletes nothing.
        let none = log.delete_old_segments(&policy(-1, -1), NOW, hw).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn expired_active_segment_is_rolled_then_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let old = NOW - 3 * DAY;
        let mut log = log_with(dir.path(), &[old, old, old], 2);
        assert_eq!(log.segment_base_offsets(), vec![0, 2]);
        let deleted = log.delete_old_segments(&policy(DAY, -1), NOW, 3).unwrap();
        assert_eq!(deleted.base_offsets(), vec![0, 2]);
        deleted.delete_files().unwrap();
        assert_eq!(log.segment_base_offsets(), vec![3]);
        assert_eq!(log.log_start_offset(), 3);
        assert_eq!(log.log_end_offset(), 3);
        assert_eq!(log.size_bytes(), 0);
        assert_eq!(files(dir.path(), ".log"), vec!["00000000000000000003.log"]);
        // The empty active segment is never deleted; appends continue at 3.
        assert!(log
            .delete_old_segments(&policy(0, 0), NOW + DAY, 3)
            .unwrap()
            .is_empty());
        let b = batch_of_len(100, NOW);
        assert_eq!(log.append(&b, NOW).unwrap().first_offset, 3);
    }

    #[test]
    fn nothing_at_or_above_the_high_watermark_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let old = NOW - 3 * DAY;
        let mut log = log_with(dir.path(), &[old; 5], 2);
        assert_eq!(log.segment_base_offsets(), vec![0, 2, 4]);
        // hw 3: only the first segment (offsets 0..2) lies wholly below it.
        let deleted = log.delete_old_segments(&policy(DAY, -1), NOW, 3).unwrap();
        assert_eq!(deleted.base_offsets(), vec![0]);
        deleted.delete_files().unwrap();
    }

    #[test]
    fn deletes_by_size_keeping_at_least_retention_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_with(dir.path(), &[NOW; 10], 2);
        assert_eq!(log.segment_base_offsets(), vec![0, 2, 4, 6, 8]);
        assert_eq!(log.size_bytes(), 1000);
        // 1000 - 450 = 550 excess: two segments of 200 fit, a third would not.
        let deleted = log.delete_old_segments(&policy(-1, 450), NOW, 10).unwrap();
        assert_eq!(deleted.base_offsets(), vec![0, 2]);
        deleted.delete_files().unwrap();
        assert_eq!(log.size_bytes(), 600);
        assert_eq!(log.log_start_offset(), 4);
        // Exactly at the limit: nothing more.
        let deleted = log.delete_old_segments(&policy(-1, 600), NOW, 10).unwrap();
        assert!(deleted.is_empty());
        // retention.bytes=0 deletes everything, rolling the active segment.
        let deleted = log.delete_old_segments(&policy(-1, 0), NOW, 10).unwrap();
        assert_eq!(deleted.base_offsets(), vec![4, 6, 8]);
        deleted.delete_files().unwrap();
        assert_eq!(log.segment_base_offsets(), vec![10]);
        assert_eq!(log.log_start_offset(), 10);
    }

    #[test]
    fn compact_only_policy_keeps_everything_but_below_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let old = NOW - 3 * DAY;
        let mut log = log_with(dir.path(), &[old; 6], 2);
        let compact = RetentionPolicy {
            delete: false,
            ..policy(0, 0)
        };
        assert!(log
            .delete_old_segments(&compact, NOW, 6)
            .unwrap()
            .is_empty());
        assert!(log.maybe_increment_log_start_offset(3, 6).unwrap());
        let deleted = log.delete_old_segments(&compact, NOW, 6).unwrap();
        assert_eq!(deleted.base_offsets(), vec![0]);
        deleted.delete_files().unwrap();
        assert_eq!(log.log_start_offset(), 3);
        assert_eq!(log.segment_base_offsets(), vec![2, 4]);
    }

    #[test]
    fn delete_records_moves_start_within_a_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_with(dir.path(), &[NOW; 6], 2);
        let hw = 5;
        assert!(matches!(
            log.maybe_increment_log_start_offset(6, hw),
            Err(StorageError::OffsetOutOfRange { offset: 6, .. })
        ));
        assert!(log.maybe_increment_log_start_offset(-3, hw).is_err());
        assert!(log.maybe_increment_log_start_offset(3, hw).unwrap());
        // Lower offsets change nothing (Kafka answers with the current low watermark).
        assert!(!log.maybe_increment_log_start_offset(1, hw).unwrap());
        assert_eq!(log.log_start_offset(), 3);
        assert!(log.recovery_point() >= 3);
        let deleted = log.delete_segments_below_log_start().unwrap();
        assert_eq!(deleted.base_offsets(), vec![0]);
        deleted.delete_files().unwrap();
        assert!(matches!(
            log.read(2, 1000, true, hw),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
        // Offset 3 is in the middle of segment [2, 4): the read starts at its batch.
        assert_eq!(
            log.read(3, 1000, true, hw).unwrap().first_offset_in_slice,
            3
        );
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((3, NOW)));
        // Up to the high watermark itself is allowed.
        assert!(log.maybe_increment_log_start_offset(5, hw).unwrap());
        assert_eq!(
            log.read(5, 1000, true, hw).unwrap().slice.map(|s| s.len),
            None
        );
    }

    #[test]
    fn restored_start_offset_survives_reopen_and_is_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_with(dir.path(), &[NOW; 6], 2);
        log.maybe_increment_log_start_offset(3, 6).unwrap();
        let start = log.log_start_offset();
        log.close().unwrap();
        // Segments below the start are still on disk (as after a crash before unlinking).
        let mut log = Log::open(dir.path(), LogConfig::default(), 6).unwrap();
        assert_eq!(log.log_start_offset(), 0);
        log.restore_log_start_offset(start);
        assert_eq!(log.log_start_offset(), 3);
        log.restore_log_start_offset(1);
        assert_eq!(log.log_start_offset(), 3, "never moves back");
        let deleted = log.delete_old_segments(&policy(-1, -1), NOW, 6).unwrap();
        assert_eq!(deleted.base_offsets(), vec![0]);
        deleted.delete_files().unwrap();
        log.restore_log_start_offset(100);
        assert_eq!(log.log_start_offset(), 6, "clamped to the log end");
    }

    #[test]
    fn segment_without_timestamps_uses_file_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_with(dir.path(), &[-1, -1, -1], 2);
        let real_now = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        // Just written: not older than a day.
        assert!(log
            .delete_old_segments(&policy(DAY, -1), real_now, 3)
            .unwrap()
            .is_empty());
        let deleted = log
            .delete_old_segments(&policy(DAY, -1), real_now + 2 * DAY, 3)
            .unwrap();
        assert_eq!(deleted.base_offsets(), vec![0, 2]);
        deleted.delete_files().unwrap();
    }

    #[test]
    fn deleted_segments_wait_as_dot_deleted_files_unless_no_delay() {
        let dir = tempfile::tempdir().unwrap();
        let old = NOW - 3 * DAY;
        let mut log = log_with(dir.path(), &[old, old, old, NOW], 2);
        let deleted = log.delete_old_segments(&policy(DAY, -1), NOW, 4).unwrap();
        assert_eq!(deleted.base_offsets(), vec![0]);
        deleted.delete_files().unwrap();
        // Default file.delete.delay.ms (60 s): renamed, left for the sweep.
        assert_eq!(
            files(dir.path(), ".deleted"),
            vec![
                "00000000000000000000.index.deleted",
                "00000000000000000000.log.deleted",
                "00000000000000000000.timeindex.deleted"
            ]
        );
        assert!(!dir.path().join("00000000000000000000.log").exists());

        // No delay: removed by delete_files.
        log.update_config(LogConfig {
            file_delete_delay_ms: 0,
            ..log.config().clone()
        });
        let deleted = log.delete_old_segments(&policy(-1, 0), NOW, 4).unwrap();
        assert_eq!(deleted.base_offsets(), vec![2]);
        assert_eq!(
            files(dir.path(), ".deleted").len(),
            6,
            "renamed under the lock"
        );
        deleted.delete_files().unwrap();
        assert_eq!(files(dir.path(), ".deleted").len(), 3);

        // Leftovers of a previous run go when the log is opened.
        log.close().unwrap();
        let log = Log::open(dir.path(), LogConfig::default(), 4).unwrap();
        assert!(files(dir.path(), ".deleted").is_empty());
        assert_eq!(log.segment_base_offsets(), vec![4]);
    }

    #[test]
    fn readers_keep_reading_deleted_segments() {
        let dir = tempfile::tempdir().unwrap();
        let old = NOW - 3 * DAY;
        let mut log = log_with(dir.path(), &[old, old, NOW], 2);
        let slice = log.read(0, 1000, true, 3).unwrap().slice.unwrap();
        let before = slice.read_to_vec().unwrap();
        let deleted = log.delete_old_segments(&policy(DAY, -1), NOW, 3).unwrap();
        deleted.delete_files().unwrap();
        assert!(!dir.path().join("00000000000000000000.log").exists());
        assert_eq!(slice.read_to_vec().unwrap(), before);
    }
}
