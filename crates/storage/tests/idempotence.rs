//! Idempotent appends through `Log`: duplicates, errors, and producer state surviving reopen.
#![allow(clippy::unwrap_used)]

use weir_storage::{test_util, Log, LogConfig, ProducerSnapshot, StorageError};

/// A batch of `count` records from producer `pid`/`epoch` starting at sequence `seq`.
fn idempotent_batch(pid: i64, epoch: i16, seq: i32, count: i32) -> Vec<u8> {
    let mut b = test_util::batch(count, 20 * count as usize, 1_000);
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        ..LogConfig::default()
    }
}

/// Appends 20 batches of 3 records from producer 7 (sequences 0..60), rolling segments.
fn fill(log: &mut Log) {
    for i in 0..20 {
        let info = log
            .append(&idempotent_batch(7, 0, i * 3, 3), 2_000)
            .unwrap();
        assert!(!info.duplicate);
        assert_eq!(info.first_offset, i64::from(i) * 3);
    }
}

fn assert_dedups_last_batch(log: &mut Log) {
    let leo = log.log_end_offset();
    let info = log.append(&idempotent_batch(7, 0, 57, 3), 3_000).unwrap();
    assert!(info.duplicate);
    assert_eq!((info.first_offset, info.last_offset), (57, 59));
    assert_eq!(log.log_end_offset(), leo);
    // The one before is remembered too, and the next one continues the sequence.
    assert!(
        log.append(&idempotent_batch(7, 0, 54, 3), 3_000)
            .unwrap()
            .duplicate
    );
    let err = log
        .append(&idempotent_batch(7, 0, 61, 1), 3_000)
        .unwrap_err();
    assert!(
        matches!(err, StorageError::OutOfOrderSequence { expected: 60, .. }),
        "{err}"
    );
    let info = log.append(&idempotent_batch(7, 0, 60, 1), 3_000).unwrap();
    assert_eq!((info.first_offset, info.duplicate), (60, false));
}

#[test]
fn duplicates_are_not_written_and_errors_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
    let b = idempotent_batch(1, 0, 0, 5);
    assert_eq!(log.append(&b.clone(), 1).unwrap().first_offset, 0);
    let size = log.size_bytes();
    let dup = log.append(&b, 1).unwrap();
    assert!(dup.duplicate);
    assert_eq!((dup.first_offset, dup.last_offset, dup.bytes), (0, 4, 0));
    assert_eq!(log.size_bytes(), size);

    // A non-idempotent batch between them is not checked.
    log.append(&test_util::batch(2, 10, 1), 1).unwrap();
    let err = log.append(&idempotent_batch(1, 0, 6, 1), 1).unwrap_err();
    assert!(matches!(err, StorageError::OutOfOrderSequence { .. }));
    log.append(&idempotent_batch(1, 1, 0, 1), 1).unwrap();
    let err = log.append(&idempotent_batch(1, 0, 5, 1), 1).unwrap_err();
    assert!(matches!(
        err,
        StorageError::InvalidProducerEpoch {
            current_epoch: 1,
            ..
        }
    ));
    assert_eq!(log.log_end_offset(), 8);

    // A record set with a good batch then a gap is refused whole.
    let mut set = idempotent_batch(1, 1, 1, 1);
    set.extend(idempotent_batch(1, 1, 5, 1));
    assert!(log.append(&set, 1).is_err());
    assert_eq!(log.log_end_offset(), 8);
    assert_eq!(log.producer_state().entry(1).unwrap().last_seq(), Some(0));
}

#[test]
fn state_survives_a_clean_close_through_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    fill(&mut log);
    assert!(log.segment_count() > 3);
    log.flush().unwrap();
    log.take_producer_snapshot().unwrap();
    let snapshots = ProducerSnapshot::list(dir.path()).unwrap();
    assert_eq!(snapshots.len(), 2, "older snapshots are pruned");
    assert_eq!(snapshots.last().unwrap().offset, 60);
    drop(log);

    let mut log = Log::open(dir.path(), small_segments(), 60).unwrap();
    assert_dedups_last_batch(&mut log);
}

#[test]
fn state_is_rebuilt_from_batch_headers_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    fill(&mut log);
    // No flush, no snapshot at the end: as after SIGKILL. The roll snapshots are older.
    drop(log);
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    assert_dedups_last_batch(&mut log);

    // Without any snapshot, from the log start.
    drop(log);
    for s in ProducerSnapshot::list(dir.path()).unwrap() {
        s.delete().unwrap();
    }
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    let info = log.append(&idempotent_batch(7, 0, 60, 1), 3_000).unwrap();
    assert!(info.duplicate);
    assert_eq!(info.first_offset, 60);
    assert!(
        log.append(&idempotent_batch(7, 0, 57, 3), 3_000)
            .unwrap()
            .duplicate
    );
}

#[test]
fn corrupt_or_future_snapshots_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_segments(), 0).unwrap();
    fill(&mut log);
    log.flush().unwrap();
    log.take_producer_snapshot().unwrap();
    drop(log);
    let newest = ProducerSnapshot::list(dir.path()).unwrap().pop().unwrap();
    let mut bytes = std::fs::read(&newest.path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&newest.path, &bytes).unwrap();
    // A snapshot past the log end (its data was lost) must not be trusted either.
    let future = dir.path().join("00000000000000099999.snapshot");
    std::fs::copy(&newest.path, &future).unwrap();

    let mut log = Log::open(dir.path(), small_segments(), 60).unwrap();
    assert!(!newest.path.exists() && !future.exists());
    assert_dedups_last_batch(&mut log);
}

#[test]
fn idle_producers_expire() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        producer_id_expiration_ms: 1_000,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    log.append(&idempotent_batch(3, 0, 0, 1), 1_000).unwrap();
    log.remove_expired_producers(1_500);
    assert_eq!(log.producer_state().len(), 1);
    log.remove_expired_producers(2_000);
    assert!(log.producer_state().is_empty());
    // Unknown again: any sequence is accepted (Kafka 2.5+).
    assert!(
        !log.append(&idempotent_batch(3, 0, 9, 1), 2_000)
            .unwrap()
            .duplicate
    );
}
