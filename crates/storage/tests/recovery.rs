//! Recovery on `Log::open`: torn tails, corrupt batches, damaged or missing index files,
//! stray files. Every damaged fixture is produced here by writing a log and breaking it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use weir_protocol::batch::BatchIter;
use weir_storage::test_util::batch;
use weir_storage::{Log, LogConfig};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2000,
        index_interval_bytes: 150,
        ..LogConfig::default()
    }
}

fn file(dir: &Path, base: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

/// Writes `n` batches of 2 records (~170 bytes each, timestamps 1000, 2000, ...) and drops the
/// log without flushing, like a killed broker. Returns the log end offset.
fn write_log(dir: &Path, n: i64) -> i64 {
    let mut log = Log::open(dir, config(), 0).unwrap();
    for i in 0..n {
        log.append(&batch(2, 100, 1000 * (i + 1)), 0).unwrap();
    }
    log.log_end_offset()
}

/// Reads the whole log batch by batch and returns `(base, last)` offsets, checking CRCs.
fn all_batches(log: &Log) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let data = log
            .read(offset, 1 << 20, true, log.log_end_offset())
            .unwrap();
        let bytes = data.slice.unwrap().read_to_vec().unwrap();
        for b in BatchIter::new(&bytes) {
            let b = b.unwrap();
            b.verify_crc().unwrap();
            out.push((b.base_offset(), b.last_offset()));
            offset = b.last_offset() + 1;
        }
    }
    out
}

fn expected_batches(n: i64) -> Vec<(i64, i64)> {
    (0..n).map(|i| (2 * i, 2 * i + 1)).collect()
}

fn last_segment(dir: &Path) -> i64 {
    let log = Log::open(dir, config(), i64::MAX).unwrap();
    *log.segment_base_offsets().last().unwrap()
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 30);
    let active = last_segment(dir.path());
    let log_file = file(dir.path(), active, "log");
    let len = fs::metadata(&log_file).unwrap().len();
    // Cut the last batch in the middle.
    OpenOptions::new()
        .write(true)
        .open(&log_file)
        .unwrap()
        .set_len(len - 50)
        .unwrap();

    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    assert_eq!(log.log_end_offset(), 58);
    assert_eq!(all_batches(&log), expected_batches(29));
    let size = fs::metadata(&log_file).unwrap().len();
    assert!(size < len - 50, "the partial batch is gone from the file");
    assert_eq!(log.offset_for_timestamp(29_500).unwrap(), None);
    assert_eq!(log.max_timestamp_and_offset(), Some((29_000, 56)));
    let info = log.append(&batch(1, 10, 99_000), 0).unwrap();
    assert_eq!(info.first_offset, 58);
    assert_eq!(
        log.offset_for_timestamp(29_500).unwrap(),
        Some((58, 99_000))
    );
}

#[test]
fn torn_header_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 3);
    let log_file = file(dir.path(), 0, "log");
    let mut bytes = fs::read(&log_file).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0u8; 30]); // less than a header of zeros, like a preallocated tail
    fs::write(&log_file, &bytes).unwrap();
    let log = Log::open(dir.path(), config(), 0).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(fs::metadata(&log_file).unwrap().len(), good as u64);
}

#[test]
fn corrupt_byte_in_last_batch_fails_crc_and_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 30);
    let active = last_segment(dir.path());
    let log_file = file(dir.path(), active, "log");
    let mut bytes = fs::read(&log_file).unwrap();
    let last = bytes.len() - 5; // inside the last record's value
    bytes[last] ^= 0x55;
    fs::write(&log_file, &bytes).unwrap();

    let log = Log::open(dir.path(), config(), 0).unwrap();
    assert_eq!(log.log_end_offset(), 58);
    assert_eq!(all_batches(&log), expected_batches(29));
}

#[test]
fn corruption_in_an_earlier_segment_drops_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let leo = write_log(dir.path(), 40);
    let bases = Log::open(dir.path(), config(), leo)
        .unwrap()
        .segment_base_offsets();
    assert!(bases.len() >= 3, "{bases:?}");
    let victim = bases[1];
    // Damage the second batch of the second segment.
    let log_file = file(dir.path(), victim, "log");
    let mut bytes = fs::read(&log_file).unwrap();
    let first_len = BatchIter::new(&bytes).next().unwrap().unwrap().total_len();
    bytes[first_len + 70] ^= 0xff;
    fs::write(&log_file, &bytes).unwrap();

    // Recovery point inside the first segment: segments 1.. are all re-read.
    let log = Log::open(dir.path(), config(), 1).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, victim]);
    assert_eq!(log.log_end_offset(), victim + 2);
    assert_eq!(all_batches(&log), expected_batches(victim / 2 + 1));
    for &later in &bases[2..] {
        for ext in ["log", "index", "timeindex"] {
            assert!(!file(dir.path(), later, ext).exists());
        }
    }
}

#[test]
fn missing_and_garbage_index_files_are_rebuilt_identically() {
    let dir = tempfile::tempdir().unwrap();
    let leo = write_log(dir.path(), 40);
    let log = Log::open(dir.path(), config(), 0).unwrap();
    let bases = log.segment_base_offsets();
    log.close().unwrap();
    let originals: Vec<(Vec<u8>, Vec<u8>)> = bases
        .iter()
        .map(|&b| {
            (
                fs::read(file(dir.path(), b, "index")).unwrap(),
                fs::read(file(dir.path(), b, "timeindex")).unwrap(),
            )
        })
        .collect();
    assert!(originals[0].0.len() >= 16 && !originals[0].1.is_empty());

    // Segment 0: both missing. Segment 1: torn lengths. Segment 2: zero-filled tail, as a
    // preallocated Kafka index would have, and a time index pointing past the segment.
    fs::remove_file(file(dir.path(), bases[0], "index")).unwrap();
    fs::remove_file(file(dir.path(), bases[0], "timeindex")).unwrap();
    fs::write(file(dir.path(), bases[1], "index"), [7u8; 13]).unwrap();
    fs::write(file(dir.path(), bases[1], "timeindex"), [7u8; 5]).unwrap();
    let mut long_index = originals[2].0.clone();
    long_index.extend_from_slice(&[0u8; 64]);
    fs::write(file(dir.path(), bases[2], "index"), &long_index).unwrap();
    let mut far_time = originals[2].1.clone();
    far_time.extend_from_slice(&i64::MAX.to_be_bytes());
    far_time.extend_from_slice(&u32::MAX.to_be_bytes());
    fs::write(file(dir.path(), bases[2], "timeindex"), &far_time).unwrap();

    // All these segments are below the recovery point: only index checks catch the damage.
    let log = Log::open(dir.path(), config(), leo).unwrap();
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(all_batches(&log), expected_batches(40));
    for (i, &b) in bases.iter().enumerate().take(3) {
        assert_eq!(
            fs::read(file(dir.path(), b, "index")).unwrap(),
            originals[i].0
        );
        assert_eq!(
            fs::read(file(dir.path(), b, "timeindex")).unwrap(),
            originals[i].1
        );
    }
    assert_eq!(log.offset_for_timestamp(2500).unwrap(), Some((4, 3000)));
    assert_eq!(log.max_timestamp_and_offset(), Some((40_000, 78)));
}

#[test]
fn garbage_index_of_the_active_segment_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let leo = write_log(dir.path(), 5);
    fs::write(file(dir.path(), 0, "index"), [0xffu8; 800]).unwrap();
    fs::write(file(dir.path(), 0, "timeindex"), [0xffu8; 120]).unwrap();
    let log = Log::open(dir.path(), config(), leo).unwrap();
    assert_eq!(all_batches(&log), expected_batches(5));
    assert!(fs::metadata(file(dir.path(), 0, "index")).unwrap().len() < 800);
}

#[test]
fn stray_and_orphan_files_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let leo = write_log(dir.path(), 3);
    let strays = [
        "00000000000000000000.log.cleaned",
        "00000000000000000000.log.swap",
        "00000000000000000000.log.deleted",
        "00000000000000000100.index", // no .log
        "00000000000000000100.timeindex",
    ];
    for s in strays {
        fs::write(dir.path().join(s), b"junk").unwrap();
    }
    fs::write(dir.path().join("leader-epoch-checkpoint"), b"0\n0\n").unwrap();
    let log = Log::open(dir.path(), config(), leo).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    for s in strays {
        assert!(!dir.path().join(s).exists(), "{s}");
    }
    assert!(dir.path().join("leader-epoch-checkpoint").exists());
}

#[test]
fn whole_garbage_segment_becomes_empty() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(file(dir.path(), 0, "log"), vec![0xabu8; 500]).unwrap();
    let mut log = Log::open(dir.path(), config(), 0).unwrap();
    assert_eq!((log.log_end_offset(), log.size_bytes()), (0, 0));
    assert_eq!(log.append(&batch(1, 1, 0), 0).unwrap().first_offset, 0);
}

#[test]
fn segment_ms_after_restart_counts_from_the_first_batch_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config.clone(), 0).unwrap();
    log.append(&batch(1, 1, 50_000), 50_000).unwrap();
    log.close().unwrap();
    let mut log = Log::open(dir.path(), config, 1).unwrap();
    log.append(&batch(1, 1, 50_500), 50_500).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(&batch(1, 1, 51_000), 51_000).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}
