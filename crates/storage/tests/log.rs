//! Public behaviour of `Log`: appends, reads, rolling, timestamps, recovery.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::fs;
use std::path::Path;

use weir_protocol::batch::BatchIter;
use weir_storage::test_util::{batch, batch_of_len};
use weir_storage::{FetchData, Log, LogConfig, StorageError};

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

/// `(base offset, last offset)` of every batch in the fetched data.
fn batches_of(data: &FetchData) -> Vec<(i64, i64)> {
    let bytes = data.slice.as_ref().unwrap().read_to_vec().unwrap();
    BatchIter::new(&bytes)
        .map(|b| {
            let b = b.unwrap();
            b.verify_crc().unwrap();
            (b.base_offset(), b.last_offset())
        })
        .collect()
}

/// Appends `n` batches of `records` records each, `len` bytes, timestamps 1000, 2000, ...
fn fill(log: &mut Log, n: usize, records: i32, len: usize) -> Vec<(i64, i64)> {
    (0..n)
        .map(|i| {
            let b = batch(records, len, 1000 * (i as i64 + 1));
            let info = log.append(&b, 0).unwrap();
            (info.first_offset, info.last_offset)
        })
        .collect()
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn empty_directory_opens_as_new_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topic-0");
    let log = Log::open(&path, LogConfig::default(), 0).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(
        segment_files(&path),
        vec![
            "00000000000000000000.index",
            "00000000000000000000.log",
            "00000000000000000000.timeindex"
        ]
    );
    assert!(log.read(0, 1000, true, 0).unwrap().slice.is_none());
    assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
    assert_eq!(log.max_timestamp_and_offset(), None);
}

#[test]
fn append_assigns_contiguous_offsets_and_reads_back_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    let first = batch(3, 100, 10);
    let info = log.append(&first, 5).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (0, 2));
    assert_eq!(info.bytes, first.len());
    // Two batches in one append.
    let mut set = batch(2, 50, 30);
    let second_at = set.len();
    set.extend(batch(4, 50, 20));
    let info = log.append(&set, 6).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (3, 8));
    assert_eq!((info.max_timestamp, info.offset_of_max_timestamp), (30, 3));
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(log.size_bytes(), (first.len() + set.len()) as u64);

    let data = log.read(0, 1 << 20, false, log.log_end_offset()).unwrap();
    // The log stores the producer's bytes with only the base offsets assigned.
    let mut expected = first.clone();
    expected.extend_from_slice(&set);
    weir_protocol::batch::rewrite::set_base_offset(&mut expected[first.len()..], 3);
    weir_protocol::batch::rewrite::set_base_offset(&mut expected[first.len() + second_at..], 5);
    assert_ne!(
        expected,
        [first.clone(), set.clone()].concat(),
        "offsets were rewritten"
    );
    assert_eq!(
        data.slice.as_ref().unwrap().read_to_vec().unwrap(),
        expected
    );
    assert_eq!(batches_of(&data), vec![(0, 2), (3, 4), (5, 8)]);
    // An offset inside a batch returns the whole batch.
    let data = log.read(6, 1 << 20, false, 9).unwrap();
    assert_eq!(data.first_offset_in_slice, 5);
    assert_eq!(batches_of(&data), vec![(5, 8)]);
    // At the log end: no data, no error.
    assert!(log.read(9, 1 << 20, true, 9).unwrap().slice.is_none());
    assert_eq!(log.max_timestamp_and_offset(), Some((30, 3)));
}

#[test]
fn read_out_of_range_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    fill(&mut log, 2, 1, 10);
    for offset in [-1, 3, 100] {
        match log.read(offset, 100, true, 2) {
            Err(StorageError::OffsetOutOfRange {
                offset: o,
                log_start,
                log_end,
            }) => assert_eq!((o, log_start, log_end), (offset, 0, 2)),
            other => panic!("{offset}: {other:?}"),
        }
    }
}

#[test]
fn read_respects_max_bytes_min_one_batch_and_max_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    for _ in 0..5 {
        log.append(&batch_of_len(100, 0), 0).unwrap();
    }
    let leo = log.log_end_offset();
    assert_eq!(batches_of(&log.read(0, 250, false, leo).unwrap()).len(), 2);
    assert_eq!(batches_of(&log.read(0, 300, false, leo).unwrap()).len(), 3);
    assert_eq!(
        batches_of(&log.read(1, 1 << 20, false, leo).unwrap()).len(),
        4
    );
    // First batch larger than max_bytes: whole with min_one_batch (KIP-74), else nothing.
    let data = log.read(2, 10, true, leo).unwrap();
    assert_eq!(batches_of(&data), vec![(2, 2)]);
    assert_eq!(data.len(), 100);
    assert!(log.read(2, 10, false, leo).unwrap().is_empty());
    // max_offset (the high watermark) is exclusive.
    assert_eq!(batches_of(&log.read(0, 1 << 20, true, 3).unwrap()).len(), 3);
    assert!(log.read(3, 1 << 20, true, 3).unwrap().slice.is_none());
}

#[test]
fn a_batch_straddling_max_offset_is_not_returned() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    fill(&mut log, 2, 5, 10); // offsets 0..=4, 5..=9
    assert_eq!(
        batches_of(&log.read(0, 1 << 20, true, 7).unwrap()),
        vec![(0, 4)]
    );
    assert!(log.read(5, 1 << 20, true, 7).unwrap().slice.is_none());
}

#[test]
fn segments_roll_by_bytes_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config(), 0).unwrap();
    for _ in 0..10 {
        log.append(&batch_of_len(300, 0), 0).unwrap();
    }
    // Three 300-byte batches per 1000-byte segment.
    assert_eq!(log.segment_base_offsets(), vec![0, 3, 6, 9]);
    assert!(segment_files(dir.path()).contains(&"00000000000000000006.log".to_string()));
    for s in log.segments() {
        assert!(s.size() <= 1000);
    }
    // A read covers one segment only.
    let data = log.read(1, 1 << 20, false, 10).unwrap();
    assert_eq!(batches_of(&data), vec![(1, 1), (2, 2)]);
    let data = log.read(3, 1 << 20, false, 10).unwrap();
    assert_eq!(batches_of(&data), vec![(3, 3), (4, 4), (5, 5)]);
    assert_eq!(
        batches_of(&log.read(9, 1 << 20, false, 10).unwrap()),
        vec![(9, 9)]
    );
}

#[test]
fn segments_roll_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    log.append(&batch(1, 10, 0), 10_000).unwrap();
    log.append(&batch(1, 10, 0), 10_999).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(&batch(1, 10, 0), 11_000).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
    // The clock of the new segment starts at its first append.
    log.append(&batch(1, 10, 0), 11_999).unwrap();
    assert_eq!(log.segment_count(), 2);
    log.append(&batch(1, 10, 0), 12_000).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2, 4]);
}

#[test]
fn segments_roll_when_the_index_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_index_bytes: 36, // 4 offset entries, 3 time entries (one reserved)
        index_interval_bytes: 1,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    fill(&mut log, 20, 1, 10);
    assert!(log.segment_count() > 3);
    for s in log.segments() {
        assert!(s.offset_index().size_bytes() <= 36);
        assert!(s.time_index().size_bytes() <= 36);
    }
    for offset in 0..20 {
        let data = log.read(offset, 1, true, 20).unwrap();
        assert_eq!(batches_of(&data), vec![(offset, offset)]);
    }
}

#[test]
fn index_lookups_find_every_offset_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 5_000,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config.clone(), 0).unwrap();
    let batches = fill(&mut log, 200, 3, 100);
    assert!(log.segment_count() > 5);
    let closed = log.segment_count() - 1;
    assert!(log
        .segments()
        .take(closed)
        .all(|s| s.offset_index().entries() > 5));
    let check = |log: &Log| {
        for &(base, last) in &batches {
            for offset in base..=last {
                let data = log.read(offset, 1, true, log.log_end_offset()).unwrap();
                assert_eq!(batches_of(&data), vec![(base, last)], "offset {offset}");
            }
        }
    };
    check(&log);
    // After a clean close the indexes are trusted and give the same answers.
    let leo = log.log_end_offset();
    log.close().unwrap();
    let log = Log::open(dir.path(), config, leo).unwrap();
    assert_eq!(log.recovery_point(), leo);
    check(&log);
}

#[test]
fn offset_for_timestamp_finds_the_first_batch_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2000,
        index_interval_bytes: 150,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config.clone(), 0).unwrap();
    // Batch i (offsets 2i, 2i+1) has timestamp 1000 * (i + 1), except batch 10 which goes back
    // in time.
    for i in 0..30i64 {
        let ts = if i == 10 { 500 } else { 1000 * (i + 1) };
        log.append(&batch(2, 100, ts), 0).unwrap();
    }
    assert!(log.segment_count() > 2);
    let check = |log: &Log| {
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 1000)));
        assert_eq!(log.offset_for_timestamp(1000).unwrap(), Some((0, 1000)));
        assert_eq!(log.offset_for_timestamp(1001).unwrap(), Some((2, 2000)));
        assert_eq!(
            log.offset_for_timestamp(11_000).unwrap(),
            Some((22, 12_000))
        );
        assert_eq!(
            log.offset_for_timestamp(25_500).unwrap(),
            Some((50, 26_000))
        );
        assert_eq!(
            log.offset_for_timestamp(30_000).unwrap(),
            Some((58, 30_000))
        );
        assert_eq!(log.offset_for_timestamp(30_001).unwrap(), None);
        assert_eq!(log.max_timestamp_and_offset(), Some((30_000, 58)));
    };
    check(&log);
    let leo = log.log_end_offset();
    log.close().unwrap();
    check(&Log::open(dir.path(), config.clone(), leo).unwrap());
    // Also when everything is recovered from scratch.
    check(&Log::open(dir.path(), config, 0).unwrap());
}

#[test]
fn flush_messages_moves_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_messages: 5,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    fill(&mut log, 2, 2, 10);
    assert_eq!(log.recovery_point(), 0);
    fill(&mut log, 1, 2, 10);
    assert_eq!(log.recovery_point(), 6);
    fill(&mut log, 1, 1, 10);
    assert_eq!(log.recovery_point(), 6);
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), 7);
}

#[test]
fn flush_ms_fsyncs_on_a_late_append() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_ms: 100,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    log.append(&batch(1, 1, 0), 1000).unwrap();
    log.append(&batch(1, 1, 0), 1050).unwrap();
    assert_eq!(log.recovery_point(), 0);
    log.append(&batch(1, 1, 0), 1100).unwrap();
    assert_eq!(log.recovery_point(), 3);
}

#[test]
fn invalid_record_sets_are_rejected_and_leave_the_log_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    fill(&mut log, 1, 1, 10);
    let size = log.size_bytes();
    let mut good_then_torn = batch(1, 10, 0);
    let torn = batch(1, 10, 0);
    good_then_torn.extend_from_slice(&torn[..torn.len() - 1]);
    let mut bad_magic = batch(1, 10, 0);
    bad_magic[16] = 1;
    for records in [vec![], good_then_torn, bad_magic] {
        let err = log.append(&records, 0).unwrap_err();
        assert!(matches!(err, StorageError::InvalidRecords { .. }), "{err}");
        assert!(!err.is_fatal());
    }
    assert_eq!((log.log_end_offset(), log.size_bytes()), (1, size));
}

#[test]
fn update_config_applies_to_next_appends() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    fill(&mut log, 3, 1, 300);
    assert_eq!(log.segment_count(), 1);
    log.update_config(small_config());
    assert_eq!(log.config(), &small_config());
    fill(&mut log, 1, 1, 300);
    assert_eq!(log.segment_base_offsets(), vec![0, 3]);
}

#[test]
fn read_slices_survive_log_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t-0");
    let mut log = Log::open(&path, LogConfig::default(), 0).unwrap();
    let b = batch(1, 10, 0);
    log.append(&b, 0).unwrap();
    let slice = log.read(0, 1000, true, 1).unwrap().slice.unwrap();
    log.delete().unwrap();
    assert!(!path.exists());
    assert_eq!(slice.read_to_vec().unwrap(), b);
}
