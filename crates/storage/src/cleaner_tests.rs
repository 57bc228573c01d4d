//! Tests of the log cleaner: what it keeps, tombstones, offsets, and crashes mid-swap.

use std::collections::BTreeMap;

use weir_protocol::batch::BatchIter;

use super::*;
use crate::cleaner_codec::{codec, keyed_batch};
use crate::LogConfig;

/// offset -> (key, value).
type Contents = BTreeMap<i64, (Option<Vec<u8>>, Option<Vec<u8>>)>;

const NOW: i64 = 1_700_000_000_000;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2_000,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fn clean_config() -> CleanerConfig {
    CleanerConfig {
        min_cleanable_dirty_ratio: 0.0,
        delete_retention_ms: 60_000,
        ..CleanerConfig::default()
    }
}

/// Every record of the log as offset -> (key, value), read from the segment files.
fn contents(log: &Log) -> Contents {
    let mut out = BTreeMap::new();
    for segment in log.segments() {
        let bytes = std::fs::read(segment.log_path()).unwrap();
        for batch in BatchIter::new(&bytes) {
            let batch = batch.unwrap();
            batch.verify_crc().unwrap();
            let section = cleaner_codec::records_section(&batch).unwrap();
            let records = cleaner_codec::records(&section).unwrap();
            assert_eq!(records.len() as i32, batch.record_count());
            for r in records {
                let offset = batch.base_offset() + i64::from(r.offset_delta);
                assert!(offset <= batch.last_offset());
                // The value is whatever follows the key: rebuild it from the raw record.
                let value = r.has_value.then(|| value_of(r.raw));
                let prev = out.insert(offset, (r.key.map(<[u8]>::to_vec), value));
                assert!(prev.is_none(), "offset {offset} twice");
            }
        }
    }
    out
}

/// The value bytes of a raw record written by `keyed_batch` (values are "v<digits>").
fn value_of(raw: &[u8]) -> Vec<u8> {
    let at = raw.iter().rposition(|&b| b == b'v').unwrap();
    raw[at..raw.len() - 1].to_vec()
}

/// 10 keys, 300 updates (each a batch of 3 records), every 7th a tombstone; returns the
/// expected latest value per key (None: deleted).
fn fill(log: &mut Log, codec: i16, ts: i64) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    fill_keys(log, codec, ts, "k")
}

fn fill_keys(
    log: &mut Log,
    codec: i16,
    ts: i64,
    prefix: &str,
) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    let mut latest = BTreeMap::new();
    let mut i = 0u32;
    for _ in 0..100 {
        let mut owned = Vec::new();
        for _ in 0..3 {
            let key = format!("{prefix}{}", i % 10).into_bytes();
            let value = (i % 7 != 6).then(|| format!("v{i}").into_bytes());
            latest.insert(key.clone(), value.clone());
            owned.push((key, value));
            i += 1;
        }
        let records: Vec<_> = owned
            .iter()
            .map(|(k, v)| (Some(k.as_slice()), v.as_deref()))
            .collect();
        log.append(&keyed_batch(&records, ts, codec), ts).unwrap();
    }
    latest
}

fn clean(log: &mut Log, first_dirty: i64, now: i64) -> CleanerStats {
    let plan = log
        .plan_cleaning(&clean_config(), first_dirty, log.log_end_offset(), now)
        .unwrap()
        .expect("something to clean");
    let mut total: Option<CleanerStats> = None;
    for part in plan.clean().unwrap().into_parts() {
        let s = log.install_cleaned(part).unwrap();
        match total.as_mut() {
            Some(t) => {
                t.groups_swapped += s.groups_swapped;
                t.next_dirty_offset = s.next_dirty_offset;
            }
            None => total = Some(s),
        }
    }
    total.unwrap()
}

/// The closed-segment part of the log keeps exactly one record per key, at that key's
/// latest offset below the cleaning end, and every offset is unchanged.
fn assert_compacted(log: &Log, before: &Contents, end: i64) {
    let after = contents(log);
    let mut latest_below_end: BTreeMap<&Vec<u8>, i64> = BTreeMap::new();
    for (&offset, (k, _)) in before.range(..end) {
        latest_below_end.insert(k.as_ref().unwrap(), offset);
    }
    for (offset, record) in &after {
        assert_eq!(before.get(offset), Some(record), "offset {offset} changed");
    }
    for (&offset, record) in before.range(end..) {
        assert_eq!(
            after.get(&offset),
            Some(record),
            "uncleaned offset {offset} lost"
        );
    }
    for (key, &offset) in &latest_below_end {
        let kept = after
            .range(..end)
            .filter(|(_, (k, _))| k.as_ref() == Some(key));
        let offsets: Vec<i64> = kept.map(|(&o, _)| o).collect();
        // A tombstone may be gone; anything else is there exactly once.
        assert!(offsets.len() <= 1, "key {key:?} kept at {offsets:?}");
        if before[&offset].1.is_some() {
            assert_eq!(offsets, vec![offset], "key {key:?}");
        }
    }
}

#[test]
fn keeps_the_latest_record_per_key_and_offsets() {
    for codec in [
        codec::NONE,
        codec::LZ4,
        codec::ZSTD,
        codec::GZIP,
        codec::SNAPPY,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config(), 0).unwrap();
        fill(&mut log, codec, NOW);
        assert!(log.segment_count() > 3, "{}", log.segment_count());
        let before = contents(&log);
        let size_before = log.size_bytes();
        let stats = clean(&mut log, 0, NOW);
        let end = stats.next_dirty_offset;
        assert!(end > 0 && end < log.log_end_offset());
        assert!(stats.records_removed > 0);
        assert!(log.size_bytes() < size_before);
        assert_compacted(&log, &before, end);
        // Recently written tombstones survive the first cleaning.
        let after = contents(&log);
        assert!(after.range(..end).any(|(_, (_, v))| v.is_none()));
        assert_eq!(log.log_end_offset(), 300);
        // Reads through the rebuilt indexes still find every kept batch.
        let first_kept = *after.keys().next().unwrap();
        let data = log.read(0, 1 << 20, true, i64::MAX).unwrap();
        assert!(data.slice.is_some());
        assert!(data.first_offset_in_slice <= first_kept);
        // Reopening (clean restart) gives the same records.
        let reopened = {
            log.close().unwrap();
            Log::open(dir.path(), config(), 0).unwrap()
        };
        assert_eq!(contents(&reopened), after);
    }
}

#[test]
fn tombstones_go_after_delete_retention_ms() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    let mut latest = fill_keys(&mut log, codec::NONE, NOW, "a");
    let end1 = clean(&mut log, 0, NOW).next_dirty_offset;
    let tombstones = |log: &Log, prefix: u8| {
        contents(log)
            .values()
            .filter(|(k, v)| v.is_none() && k.as_ref().unwrap()[0] == prefix)
            .count()
    };
    let first = latest.values().filter(|v| v.is_none()).count();
    assert!(first > 0);
    assert!(tombstones(&log, b'a') >= first);
    // Cleaned once, but younger than delete.retention.ms: kept.
    latest.extend(fill_keys(&mut log, codec::NONE, NOW, "b"));
    let stats = clean(&mut log, end1, NOW + 1_000);
    assert_eq!(stats.tombstones_removed, 0);
    assert_eq!(tombstones(&log, b'a'), first);
    let end2 = stats.next_dirty_offset;
    // Past delete.retention.ms: gone once cleaned before; every live key keeps its latest
    // value.
    latest.extend(fill_keys(&mut log, codec::NONE, NOW, "c"));
    let stats = clean(&mut log, end2, NOW + 120_000);
    assert!(stats.tombstones_removed as usize >= first);
    assert_eq!(tombstones(&log, b'a'), 0);
    assert!(
        tombstones(&log, b'c') > 0,
        "tombstones of the dirty part stay"
    );
    let after = contents(&log);
    for (key, value) in latest.iter().filter(|(k, _)| k[0] == b'a') {
        let found: Vec<_> = after
            .values()
            .filter(|(k, _)| k.as_ref() == Some(key))
            .map(|(_, v)| v.clone())
            .collect();
        match value {
            Some(v) => assert_eq!(found, vec![Some(v.clone())]),
            None => assert!(found.is_empty(), "{key:?}"),
        }
    }
}

#[test]
fn nothing_to_clean_below_the_ratio_or_without_closed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    assert!(log
        .plan_cleaning(&clean_config(), 0, 0, NOW)
        .unwrap()
        .is_none());
    fill(&mut log, codec::NONE, NOW);
    let end = clean(&mut log, 0, NOW).next_dirty_offset;
    // Everything below `end` is clean now: the dirty ratio is 0.
    let strict = CleanerConfig {
        min_cleanable_dirty_ratio: 0.5,
        ..clean_config()
    };
    assert!(log
        .plan_cleaning(&strict, end, log.log_end_offset(), NOW)
        .unwrap()
        .is_none());
    // min.compaction.lag.ms keeps young segments out.
    let lagged = CleanerConfig {
        min_compaction_lag_ms: 10_000,
        ..clean_config()
    };
    assert!(log
        .plan_cleaning(&lagged, 0, log.log_end_offset(), NOW)
        .unwrap()
        .is_none());
}

/// Simulates a crash after the swap file was made durable and some old segments deleted:
/// reopening finishes the swap and the log reads as cleaned.
#[test]
fn crash_after_swap_rename_completes_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    fill(&mut log, codec::NONE, NOW);
    let before = contents(&log);
    let plan = log
        .plan_cleaning(&clean_config(), 0, log.log_end_offset(), NOW)
        .unwrap()
        .unwrap();
    let cleaned = plan.clean().unwrap();
    let end = cleaned.end;
    let group = cleaned.groups.first().unwrap();
    let (base, _) = group.replaces[0];
    let swap = dir.path().join(swap_name(base, group.end));
    std::fs::rename(dir.path().join(cleaned_name(base, "log")), &swap).unwrap();
    // Step 3 half done: one old segment's files gone.
    if let Some(&(second, _)) = group.replaces.get(1) {
        delete_segment_files(dir.path(), second).unwrap();
    }
    for g in cleaned.groups.iter().skip(1) {
        std::fs::remove_file(dir.path().join(cleaned_name(g.replaces[0].0, "log"))).unwrap();
    }
    drop(log);
    let log = Log::open(dir.path(), config(), 0).unwrap();
    assert!(!swap.exists());
    let after = contents(&log);
    for (offset, record) in &after {
        assert_eq!(before.get(offset), Some(record));
    }
    for (&offset, record) in before.range(group.end..) {
        assert_eq!(after.get(&offset), Some(record), "offset {offset} lost");
    }
    assert!(end >= group.end);
    assert_eq!(log.log_end_offset(), 300);
}

/// A crash before the swap was durable leaves `.cleaned` files only: they are deleted and
/// the log is as before.
#[test]
fn crash_before_swap_keeps_the_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    fill(&mut log, codec::NONE, NOW);
    let before = contents(&log);
    let plan = log
        .plan_cleaning(&clean_config(), 0, log.log_end_offset(), NOW)
        .unwrap()
        .unwrap();
    let cleaned = plan.clean().unwrap();
    // Each group's log and its two indexes (step 1).
    let paths: Vec<_> = cleaned
        .groups
        .iter()
        .flat_map(|g| cleaned_files(dir.path(), g.replaces[0].0))
        .collect();
    assert!(!paths.is_empty());
    assert!(paths.iter().all(|p| p.exists()));
    drop(log);
    let log = Log::open(dir.path(), config(), 0).unwrap();
    assert!(paths.iter().all(|p| !p.exists()));
    assert_eq!(contents(&log), before);
}

/// The indexes built before the swap (so that the lock is not held to re-read the cleaned
/// segment) are byte for byte those a recovery rebuilds, and no `.cleaned` file is left.
#[test]
fn indexes_built_before_the_swap_match_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    fill(&mut log, codec::LZ4, NOW);
    let stats = clean(&mut log, 0, NOW);
    assert!(stats.groups_swapped > 0);
    let bases: Vec<i64> = log.segments().map(|s| s.base_offset()).collect();
    let read = |base: i64| {
        ["index", "timeindex"]
            .map(|ext| std::fs::read(dir.path().join(file_name(base, ext))).unwrap())
    };
    let built: Vec<_> = bases.iter().map(|&b| read(b)).collect();
    drop(log);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    for &b in &bases {
        for ext in ["index", "timeindex"] {
            std::fs::remove_file(dir.path().join(file_name(b, ext))).unwrap();
        }
    }
    // Missing indexes are rebuilt from the log on open.
    let log = Log::open(dir.path(), config(), 0).unwrap();
    let rebuilt: Vec<_> = bases.iter().map(|&b| read(b)).collect();
    // The active segment's indexes may differ (its time index gets no closing entry).
    let closed = bases.len() - 1;
    assert_eq!(built[..closed], rebuilt[..closed]);
    assert_eq!(log.segments().count(), bases.len());
}

/// A group whose segments retention deleted meanwhile is abandoned, not resurrected.
#[test]
fn group_changed_while_cleaning_is_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    fill(&mut log, codec::NONE, NOW);
    let plan = log
        .plan_cleaning(&clean_config(), 0, log.log_end_offset(), NOW)
        .unwrap()
        .unwrap();
    let cleaned = plan.clean().unwrap();
    let second_base = log.segment_base_offsets()[1];
    log.maybe_increment_log_start_offset(second_base, log.log_end_offset())
        .unwrap();
    log.delete_segments_below_log_start()
        .unwrap()
        .delete_files()
        .unwrap();
    let stats = log.install_cleaned(cleaned).unwrap();
    assert!(log.segment_base_offsets()[0] >= second_base);
    assert!(stats.groups_swapped < 10);
    assert!(contents(&log).keys().all(|&o| o >= second_base));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cleaned"))
        .collect();
    assert!(leftovers.is_empty());
}

/// With a dedupe buffer far smaller than the key count, each cleaning maps what fits and
/// stops there; successive cleanings, each continuing from where the previous one stopped,
/// leave the log fully compacted with every offset unchanged.
#[test]
fn small_dedupe_buffer_cleans_in_several_passes() {
    for codec in [codec::NONE, codec::LZ4] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config(), 0).unwrap();
        // 60 keys, 900 records in batches of 3, every 11th a tombstone.
        let mut i = 0u32;
        for _ in 0..300 {
            let owned: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..3)
                .map(|_| {
                    let key = format!("key{}", (i * 7) % 60).into_bytes();
                    let value = (i % 11 != 10).then(|| format!("v{i}").into_bytes());
                    i += 1;
                    (key, value)
                })
                .collect();
            let records: Vec<_> = owned
                .iter()
                .map(|(k, v)| (Some(k.as_slice()), v.as_deref()))
                .collect();
            log.append(&keyed_batch(&records, NOW, codec), NOW).unwrap();
        }
        let before = contents(&log);
        // Room for 19 keys (22 slots of 24 bytes at load 0.9).
        let small = CleanerConfig {
            dedupe_buffer_size: 570,
            ..clean_config()
        };
        let capacity = crate::offset_map::OffsetMap::new(535, 0.9).capacity() as u64;
        assert_eq!(capacity, 19);
        let mut first_dirty = 0;
        let mut passes = 0;
        while let Some(plan) = log
            .plan_cleaning(&small, first_dirty, log.log_end_offset(), NOW)
            .unwrap()
        {
            let cleaned = plan.clean().unwrap();
            assert!(cleaned.stats.keys <= capacity);
            let mut end = first_dirty;
            for part in cleaned.into_parts() {
                end = log.install_cleaned(part).unwrap().next_dirty_offset;
            }
            assert!(end > first_dirty, "each pass makes progress");
            first_dirty = end;
            passes += 1;
            assert!(passes < 100);
        }
        assert!(passes > 2, "codec {codec}: {passes} passes");
        let active = *log.segment_base_offsets().last().unwrap();
        assert_eq!(first_dirty, active, "cleaned up to the active segment");
        assert_compacted(&log, &before, first_dirty);
        // One record per key below the end, whatever the pass that cleaned it.
        let after = contents(&log);
        let keys: Vec<_> = after.range(..first_dirty).map(|(_, (k, _))| k).collect();
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(keys.len(), distinct.len(), "codec {codec}");
        assert!(keys.len() <= 60);
    }
}

/// Replaced segments wait as `.deleted` files for `file.delete.delay.ms`, and a read that
/// started before the swap finishes on the old file.
#[test]
fn replaced_segments_are_renamed_and_readers_keep_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    fill(&mut log, codec::LZ4, NOW);
    let slice = log.read(0, 1 << 20, true, i64::MAX).unwrap().slice.unwrap();
    let before = slice.read_to_vec().unwrap();
    let stats = clean(&mut log, 0, NOW);
    assert!(stats.groups_swapped > 0);
    let deleted: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".deleted"))
        .collect();
    assert!(deleted.contains(&"00000000000000000000.log.deleted".to_string()));
    assert!(
        deleted.len() >= 3 * stats.groups_swapped as usize,
        "{deleted:?}"
    );
    assert_eq!(slice.read_to_vec().unwrap(), before);
    let mut sweeper = crate::DeletedFileSweeper::new();
    let dirs = [(dir.path().to_path_buf(), 60_000)];
    assert_eq!(sweeper.sweep(&dirs, 0), 0);
    assert_eq!(sweeper.sweep(&dirs, 60_000), deleted.len());
    // The file is gone by name only: the open slice still reads it.
    assert_eq!(slice.read_to_vec().unwrap(), before);
}

/// A batch whose bytes no longer match its CRC stops the cleaning with an error naming the
/// segment, whether the mapping pass or only the rewrite reads it; nothing is swapped.
#[test]
fn corrupt_batches_fail_the_cleaning() {
    for first_dirty_segment in [0usize, 2] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(dir.path(), config(), 0).unwrap();
        fill(&mut log, codec::NONE, NOW);
        let bases = log.segment_base_offsets();
        // Corrupt the last byte of the first batch of the first segment.
        let path = dir.path().join(file_name(bases[0], "log"));
        let mut bytes = std::fs::read(&path).unwrap();
        let first = BatchIter::new(&bytes).next().unwrap().unwrap().total_len();
        bytes[first - 1] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let before: Vec<_> = bases
            .iter()
            .map(|&b| std::fs::read(dir.path().join(file_name(b, "log"))).unwrap())
            .collect();
        // With the first dirty offset past it, only the rewrite reads the corrupt segment.
        let first_dirty = bases[first_dirty_segment];
        let plan = log
            .plan_cleaning(&clean_config(), first_dirty, log.log_end_offset(), NOW)
            .unwrap()
            .unwrap();
        match plan.clean() {
            Err(StorageError::CorruptSegment { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
        let after: Vec<_> = bases
            .iter()
            .map(|&b| std::fs::read(dir.path().join(file_name(b, "log"))).unwrap())
            .collect();
        assert_eq!(after, before);
    }
}
